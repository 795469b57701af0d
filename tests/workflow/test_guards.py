"""The guards, one behaviour per test, against the packaged rules unless a test says otherwise."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from config.settings import Settings
from tests.factories import (
    ANDROID_MD5,
    INDIVIDUAL_MATERIALS,
    ORG_CREDIT_CODE,
    ORG_MATERIALS,
    on_platform,
    service_in,
)
from workflow.domain import guards
from workflow.domain.app_identity import check_website_fields
from workflow.domain.commands import ChangesIn, FilingCreate, ServiceIn
from workflow.domain.creation_rules import check_creation
from workflow.domain.definition import EVENTS_BY_NAME, Event
from workflow.domain.errors import Reason
from workflow.domain.event_data import EventData, IcpNumberData, MaterialsData, ServiceNumberData
from workflow.domain.guards import (
    GUARDS,
    ORDER_GUARDS,
    SERVER_IP_EXAMPLE,
    guard_icp_number,
    guard_pre_approval_needed,
    guard_service_number,
    guard_submission,
)
from workflow.domain.obligations import PSB_EXAMPLE, check_psb_number
from workflow.domain.orders import ServiceKind
from workflow.domain.persons import MOBILE_EXAMPLE
from workflow.domain.rules import RulesError, load_rules, parse_rules

TODAY = date(2026, 3, 15)
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def resident_id(first17: str) -> str:
    """Append the GB 11643 check digit, computed independently of the code under test."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def organisation_code(first8: str) -> str:
    """Append the GB 11714 check character."""
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c, 36) * w for c, w in zip(first8, weights, strict=True))
    check = (11 - total % 11) % 11
    return first8 + ("X" if check == 10 else str(check))


def credit_code(first8: str, organisation: str) -> str:
    """Registration kind and region, then the embedded organisation code, then the GB 32100
    check character."""
    first17 = first8 + organisation_code(organisation)
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, weights, strict=True))
    return first17 + CREDIT_ALPHABET[(31 - total % 31) % 31]


BEIJING_ID = resident_id("11010119900307123")  # 110101199003071233
SHANGHAI_ID = resident_id("31011519850612004")  # 310115198506120042
CREDIT_CODE = credit_code("91110000", "MA01ABCD")  # 91110000MA01ABCD52, Beijing
GUANGDONG_CREDIT_CODE = credit_code("91440300", "MA5ABCDE")  # 91440300MA5ABCDE5X, Shenzhen


def wrong_last(number: str) -> str:
    return number[:-1] + ("1" if number[-1] != "1" else "2")


@pytest.fixture
def settings() -> Settings:
    """Shadows the database-backed conftest fixture on purpose: guards are pure functions."""
    return Settings(_env_file=None)  # type: ignore[call-arg]


def individual(**changes: Any) -> FilingCreate:
    """A command that passes ``check_creation``; ``changes`` are dotted paths to replace."""
    return FilingCreate.model_validate(_apply(INDIVIDUAL, changes))


def organisation(**changes: Any) -> FilingCreate:
    return FilingCreate.model_validate(_apply(_apply(INDIVIDUAL, ORGANISATION), changes))


INDIVIDUAL: dict[str, Any] = {
    "domain": "example.com",
    "domain_expires_on": date(2027, 3, 15),
    "province": "粤",
    "licence": "filing",
    "applicant": {
        "type": "individual",
        "name": "张三",
        "id_type": "resident_id",
        "id_number": BEIJING_ID,
        "phone": "13800138000",
        "email": "zhang@example.com",
    },
    "website": {"name": "张三的博客", "sector": "general"},
}
# A Beijing company filing a commercial licence in Beijing, where its code was issued.
ORGANISATION: dict[str, Any] = {
    "province": "京",
    "licence": "commercial",
    "applicant.type": "organisation",
    "applicant.id_type": "business_licence",
    "applicant.id_number": CREDIT_CODE,
}


