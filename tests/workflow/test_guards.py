"""The guards, one behaviour per test, against the packaged rules unless a test says otherwise."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from tests.factories import ORG_MATERIALS
from workflow.domain import guards
from workflow.domain.guards import (
    GUARDS,
    canonical_province,
    check_creation,
    guard_icp_number,
    guard_pre_approval_document,
    guard_pre_approval_needed,
    guard_reason_given,
    guard_service_number,
    guard_submission,
)
from workflow.domain.rules import RulesError, load_rules, parse_rules

TODAY = date(2026, 3, 15)
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def resident_id(first17: str) -> str:
    """Append the GB 11643 check digit, computed independently of the code under test."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def credit_code(first17: str) -> str:
    """Append the GB 32100 check character."""
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, weights, strict=True))
    return first17 + CREDIT_ALPHABET[(31 - total % 31) % 31]


BEIJING_ID = resident_id("11010119900307123")  # 110101199003071233
SHANGHAI_ID = resident_id("31011519850612004")  # 310115198506120042
CREDIT_CODE = credit_code("91110000MA01ABCD2")  # 91110000MA01ABCD2Q


def wrong_last(number: str) -> str:
    return number[:-1] + ("1" if number[-1] != "1" else "2")


@pytest.fixture
def settings() -> Settings:
    """Shadows the database-backed conftest fixture on purpose: guards are pure functions."""
    return Settings(_env_file=None)  # type: ignore[call-arg]


