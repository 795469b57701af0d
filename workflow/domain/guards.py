"""The guards: pure functions from a filing and an event's data to the conditions it fails.

A guard returns every unmet condition, never only the first, so a case manager fixes a
rejected request in one round trip. An empty list means the guard passes. What the guards
accept (TLDs, provinces, documents, materials, licence kinds) is data in ``rules.toml``;
only the shape of the checks lives here.
"""

from __future__ import annotations

import calendar
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from config.clock import CHINA, as_utc
from config.domains import to_ascii_domain
from config.settings import Settings
from workflow.domain.bounded import INVISIBLE
from workflow.domain.commands import ApplicantIn, ApplicantKind, FilingCreate, app_only
from workflow.domain.definition import Event
from workflow.domain.errors import Reason, ValidationError
from workflow.domain.event_data import (
    EventData,
    IcpNumberData,
    MaterialsData,
    ServiceNumberData,
    SmsSentData,
    VerifierData,
    WrongEntryData,
)
from workflow.domain.orders import (
    SUFFIX_LETTER,
    NumberAsked,
    OrderFacts,
    ServiceKind,
    kind_spec,
    order_materials,
    split_number,
)
from workflow.domain.rules import (
    RESIDENCE_PERMIT,
    ApplicantType,
    Document,
    Policy,
    Residency,
    Rules,
    Source,
    rules_for,
)

# A mainland mobile, and the one a refusal shows as expected (the check takes it: tested).
_MAINLAND_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
MOBILE_EXAMPLE = "13800138000"
_EMAIL = re.compile(r"^[^@\s]+@([^@\s]+\.[^@\s]+)$")


class FilingFacts(Protocol):
    """What a guard may read from a stored filing (``models.tables.Filing`` has it)."""

    kind: str
    domain: str
    domain_expires_on: date
    province: str
    licence: str
    applicant_type: str
    applicant_id_type: str
    applicant_id_number: str
    service_kind: str | None  # website, app, ...: None for an order on the entity alone
    sector: str
    pre_approval_document: str | None
    service_number: str | None
    created_at: datetime
    personal_data_purged_at: datetime | None

    @property
    def changes(self) -> Mapping[str, Any]: ...  # read only: a change order's changes


# A guard gets the event's data already parsed with the model the event declares
# (``EventSpec.data``), so it narrows to that model and judges values, never shapes.
Guard = Callable[[FilingFacts, EventData, Settings], list[Reason]]
# Guards that also read the order's verifiers and the record on file.
OrderGuard = Callable[[OrderFacts, FilingFacts, EventData, Settings], list[Reason]]


def province_named(value: str, rules: Rules) -> str:
    """The province a filter names, as filings store it (蜀 -> 川). Refused when it names none:
    a typo that matched no filing would pass for an empty province. ``rules`` are the caller's
    (``rules_for(settings)``): the domain reads no settings of its own."""
    canonical = rules.canonical_province(value)
    if canonical is None:
        known = {**rules.provinces, **rules.aliases}
        raise ValidationError(
            f"{value!r} is not a province",
            _check_known(value, "province", known, "unknown_province"),
        )
    return canonical


class _Rule(Protocol):
    """A rule from ``rules.toml``: its name there and where it comes from."""

    @property
    def name(self) -> str: ...

    @property
    def source(self) -> Source: ...


def _cite(rule: _Rule) -> dict[str, str]:
    """The ``rule`` and ``source`` a refusal names, so it can be traced to a bureau's page."""
    return {"rule": rule.name, "source": str(rule.source)}


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
    (``_check_document``)."""
    kind = rules.applicant_types[applicant.type]
    whose = f"{applicant.type} applicants"
    return _check_document(applicant.id_type, applicant.id_number, kind, whose, "applicant", rules)


def check_person_document(
    id_type: str | None, id_number: str | None, field: str, rules: Rules
) -> list[Reason]:
    """A responsible person's document, when they give one: type and number together, of a
    kind an individual files with, judged as an applicant's is (``_check_document``). It is
    optional, as clients and imports written before it send none; the bureau asks each
    person for their ID's last 6 digits when they answer its SMS."""
    if id_type is None and id_number is None:
        return []
    if id_type is None or id_number is None:
        missing = "id_number" if id_number is None else "id_type"
        return [
            Reason(
                "missing_field",
                f"{field}.{missing} is required: a document is given with its type and its "
                "number, or not at all",
                field=f"{field}.{missing}",
            )
        ]
    individual = rules.applicant_types[ApplicantKind.INDIVIDUAL]  # a person's documents
    return _check_document(id_type, id_number, individual, "a person", field, rules)