def _apply(payload: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = payload
        for key in parents:
            node = node[key]
        node[leaf] = value
    return payload


def codes(reasons: list[Any]) -> list[str]:
    return [reason.code for reason in reasons]


@dataclass
class Filing:
    kind: str = "first_filing"
    domain: str = "example.com"
    domain_expires_on: date = date(2027, 3, 15)
    province: str = "京"
    licence: str = "filing"
    applicant_type: str = "individual"
    applicant_id_type: str = "resident_id"
    applicant_id_number: str = BEIJING_ID
    service_kind: str | None = "website"
    sector: str = "general"
    pre_approval_document: str | None = None
    service_number: str | None = "BA2026000123"  # submissions are judged once it is bound
    created_at: datetime = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    personal_data_purged_at: datetime | None = None
    changes: dict[str, object] = field(default_factory=dict)


INDIVIDUALS_APP_MATERIALS = [
    "id_card_front",
    "id_card_back",
    "app_authenticity_form",
    "photo_verification",
    "app_icon",
]
ORGANISATION_MATERIALS = ORG_MATERIALS


# --- sample numbers -------------------------------------------------------------------


def test_sample_numbers_are_the_documented_ones() -> None:
    assert (BEIJING_ID, SHANGHAI_ID, CREDIT_CODE) == (
        "110101199003071233",
        "310115198506120042",
        "91110000MA01ABCD52",
    )


# --- creation: passing payloads ------------------------------------------------------


def test_valid_individual_filing_passes(settings: Settings) -> None:
    assert check_creation(individual(), TODAY, settings) == []


def test_valid_organisation_commercial_licence_passes(settings: Settings) -> None:
    assert check_creation(organisation(), TODAY, settings) == []


def test_a_failed_creation_names_every_unmet_condition(settings: Settings) -> None:
    payload = individual(
        domain="example.io",
        domain_expires_on=date(2026, 4, 1),
        province="港",
        licence="commercial",
        **{
            "applicant.id_number": wrong_last(BEIJING_ID),
            "applicant.phone": "12345",
            "applicant.email": "nobody",
            "website.sector": "gambling",
        },
    )
    assert sorted(codes(check_creation(payload, TODAY, settings))) == sorted(
        [
            "tld_not_accepted",
            "domain_expiry_too_soon",
            "unknown_province",
            "unknown_sector",
            "id_number_check_failed",
            "licence_not_allowed",
            "invalid_phone",
            "invalid_email",
        ]
    )


# --- creation: domain ------------------------------------------------------------------


@pytest.mark.parametrize("domain", ["-bad.com", "exa mple.com", "a..com", "x" * 64 + ".com", "com"])
def test_malformed_domain_is_invalid(settings: Settings, domain: str) -> None:
    assert codes(check_creation(individual(domain=domain), TODAY, settings)) == ["invalid_domain"]


@pytest.mark.parametrize(
    "domain", ["😀.cn", "xn--abc.cn", "a_b.cn"], ids=["emoji", "punycode-of-controls", "underscore"]
)
def test_a_name_idna2008_does_not_allow_is_invalid(settings: Settings, domain: str) -> None:
    """No registry issues these; IDNA2003 let the first two through."""
    assert codes(check_creation(individual(domain=domain), TODAY, settings)) == ["invalid_domain"]


@pytest.mark.parametrize("tld", ["io", "ai", "dev", "app", "co"])
def test_tld_miit_does_not_accept_is_refused(settings: Settings, tld: str) -> None:
    reasons = check_creation(individual(domain=f"example.{tld}"), TODAY, settings)
    assert [(r.code, r.details) for r in reasons] == [("tld_not_accepted", {"tld": tld})]


@pytest.mark.parametrize(
    "domain",
    [
        "例子.中国",
        "xn--fsqu00a.xn--fiqs8s",
        "例子。中国",
        "Example.COM",
        "example.com.cn",
        "example.sh.cn",
        "公司.网络",
        "example.top",
    ],
)
def test_accepted_domain_spellings_pass(settings: Settings, domain: str) -> None:
    assert check_creation(individual(domain=domain), TODAY, settings) == []


@pytest.mark.parametrize("domain", ["www.example.com", "www.example.com.cn"])
def test_subdomain_is_refused_naming_the_registered_domain(settings: Settings, domain: str) -> None:
    [reason] = check_creation(individual(domain=domain), TODAY, settings)
    assert reason.code == "subdomain_not_allowed"
    assert reason.details["registered_domain"] == domain.removeprefix("www.")


def test_registry_suffix_alone_is_not_a_domain(settings: Settings) -> None:
    assert codes(check_creation(individual(domain="com.cn"), TODAY, settings)) == ["invalid_domain"]


# --- creation: domain expiry -----------------------------------------------------------


def test_expiry_exactly_at_the_minimum_is_too_soon(settings: Settings) -> None:
    [reason] = check_creation(individual(domain_expires_on=date(2026, 6, 15)), TODAY, settings)
    assert (reason.code, reason.details) == (
        "domain_expiry_too_soon",
        {"minimum": "2026-06-15", "months": 3},
    )


def test_expiry_one_day_beyond_the_minimum_passes(settings: Settings) -> None:
    assert check_creation(individual(domain_expires_on=date(2026, 6, 16)), TODAY, settings) == []


def test_expiry_ten_years_ahead_passes(settings: Settings) -> None:
    assert check_creation(individual(domain_expires_on=date(2036, 3, 15)), TODAY, settings) == []


@pytest.mark.parametrize(
    "typed", [date(2036, 3, 16), date(9999, 12, 31)], ids=["a day more", "9999"]
)
def test_expiry_beyond_the_longest_registration_term_is_refused_as_a_typo(
    settings: Settings, typed: date
) -> None:
    [reason] = check_creation(individual(domain_expires_on=typed), TODAY, settings)
    assert (reason.code, reason.field, reason.details, reason.rule) == (
        "expiry_beyond_registration_term",
        "domain_expires_on",
        {"latest": "2036-03-15"},
        "domain_registration_term",
    )
    assert reason.source is not None and "source thin" in reason.source


def test_minimum_validity_follows_settings(settings: Settings) -> None:
    strict = settings.model_copy(update={"min_domain_validity_months": 12})
    reasons = check_creation(individual(domain_expires_on=date(2026, 12, 1)), TODAY, strict)
    assert codes(reasons) == ["domain_expiry_too_soon"]


@pytest.mark.parametrize(
    ("host_months", "expires_on", "months", "rule", "source"),
    [
        (1, date(2026, 5, 20), 3, "provinces.rules.min_domain_validity_months", "huaweicloud"),
        (6, date(2026, 7, 20), 6, "settings.min_domain_validity_months", None),
    ],
    ids=["the province's", "the host's"],
)
def test_the_longer_of_the_hosts_and_the_provinces_minimum_decides_naming_its_rule(
    settings: Settings,
    host_months: int,
    expires_on: date,
    months: int,
    rule: str,
    source: str | None,
) -> None:
    host = settings.model_copy(update={"min_domain_validity_months": host_months})
    shanghai = individual(
        domain_expires_on=expires_on, province="沪", **{"applicant.id_number": SHANGHAI_ID}
    )
    [reason] = check_creation(shanghai, TODAY, host)
    assert (reason.code, reason.details["months"], reason.rule) == (
        "domain_expiry_too_soon",
        months,
        rule,
    )
    assert reason.source is None if source is None else source in (reason.source or "")


def test_beijing_minimum_validity_is_three_months_not_six(settings: Settings) -> None:
    four_months = date(2026, 7, 20)
    beijing = individual(domain_expires_on=four_months, province="京")
    assert check_creation(beijing, TODAY, settings) == []


def test_minimum_is_clamped_to_month_end(settings: Settings) -> None:
    [reason] = check_creation(
        individual(domain_expires_on=date(2026, 4, 30)), date(2026, 1, 31), settings
    )
    assert reason.details["minimum"] == "2026-04-30"


# --- creation: province, licence, applicant, sector --------------------------------------


def test_unknown_province_is_refused(settings: Settings) -> None:
    [reason] = check_creation(individual(province="港"), TODAY, settings)
    assert (reason.code, reason.field) == ("unknown_province", "province")


@pytest.mark.parametrize("alias", ["蜀", "黔", "滇", "陇"])
def test_province_alias_is_accepted(settings: Settings, alias: str) -> None:
    assert check_creation(individual(province=alias), TODAY, settings) == []


def test_rules_file_must_define_exactly_the_licence_kinds() -> None:
    packaged = (Path(guards.__file__).parent / "rules.toml").read_text("utf-8")
    edited = packaged.replace("[licences.commercial]", "[licences.cdn]")
    with pytest.raises(RulesError) as caught:
        parse_rules(edited)
    assert caught.value.problems == [
        "licences.cdn: not one of filing, commercial",
        "licences.commercial: missing (every LicenceKind needs an entry)",
    ]


def test_a_documents_example_must_pass_the_documents_checks() -> None:
    """A refusal shows the example as what is expected: it must not be one refused."""
    packaged = (Path(guards.__file__).parent / "rules.toml").read_text("utf-8")
    edited = packaged.replace('example = "91110000MA01ABCD52"', 'example = "91110000MA01ABCD53"')
    with pytest.raises(RulesError) as caught:
        parse_rules(edited)
    assert caught.value.problems == [
        "documents.business_licence: example '91110000MA01ABCD53' fails the gb32100 check"
    ]


def test_rules_file_must_define_exactly_the_applicant_types() -> None:
    packaged = (Path(guards.__file__).parent / "rules.toml").read_text("utf-8")
    edited = packaged.replace("[applicant_types.government]", "[applicant_types.army]")
    with pytest.raises(RulesError) as caught:
        parse_rules(edited)
    assert caught.value.problems[:2] == [
        "applicant_types.army: not one of individual, organisation, public_institution, government",
        "applicant_types.government: missing (every ApplicantKind needs an entry)",
    ]


def test_rules_file_must_define_the_materials_of_every_service_kind() -> None:
    packaged = (Path(guards.__file__).parent / "rules.toml").read_text("utf-8")
    edited = packaged.replace("[service_kinds.quick_app]", "[service_kinds.h5]")
    with pytest.raises(RulesError) as caught:
        parse_rules(edited)
    assert caught.value.problems == [
        "service_kinds.h5: not one of website, app, mini_program, quick_app",
        "service_kinds.quick_app: missing (every ServiceKind needs an entry)",
    ]


def test_unknown_sector_is_refused(settings: Settings) -> None:
    reasons = check_creation(individual(**{"website.sector": "gambling"}), TODAY, settings)
    assert codes(reasons) == ["unknown_sector"]


def test_individual_may_not_file_commercial_licence(settings: Settings) -> None:
    [reason] = check_creation(individual(licence="commercial"), TODAY, settings)
    assert (reason.code, reason.field) == ("licence_not_allowed", "licence")


# --- creation: identity documents --------------------------------------------------------


def test_document_of_the_other_applicant_type_is_not_accepted(settings: Settings) -> None:
    payload = individual(
        **{"applicant.id_type": "business_licence", "applicant.id_number": CREDIT_CODE}
    )
    [reason] = check_creation(payload, TODAY, settings)
    assert reason.code == "id_type_not_accepted"
    assert "resident_id" in reason.details["accepted"]


def test_malformed_resident_id_is_invalid(settings: Settings) -> None:
    reasons = check_creation(
        individual(**{"applicant.id_number": "11010119900307"}), TODAY, settings
    )
    assert codes(reasons) == ["invalid_id_number"]


def test_resident_id_with_wrong_check_digit_fails_check(settings: Settings) -> None:
    payload = individual(**{"applicant.id_number": wrong_last(BEIJING_ID)})
    assert codes(check_creation(payload, TODAY, settings)) == ["id_number_check_failed"]


def test_a_wrong_check_digit_is_said_in_words_naming_the_standard_and_an_example(
    settings: Settings,
) -> None:
    payload = individual(**{"applicant.id_number": "510105194912310021"})
    [reason] = check_creation(payload, TODAY, settings)
    assert reason.message == (
        "the check character (the last) does not match the others (GB 11643): a character "
        "was mistyped or two swapped; expected like 11010519491231002X"
    )
    assert reason.details["checks"] == ["gb11643"]


def test_a_credit_code_failing_both_its_checks_says_each_in_words(settings: Settings) -> None:
    payload = organisation(**{"applicant.id_number": "91110000MA01ABCD62"})
    [reason] = check_creation(payload, TODAY, settings)
    assert reason.message.startswith(
        "the check character (the last) does not match the others (GB 32100); and the "
        "organisation code within it (characters 9 to 17) does not match its own check "
        "character (GB 11714): "
    )


def test_resident_id_with_impossible_birth_date_is_refused(settings: Settings) -> None:
    payload = individual(**{"applicant.id_number": resident_id("11010119900230123")})
    assert codes(check_creation(payload, TODAY, settings)) == ["invalid_birth_date"]


def test_resident_id_born_in_the_future_is_refused(settings: Settings) -> None:
    payload = individual(**{"applicant.id_number": resident_id("11010120300101123")})
    [reason] = check_creation(payload, TODAY, settings)
    assert (reason.code, reason.rule) == ("birth_date_in_future", "documents.resident_id")


@pytest.mark.parametrize(
    ("id_type", "number"),
    [("resident_id", resident_id("99010119900307123")), ("business_licence", "")],
)
def test_number_from_an_unknown_region_is_refused(
    settings: Settings, id_type: str, number: str
) -> None:
    number = number or credit_code("91990000", "MA01ABCD")
    identity = {"applicant.id_type": id_type, "applicant.id_number": number}
    payload = organisation(**identity) if id_type == "business_licence" else individual(**identity)
    assert codes(check_creation(payload, TODAY, settings)) == ["unknown_region"]


@pytest.mark.parametrize("province", ["京", "粤"])
def test_an_organisation_registered_by_a_national_authority_files_anywhere(
    settings: Settings, province: str
) -> None:
    national = credit_code("91100000", "MA01ABCD")  # region 100000: the whole country
    payload = organisation(province=province, **{"applicant.id_number": national})
    assert check_creation(payload, TODAY, settings) == []


def test_resident_id_with_x_check_digit_passes(settings: Settings) -> None:
    payload = individual(**{"applicant.id_number": "11010519491231002X"})
    assert check_creation(payload, TODAY, settings) == []


def test_resident_id_with_lowercase_x_check_digit_passes(settings: Settings) -> None:
    payload = individual(**{"applicant.id_number": "11010519491231002x"})
    assert check_creation(payload, TODAY, settings) == []


def test_credit_code_whose_embedded_organisation_code_fails_gb11714_is_refused(
    settings: Settings,
) -> None:
    # The README's former example: its GB 32100 character is right, its organisation
    # code MA01ABCD2 fails GB 11714.
    [reason] = check_creation(
        organisation(**{"applicant.id_number": "91110000MA01ABCD2Q"}), TODAY, settings
    )
    assert (reason.code, reason.details["checks"]) == (
        "id_number_check_failed",
        ["embedded_gb11714"],
    )
    assert reason.message.startswith("the organisation code within it (characters 9 to 17)")


def test_readme_and_factory_credit_codes_pass_every_check(settings: Settings, readme: str) -> None:
    listed = set(re.findall(r'"id_number": "([0-9A-Z]{18})"', readme))
    assert listed == {ORG_CREDIT_CODE}
    payload = organisation(**{"applicant.id_number": ORG_CREDIT_CODE})
    assert check_creation(payload, TODAY, settings) == []


def test_credit_code_with_wrong_check_character_fails_check(settings: Settings) -> None:
    payload = organisation(**{"applicant.id_number": CREDIT_CODE[:-1] + "X"})
    assert codes(check_creation(payload, TODAY, settings)) == ["id_number_check_failed"]


def test_credit_code_with_letter_outside_alphabet_is_invalid(settings: Settings) -> None:
    payload = organisation(**{"applicant.id_number": "91110000MA01ABCDIQ"})
    assert codes(check_creation(payload, TODAY, settings)) == ["invalid_id_number"]


def test_published_credit_code_example_passes(settings: Settings) -> None:
    payload = organisation(province="闽", **{"applicant.id_number": "91350100M000100Y43"})
    assert check_creation(payload, TODAY, settings) == []


@pytest.mark.parametrize(
    ("number", "expected"), [("D2143569-X", []), ("D2143569-1", ["id_number_check_failed"])]
)
def test_organisation_code_check(settings: Settings, number: str, expected: list[str]) -> None:
    payload = organisation(
        **{"applicant.id_type": "organisation_code", "applicant.id_number": number}
    )
    assert codes(check_creation(payload, TODAY, settings)) == expected


@pytest.mark.parametrize(
    ("id_type", "number"),
    [
        ("passport", "E12345678"),
        ("hk_macao_permit", "H12345678"),
        ("taiwan_permit", "12345678"),
        ("foreign_permanent_residence", "USA123456789012"),
    ],
)
def test_pattern_only_documents_accept_well_formed_numbers(
    settings: Settings, id_type: str, number: str
) -> None:
    payload = individual(**{"applicant.id_type": id_type, "applicant.id_number": number})
    assert check_creation(payload, TODAY, settings) == []


def test_pattern_only_document_refuses_malformed_number(settings: Settings) -> None:
    payload = individual(**{"applicant.id_type": "hk_macao_permit", "applicant.id_number": "X1"})
    [reason] = check_creation(payload, TODAY, settings)
    assert (reason.code, reason.details) == ("invalid_id_number", {"id_type": "hk_macao_permit"})


def test_a_malformed_document_number_is_refused_with_an_example_of_the_documents(
    settings: Settings,
) -> None:
    payload = individual(**{"applicant.id_number": "11010119900307"})
    [reason] = check_creation(payload, TODAY, settings)
    assert (
        reason.message == "not a well-formed resident_id number: expected like 11010519491231002X"
    )


# --- creation: contact ---------------------------------------------------------------


@pytest.mark.parametrize("phone", ["12800138000", "1380013800", "010-12345678", "+1 555 0100"])
def test_non_mainland_mobile_is_refused(settings: Settings, phone: str) -> None:
    reasons = check_creation(individual(**{"applicant.phone": phone}), TODAY, settings)
    assert codes(reasons) == ["invalid_phone"]


def test_a_non_mainland_mobile_is_refused_with_an_example_of_one(settings: Settings) -> None:
    reasons = check_creation(individual(**{"applicant.phone": "12800138000"}), TODAY, settings)
    assert [r.message for r in reasons] == [
        "applicant.phone must be a mainland mobile number (11 digits from 13 to 19), which "
        "receives the bureau's SMS: expected like 13800138000"
    ]


def test_the_examples_a_refusal_shows_are_numbers_their_checks_take(settings: Settings) -> None:
    assert check_creation(individual(**{"applicant.phone": MOBILE_EXAMPLE}), TODAY, settings) == []
    data = ServiceNumberData(service_number="Ab12345678901", server_ip=SERVER_IP_EXAMPLE)
    assert guard_service_number(Filing(), data, settings) == []
    assert check_psb_number(PSB_EXAMPLE, "京", load_rules()) == []


@pytest.mark.parametrize("email", ["nobody", "a@b", "a b@example.com", "x@-bad-.com"])
def test_malformed_email_is_refused(settings: Settings, email: str) -> None:
    reasons = check_creation(individual(**{"applicant.email": email}), TODAY, settings)
    assert codes(reasons) == ["invalid_email"]


@pytest.mark.parametrize("email", ["a..b@x.cn", ".a@x.cn", "a,b@x.cn", "a(b)@x.cn"])
def test_an_email_whose_local_part_mail_cannot_carry_is_refused(
    settings: Settings, email: str
) -> None:
    reasons = check_creation(individual(**{"applicant.email": email}), TODAY, settings)
    assert codes(reasons) == ["invalid_email"]


def test_an_email_at_a_reserved_test_domain_is_refused(settings: Settings) -> None:
    reasons = check_creation(individual(**{"applicant.email": "a@x.test"}), TODAY, settings)
    assert codes(reasons) == ["invalid_email"]


def test_an_email_at_a_bare_ip_address_is_refused(settings: Settings) -> None:
    reasons = check_creation(individual(**{"applicant.email": "a@1.2.3.4"}), TODAY, settings)
    assert codes(reasons) == ["invalid_email"]


def test_an_email_refusal_names_the_field_and_says_why(settings: Settings) -> None:
    [reason] = check_creation(individual(**{"applicant.email": "a..b@x.cn"}), TODAY, settings)
    assert reason.message.startswith("applicant.email: 'a..b@x.cn' is not an email address: ")
    assert "period" in reason.message


# --- creation: per-province residency ---------------------------------------------------


@pytest.mark.parametrize("province", ["晋", "蒙", "青", "宁", "新", "桂", "沪", "浙", "鲁"])
def test_local_residents_only_province_refuses_other_region_id(
    settings: Settings, province: str
) -> None:
    [reason] = check_creation(individual(province=province), TODAY, settings)
    assert (reason.code, reason.rule) == (
        "non_local_resident",
        "provinces.rules.individuals_residency",
    )


def test_guangxi_refuses_a_beijing_resident_naming_its_rule_and_source(settings: Settings) -> None:
    [reason] = check_creation(individual(province="桂"), TODAY, settings)
    assert reason.as_dict() == {
        "code": "non_local_resident",
        "message": "Guangxi accepts individual filings only with a local resident ID",
        "field": "applicant.id_number",
        "province": "桂",
        "id_prefix": "45",
        "rule": "provinces.rules.individuals_residency",
        "source": "Huawei Cloud, skills/cdi/assist/huawei-cloud-icp-process-guidance/"
        "kb/topics/备案管局咨询.md in github.com/huaweicloud/huaweicloud-skills (Shanxi "
        '"个人备案必须使用本省身份证", Inner Mongolia "非本省身份证不支持备案", Qinghai and Xinjiang '
        '"个人备案必须是本地身份证", Ningxia "个人不支持跨省备案", Guangxi "个人备案不允许异地备案")',
    }


def test_guangxi_accepts_a_guangxi_resident(settings: Settings) -> None:
    payload = individual(province="桂", **{"applicant.id_number": resident_id("45010219900307123")})
    assert check_creation(payload, TODAY, settings) == []


def test_local_residents_only_province_accepts_local_id(settings: Settings) -> None:
    payload = individual(province="沪", **{"applicant.id_number": SHANGHAI_ID})
    assert check_creation(payload, TODAY, settings) == []


def test_shanghai_accepts_a_residence_permit_holder(settings: Settings) -> None:
    payload = individual(province="沪", **{"applicant.id_type": "residence_permit"})
    assert check_creation(payload, TODAY, settings) == []


def test_guangxi_refuses_a_residence_permit_holder(settings: Settings) -> None:
    payload = individual(province="桂", **{"applicant.id_type": "residence_permit"})
    assert codes(check_creation(payload, TODAY, settings)) == ["non_local_resident"]


@pytest.mark.parametrize("province", ["京", "冀", "粤"])
def test_provinces_without_a_residency_rule_accept_other_region_ids(
    settings: Settings, province: str
) -> None:
    payload = individual(province=province, **{"applicant.id_number": SHANGHAI_ID})
    assert check_creation(payload, TODAY, settings) == []


def test_local_residents_only_province_refuses_non_resident_documents(settings: Settings) -> None:
    payload = individual(
        province="沪", **{"applicant.id_type": "passport", "applicant.id_number": "E12345678"}
    )
    assert codes(check_creation(payload, TODAY, settings)) == ["non_local_resident"]


def test_residency_rule_does_not_apply_to_organisations(settings: Settings) -> None:
    shanghai_company = credit_code("91310115", "MA1ABCDE")
    payload = organisation(province="沪", **{"applicant.id_number": shanghai_company})
    assert check_creation(payload, TODAY, settings) == []


# --- creation: minimum age -----------------------------------------------------------------


def test_hebei_refuses_a_seventeen_year_old(settings: Settings) -> None:
    payload = individual(province="冀", **{"applicant.id_number": resident_id("13010220080316123")})
    [reason] = check_creation(payload, TODAY, settings)
    assert (reason.code, reason.details, reason.rule) == (
        "under_minimum_age",
        {"province": "冀", "min_age": 18, "age": 17},
        "provinces.rules.min_age",
    )


def test_hebei_accepts_an_eighteenth_birthday(settings: Settings) -> None:
    payload = individual(province="冀", **{"applicant.id_number": resident_id("13010220080315123")})
    assert check_creation(payload, TODAY, settings) == []


def test_inner_mongolia_refuses_an_eleven_year_old(settings: Settings) -> None:
    payload = individual(province="蒙", **{"applicant.id_number": resident_id("15010220150101123")})
    assert codes(check_creation(payload, TODAY, settings)) == ["under_minimum_age"]


def test_hunan_refuses_a_seventeen_year_old_naming_the_rule(settings: Settings) -> None:
    payload = individual(province="湘", **{"applicant.id_number": resident_id("43010220080316123")})
    [reason] = check_creation(payload, TODAY, settings)
    assert (reason.code, reason.details, reason.rule) == (
        "under_minimum_age",
        {"province": "湘", "min_age": 18, "age": 17},
        "provinces.rules.min_age",
    )


def test_no_minimum_age_where_the_province_sets_none(settings: Settings) -> None:
    payload = individual(province="粤", **{"applicant.id_number": resident_id("44030520150101123")})
    assert check_creation(payload, TODAY, settings) == []


# --- creation: foreign individuals ----------------------------------------------------------

PASSPORT = {"applicant.id_type": "passport", "applicant.id_number": "E12345678"}


def test_hebei_refuses_a_foreign_individual_naming_the_rule(settings: Settings) -> None:
    [reason] = check_creation(individual(province="冀", **PASSPORT), TODAY, settings)
    assert reason.as_dict() == {
        "code": "foreign_individual_refused",
        "message": "Hebei accepts no individual filings from foreign nationals, and icpflow "
        "takes any passport 护照 as a foreign national's: a Chinese citizen abroad (华侨) files "
        "with their resident ID",
        "field": "applicant.id_type",
        "province": "冀",
        "id_type": "passport",
        "rule": "provinces.rules.no_foreign_individuals",
        "source": "Huawei Cloud, skills/cdi/assist/huawei-cloud-icp-process-guidance/"
        "kb/topics/备案管局咨询.md in "
        'github.com/huaweicloud/huaweicloud-skills (Hebei, 个人用户 > 主体信息: "外籍人士不予备案")',
    }


def test_hebei_accepts_a_hong_kong_resident_s_permit(settings: Settings) -> None:
    permit = {"applicant.id_type": "hk_macao_permit", "applicant.id_number": "H12345678"}
    assert check_creation(individual(province="冀", **permit), TODAY, settings) == []


def test_a_foreign_individual_files_where_the_province_does_not_refuse_them(
    settings: Settings,
) -> None:
    assert check_creation(individual(province="粤", **PASSPORT), TODAY, settings) == []


# --- creation: organisations file in their home province ------------------------------------


def test_guangdong_company_filing_in_beijing_is_refused(settings: Settings) -> None:
    payload = organisation(**{"applicant.id_number": GUANGDONG_CREDIT_CODE})
    [reason] = check_creation(payload, TODAY, settings)
    assert (reason.code, reason.field, reason.details, reason.rule) == (
        "outside_home_province",
        "province",
        {"province": "京", "home_province": "粤"},
        "applicant_types.organisation",
    )


def test_guangdong_company_filing_in_guangdong_passes(settings: Settings) -> None:
    payload = organisation(province="粤", **{"applicant.id_number": GUANGDONG_CREDIT_CODE})
    assert check_creation(payload, TODAY, settings) == []


# --- creation: suffixes reserved to entity types, and those they must file ------------------

PUBLIC_INSTITUTION = {
    "licence": "filing",
    "applicant.type": "public_institution",
    "applicant.id_type": "public_institution_certificate",
    "applicant.id_number": credit_code("12110000", "MB012345"),
}
GOVERNMENT = {
    "licence": "filing",
    "applicant.type": "government",
    "applicant.id_type": "government_credit_code",
    "applicant.id_number": credit_code("11110000", "MB023456"),
}


@pytest.mark.parametrize("domain", ["示例.公益", "example.cn"])
def test_public_institution_files_gongyi_and_cn(settings: Settings, domain: str) -> None:
    payload = organisation(domain=domain, **PUBLIC_INSTITUTION)
    assert check_creation(payload, TODAY, settings) == []


@pytest.mark.parametrize("domain", ["示例.政务", "example.gov.cn"])
def test_government_body_files_zhengwu_and_gov_cn(settings: Settings, domain: str) -> None:
    payload = organisation(domain=domain, **GOVERNMENT)
    assert check_creation(payload, TODAY, settings) == []


@pytest.mark.parametrize("domain", ["示例.政务", "example.gov.cn", "示例.公益"])
def test_an_individual_may_not_file_a_suffix_its_registry_keeps_to_entities(
    settings: Settings, domain: str
) -> None:
    [reason] = check_creation(individual(domain=domain), TODAY, settings)
    assert (reason.code, reason.field) == ("suffix_reserved", "domain")


def test_a_company_may_not_file_gov_cn_naming_the_state_councils_notice(
    settings: Settings,
) -> None:
    [reason] = check_creation(organisation(domain="example.gov.cn"), TODAY, settings)
    assert (reason.code, reason.details["applicant_types"], reason.rule) == (
        "suffix_reserved",
        ["government", "public_institution"],
        "domains.reserved.gov.cn",
    )
    assert reason.source is not None and "关于加强政府网站域名管理的通知" in reason.source


@pytest.mark.parametrize("domain", ["示例.公益", "示例.政务"])
def test_an_organisation_may_file_the_suffixes_conac_opens_to_social_organisations(
    settings: Settings, domain: str
) -> None:
    assert check_creation(organisation(domain=domain), TODAY, settings) == []


def test_a_government_body_filing_example_com_is_refused_naming_the_rule(
    settings: Settings,
) -> None:
    [reason] = check_creation(organisation(domain="example.com", **GOVERNMENT), TODAY, settings)
    assert reason.as_dict() == {
        "code": "suffix_not_the_applicants",
        "message": "government applicants file domains ending .gov.cn or .政务",
        "field": "domain",
        "applicant_type": "government",
        "suffixes": [".gov.cn", ".政务"],
        "rule": "domains.required.government",
        "source": "Huawei Cloud, skills/cdi/assist/huawei-cloud-icp-process-guidance/"
        "kb/topics/备案管局咨询.md in "
        'github.com/huaweicloud/huaweicloud-skills ("党政机关域名应当以“.gov.cn”或“.政务”为后缀进行'
        '备案", citing 《互联网政务应用安全管理规定》)',
    }


@pytest.mark.parametrize("domain", ["example.com", "示例.政务"])
def test_a_public_institution_files_only_cn_or_gongyi(settings: Settings, domain: str) -> None:
    payload = organisation(domain=domain, **PUBLIC_INSTITUTION)
    [reason] = check_creation(payload, TODAY, settings)
    assert (reason.code, reason.rule) == (
        "suffix_not_the_applicants",
        "domains.required.public_institution",
    )


@pytest.mark.parametrize(
    ("payload", "domain", "rule"),
    [
        (GOVERNMENT, "示例.公益", "domains.required.government"),
        (PUBLIC_INSTITUTION, "示例.政务", "domains.required.public_institution"),
    ],
)
def test_a_suffix_fault_is_one_reason_naming_what_to_file(
    settings: Settings, payload: dict[str, str], domain: str, rule: str
) -> None:
    """A government body's .公益 breaks both its required suffixes and .公益's reservation: the
    one reason names the suffixes it files, not the reservation too."""
    [reason] = check_creation(organisation(domain=domain, **payload), TODAY, settings)
    assert (reason.code, reason.rule) == ("suffix_not_the_applicants", rule)


def test_province_rule_comes_from_the_rules_file(settings: Settings, tmp_path: Path) -> None:
    packaged = (Path(guards.__file__).parent / "rules.toml").read_text("utf-8")
    edited = packaged + (
        '\n[[provinces.rules]]\nrule = "individuals_residency"\nvalue = "local_id"\n'
        'provinces = ["粤"]\nsource = "a test"\n'
    )
    (tmp_path / "rules.toml").write_text(edited, encoding="utf-8")
    custom = settings.model_copy(update={"rules_file": tmp_path / "rules.toml"})
    assert codes(check_creation(individual(), TODAY, custom)) == ["non_local_resident"]


# --- the rules file itself -----------------------------------------------------------


def test_packaged_rules_define_all_provinces_and_aliases() -> None:
    rules = load_rules()
    assert len(rules.provinces) == 31
    assert {p.id_prefix for p in rules.provinces.values()} >= {"11", "31", "44", "65"}
    assert dict(rules.aliases) == {"蜀": "川", "黔": "贵", "滇": "云", "陇": "甘"}


def test_a_province_is_labelled_for_a_sentence_in_english_and_chinese() -> None:
    assert load_rules().province_labels("京") == ("京 北京 Beijing", "北京")


def test_a_province_the_rules_no_longer_list_is_labelled_by_its_character() -> None:
    assert load_rules().province_labels("港") == ("港", "港")


INCONSISTENT_RULES = """
[domains]
accepted_tlds = ["com"]
second_level_suffixes = ["com.cn"]
[provinces]
source = "GB/T 2260"
known = [{ char = "京", zh = "北京", en = "Beijing", id_prefix = "11" }]
[provinces.aliases]
"燕" = "冀"
[[provinces.rules]]
rule = "min_domain_validity_months"
value = -1
provinces = ["京"]
source = "a page"
[[provinces.rules]]
rule = "individuals_residency"
value = "local_id"
provinces = ["港"]
[documents.resident_id]
zh = "居民身份证"
pattern = '^[0-9]{18}$'
example = "1101"
checks = ["luhn"]
source = "GB 11643-1999"
[materials]
[applicant_types.individual]
zh = "个人"
documents = ["resident_id"]
materials = ["selfie"]
source = "a page"
[licences.filing]
zh = "备案"
applicant_types = ["individual"]
pre_approval_required = false
extra_materials = []
number_patterns = ['ICP备[0-9]+']
source = "a page"
[sectors.general]
zh = "一般"
pre_approval_required = false
extra_materials = []
"""


def test_inconsistent_rules_file_lists_every_problem() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(INCONSISTENT_RULES)
    assert caught.value.problems == [
        "licences.commercial: missing (every LicenceKind needs an entry)",
        "applicant_types.organisation: missing (every ApplicantKind needs an entry)",
        "applicant_types.public_institution: missing (every ApplicantKind needs an entry)",
        "applicant_types.government: missing (every ApplicantKind needs an entry)",
        "service_kinds.website: missing (every ServiceKind needs an entry)",
        "service_kinds.app: missing (every ServiceKind needs an entry)",
        "service_kinds.mini_program: missing (every ServiceKind needs an entry)",
        "service_kinds.quick_app: missing (every ServiceKind needs an entry)",
        "provinces.rules[0]: min_domain_validity_months must be a non-negative integer",
        "provinces.rules[1]: unknown province '港'",
        "provinces.rules[1]: no source",
        "domains: no source",
        "documents.resident_id: unknown check 'luhn'",
        "documents.resident_id: example '1101' does not match its pattern",
        "licences.filing: a number pattern lacks a 'province' group",
        "licences.filing: number_examples must give one per number pattern",
        "sectors.general: no source",
        "provinces.aliases: '燕' = '冀' is not an alias",
        "domains.second_level_suffixes: 'com.cn' is under no accepted TLD",
        "applicant_types.individual: unknown material 'selfie'",
    ]


def test_every_packaged_rule_names_its_source() -> None:
    rules = load_rules()
    sources = [
        rules.domains_source,
        rules.provinces_source,
        *(entry.source for entry in rules.reserved_suffixes.values()),
        *(entry.source for entry in rules.required_suffixes.values()),
        *(entry.source for entry in rules.province_rules),
        *(entry.source for entry in rules.documents.values()),
        *(entry.source for entry in rules.applicant_types.values()),
        *(entry.source for entry in rules.service_kinds.values()),
        *(entry.source for entry in rules.licences.values()),
        *(entry.source for entry in rules.sectors.values()),
    ]
    assert all(source.text.strip() for source in sources)


def test_sector_pre_approval_can_be_limited_to_some_provinces(
    settings: Settings, tmp_path: Path
) -> None:
    packaged = (Path(guards.__file__).parent / "rules.toml").read_text("utf-8")
    edited = packaged.replace(
        'zh = "教育"\npre_approval_required = true\n',
        'zh = "教育"\npre_approval_required = true\npre_approval_provinces = ["京"]\n',
    )
    (tmp_path / "rules.toml").write_text(edited, encoding="utf-8")
    custom = settings.model_copy(update={"rules_file": tmp_path / "rules.toml"})
    beijing, shanghai = Filing(sector="education"), Filing(sector="education", province="沪")
    assert guard_pre_approval_needed(beijing, EventData(), custom) == []
    assert codes(guard_pre_approval_needed(shanghai, EventData(), custom)) == [
        "pre_approval_not_needed"
    ]


# --- canonical_province ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [("蜀", "川"), ("川", "川"), ("京", "京"), ("港", None)]
)
def test_canonical_province(value: str, expected: str | None) -> None:
    assert load_rules().canonical_province(value) == expected