def individual(**changes: Any) -> dict[str, Any]:
    """A payload that passes ``check_creation``; ``changes`` are dotted paths to replace."""
    payload: dict[str, Any] = {
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
    return _apply(payload, changes)


def organisation(**changes: Any) -> dict[str, Any]:
    base = individual(
        licence="commercial",
        **{
            "applicant.type": "organisation",
            "applicant.id_type": "business_licence",
            "applicant.id_number": CREDIT_CODE,
        },
    )
    return _apply(base, changes)


def _apply(payload: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = payload
        for key in parents:
            node = node[key]
        if value is DELETE:
            del node[leaf]
        else:
            node[leaf] = value
    return payload


DELETE = object()


def codes(reasons: list[Any]) -> list[str]:
    return [reason.code for reason in reasons]


@dataclass
class Filing:
    domain: str = "example.com"
    domain_expires_on: date = date(2027, 3, 15)
    province: str = "京"
    licence: str = "filing"
    applicant_type: str = "individual"
    applicant_id_type: str = "resident_id"
    applicant_id_number: str = BEIJING_ID
    sector: str = "general"
    pre_approval_document: str | None = None


INDIVIDUAL_MATERIALS = [
    "id_card_front",
    "id_card_back",
    "website_authenticity_form",
    "photo_verification",
    "domain_certificate",
]
ORGANISATION_MATERIALS = ORG_MATERIALS


# --- sample numbers -------------------------------------------------------------------


def test_sample_numbers_are_the_documented_ones() -> None:
    assert (BEIJING_ID, SHANGHAI_ID, CREDIT_CODE) == (
        "110101199003071233",
        "310115198506120042",
        "91110000MA01ABCD2Q",
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
            "website.name": DELETE,
        },
    )
    assert sorted(codes(check_creation(payload, TODAY, settings))) == sorted(
        [
            "missing_field",
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


# --- creation: required fields -------------------------------------------------------


def test_each_missing_field_is_reported_with_its_path(settings: Settings) -> None:
    payload = individual(domain=DELETE, **{"applicant.phone": DELETE, "website.sector": DELETE})
    reasons = check_creation(payload, TODAY, settings)
    assert [(r.code, r.field) for r in reasons] == [
        ("missing_field", "domain"),
        ("missing_field", "applicant.phone"),
        ("missing_field", "website.sector"),
    ]


def test_missing_applicant_reports_every_applicant_field(settings: Settings) -> None:
    reasons = check_creation(individual(applicant=DELETE), TODAY, settings)
    assert {r.field for r in reasons} == {
        f"applicant.{key}" for key in ("type", "name", "id_type", "id_number", "phone", "email")
    }


def test_blank_string_counts_as_missing(settings: Settings) -> None:
    reasons = check_creation(individual(**{"applicant.name": "  "}), TODAY, settings)
    assert [(r.code, r.field) for r in reasons] == [("missing_field", "applicant.name")]


def test_non_string_value_is_invalid(settings: Settings) -> None:
    reasons = check_creation(individual(**{"applicant.phone": 13800138000}), TODAY, settings)
    assert [(r.code, r.field) for r in reasons] == [("invalid_field", "applicant.phone")]


# --- creation: domain ------------------------------------------------------------------


@pytest.mark.parametrize("domain", ["-bad.com", "exa mple.com", "a..com", "x" * 64 + ".com", "com"])
def test_malformed_domain_is_invalid(settings: Settings, domain: str) -> None:
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


def test_expiry_as_iso_string_is_accepted(settings: Settings) -> None:
    assert check_creation(individual(domain_expires_on="2027-01-01"), TODAY, settings) == []


def test_unparseable_expiry_is_invalid_date(settings: Settings) -> None:
    reasons = check_creation(individual(domain_expires_on="next year"), TODAY, settings)
    assert codes(reasons) == ["invalid_date"]


def test_minimum_validity_follows_settings(settings: Settings) -> None:
    strict = settings.model_copy(update={"min_domain_validity_months": 12})
    reasons = check_creation(individual(domain_expires_on=date(2026, 12, 1)), TODAY, strict)
    assert codes(reasons) == ["domain_expiry_too_soon"]


def test_province_override_of_minimum_validity(settings: Settings) -> None:
    four_months = date(2026, 7, 20)
    assert check_creation(individual(domain_expires_on=four_months), TODAY, settings) == []
    beijing = individual(domain_expires_on=four_months, province="京")
    [reason] = check_creation(beijing, TODAY, settings)
    assert (reason.code, reason.details["months"]) == ("domain_expiry_too_soon", 6)


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


def test_unknown_licence_is_refused(settings: Settings) -> None:
    assert codes(check_creation(individual(licence="cdn"), TODAY, settings)) == ["unknown_licence"]


def test_unknown_applicant_type_is_refused(settings: Settings) -> None:
    reasons = check_creation(individual(**{"applicant.type": "robot"}), TODAY, settings)
    assert codes(reasons) == ["unknown_applicant_type"]


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


def test_resident_id_with_impossible_birth_date_fails_check(settings: Settings) -> None:
    payload = individual(**{"applicant.id_number": resident_id("11010119900230123")})
    assert codes(check_creation(payload, TODAY, settings)) == ["id_number_check_failed"]


def test_resident_id_with_x_check_digit_passes(settings: Settings) -> None:
    payload = individual(**{"applicant.id_number": "11010519491231002X"})
    assert check_creation(payload, TODAY, settings) == []


def test_credit_code_with_wrong_check_character_fails_check(settings: Settings) -> None:
    payload = organisation(**{"applicant.id_number": CREDIT_CODE[:-1] + "X"})
    assert codes(check_creation(payload, TODAY, settings)) == ["id_number_check_failed"]


def test_credit_code_with_letter_outside_alphabet_is_invalid(settings: Settings) -> None:
    payload = organisation(**{"applicant.id_number": "91110000MA01ABCDIQ"})
    assert codes(check_creation(payload, TODAY, settings)) == ["invalid_id_number"]


def test_published_credit_code_example_passes(settings: Settings) -> None:
    payload = organisation(**{"applicant.id_number": "91350100M000100Y43"})
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


# --- creation: contact ---------------------------------------------------------------


@pytest.mark.parametrize("phone", ["12800138000", "1380013800", "010-12345678", "+1 555 0100"])
def test_non_mainland_mobile_is_refused(settings: Settings, phone: str) -> None:
    reasons = check_creation(individual(**{"applicant.phone": phone}), TODAY, settings)
    assert codes(reasons) == ["invalid_phone"]


@pytest.mark.parametrize("email", ["nobody", "a@b", "a b@example.com", "x@-bad-.com"])
def test_malformed_email_is_refused(settings: Settings, email: str) -> None:
    reasons = check_creation(individual(**{"applicant.email": email}), TODAY, settings)
    assert codes(reasons) == ["invalid_email"]


# --- creation: per-province residency ---------------------------------------------------


def test_local_residents_only_province_refuses_other_region_id(settings: Settings) -> None:
    [reason] = check_creation(individual(province="沪"), TODAY, settings)
    assert (reason.code, reason.details) == (
        "non_local_resident",
        {"province": "沪", "id_prefix": "31"},
    )


def test_local_residents_only_province_accepts_local_id(settings: Settings) -> None:
    payload = individual(province="沪", **{"applicant.id_number": SHANGHAI_ID})
    assert check_creation(payload, TODAY, settings) == []


def test_local_residents_only_province_refuses_non_resident_documents(settings: Settings) -> None:
    payload = individual(
        province="沪", **{"applicant.id_type": "passport", "applicant.id_number": "E12345678"}
    )
    assert codes(check_creation(payload, TODAY, settings)) == ["non_local_resident"]


def test_residency_rule_does_not_apply_to_organisations(settings: Settings) -> None:
    assert check_creation(organisation(province="沪"), TODAY, settings) == []


def test_province_rule_comes_from_the_rules_file(settings: Settings, tmp_path: Path) -> None:
    packaged = (Path(guards.__file__).parent / "rules.toml").read_text("utf-8")
    edited = packaged + '\n[provinces.rules."粤"]\nindividuals_local_residents_only = true\n'
    (tmp_path / "rules.toml").write_text(edited, encoding="utf-8")
    custom = settings.model_copy(update={"rules_file": tmp_path / "rules.toml"})
    assert codes(check_creation(individual(), TODAY, custom)) == ["non_local_resident"]


# --- the rules file itself -----------------------------------------------------------


def test_packaged_rules_define_all_provinces_and_aliases() -> None:
    rules = load_rules()
    assert len(rules.provinces) == 31
    assert {p.id_prefix for p in rules.provinces.values()} >= {"11", "31", "44", "65"}
    assert dict(rules.aliases) == {"蜀": "川", "黔": "贵", "滇": "云", "陇": "甘"}


def test_inconsistent_rules_file_lists_every_problem() -> None:
    text = """
[domains]
accepted_tlds = ["com"]
second_level_suffixes = ["com.cn"]
[provinces]
known = [{ char = "京", zh = "北京", en = "Beijing", id_prefix = "11" }]
[provinces.aliases]
"燕" = "冀"
[provinces.defaults]
min_domain_validity_months = -1
[provinces.rules."港"]
individuals_local_residents_only = true
[documents.resident_id]
zh = "居民身份证"
pattern = '^[0-9]{18}$'
check = "luhn"
[materials]
[applicant_types.individual]
zh = "个人"
documents = ["resident_id"]
materials = ["selfie"]
[licences.filing]
zh = "备案"
applicant_types = ["individual"]
pre_approval_required = false
extra_materials = []
number_pattern = 'ICP备[0-9]+'
[sectors.general]
zh = "一般"
pre_approval_required = false
extra_materials = []
"""
    with pytest.raises(RulesError) as caught:
        parse_rules(text)
    assert len(caught.value.problems) == 7


# --- canonical_province ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [("蜀", "川"), ("川", "川"), ("京", "京"), ("港", None)]
)
def test_canonical_province(value: str, expected: str | None) -> None:
    assert canonical_province(value) == expected


# --- bind_service_number ------------------------------------------------------------


def test_well_formed_service_number_and_public_ip_pass(settings: Settings) -> None:
    data = {"service_number": "Ab12345678901", "server_ip": "47.96.1.10"}
    assert guard_service_number(Filing(), data, settings) == []


def test_malformed_service_number_is_refused(settings: Settings) -> None:
    data = {"service_number": "abc-123", "server_ip": "47.96.1.10"}
    [reason] = guard_service_number(Filing(), data, settings)
    assert (reason.code, reason.field) == ("invalid_service_number", "data.service_number")


def test_service_number_pattern_follows_settings(settings: Settings) -> None:
    custom = settings.model_copy(update={"service_number_pattern": r"^BA[0-9]{6}$"})
    data = {"service_number": "BA123456", "server_ip": "47.96.1.10"}
    assert guard_service_number(Filing(), data, custom) == []


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "192.168.1.1", "127.0.0.1", "224.0.0.1", "240.0.0.1", "100.64.0.1", "0.0.0.0"],
)
def test_non_public_server_ip_is_refused(settings: Settings, address: str) -> None:
    data = {"service_number": "Ab12345678901", "server_ip": address}
    assert codes(guard_service_number(Filing(), data, settings)) == ["server_ip_not_public"]