def _check_document(
    id_type: str, id_number: str, kind: ApplicantType, whose: str, field: str, rules: Rules
) -> list[Reason]:
    """The document is one ``kind`` files with (named ``whose``), its number is well formed,
    passes its standard's checks, and any region it carries is a real province; reasons name
    ``field``'s ``id_type`` and ``id_number``."""
    if id_type not in kind.documents:
        return [
            Reason(
                "id_type_not_accepted",
                f"{id_type!r} is not an identity document for {whose}",
                field=f"{field}.id_type",
                details={"accepted": list(kind.documents)},
                **_cite(kind),
            )
        ]
    document = rules.documents[id_type]
    number = id_number.upper()
    if not document.matches(number):
        code = "invalid_id_number"
        message = f"not a well-formed {id_type} number: expected like {document.example}"
    elif failed := document.failed_checks(number):
        code, message = "id_number_check_failed", f"fails the {', '.join(failed)} check"
    elif (
        (region := document.region(number))
        and not rules.is_national(region)
        and rules.province_by_region(region) is None
    ):
        code, message = "unknown_region", f"region code {region} is in no province"
    else:
        return []
    return [
        Reason(
            code,
            message,
            field=f"{field}.id_number",
            details={"id_type": id_type},
            **_cite(document),
        )
    ]


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
            **_cite(rule),
        )
    ]


def _check_foreign_individual(applicant: ApplicantIn, province: str, rules: Rules) -> list[Reason]:
    """Provinces admitting no foreign individuals refuse the documents foreign nationals file
    with: the document type says it, whatever its number."""
    target = rules.provinces[province]
    rule = target.policies.get(Policy.NO_FOREIGN_INDIVIDUALS)
    document = rules.documents.get(applicant.id_type)
    if rule is None or not rule.value or document is None or not document.foreign_nationals:
        return []
    return [
        Reason(
            "foreign_individual_refused",
            f"{target.name_en} accepts no individual filings from foreign nationals "
            f"({document.key} {document.name_zh})",
            field="applicant.id_type",
            details={"province": province, "id_type": document.key},
            **_cite(rule),
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
            **_cite(kind),
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
                **_cite(document),
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
            **_cite(rule),
        )
    ]


def _check_reserved_suffix(domain: str, applicant_type: str, rules: Rules) -> list[Reason]:
    """A suffix its registry keeps to some entity types (.gov.cn, .政务, .公益) is filed by
    them only."""
    try:
        ascii_domain = to_ascii_domain(domain)
    except ValueError:
        return []
    for suffix, reserved in rules.reserved_suffixes.items():
        if ascii_domain.endswith("." + suffix) and applicant_type not in reserved.applicant_types:
            return [
                Reason(
                    "suffix_reserved",
                    f"{reserved.name.removeprefix('domains.reserved')} domains are for "
                    f"{', '.join(reserved.applicant_types)} applicants only",
                    field="domain",
                    details={"applicant_types": list(reserved.applicant_types)},
                    **_cite(reserved),
                )
            ]
    return []


def _check_required_suffix(domain: str, applicant_type: str, rules: Rules) -> list[Reason]:
    """Government bodies file .gov.cn or .政务 and public institutions .cn or .公益, and no
    other suffix (《互联网政务应用安全管理规定》, as the rules file quotes it)."""
    required = rules.required_suffixes.get(applicant_type)
    try:
        ascii_domain = to_ascii_domain(domain)
    except ValueError:
        return []  # reported by _check_domain
    if required is None or any(ascii_domain.endswith("." + s) for s in required.suffixes):
        return []
    shown = [f".{suffix}" for suffix in required.shown]
    return [
        Reason(
            "suffix_not_the_applicants",
            f"{applicant_type} applicants file domains ending {' or '.join(shown)}",
            field="domain",
            details={"applicant_type": applicant_type, "suffixes": shown},
            **_cite(required),
        )
    ]


