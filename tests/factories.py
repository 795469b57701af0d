"""Valid inputs shared by the tests of every layer."""

from __future__ import annotations

from typing import Protocol

from workflow.schemas import FilingOut

# A unified social credit code whose GB 32100 check character is valid.
ORG_CREDIT_CODE = "91110000MA01ABCD2Q"
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
PATH_TO["miit_pending"] = [*PATH_TO["host_pre_approved"], ("verify_sms", {})]
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
    return payload


class MakeFiling(Protocol):
    """What ``new_filing`` returns: make a filing in ``state``, the payload changed by ``overrides``."""

    def __call__(self, state: str = "domain_registered", **overrides: object) -> FilingOut: ...