@pytest.mark.parametrize("address", ["2001:db8::1", "300.1.1.1", "server-1"])
def test_non_ipv4_server_ip_is_invalid(settings: Settings, address: str) -> None:
    data = {"service_number": "Ab12345678901", "server_ip": address}
    assert codes(guard_service_number(Filing(), data, settings)) == ["invalid_server_ip"]


def test_missing_service_number_and_ip_are_both_reported(settings: Settings) -> None:
    reasons = guard_service_number(Filing(), {}, settings)
    assert [(r.code, r.field) for r in reasons] == [
        ("missing_field", "data.service_number"),
        ("missing_field", "data.server_ip"),
    ]


def test_bad_service_number_and_bad_ip_are_both_reported(settings: Settings) -> None:
    data = {"service_number": "x", "server_ip": "10.1.1.1"}
    reasons = guard_service_number(Filing(), data, settings)
    assert codes(reasons) == ["invalid_service_number", "server_ip_not_public"]


# --- submit -----------------------------------------------------------------------


def test_individual_with_all_materials_passes(settings: Settings) -> None:
    assert guard_submission(Filing(), {"materials": INDIVIDUAL_MATERIALS}, settings) == []


def test_every_missing_material_is_reported(settings: Settings) -> None:
    reasons = guard_submission(Filing(), {"materials": INDIVIDUAL_MATERIALS[2:]}, settings)
    assert [(r.code, r.field, r.details) for r in reasons] == [
        ("missing_material", "data.materials", {"material": "id_card_front"}),
        ("missing_material", "data.materials", {"material": "id_card_back"}),
    ]


