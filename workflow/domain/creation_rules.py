"""What a new filing must meet before it is opened: its domain and the domain's expiry, the
province, the applicant's identity and residency, the licence, the suffixes some applicants
keep to or must file, and the applicant's contact (``check_creation``).

Separate from the event guards because these judge the command that creates a filing, not
an event fired on one; obligations reuse the registration term for a server's expiry.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Literal

from config.domains import to_ascii_domain
from config.settings import Settings
from workflow.domain.citing import check_known, cite
from workflow.domain.commands import ApplicantIn, ApplicantKind, FilingCreate
from workflow.domain.errors import Reason
from workflow.domain.persons import check_document, check_email, check_mobile
from workflow.domain.rules import (
    RESIDENCE_PERMIT,
    Document,
    Policy,
    Residency,
    Rules,
    Source,
    rules_for,
)


def _add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _check_domain(domain: str, rules: Rules) -> list[Reason]:
    """A registrable name (one label under an accepted suffix) on a TLD MIIT accepts.

    Subdomains are refused because a filing covers the registered domain and all its hosts.
    """
    try:
        ascii_domain = to_ascii_domain(domain)
    except ValueError:
        return [Reason("invalid_domain", f"{domain!r} is not a valid domain name", field="domain")]
    tld = ascii_domain.rsplit(".", 1)[-1]
    if tld not in rules.accepted_tlds:
        return [
            Reason(
                "tld_not_accepted",
                f".{tld.encode('ascii').decode('idna')} domains cannot be filed with MIIT",
                field="domain",
                details={"tld": tld},
                rule="domains.accepted_tlds",
                source=str(rules.domains_source),
            )
        ]
    suffix = rules.public_suffix(ascii_domain) or tld
    labels_below = ascii_domain.count(".") - suffix.count(".")
    if suffix == ascii_domain:
        return [Reason("invalid_domain", f"{domain!r} is a registry suffix", field="domain")]
    if labels_below > 1:
        return [
            Reason(
                "subdomain_not_allowed",
                "file the registered domain, not a host under it",
                field="domain",
                details={
                    "registered_domain": ".".join(ascii_domain.split(".")[labels_below - 1 :])
                },
            )
        ]
    return []


def _check_expiry(
    expires_on: date, province: str | None, rules: Rules, today: date, settings: Settings
) -> list[Reason]:
    """The domain stays registered beyond the longer of the host's configured minimum and the
    province's own: a host may ask more than a bureau, never less."""
    rule = (
        rules.provinces[province].policies.get(Policy.MIN_DOMAIN_VALIDITY_MONTHS)
        if province
        else None
    )
    if rule is not None and int(rule.value) < settings.min_domain_validity_months:
        rule = None  # the host's minimum is the longer: it decides, and is named
    months = settings.min_domain_validity_months if rule is None else int(rule.value)
    minimum = _add_months(today, months)
    if expires_on > minimum:
        return []
    return [
        Reason(
            "domain_expiry_too_soon",
            f"the domain must stay registered beyond {minimum.isoformat()} ({months} months ahead)",
            field="domain_expires_on",
            details={"minimum": minimum.isoformat(), "months": months},
            rule=rule.name if rule else "settings.min_domain_validity_months",
            source=str(rule.source) if rule else None,
        )
    ]


# A registry registers or renews a domain for ten years at most, and a cloud host sells a
# server by the month or the year: an expiry more than ten years ahead is a typo (2206 for
# 2026), and one near the end of the calendar would break the expiry reminders.
MAX_REGISTRATION_YEARS = 10


@dataclass(frozen=True)
class _Term:
    """The longest term one kind of expiry is bought for, and who sells it."""

    rule: str
    seller: str
    source: Source


_TERMS = {
    "domain": _Term(
        "domain_registration_term",
        "a registry registers a domain for",
        Source(
            "registries register and renew a domain for one to ten years (Verisign's .com/.net "
            "and CNNIC's .cn registration terms)",
            thin=True,
        ),
    ),
    "server": _Term(
        "server_subscription_term",
        "a cloud host sells a server subscription for",
        Source(
            "cloud hosts sell and renew a server by monthly or yearly subscription (Alibaba "
            "Cloud ECS, 'Subscription' billing; the ten-year bound guards against a mistyped "
            "year)",
            thin=True,
        ),
    ),
}


def check_registration_term(
    expires_on: date, today: date, field: str, what: Literal["domain", "server"] = "domain"
) -> list[Reason]:
    """The expiry lies within the longest term its seller grants from ``today``: ``what`` is
    ``domain`` (a registry's term) or ``server`` (a cloud host's subscription)."""
    term = _TERMS[what]
    latest = _add_months(today, 12 * MAX_REGISTRATION_YEARS)
    if expires_on <= latest:
        return []
    return [
        Reason(
            "expiry_beyond_registration_term",
            f"{expires_on} is more than {MAX_REGISTRATION_YEARS} years ahead, longer than "
            f"{term.seller}: check the year",
            field=field,
            details={"latest": str(latest)},
            rule=term.rule,
            source=str(term.source),
        )
    ]


