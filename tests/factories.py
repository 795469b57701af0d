"""Valid inputs shared by the tests of every layer."""

from __future__ import annotations

from typing import Protocol

from workflow.domain.commands import EventCommand, FilingCreate
from workflow.schemas import FilingOut

# A Beijing (110000) unified social credit code passing GB 32100 and, for the organisation
# code it embeds (MA01ABCD5), GB 11714.
ORG_CREDIT_CODE = "91110000MA01ABCD52"
# Organisations file where their code was issued, so a payload's code follows its province.
CREDIT_CODE_BY_PROVINCE = {"京": ORG_CREDIT_CODE, "沪": "91310115MA1ABCDE8Q"}
# ... and its mobile: a mobile already listed for another entity is refused.
PHONE_BY_PROVINCE = {"京": "13800138000", "沪": "13900139000"}
ORG_MATERIALS = [
    "business_licence_copy",
    "legal_rep_id",
    "site_principal_id",
    "website_authenticity_form",
    "photo_verification",
    "domain_certificate",
]
# Events (with their data) that take a fresh general-sector filing to each state.
PATH_TO: dict[str, list[tuple[str, dict[str, object]]]] = {
    "domain_registered": [],
    "service_number_bound": [
        ("bind_service_number", {"service_number": "BA2026000123", "server_ip": "8.8.8.8"})
    ],
}
PATH_TO["submitted"] = [*PATH_TO["service_number_bound"], ("submit", {"materials": ORG_MATERIALS})]
PATH_TO["host_returned"] = [*PATH_TO["submitted"], ("host_return", {"reason": "photo unclear"})]
PATH_TO["host_pre_approved"] = [*PATH_TO["submitted"], ("host_approve", {})]
PATH_TO["sms_pending"] = [*PATH_TO["host_pre_approved"], ("sms_sent", {})]
PATH_TO["miit_pending"] = [*PATH_TO["sms_pending"], ("verify_sms", {})]
PATH_TO["approved"] = [
    *PATH_TO["miit_pending"],
    ("miit_approve", {"icp_number": "京ICP备2026000123号-1"}),
]
PATH_TO["rejected"] = [
    *PATH_TO["miit_pending"],
    ("miit_reject", {"reason": "site name not allowed"}),
]
PATH_TO["withdrawn"] = [("withdraw", {"reason": "project cancelled"})]


def make_payload(**overrides: object) -> dict[str, object]:
    """A valid creation payload (organisation, Beijing, general sector); override any top-level key."""
    payload: dict[str, object] = {
        "domain": "example.cn",
        "domain_expires_on": "2028-06-30",
        "province": "京",
        "licence": "filing",
        "applicant": {
            "type": "organisation",
            "name": "Example Ltd",
            "id_type": "business_licence",
            "id_number": ORG_CREDIT_CODE,
            "phone": "13800138000",
            "email": "ops@example.cn",
        },
        "website": {"name": "Example", "sector": "general"},
    }
    payload.update(overrides)
    if "applicant" not in overrides and payload["province"] in CREDIT_CODE_BY_PROVINCE:
        payload["applicant"]["id_number"] = CREDIT_CODE_BY_PROVINCE[str(payload["province"])]  # type: ignore[index]
        payload["applicant"]["phone"] = PHONE_BY_PROVINCE[str(payload["province"])]  # type: ignore[index]
    return payload


def make_command(**overrides: object) -> FilingCreate:
    """``make_payload`` as the service's typed creation command."""
    return FilingCreate.model_validate(make_payload(**overrides))


def commands_to(state: str) -> list[EventCommand]:
    """``PATH_TO[state]`` as the service's typed event commands."""
    return [EventCommand(event=event, data=data) for event, data in PATH_TO[state]]


class MakeFiling(Protocol):
    """What ``new_filing`` returns: make a filing in ``state``, the payload changed by ``overrides``."""

    def __call__(self, state: str = "domain_registered", **overrides: object) -> FilingOut: ...