# --- bind_service_number ------------------------------------------------------------


def test_well_formed_service_number_and_public_ip_pass(settings: Settings) -> None:
    data = ServiceNumberData(service_number="Ab12345678901", server_ip="47.96.1.10")
    assert guard_service_number(Filing(), data, settings) == []


def test_malformed_service_number_is_refused(settings: Settings) -> None:
    data = ServiceNumberData(service_number="abc-123", server_ip="47.96.1.10")
    [reason] = guard_service_number(Filing(), data, settings)
    assert (reason.code, reason.field) == ("invalid_service_number", "data.service_number")


def test_a_malformed_service_number_is_refused_with_an_example_of_one(settings: Settings) -> None:
    data = ServiceNumberData(service_number="abc-123", server_ip="47.96.1.10")
    [reason] = guard_service_number(Filing(), data, settings)
    assert reason.message == (
        "the service number does not have the host's format: expected like BA2026000123"
    )


def test_the_refusals_example_is_the_installs_own(settings: Settings) -> None:
    custom = settings.model_copy(
        update={"service_number_pattern": r"^BA[0-9]{6}$", "service_number_example": "BA202601"}
    )
    data = ServiceNumberData(service_number="BA2026000123", server_ip="47.96.1.10")
    [reason] = guard_service_number(Filing(), data, custom)
    assert reason.message.endswith("expected like BA202601")