def test_organisation_needs_its_own_materials(settings: Settings) -> None:
    filing = Filing(applicant_type="organisation")
    reasons = guard_submission(filing, {"materials": INDIVIDUAL_MATERIALS}, settings)
    assert [r.details["material"] for r in reasons] == [
        "business_licence_copy",
        "legal_rep_id",
        "site_principal_id",
    ]


def test_unknown_material_is_reported(settings: Settings) -> None:
    data = {"materials": [*INDIVIDUAL_MATERIALS, "selfie"]}
    [reason] = guard_submission(Filing(), data, settings)
    assert (reason.code, reason.details) == ("unknown_material", {"material": "selfie"})


def test_materials_not_a_list_is_invalid_and_all_are_missing(settings: Settings) -> None:
    reasons = guard_submission(Filing(), {"materials": "id_card_front"}, settings)
    assert codes(reasons) == ["invalid_field"] + ["missing_material"] * len(INDIVIDUAL_MATERIALS)


def test_pre_approval_sector_without_granted_pre_approval_is_refused(settings: Settings) -> None:
    filing = Filing(sector="news")
    reasons = guard_submission(filing, {"materials": INDIVIDUAL_MATERIALS}, settings)
    assert codes(reasons) == ["pre_approval_required"]


def test_pre_approval_sector_with_granted_pre_approval_passes(settings: Settings) -> None:
    filing = Filing(sector="news", pre_approval_document="京新闻审〔2026〕1号")
    assert guard_submission(filing, {"materials": INDIVIDUAL_MATERIALS}, settings) == []


def test_commercial_licence_needs_extra_materials_and_pre_approval(settings: Settings) -> None:
    filing = Filing(applicant_type="organisation", licence="commercial")
    reasons = guard_submission(filing, {"materials": ORGANISATION_MATERIALS}, settings)
    assert [(r.code, r.details.get("material")) for r in reasons] == [
        ("missing_material", "icp_licence_copy"),
        ("missing_material", "articles_of_association"),
        ("pre_approval_required", None),
    ]


def test_sector_extra_material_is_required(settings: Settings) -> None:
    filing = Filing(sector="bbs_forums", pre_approval_document="doc")
    reasons = guard_submission(filing, {"materials": INDIVIDUAL_MATERIALS}, settings)
    assert [r.details["material"] for r in reasons] == ["interactive_service_security_assessment"]


def test_filing_with_sector_unknown_to_the_rules_is_reported(settings: Settings) -> None:
    reasons = guard_submission(
        Filing(sector="retired"), {"materials": INDIVIDUAL_MATERIALS}, settings
    )
    assert [(r.code, r.field) for r in reasons] == [("unknown_sector", "filing.sector")]


# --- pre-approval document, reason -----------------------------------------------------


def test_pre_approval_document_present_passes(settings: Settings) -> None:
    assert guard_pre_approval_document(Filing(), {"document": "粤卫审〔2026〕3号"}, settings) == []