def _check_province_rules(
    domain: str, applicant: ApplicantIn, province: str | None, rules: Rules, today: date
) -> list[Reason]:
    """The rules that depend on who files where: home province, birth date and age, suffixes
    reserved to some entity types and those some entity types must file."""
    reasons = _check_reserved_suffix(domain, applicant.type, rules)
    reasons += _check_required_suffix(domain, applicant.type, rules)
    reasons += _check_birth_date(applicant, province, rules, today)
    if province is not None:
        reasons += _check_home_province(applicant, province, rules)
    return reasons


def _check_known(value: str, field: str, known: Mapping[str, Any], code: str) -> list[Reason]:
    if value in known:
        return []
    return [
        Reason(
            code,
            f"{value!r} is not one of {', '.join(known)}",
            field=field,
            details={"value": value},
        )
    ]


def _check_licence_allowed(applicant_type: str, licence: str, rules: Rules) -> list[Reason]:
    if applicant_type in rules.licences[licence].applicant_types:
        return []
    return [
        Reason(
            "licence_not_allowed",
            f"{applicant_type} applicants may not file {licence} licences",
            field="licence",
            details={"licence": licence, "applicant_type": applicant_type},
            **_cite(rules.licences[licence]),
        )
    ]


def check_mobile(mobile: str, field: str) -> list[Reason]:
    """A mobile that is to answer the bureau's SMS: a mainland one (11 digits, 13x to 19x)."""
    if _MAINLAND_MOBILE.match(mobile):
        return []
    return [
        Reason(
            "invalid_phone",
            f"{field} must be a mainland mobile number (11 digits from 13 to 19), which receives "
            f"the bureau's SMS: expected like {MOBILE_EXAMPLE}",
            field=field,
        )
    ]


def check_email(email: str, field: str) -> list[Reason]:
    """An address the bureau and the host may write to."""
    if _valid_email(email):
        return []
    return [Reason("invalid_email", f"{field}: {email!r} is not an email address", field=field)]


def _check_contact(applicant: ApplicantIn) -> list[Reason]:
    return check_mobile(applicant.phone, "applicant.phone") + check_email(
        applicant.email, "applicant.email"
    )


def same_name(one: str, other: str) -> bool:
    """Two names as a reader reads them: case, width (（北京） and (北京)), spacing and
    characters that do not show aside.
    A registrar shows an entity's name in its own way, and an entity's people type it in
    theirs."""
    return _name(one) == _name(other)


@dataclass(frozen=True)
class Someone:
    """A responsible person as ``same_person`` tells them apart: their name and, when given,
    their identity document."""

    name: str
    id_type: str | None = None
    id_number: str | None = None

    @property
    def document(self) -> tuple[str, str] | None:
        if self.id_type is None or self.id_number is None:
            return None
        return self.id_type, self.id_number.upper()


def same_person(one: Someone, other: Someone) -> bool:
    """Whether two listed people are one person, who may hold two roles with one mobile and
    keep what the record says of them. Their identity documents decide when both have one:
    names do not, as two people may share one (王伟 is borne by hundreds of thousands). A
    person listed without a document (it is optional: clients and imports older than it
    send none) is told by name (``same_name``), as before documents were taken."""
    if one.document is not None and other.document is not None:
        return one.document == other.document
    return same_name(one.name, other.name)


def as_spelt(name: str) -> str:
    """A name as written, spacing aside: unlike ``same_name``, case and width count, since a
    change order may exist to correct just those."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def _name(text: str) -> str:
    return " ".join(INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold().split())


def check_responsible(kind: ApplicantKind, entity: str, person: str, field: str) -> list[Reason]:
    """Whoever is named responsible for an entity (主体负责人) is a person: an individual is
    their own; any other entity names someone other than itself, since a company's name
    cannot answer MIIT's SMS or face check (names compare by ``same_name``)."""
    if same_name(person, entity) == (kind is ApplicantKind.INDIVIDUAL):
        return []
    if kind is ApplicantKind.INDIVIDUAL:
        return [
            Reason(
                "responsible_not_applicant",
                f"an individual is their own responsible person: {person!r} is not {entity!r}",
                field=field,
            )
        ]
    return [
        Reason(
            "responsible_person_missing",
            f"name the person responsible for the {kind.value} (主体负责人), "
            f"not the {kind.value} itself",
            field=field,
        )
    ]


def _valid_email(email: str) -> bool:
    match = _EMAIL.match(email)
    if match is None:
        return False
    try:
        to_ascii_domain(match.group(1))
    except ValueError:
        return False
    return True