def test_the_shipped_service_number_example_is_one_the_guard_takes(settings: Settings) -> None:
    data = ServiceNumberData(service_number=settings.service_number_example, server_ip="8.8.8.8")
    assert guard_service_number(Filing(), data, settings) == []


def test_service_number_pattern_follows_settings(settings: Settings) -> None:
    custom = settings.model_copy(update={"service_number_pattern": r"^BA[0-9]{6}$"})
    data = ServiceNumberData(service_number="BA123456", server_ip="47.96.1.10")
    assert guard_service_number(Filing(), data, custom) == []


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "192.168.1.1", "127.0.0.1", "224.0.0.1", "240.0.0.1", "100.64.0.1", "0.0.0.0"],
)
def test_non_public_server_ip_is_refused(settings: Settings, address: str) -> None:
    data = ServiceNumberData(service_number="Ab12345678901", server_ip=address)
    assert codes(guard_service_number(Filing(), data, settings)) == ["server_ip_not_public"]


@pytest.mark.parametrize("address", ["2001:db8::1", "300.1.1.1", "server-1"])
def test_non_ipv4_server_ip_is_invalid(settings: Settings, address: str) -> None:
    data = ServiceNumberData(service_number="Ab12345678901", server_ip=address)
    assert codes(guard_service_number(Filing(), data, settings)) == ["invalid_server_ip"]