@pytest.mark.parametrize("data", [{}, {"document": ""}, {"document": "  "}, {"document": 3}])
def test_pre_approval_document_missing_is_refused(settings: Settings, data: dict[str, Any]) -> None:
    reasons = guard_pre_approval_document(Filing(), data, settings)
    assert [(r.code, r.field) for r in reasons] == [("missing_field", "data.document")]


def test_reason_given_passes(settings: Settings) -> None:
    assert guard_reason_given(Filing(), {"reason": "网站名称不规范"}, settings) == []


@pytest.mark.parametrize("data", [{}, {"reason": ""}, {"reason": None}])
def test_reason_missing_is_refused(settings: Settings, data: dict[str, Any]) -> None:
    reasons = guard_reason_given(Filing(), data, settings)
    assert [(r.code, r.field) for r in reasons] == [("missing_field", "data.reason")]


# --- miit_approve -------------------------------------------------------------------


@pytest.mark.parametrize("number", ["京ICP备12345678号-1", "京ICP备2026007879号-12"])
def test_well_formed_filing_number_passes(settings: Settings, number: str) -> None:
    assert guard_icp_number(Filing(), {"icp_number": number}, settings) == []


@pytest.mark.parametrize(
    ("province", "number"), [("川", "蜀ICP备2026007879号-1"), ("川", "川ICP备2026007879号-1")]
)
def test_alias_and_canonical_numbers_match_the_province(
    settings: Settings, province: str, number: str
) -> None:
    assert guard_icp_number(Filing(province=province), {"icp_number": number}, settings) == []


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
    assert codes(guard_icp_number(Filing(), {"icp_number": number}, settings)) == [
        "invalid_icp_number"
    ]


def test_commercial_number_passes_for_commercial_filing(settings: Settings) -> None:
    filing = Filing(licence="commercial", applicant_type="organisation")
    assert guard_icp_number(filing, {"icp_number": "京ICP证030173号-1"}, settings) == []


def test_number_of_the_other_licence_kind_is_refused(settings: Settings) -> None:
    [reason] = guard_icp_number(Filing(), {"icp_number": "京ICP证030173号-1"}, settings)
    assert (reason.code, reason.details) == (
        "icp_number_kind_mismatch",
        {"expected": "filing", "found": "commercial"},
    )


def test_number_of_another_province_is_refused(settings: Settings) -> None:
    [reason] = guard_icp_number(Filing(), {"icp_number": "沪ICP备12345678号-1"}, settings)
    assert (reason.code, reason.details) == (
        "icp_number_province_mismatch",
        {"expected": "京", "found": "沪"},
    )


def test_kind_and_province_mismatch_are_both_reported(settings: Settings) -> None:
    reasons = guard_icp_number(Filing(), {"icp_number": "沪ICP证030173号-1"}, settings)
    assert codes(reasons) == ["icp_number_kind_mismatch", "icp_number_province_mismatch"]


def test_missing_icp_number_is_refused(settings: Settings) -> None:
    reasons = guard_icp_number(Filing(), {}, settings)
    assert [(r.code, r.field) for r in reasons] == [("missing_field", "data.icp_number")]


# --- request_pre_approval ---------------------------------------------------------------


def test_pre_approval_not_needed_for_general_filing(settings: Settings) -> None:
    assert codes(guard_pre_approval_needed(Filing(), {}, settings)) == ["pre_approval_not_needed"]


@pytest.mark.parametrize(
    "filing",
    [Filing(sector="education"), Filing(licence="commercial", applicant_type="organisation")],
)
def test_pre_approval_needed_for_listed_sector_or_commercial_licence(
    settings: Settings, filing: Filing
) -> None:
    assert guard_pre_approval_needed(filing, {}, settings) == []


def test_pre_approval_needed_reports_unknown_kinds_instead(settings: Settings) -> None:
    reasons = guard_pre_approval_needed(replace(Filing(), licence="cdn"), {}, settings)
    assert codes(reasons) == ["unknown_licence"]


# --- registry ---------------------------------------------------------------------------


def test_every_guard_the_workflow_names_exists_and_every_guard_is_used() -> None:
    from workflow.domain.definition import EVENTS

    named = {guard for event in EVENTS for guard in event.guards}
    assert named == set(GUARDS)