def check_creation(command: FilingCreate, today: date, settings: Settings) -> list[Reason]:
    """Every filing rule ``command`` breaks (its shape is already checked by the model);
    checks needing a value the rules do not know are skipped, since that value is reported."""
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
        reasons += _check_known(value, path, known, code)
    reasons += _check_identity(applicant, rules)
    reasons += _check_licence_allowed(kind.value, licence, rules)
    if kind is ApplicantKind.INDIVIDUAL and province is not None:
        reasons += _check_residency(applicant, province, rules)
        reasons += _check_foreign_individual(applicant, province, rules)
    reasons += _check_province_rules(command.domain, applicant, province, rules, today)
    reasons += _check_contact(applicant)
    return reasons


def guard_service_number(filing: FilingFacts, data: EventData, settings: Settings) -> list[Reason]:
    """A well-formed service number and a public IPv4 server address.

    Whether the server is in mainland China cannot be verified offline (it needs a GeoIP
    database or the host's word), so only the address's form and publicness are checked.
    """
    assert isinstance(data, ServiceNumberData)
    reasons: list[Reason] = []
    if not re.fullmatch(settings.service_number_pattern, data.service_number):
        reasons.append(
            Reason(
                "invalid_service_number",
                "the service number does not have the host's format",
                field="data.service_number",
                details={"pattern": settings.service_number_pattern},
            )
        )
    return reasons + _check_server_ip(data.server_ip)


SERVICE_NUMBER_RULE = "service_number_used_once"
SERVICE_NUMBER_SOURCE = Source(
    "hosts issue a Bei'an service number for one filing of a server subscribed for 3 months or "
    "more (Alibaba Cloud, 备案服务号; SPEC)",
    thin=True,
)


def guard_service_number_free(
    order: OrderFacts, filing: FilingFacts, data: EventData, settings: Settings
) -> list[Reason]:
    """A service number serves one order: one another order bound (and did not withdraw) is a
    typo or someone else's, and the host's pre-review would return the order for it."""
    assert isinstance(data, ServiceNumberData)
    holder = order.record.service_number_held_by
    if holder is None:
        return []
    return [
        Reason(
            "service_number_in_use",
            f"{data.service_number} is already bound to order {holder}: a service number is "
            "used once; ask the host for one of this order's own",
            field="data.service_number",
            details={"order_id": holder},
            rule=SERVICE_NUMBER_RULE,
            source=str(SERVICE_NUMBER_SOURCE),
        )
    ]


# A public IPv4 address a refusal shows as expected (the check takes it: tested).
SERVER_IP_EXAMPLE = "114.114.114.114"


def _check_server_ip(address: str) -> list[Reason]:
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return [
            Reason(
                "invalid_server_ip",
                f"{address!r} is not an IPv4 address: expected four numbers from 0 to 255 "
                f"separated by dots, like {SERVER_IP_EXAMPLE}",
                field="data.server_ip",
            )
        ]
    if ip.is_global and not ip.is_multicast:
        return []
    return [
        Reason(
            "server_ip_not_public",
            f"{address} is not a public address (private, loopback, reserved or multicast)",
            field="data.server_ip",
        )
    ]


def _check_filing_kinds(filing: FilingFacts, rules: Rules) -> list[Reason]:
    """A stored filing whose sector the current rules no longer define cannot be judged
    (licences and applicant types are the enums' members, which every rules file defines)."""
    return _check_known(filing.sector, "filing.sector", rules.sectors, "unknown_sector")


def _unknown_materials(materials: list[str], rules: Rules) -> list[Reason]:
    return [
        Reason(
            "unknown_material",
            f"{key!r} is not a known material",
            field="data.materials",
            details={"material": key},
        )
        for key in dict.fromkeys(materials)
        if key not in rules.materials
    ]


def required_materials(
    kind: str,
    changing: Iterable[str],
    applicant_type: str,
    service_kind: str | None,
    licence: str,
    sector: str,
    rules: Rules,
) -> tuple[str, ...]:
    """What a submission of an order of ``kind`` must carry: its kind's materials and those of
    the parts it is ``changing`` and, where it files a service, the applicant type's, the
    service kind's (an app's, not a website's), the licence's and the sector's (the console
    offers the same list)."""
    spec = kind_spec(kind)
    required = order_materials(spec, changing)
    if spec.files_service:
        assert service_kind is not None, f"a {kind} order files a service of some kind"
        required += rules.required_materials(applicant_type, service_kind, licence, sector)
    return tuple(dict.fromkeys(required))