def test_a_non_ipv4_server_ip_is_refused_with_an_example_of_one(settings: Settings) -> None:
    data = ServiceNumberData(service_number="Ab12345678901", server_ip="x")
    [reason] = guard_service_number(Filing(), data, settings)
    assert reason.message == (
        "'x' is not an IPv4 address: expected four numbers from 0 to 255 separated by dots, "
        "like 114.114.114.114"
    )


def test_bad_service_number_and_bad_ip_are_both_reported(settings: Settings) -> None:
    data = ServiceNumberData(service_number="x", server_ip="10.1.1.1")
    reasons = guard_service_number(Filing(), data, settings)
    assert codes(reasons) == ["invalid_service_number", "server_ip_not_public"]


# --- submit -----------------------------------------------------------------------


def submitting(filing: Filing, materials: list[str], settings: Settings) -> list[Reason]:
    """What ``submit``'s guards of the filing and its data (not the order's records) refuse,
    in the order the event runs them, as one refusal lists them."""
    data = MaterialsData(materials=materials)
    spec = EVENTS_BY_NAME[Event.SUBMIT]
    return [
        r for name in spec.guards if name in GUARDS for r in GUARDS[name](filing, data, settings)
    ]


def test_individual_with_all_materials_passes(settings: Settings) -> None:
    assert guard_submission(Filing(), MaterialsData(materials=INDIVIDUAL_MATERIALS), settings) == []