def _check_identity(applicant: ApplicantIn, rules: Rules) -> list[Reason]:
    """The applicant's document suits the applicant type and is a valid one
    (``check_document``)."""
    kind = rules.applicant_types[applicant.type]
    whose = f"{applicant.type} applicants"
    return check_document(applicant.id_type, applicant.id_number, kind, whose, "applicant", rules)


def _valid_document(applicant: ApplicantIn, rules: Rules) -> tuple[Document, str] | None:
    """The applicant's document and upper-cased number, when both passed ``_check_identity``;
    the province rules read the number's region and birth date only then."""
    document = rules.documents.get(applicant.id_type)
    if document is None:
        return None
    number = applicant.id_number.upper()
    if not document.matches(number) or document.failed_checks(number):
        return None
    return document, number


def _check_residency(applicant: ApplicantIn, province: str, rules: Rules) -> list[Reason]:
    """Provinces admitting only their own residents are judged on the resident ID's region.

    The region digits record where the ID was issued, the best offline evidence of
    residence; where the bureau also accepts a local residence permit, a permit (identified
    by its holder's ID number, which cannot show the issuing province) is accepted and the
    host checks the permit copy. Other documents cannot show residence, so they fail.
    """
    target = rules.provinces[province]
    rule = target.policies.get(Policy.INDIVIDUALS_RESIDENCY)
    if rule is None:
        return []
    found = _valid_document(applicant, rules)
    if found is not None:
        document, number = found
        region = document.region(number)
        if region is not None and region.startswith(target.id_prefix):
            return []
        if (
            document.key == RESIDENCE_PERMIT
            and rule.value is Residency.LOCAL_ID_OR_RESIDENCE_PERMIT
        ):
            return []
    permit = (
        " or a local residence permit"
        if rule.value is Residency.LOCAL_ID_OR_RESIDENCE_PERMIT
        else ""
    )
    return [
        Reason(
            "non_local_resident",
            f"{target.name_en} accepts individual filings only with a local resident ID{permit}",
            field="applicant.id_number",
            details={"province": province, "id_prefix": target.id_prefix},
            **cite(rule),
        )
    ]


def _check_foreign_individual(applicant: ApplicantIn, province: str, rules: Rules) -> list[Reason]:
    """Provinces admitting no foreign individuals refuse the documents foreign nationals file
    with: the document type says it, whatever its number.

    The sources refuse foreign nationals (Hebei's "外籍人士不予备案"), but a Chinese citizen
    abroad (华侨) may file with a Chinese passport, and one passport document type (its number
    shows no issuing country) cannot tell them apart: the refusal says a passport is taken
    as a foreign national's, so a 华侨 knows to file with a resident ID."""
    target = rules.provinces[province]
    rule = target.policies.get(Policy.NO_FOREIGN_INDIVIDUALS)
    document = rules.documents.get(applicant.id_type)
    if rule is None or not rule.value or document is None or not document.foreign_nationals:
        return []
    return [
        Reason(
            "foreign_individual_refused",
            f"{target.name_en} accepts no individual filings from foreign nationals, and "
            f"icpflow takes any {document.key} {document.name_zh} as a foreign national's: "
            "a Chinese citizen abroad (华侨) files with their resident ID",
            field="applicant.id_type",
            details={"province": province, "id_type": document.key},
            **cite(rule),
        )
    ]


def _check_home_province(applicant: ApplicantIn, province: str, rules: Rules) -> list[Reason]:
    """Entities file where their licence was issued: the region digits of its code say where."""
    kind = rules.applicant_types[applicant.type]
    found = _valid_document(applicant, rules)
    if not kind.home_province_only or found is None:
        return []
    document, number = found
    region = document.region(number)
    home = None if region is None else rules.province_by_region(region)
    if home is None or home.char == province:
        return []
    return [
        Reason(
            "outside_home_province",
            f"the {document.name_zh} was issued in {home.name_en}: file there, not in "
            f"{rules.provinces[province].name_en}",
            field="province",
            details={"province": province, "home_province": home.char},
            **cite(kind),
        )
    ]


def _check_birth_date(
    applicant: ApplicantIn, province: str | None, rules: Rules, today: date
) -> list[Reason]:
    """A number's birth date is a real past day, and the applicant old enough where the
    province sets a minimum age."""
    found = _valid_document(applicant, rules)
    if found is None:
        return []
    document, number = found
    try:
        born = document.birth_date(number)
    except ValueError:
        born, problem = None, "invalid_birth_date"
    else:
        problem = "birth_date_in_future" if born is not None and born > today else ""
    if problem:
        return [
            Reason(
                problem,
                "the number's birth date is not a real past day",
                field="applicant.id_number",
                details={"id_type": document.key},
                **cite(document),
            )
        ]
    if born is None or province is None:
        return []
    target = rules.provinces[province]
    rule = target.policies.get(Policy.MIN_AGE)
    if rule is None:
        return []
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age >= int(rule.value):
        return []
    return [
        Reason(
            "under_minimum_age",
            f"{target.name_en} accepts individual filings from age {rule.value}",
            field="applicant.id_number",
            details={"province": province, "min_age": rule.value, "age": age},
            **cite(rule),
        )
    ]