def guard_submission(filing: FilingFacts, data: EventData, settings: Settings) -> list[Reason]:
    """Every material required for the order's kind (and, where it files a service, the
    applicant type, service kind, licence and sector), known material keys only, the pre-approval granted
    where the sector or licence needs one, and the service number bound where the kind binds
    one (an order that lapsed before binding must not reach review without it)."""
    assert isinstance(data, MaterialsData)
    rules = rules_for(settings)
    materials = data.materials
    reasons = _unknown_materials(materials, rules)
    unjudgeable = _check_filing_kinds(filing, rules)
    if unjudgeable:
        return unjudgeable + reasons
    spec = kind_spec(filing.kind)
    required = required_materials(
        filing.kind,
        filing.changes,
        filing.applicant_type,
        filing.service_kind,
        filing.licence,
        filing.sector,
        rules,
    )
    reasons += [
        Reason(
            "missing_material",
            f"{rules.materials.get(key, key)} ({key}) is required",
            field="data.materials",
            details={"material": key},
        )
        for key in required
        if key not in materials
    ]
    if Event.BIND_SERVICE_NUMBER in spec.events and filing.service_number is None:
        reasons.append(
            Reason(
                "service_number_missing",
                f"bind the host's service number ({Event.BIND_SERVICE_NUMBER}) before submitting",
                field="filing.service_number",
            )
        )
    if not spec.files_service:
        return reasons
    if (
        rules.needs_pre_approval(filing.licence, filing.sector, filing.province)
        and filing.pre_approval_document is None
    ):
        licence = rules.licences[filing.licence]
        rule = licence if licence.pre_approval_required else rules.sectors[filing.sector]
        reasons.append(
            Reason(
                "pre_approval_required",
                "this sector or licence needs a granted pre-approval before submission",
                details={"sector": filing.sector, "licence": filing.licence},
                **_cite(rule),
            )
        )
    return reasons


def _parse_icp_number(number: str, rules: Rules) -> tuple[str, str] | None:
    """The licence kind whose format ``number`` has, and the province character it bears."""
    for key, licence in rules.licences.items():
        province = licence.province_of(number)
        if province is not None:
            return key, province
    return None


def guard_icp_number(filing: FilingFacts, data: EventData, settings: Settings) -> list[Reason]:
    """The number MIIT issued (the data may omit it, other order kinds issue none), of the
    filing's licence kind and issued by the filing's province (aliases count)."""
    assert isinstance(data, IcpNumberData)
    number = data.icp_number
    if number is None:
        return [Reason("missing_field", "data.icp_number is required", field="data.icp_number")]
    return _check_number(
        number, filing.licence, filing.province, rules_for(settings), "data.icp_number"
    )


def check_access_number(
    number: str, licence: str, province: str | None, entity_number: str | None, settings: Settings
) -> list[Reason]:
    """The number a new access names: of the order's licence kind (whose format asks a filing
    number for its service's suffix; a commercial licence's may stand alone), issued by the
    entity's province and, when the entity's number is on file, under it. A new access keeps
    the number MIIT issued, so a wrong one could never be approved."""
    field = "service.record_number"
    reasons = _check_number(number, licence, province, rules_for(settings), field)
    if reasons:
        return reasons
    under = split_number(number)[0]
    if entity_number is not None and not rules_for(settings).same_number(under, entity_number):
        return [
            Reason(
                "record_number_not_the_entitys",
                f"{number!r} is not under the entity's number {entity_number}",
                field=field,
                details={"entity_number": entity_number},
            )
        ]
    return []


def check_suffix_letter(number: str, kind: ServiceKind, field: str) -> list[Reason]:
    """A service's number ends in its kind's letter: -2 a website, -2A an app, -2X a mini
    program, -2K a quick app (docs/domain-facts.md, Apps: HW App备案咨询.md). A new access names a
    number MIIT issued, so an app's without its letter is another service's."""
    suffix = split_number(number)[1]
    letter = number[-1] if number[-1:].isalpha() else ""
    if suffix is None or letter == SUFFIX_LETTER[kind]:
        return []
    return [
        Reason(
            "suffix_not_the_kinds",
            f"{number!r} is not the number of a service of kind {kind.label}: its suffix "
            f"ends in -{suffix}{SUFFIX_LETTER[kind]}",
            field=field,
            details={"expected": f"-{suffix}{SUFFIX_LETTER[kind]}"},
        )
    ]