def test_a_submission_without_its_service_number_names_it(settings: Settings) -> None:
    reasons = submitting(Filing(service_number=None), INDIVIDUAL_MATERIALS, settings)
    assert codes(reasons) == ["service_number_missing"]


def test_a_change_is_submitted_without_a_service_number(settings: Settings) -> None:
    filing = Filing(kind="change", service_number=None)
    assert submitting(filing, ["change_request_form"], settings) == []


def test_a_name_change_brings_the_renaming_letter(settings: Settings) -> None:
    filing = Filing(kind="change", changes={"entity_name": "Example Group Ltd"})
    reasons = guard_submission(filing, MaterialsData(materials=["change_request_form"]), settings)
    assert [(r.code, r.details) for r in reasons] == [
        ("missing_material", {"material": "renaming_letter"})
    ]


def test_every_missing_material_is_reported(settings: Settings) -> None:
    reasons = guard_submission(
        Filing(), MaterialsData(materials=INDIVIDUAL_MATERIALS[2:]), settings
    )
    assert [(r.code, r.field, r.details) for r in reasons] == [
        ("missing_material", "data.materials", {"material": "id_card_front"}),
        ("missing_material", "data.materials", {"material": "id_card_back"}),
    ]


def test_organisation_needs_its_own_materials(settings: Settings) -> None:
    filing = Filing(applicant_type="organisation")
    reasons = guard_submission(filing, MaterialsData(materials=INDIVIDUAL_MATERIALS), settings)
    assert [r.details["material"] for r in reasons] == [
        "business_licence_copy",
        "legal_rep_id",
        "site_principal_id",
    ]