def _check_suffix(
    domain: str, applicant_type: str, rules: Rules, *, new_domain: bool
) -> list[Reason]:
    """One reason at most for a domain's suffix, the most specific: where the applicant type
    must file some suffixes (government bodies .gov.cn or .政务, public institutions .cn or
    .公益, 《互联网政务应用安全管理规定》 as the rules file quotes it) and the domain is under none,
    that rule, as it names what to file instead; else a suffix its registry keeps to other
    entity types (.gov.cn, .政务, .公益). A fault is one reason, not one per rule it breaks.

    The required suffixes judge only a ``new_domain``: the regulation (in force 2024) says
    what a body files, and a site it filed before under .com stays on record, so its new
    access or change is not refused for it. A reservation is the registry's, and holds for
    every order: no such domain could have been registered to the others.
    """
    try:
        ascii_domain = to_ascii_domain(domain)
    except ValueError:
        return []  # reported by _check_domain
    required = rules.required_suffixes.get(applicant_type) if new_domain else None
    if required is not None and not any(
        ascii_domain.endswith("." + suffix) for suffix in required.suffixes
    ):
        shown = [f".{suffix}" for suffix in required.shown]
        return [
            Reason(
                "suffix_not_the_applicants",
                f"{applicant_type} applicants file domains ending {' or '.join(shown)}",
                field="domain",
                details={"applicant_type": applicant_type, "suffixes": shown},
                **cite(required),
            )
        ]
    for suffix, reserved in rules.reserved_suffixes.items():
        if ascii_domain.endswith("." + suffix) and applicant_type not in reserved.applicant_types:
            return [
                Reason(
                    "suffix_reserved",
                    f"{reserved.name.removeprefix('domains.reserved')} domains are for "
                    f"{', '.join(reserved.applicant_types)} applicants only",
                    field="domain",
                    details={"applicant_types": list(reserved.applicant_types)},
                    **cite(reserved),
                )
            ]
    return []


def _check_province_rules(
    applicant: ApplicantIn, province: str | None, rules: Rules, today: date
) -> list[Reason]:
    """The rules that depend on who files where: the birth date and the province's minimum
    age, and the home province entities file in."""
    reasons = _check_birth_date(applicant, province, rules, today)
    if province is not None:
        reasons += _check_home_province(applicant, province, rules)
    return reasons


def _check_licence_allowed(applicant_type: str, licence: str, rules: Rules) -> list[Reason]:
    if applicant_type in rules.licences[licence].applicant_types:
        return []
    return [
        Reason(
            "licence_not_allowed",
            f"{applicant_type} applicants may not file {licence} licences",
            field="licence",
            details={"licence": licence, "applicant_type": applicant_type},
            **cite(rules.licences[licence]),
        )
    ]


def _check_contact(applicant: ApplicantIn) -> list[Reason]:
    return check_mobile(applicant.phone, "applicant.phone") + check_email(
        applicant.email, "applicant.email"
    )


def check_creation(
    command: FilingCreate, today: date, settings: Settings, *, new_domain: bool = True
) -> list[Reason]:
    """Every filing rule ``command`` breaks (its shape is already checked by the model);
    checks needing a value the rules do not know are skipped, since that value is reported.

    ``new_domain`` False: the service is on record already, brought by a new access
    (``KindSpec.files_new_domain``), so the suffixes its entity type must file do not judge
    it; today's filing body is a first filing, whose domain is new."""
    rules = rules_for(settings)
    applicant, kind, licence = command.applicant, command.applicant.type, command.licence.value
    province = rules.canonical_province(command.province)
    reasons = _check_domain(command.domain, rules)
    reasons += _check_expiry(command.domain_expires_on, province, rules, today, settings)
    reasons += check_registration_term(command.domain_expires_on, today, "domain_expires_on")
    for value, path, known, code in (
        (command.province, "province", {**rules.provinces, **rules.aliases}, "unknown_province"),
        (command.website.sector, "website.sector", rules.sectors, "unknown_sector"),
    ):
        reasons += check_known(value, path, known, code)
    reasons += _check_identity(applicant, rules)
    reasons += _check_licence_allowed(kind.value, licence, rules)
    if kind is ApplicantKind.INDIVIDUAL and province is not None:
        reasons += _check_residency(applicant, province, rules)
        reasons += _check_foreign_individual(applicant, province, rules)
    reasons += _check_suffix(command.domain, kind.value, rules, new_domain=new_domain)
    reasons += _check_province_rules(applicant, province, rules, today)
    reasons += _check_contact(applicant)
    return reasons