# What an app's identifier is written in: Android's applicationId takes letters, digits and
# "_" in dotted segments, Apple's CFBundleIdentifier letters, digits, "-" and ".", a mini
# program's AppID letters and digits (wx + 16 hex digits on WeChat).
_APP_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
APP_IDENTIFIER_SOURCE = Source(
    "Android Developers, 'Configure the app module' (applicationId); Apple Developer, "
    "CFBundleIdentifier; WeChat mini program AppID"
)


# A package name or Bundle ID on a platform is one app's, as MIIT files an app by its package
# on each platform, and it is one whatever its letters' case where the platform says so:
# Apple's Bundle IDs ("Bundle IDs are case-insensitive"). Android's applicationId is a Java
# package name, whose case counts, and nothing public says HarmonyOS's bundleName ignores it:
# both compared as given.
_CASELESS_PLATFORMS = frozenset({"ios"})
PACKAGE_SOURCE = Source(
    "docs/domain-facts.md, Apps: HW App备案咨询.md; Apple Developer, CFBundleIdentifier and "
    "glossary 'Bundle ID': Bundle IDs are case-insensitive; Android Developers, 'Configure "
    "the app module': applicationId follows Java package naming"
)


def caseless_on(platform: str) -> bool:
    """Whether ``platform`` tells apps apart by package whatever its letters' case (iOS)."""
    return platform in _CASELESS_PLATFORMS


def package_key(platform: str, package: str) -> str:
    """``package`` as ``platform`` compares it: lower-cased where case does not tell apps
    apart (identifiers are ASCII: ``_APP_IDENTIFIER``), as given elsewhere."""
    return package.lower() if caseless_on(platform) else package


def check_website_fields(kind: ServiceKind, given: BaseModel, part: str) -> list[Reason]:
    """A website has none of what only an app, a mini program or a quick app is filed with
    (docs/domain-facts.md, Apps: HW App备案咨询.md): each field of ``given``, the order's
    ``part``, its model marks ``AppOnly`` (its identifier, its platforms) and a website gives
    is refused, in the order the model declares them."""
    if kind is not ServiceKind.WEBSITE:
        return []
    given_fields = [
        f"{part}.{name}" for name in app_only(type(given)) if getattr(given, name) is not None
    ]
    return [
        Reason("unexpected_field", f"{field} is an app's: a website has none", field=field)
        for field in given_fields
    ]


def check_app_identifier(kind: ServiceKind, identifier: str | None, field: str) -> list[Reason]:
    """An app, a mini program or a quick app is filed with its package name or Bundle ID (its
    AppID for a mini program; docs/domain-facts.md, Apps: HW App备案咨询.md). Written in
    anything but the characters those allow, it is a slip: it could not be told apart from the
    same app filed again, or by another entity. A website's is refused as one it has none of
    (``check_website_fields``)."""
    if kind is ServiceKind.WEBSITE:
        return []
    if identifier is None:
        return [
            Reason(
                "missing_field",
                f"{field} is required for a service of kind {kind.label}: its package name "
                "or Bundle ID",
                field=field,
            )
        ]
    if identifier is not None and not _APP_IDENTIFIER.fullmatch(identifier):
        return [
            Reason(
                "invalid_app_identifier",
                f"{identifier!r} is no package name, Bundle ID or AppID: those are ASCII "
                "letters and digits, with '.', '_' or '-' between them",
                field=field,
                rule="app_identifier_format",
                source=str(APP_IDENTIFIER_SOURCE),
            )
        ]
    return []


# How a suffix tells the kind: "-1A for an app, -1X for a mini program, -1K for a quick app".
_LETTERED = ", ".join(
    f"-1{letter} for {'an' if kind.value[0] in 'aeiou' else 'a'} {kind.value.replace('_', ' ')}"
    for kind, letter in SUFFIX_LETTER.items()
    if letter
)