@pytest.mark.parametrize("kind", ["app", "mini_program", "quick_app"])
def test_an_app_is_submitted_with_its_own_materials_not_a_websites(
    settings: Settings, kind: str
) -> None:
    filing = Filing(service_kind=kind)
    data = MaterialsData(materials=INDIVIDUALS_APP_MATERIALS)
    assert guard_submission(filing, data, settings) == []


def test_an_app_submitted_with_a_websites_materials_is_asked_for_its_own(
    settings: Settings,
) -> None:
    filing = Filing(service_kind="app")
    reasons = guard_submission(filing, MaterialsData(materials=INDIVIDUAL_MATERIALS), settings)
    assert [(r.code, r.details) for r in reasons] == [
        ("missing_material", {"material": "app_authenticity_form"}),
        ("missing_material", {"material": "app_icon"}),
    ]


def test_an_organisations_app_is_asked_for_its_responsible_persons_id(
    settings: Settings,
) -> None:
    filing = Filing(applicant_type="organisation", service_kind="app")
    reasons = guard_submission(filing, MaterialsData(materials=INDIVIDUALS_APP_MATERIALS), settings)
    assert [r.details["material"] for r in reasons] == [
        "business_licence_copy",
        "legal_rep_id",
        "site_principal_id",
    ]


def test_unknown_material_is_reported(settings: Settings) -> None:
    data = MaterialsData(materials=[*INDIVIDUAL_MATERIALS, "selfie"])
    [reason] = guard_submission(Filing(), data, settings)
    assert (reason.code, reason.details) == ("unknown_material", {"material": "selfie"})


def test_pre_approval_sector_without_granted_pre_approval_is_refused(settings: Settings) -> None:
    filing = Filing(sector="news")
    reasons = submitting(filing, INDIVIDUAL_MATERIALS, settings)
    assert codes(reasons) == ["pre_approval_required"]


def test_pre_approval_sector_with_granted_pre_approval_passes(settings: Settings) -> None:
    filing = Filing(sector="news", pre_approval_document="京新闻审〔2026〕1号")
    assert submitting(filing, INDIVIDUAL_MATERIALS, settings) == []


def test_commercial_licence_needs_extra_materials_and_pre_approval(settings: Settings) -> None:
    filing = Filing(applicant_type="organisation", licence="commercial")
    reasons = submitting(filing, ORGANISATION_MATERIALS, settings)
    assert [(r.code, r.details.get("material")) for r in reasons] == [
        ("missing_material", "icp_licence_copy"),
        ("missing_material", "articles_of_association"),
        ("pre_approval_required", None),
    ]


def test_sector_extra_material_is_required(settings: Settings) -> None:
    filing = Filing(sector="bbs_forums", pre_approval_document="doc")
    reasons = guard_submission(filing, MaterialsData(materials=INDIVIDUAL_MATERIALS), settings)
    assert [r.details["material"] for r in reasons] == ["interactive_service_security_assessment"]


def test_filing_with_sector_unknown_to_the_rules_is_reported(settings: Settings) -> None:
    reasons = submitting(Filing(sector="retired"), INDIVIDUAL_MATERIALS, settings)
    assert [(r.code, r.field) for r in reasons] == [("unknown_sector", "filing.sector")]


def test_a_submission_of_a_sector_unknown_to_the_rules_names_it_once_beside_unknown_materials(
    settings: Settings,
) -> None:
    reasons = submitting(Filing(sector="retired"), [*INDIVIDUAL_MATERIALS, "selfie"], settings)
    assert codes(reasons) == ["unknown_material", "unknown_sector"]


def test_a_submission_lists_its_missing_materials_then_the_filings_own_faults(
    settings: Settings,
) -> None:
    filing = Filing(sector="news", service_number=None)
    reasons = submitting(filing, INDIVIDUAL_MATERIALS[1:], settings)
    assert codes(reasons) == [
        "missing_material",
        "service_number_missing",
        "pre_approval_required",
    ]


# --- miit_approve -------------------------------------------------------------------


@pytest.mark.parametrize("number", ["京ICP备12345678号-1", "京ICP备2026007879号-12"])
def test_well_formed_filing_number_passes(settings: Settings, number: str) -> None:
    assert guard_icp_number(Filing(), IcpNumberData(icp_number=number), settings) == []


@pytest.mark.parametrize(
    ("province", "number"), [("川", "蜀ICP备2026007879号-1"), ("川", "川ICP备2026007879号-1")]
)
def test_alias_and_canonical_numbers_match_the_province(
    settings: Settings, province: str, number: str
) -> None:
    assert (
        guard_icp_number(Filing(province=province), IcpNumberData(icp_number=number), settings)
        == []
    )


@pytest.mark.parametrize(
    "number",
    [
        "京ICP备12345678号",
        "京ICP备123456789号-1",
        "京ICP备12345678号-0",
        "ICP备12345678号-1",
        "京ICP证03017号-1",
    ],
)
def test_malformed_icp_number_is_invalid(settings: Settings, number: str) -> None:
    assert codes(guard_icp_number(Filing(), IcpNumberData(icp_number=number), settings)) == [
        "invalid_icp_number"
    ]