def check_app_platforms(
    kind: ServiceKind, given: Mapping[str, Mapping[str, str]] | None, field: str
) -> list[Reason]:
    """An app is filed on each platform it is published on: one at least, each with its
    package name there written as one (docs/domain-facts.md, Apps: HW App备案咨询.md). A mini
    program or a quick app, run by the platform that signs it, may give them; a website's are
    refused as what it has none of (``check_website_fields``)."""
    if kind is ServiceKind.WEBSITE:
        return []
    if kind is ServiceKind.APP and not given:
        return [
            Reason(
                "missing_field",
                f"{field} is required for an app: each platform it is published on (android, "
                "ios, harmonyos), with its package name there and the public key and "
                "fingerprint of the certificate it is signed with",
                field=field,
                rule="app_platforms",
                source="docs/domain-facts.md, Apps: HW App备案咨询.md",
            )
        ]
    return [
        reason
        for platform, held in (given or {}).items()
        if (package := held.get("package")) is not None
        for reason in check_app_identifier(kind, package, f"{field}.{platform}.package")
    ]


def _check_number(
    number: str, licence: str, province: str | None, rules: Rules, field: str
) -> list[Reason]:
    """``number`` has the format of ``licence``'s numbers and was issued by ``province``."""
    parsed = _parse_icp_number(number, rules)
    if parsed is None and _parse_icp_number(f"{number}-1", rules) is not None:
        return [
            Reason(
                "invalid_icp_number",
                f"{number!r} is an entity's number; a site's or an app's carries its suffix "
                f"too, such as {number}-1 ({_LETTERED})",
                field=field,
                details={"example": f"{number}-1"},
            )
        ]
    if parsed is None:
        expected = " or ".join(rules.licences[licence].number_examples)
        return [
            Reason(
                "invalid_icp_number",
                f"{number!r} is not an ICP number: expected like {expected}",
                field=field,
            )
        ]
    kind, found = parsed
    reasons: list[Reason] = []
    cited = rules.licences[kind]
    if kind != licence:
        reasons.append(
            Reason(
                "icp_number_kind_mismatch",
                f"a {kind} number was given where the order asks for a {licence} number",
                field=field,
                details={"expected": licence, "found": kind},
                **_cite(cited),
            )
        )
    if province is not None and rules.canonical_province(found) != province:
        reasons.append(
            Reason(
                "icp_number_province_mismatch",
                f"the number was issued by {found}, the filing is with {province}",
                field=field,
                details={"expected": province, "found": found},
                **_cite(cited),
            )
        )
    return reasons


def guard_pre_approval_needed(
    filing: FilingFacts, data: EventData, settings: Settings
) -> list[Reason]:
    rules = rules_for(settings)
    reasons = _check_filing_kinds(filing, rules)
    if reasons or rules.needs_pre_approval(filing.licence, filing.sector, filing.province):
        return reasons
    return [
        Reason(
            "pre_approval_not_needed",
            f"neither the {filing.sector} sector nor a {filing.licence} licence needs pre-approval",
            details={"sector": filing.sector, "licence": filing.licence},
        )
    ]


# The material a responsible person who is not the legal representative brings.
AUTHORISATION_LETTER = "authorisation_letter"


def guard_authorisation(
    order: OrderFacts, filing: FilingFacts, data: EventData, settings: Settings
) -> list[Reason]:
    """Where the province wants the legal representative responsible, anyone else needs the
    authorisation letter among the materials."""
    assert isinstance(data, MaterialsData)
    rules = rules_for(settings)
    province = rules.provinces.get(filing.province)
    rule = province.policies.get(Policy.LEGAL_REP_RESPONSIBLE) if province else None
    if rule is None or not rule.value or order.record.responsible_is_legal_rep:
        return []
    if AUTHORISATION_LETTER in data.materials:
        return []
    return [
        Reason(
            "authorisation_letter_required",
            "the responsible person is not the legal representative: submit the "
            "authorisation letter (authorisation_letter)",
            field="data.materials",
            details={"material": AUTHORISATION_LETTER},
            **_cite(rule),
        )
    ]


def guard_sms_verifier(
    order: OrderFacts, filing: FilingFacts, data: EventData, settings: Settings
) -> list[Reason]:
    """The person named is one the order lists and has not answered yet."""
    assert isinstance(data, VerifierData | WrongEntryData)
    role = data.verifier
    if role is None:
        return []
    pending = {v.role for v in order.pending()}
    if role in pending:
        return []
    listed = {v.role for v in order.verifiers}
    message = "has already answered" if role in listed else "is not listed on this order"
    return [
        Reason(
            "verifier_not_pending",
            f"the {role} responsible person {message}",
            field="data.verifier",
            details={"pending": sorted(pending)},
        )
    ]


def guard_sms_sent_at(
    order: OrderFacts, filing: FilingFacts, data: EventData, settings: Settings
) -> list[Reason]:
    """An SMS recorded late came after the order was opened here, and after the round before
    (its SMS sent; its window closed unanswered, or the order lapsed): an earlier time is a
    typo, or the old SMS's time copied, that would close the window at once and return the
    order. Not checked against the host's pre-approval or a return by hand: those too may
    have been recorded late, and their recorded times are no bound on when the SMS came."""
    assert isinstance(data, SmsSentData)
    if data.sent_at is None:
        return []
    opened = as_utc(filing.created_at)
    previous = max(
        (v.window_started_at for v in order.verifiers if v.window_started_at), default=None
    )
    ended = order.record.round_ended_at
    if previous is not None and data.sent_at <= previous:
        code, said, bound = "sms_sent_before_previous_sms", "its previous SMS came", previous
    elif ended is not None and data.sent_at < ended:
        code, said = "sms_sent_before_round_ended", "its earlier round ended (window or lapse)"
        bound = ended
    elif data.sent_at < opened:
        code, said, bound = "sms_sent_before_order_opened", "the order was opened", opened
    else:
        return []
    return [
        Reason(
            code,
            f"{said} at {bound.astimezone(CHINA):%Y-%m-%d %H:%M:%S} Beijing time; MIIT's SMS "
            "for it came after that",
            field="data.sent_at",
            details={"after": bound.isoformat()},
        )
    ]


def guard_record_number(
    order: OrderFacts, filing: FilingFacts, data: EventData, settings: Settings
) -> list[Reason]:
    """A first filing's number is a valid one of its province, its service's suffix the
    first (-1, an app's -1A); a new service's follows the entity's (its number plus the next
    suffix); other kinds issue none."""
    assert isinstance(data, IcpNumberData)
    number, asked = data.icp_number, kind_spec(order.kind).number_asked
    if asked is NumberAsked.REQUIRED:
        reasons = guard_icp_number(filing, data, settings) + _check_number_free(order, data)
        if reasons or number is None or split_number(number)[1] is None:
            return reasons  # a commercial licence's number may come without the service's
        return _check_following(
            number, split_number(number)[0], order, "an entity's first", settings
        )
    if number is None:
        return []
    if asked is NumberAsked.OPTIONAL:
        return _check_following(number, order.record.entity_number, order, "a new", settings)
    return [
        Reason(
            "no_number_issued",
            f"a {order.kind} order issues no number; send none",
            field="data.icp_number",
        )
    ]


def _check_following(
    number: str, entity_number: str | None, order: OrderFacts, which: str, settings: Settings
) -> list[Reason]:
    """The service's number is the entity's with the next suffix and the service kind's
    letter (-1 for an entity's first site, -2A for a second service that is an app); the
    province may be written with its alias."""
    expected = f"{entity_number}{order.record.next_suffix}"
    if rules_for(settings).same_number(number, expected):
        return []
    return [
        Reason(
            "record_number_not_following",
            f"{which} service's number follows the entity's: {expected}",
            field="data.icp_number",
            details={"expected": expected},
        )
    ]


def _check_number_free(order: OrderFacts, data: IcpNumberData) -> list[Reason]:
    holder = order.record.number_held_by
    if holder is None:
        return []
    return [
        Reason(
            "icp_number_in_use",
            f"{data.icp_number!r} is already the number of entity {holder}: "
            "MIIT issues an entity number once; check the number on the approval",
            field="data.icp_number",
            details={"entity_id": holder},
        )
    ]


GUARDS: dict[str, Guard] = {
    "service_number": guard_service_number,
    "submission": guard_submission,
    "pre_approval_needed": guard_pre_approval_needed,
}

ORDER_GUARDS: dict[str, OrderGuard] = {
    "service_number_free": guard_service_number_free,
    "authorisation": guard_authorisation,
    "sms_verifier": guard_sms_verifier,
    "sms_sent_at": guard_sms_sent_at,
    "record_number": guard_record_number,
}