def test_a_malformed_icp_number_is_refused_with_an_example_of_the_licences_numbers(
    settings: Settings,
) -> None:
    [reason] = guard_icp_number(Filing(), IcpNumberData(icp_number="foo"), settings)
    assert reason.message == "'foo' is not an ICP number: expected like 京ICP备12345678号-1"


def test_a_malformed_commercial_number_is_refused_with_an_example_of_each_format(
    settings: Settings,
) -> None:
    filing = Filing(licence="commercial")
    [reason] = guard_icp_number(filing, IcpNumberData(icp_number="foo"), settings)
    assert reason.message == (
        "'foo' is not an ICP number: expected like 京ICP证030173号 or 粤B2-20090059"
    )


def test_an_entitys_number_given_for_a_sites_says_the_suffix_is_missing(
    settings: Settings,
) -> None:
    [reason] = guard_icp_number(Filing(), IcpNumberData(icp_number="京ICP备12345678号"), settings)
    assert "suffix" in reason.message and reason.details == {"example": "京ICP备12345678号-1"}
    assert "-1A for an app" in reason.message  # an app's first is not -1


def test_commercial_number_passes_for_commercial_filing(settings: Settings) -> None:
    filing = Filing(licence="commercial", applicant_type="organisation")
    assert guard_icp_number(filing, IcpNumberData(icp_number="京ICP证030173号-1"), settings) == []


def test_number_of_the_other_licence_kind_is_refused(settings: Settings) -> None:
    [reason] = guard_icp_number(Filing(), IcpNumberData(icp_number="京ICP证030173号-1"), settings)
    assert (reason.code, reason.details) == (
        "icp_number_kind_mismatch",
        {"expected": "filing", "found": "commercial"},
    )


def test_number_of_another_province_is_refused(settings: Settings) -> None:
    [reason] = guard_icp_number(Filing(), IcpNumberData(icp_number="沪ICP备12345678号-1"), settings)
    assert (reason.code, reason.details) == (
        "icp_number_province_mismatch",
        {"expected": "京", "found": "沪"},
    )


@pytest.mark.parametrize(
    ("province", "number"),
    [("粤", "粤B2-20090059-5"), ("粤", "粤B2-20090059"), ("京", "京ICP证030173号")],
)
def test_commercial_licence_numbers_in_their_real_formats_pass(
    settings: Settings, province: str, number: str
) -> None:
    filing = Filing(licence="commercial", applicant_type="organisation", province=province)
    assert guard_icp_number(filing, IcpNumberData(icp_number=number), settings) == []


def test_value_added_number_of_another_province_is_refused(settings: Settings) -> None:
    filing = Filing(licence="commercial", applicant_type="organisation")
    [reason] = guard_icp_number(filing, IcpNumberData(icp_number="粤B2-20090059-5"), settings)
    assert (reason.code, reason.rule) == ("icp_number_province_mismatch", "licences.commercial")


def test_kind_and_province_mismatch_are_both_reported(settings: Settings) -> None:
    reasons = guard_icp_number(Filing(), IcpNumberData(icp_number="沪ICP证030173号-1"), settings)
    assert codes(reasons) == ["icp_number_kind_mismatch", "icp_number_province_mismatch"]


def test_missing_icp_number_is_refused(settings: Settings) -> None:
    reasons = guard_icp_number(Filing(), IcpNumberData(), settings)
    assert [(r.code, r.field) for r in reasons] == [("missing_field", "data.icp_number")]


# --- request_pre_approval ---------------------------------------------------------------


def test_pre_approval_not_needed_for_general_filing(settings: Settings) -> None:
    assert codes(guard_pre_approval_needed(Filing(), EventData(), settings)) == [
        "pre_approval_not_needed"
    ]


@pytest.mark.parametrize(
    "filing",
    [Filing(sector="education"), Filing(licence="commercial", applicant_type="organisation")],
)
def test_pre_approval_needed_for_listed_sector_or_commercial_licence(
    settings: Settings, filing: Filing
) -> None:
    assert guard_pre_approval_needed(filing, EventData(), settings) == []


def test_pre_approval_needed_reports_a_sector_the_rules_dropped_instead(
    settings: Settings,
) -> None:
    reasons = guard_pre_approval_needed(replace(Filing(), sector="retired"), EventData(), settings)
    assert codes(reasons) == ["unknown_sector"]


# --- registry ---------------------------------------------------------------------------


def test_every_guard_the_workflow_names_exists_and_every_guard_is_used() -> None:
    from workflow.domain.definition import EVENTS

    named = {guard for event in EVENTS for guard in event.guards}
    assert named == set(GUARDS) | set(ORDER_GUARDS)


def test_an_offer_is_decided_only_by_the_events_own_guards_never_by_an_order_guard() -> None:
    from workflow.domain.definition import EVENTS

    for event in EVENTS:
        assert set(event.offered_if) <= set(event.guards) & set(GUARDS), event.name


class _Unread:
    """Event data no guard deciding an offer may read: the offer has none (a filing is
    described without an event), so any look-up, ``isinstance`` too, fails the spec."""

    def __getattribute__(self, name: str) -> Any:
        raise AssertionError(f"a guard deciding an offer read the event's data ({name})")


def _offered_if_guards() -> list[str]:
    from workflow.domain.definition import EVENTS

    return sorted({name for event in EVENTS for name in event.offered_if})


# Filings down each branch a filing-only guard may take: one that passes, one whose sector
# needs pre-approval (granted or not), one with a commercial licence, one of a sector the
# rules dropped, one without a service number, and an order of a kind filing no service.
_FILINGS_DECIDING_OFFERS = [
    Filing(),
    Filing(sector="news"),
    Filing(sector="news", pre_approval_document="京新闻审〔2026〕1号"),
    Filing(licence="commercial", applicant_type="organisation"),
    Filing(sector="retired"),
    Filing(service_number=None),
    Filing(kind="change", service_number=None),
]


@pytest.mark.parametrize("name", _offered_if_guards())
@pytest.mark.parametrize("filing", _FILINGS_DECIDING_OFFERS)
def test_a_guard_deciding_an_offer_reads_the_filing_alone_never_the_events_data(
    settings: Settings, name: str, filing: Filing
) -> None:
    GUARDS[name](filing, cast(EventData, _Unread()), settings)


_ON_ANDROID = {"android": on_platform(ANDROID_MD5)}


def test_a_website_is_refused_each_field_only_an_app_has_in_the_order_its_model_gives_them() -> (
    None
):
    site = ServiceIn.model_validate(
        service_in(app_identifier="cn.example.shop", app_platforms=_ON_ANDROID)
    )

    refused = check_website_fields(ServiceKind.WEBSITE, site, "service")

    assert [(r.code, r.field) for r in refused] == [
        ("unexpected_field", "service.app_identifier"),
        ("unexpected_field", "service.app_platforms"),
    ]


def test_a_websites_change_of_app_platforms_is_refused_as_what_it_has_none_of() -> None:
    changes = ChangesIn.model_validate({"service_name": "Shop", "app_platforms": _ON_ANDROID})

    refused = check_website_fields(ServiceKind.WEBSITE, changes, "changes")

    assert [(r.code, r.field) for r in refused] == [("unexpected_field", "changes.app_platforms")]


@pytest.mark.parametrize("kind", [k for k in ServiceKind if k is not ServiceKind.WEBSITE])
def test_an_app_a_mini_program_or_a_quick_app_may_give_what_only_they_have(
    kind: ServiceKind,
) -> None:
    app = ServiceIn.model_validate(
        service_in(kind=kind.value, app_identifier="cn.example.shop", app_platforms=_ON_ANDROID)
    )

    assert check_website_fields(kind, app, "service") == []
