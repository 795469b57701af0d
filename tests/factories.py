"""Valid inputs shared by the tests of every layer."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Protocol

from workflow.domain.commands import EventCommand, FilingCreate
from workflow.domain.rules import CHECKS
from workflow.schemas import FilingOut

# A Beijing (110000) unified social credit code passing GB 32100 and, for the organisation
# code it embeds (MA01ABCD5), GB 11714.
ORG_CREDIT_CODE = "91110000MA01ABCD52"
# Organisations file where their code was issued, so a payload's code follows its province.
CREDIT_CODE_BY_PROVINCE = {
    "京": ORG_CREDIT_CODE,
    "沪": "91310115MA1ABCDE8Q",
    "川": "91510100MA1ABCDE8E",
}
# ... and its mobile: a mobile already listed for another entity is refused.
PHONE_BY_PROVINCE = {"京": "13800138000", "沪": "13900139000", "川": "13300133000"}
ORG_MATERIALS = [
    "business_licence_copy",
    "legal_rep_id",
    "site_principal_id",
    "website_authenticity_form",
    "photo_verification",
    "domain_certificate",
]
# An individual's website: her ID card, both sides, for the business licence.
INDIVIDUAL_MATERIALS = [
    "id_card_front",
    "id_card_back",
    "website_authenticity_form",
    "photo_verification",
    "domain_certificate",
]
# An organisation's app brings its own verification form and icon, not a website's.
ORG_APP_MATERIALS = [
    "business_licence_copy",
    "legal_rep_id",
    "site_principal_id",
    "app_authenticity_form",
    "photo_verification",
    "app_icon",
]
Steps = list[tuple[str, dict[str, object]]]
BIND_SERVICE_NUMBER = "bind_service_number"
_service_numbers = itertools.count(1)


def expiry_on_the_real_clock() -> str:
    """A domain expiry for a test whose product runs on the real clock (a subprocess, ``up``).

    The payloads' fixed 2028-06-30 suits the frozen clock (2026-03-02) and would be refused as
    too soon on the real one from 2028-03-30 on. Two years from the real today passes both
    clocks' checks (more than the minimum validity ahead, within a registry's ten years of the
    frozen clock) until 2034.
    """
    return (date.today() + timedelta(days=730)).isoformat()


def fresh_service_number() -> str:
    """A service number no other order has bound: a number serves one order."""
    return f"BA{next(_service_numbers):010d}"


class Paths(Mapping[str, Steps]):
    """Named paths of events (with their data); each lookup binds a service number of its own,
    so that filings driven along one path side by side never share one."""

    def __init__(self, templates: dict[str, Steps]) -> None:
        self._templates = templates

    def __getitem__(self, name: str) -> Steps:
        return [
            (event, {**data, "service_number": fresh_service_number()})
            if event == BIND_SERVICE_NUMBER
            else (event, data)
            for event, data in self._templates[name]
        ]

    def __iter__(self) -> Iterator[str]:
        return iter(self._templates)

    def __len__(self) -> int:
        return len(self._templates)


# Events (with their data) that take a fresh general-sector filing to each state.
_PATH_TO: dict[str, Steps] = {
    "domain_registered": [],
    "service_number_bound": [(BIND_SERVICE_NUMBER, {"server_ip": "8.8.8.8"})],
}
_PATH_TO["submitted"] = [
    *_PATH_TO["service_number_bound"],
    ("submit", {"materials": ORG_MATERIALS}),
]
_PATH_TO["host_returned"] = [*_PATH_TO["submitted"], ("host_return", {"reason": "photo unclear"})]
_PATH_TO["host_pre_approved"] = [*_PATH_TO["submitted"], ("host_approve", {})]
_PATH_TO["sms_pending"] = [*_PATH_TO["host_pre_approved"], ("sms_sent", {})]
_PATH_TO["miit_pending"] = [*_PATH_TO["sms_pending"], ("verify_sms", {})]
_PATH_TO["approved"] = [
    *_PATH_TO["miit_pending"],
    ("miit_approve", {"icp_number": "京ICP备2026000123号-1"}),
]
_PATH_TO["rejected"] = [
    *_PATH_TO["miit_pending"],
    ("miit_reject", {"reason": "site name not allowed"}),
]
_PATH_TO["withdrawn"] = [("withdraw", {"reason": "project cancelled"})]
PATH_TO = Paths(_PATH_TO)


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
            "responsible": "Han Meimei",
        },
        "website": {"name": "Example", "sector": "general"},
    }
    payload.update(overrides)
    if "applicant" not in overrides and payload["province"] in CREDIT_CODE_BY_PROVINCE:
        payload["applicant"]["id_number"] = CREDIT_CODE_BY_PROVINCE[str(payload["province"])]  # type: ignore[index]
        payload["applicant"]["phone"] = PHONE_BY_PROVINCE[str(payload["province"])]  # type: ignore[index]
    return payload


class Applicants:
    """Applicants for filings opened side by side. One order is in flight per entity (an
    entity is its identity) and a domain is filed by one entity, so each filing after the
    first gets an organisation (``another_organisation``) and a domain of its own, unless the
    test names them. The first is ``make_payload``'s own, so what a test with one filing
    asserts about it holds."""

    def __init__(self) -> None:
        self._count = itertools.count()

    def fill(self, overrides: dict[str, object]) -> dict[str, object]:
        """``overrides`` with the next applicant and domain, unless they name them."""
        n = next(self._count)
        if n == 0:
            return overrides
        filled = {"domain": f"site{n}.cn", **overrides}
        if "applicant" not in overrides:
            filled["applicant"] = another_organisation(n, **overrides)
        return filled


def another_organisation(n: int, **overrides: object) -> dict[str, object]:
    """``make_payload``'s applicant (for the payload ``overrides`` describe) as the n-th other
    organisation: the same name and province, another credit code and mobile."""
    payload = make_payload(**overrides)
    applicant: dict[str, object] = dict(payload["applicant"])  # type: ignore[call-overload]
    applicant["id_number"] = _credit_code(str(applicant["id_number"]), n)
    # A mobile of its own: another entity's is refused, whichever province each files in.
    province = str(payload["province"])
    series = _PROVINCES.index(province) if province in _PROVINCES else len(_PROVINCES)
    applicant["phone"] = f"13{5 + series}{n:08d}"
    return applicant


_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100's alphabet
_PROVINCES = tuple(CREDIT_CODE_BY_PROVINCE)


def _credit_code(base: str, n: int) -> str:
    """``base`` with the n-th organisation code of its region, both check characters found by
    the product's own checks (GB 11714's inside the code, then GB 32100's at its end)."""
    assert 0 <= n < len(_CODE_CHARS) ** 4, f"only {len(_CODE_CHARS) ** 4} serials"
    serial = ""
    for _ in range(4):
        n, digit = divmod(n, len(_CODE_CHARS))
        serial = _CODE_CHARS[digit] + serial
    body = f"{base[:12]}{serial}"
    inner = next(c for c in "0123456789X" if CHECKS["gb11714"](f"{body[8:]}{c}"))
    return next(code for c in _CODE_CHARS if CHECKS["gb32100"](code := f"{body}{inner}{c}"))


def credit_code(province: str, n: int) -> str:
    """The n-th organisation's credit code issued in ``province`` (one of CREDIT_CODE_BY_PROVINCE)."""
    return _credit_code(CREDIT_CODE_BY_PROVINCE[province], n)


def make_command(**overrides: object) -> FilingCreate:
    """``make_payload`` as the service's typed creation command."""
    return FilingCreate.model_validate(make_payload(**overrides))


def commands_to(state: str) -> list[EventCommand]:
    """``PATH_TO[state]`` as the service's typed event commands."""
    return [EventCommand(event=event, data=data) for event, data in PATH_TO[state]]


class MakeFiling(Protocol):
    """What ``new_filing`` returns: make a filing in ``state``, the payload changed by ``overrides``."""

    def __call__(self, state: str = "domain_registered", **overrides: object) -> FilingOut: ...


# --- orders of every kind -------------------------------------------------------------------

ENTITY_NUMBER = "京ICP备2026000123号"
ENTITY_MOBILE, SITE_MOBILE, APP_MOBILE = "13800138000", "13700137000", "13600136000"
# Two people's resident IDs (GB 11643, issued in Beijing's Chaoyang district).
PERSON_ID, OTHER_PERSON_ID = "110105198001010016", "110105198001010024"
Order = dict[str, object]


def entity_in(**overrides: object) -> dict[str, object]:
    """A new organisation in Beijing whose legal representative is its responsible person."""
    entity: dict[str, object] = {
        "type": "organisation",
        "name": "Example Ltd",
        "id_type": "business_licence",
        "id_number": ORG_CREDIT_CODE,
        "province": "京",
        "responsible": {"name": "Li Lei", "mobile": ENTITY_MOBILE, "email": "li@example.cn"},
    }
    return entity | overrides


INDIVIDUAL_ID = "11010519491231002X"


def individual_in(**responsible: str) -> dict[str, object]:
    """Wang Fang filing for herself, with her resident ID: her own responsible person."""
    person = {"name": "Wang Fang", "mobile": ENTITY_MOBILE, **responsible}
    return entity_in(
        type="individual",
        name="Wang Fang",
        id_type="resident_id",
        id_number=INDIVIDUAL_ID,
        responsible=person,
    )


# An Android signing certificate's MD5, as keytool prints it, and a public key's hex (made up).
ANDROID_MD5 = "55:9F:F7:FA:4A:0E:12:34:9E:E5:59:C9:9A:3A:08:8E"
PUBLIC_KEY = "30820122300D06092A864886F70D01010105000382010F003082010A0282010100" + "C3" * 16


def on_platform(fingerprint: str, **more: str) -> dict[str, str]:
    """An app on one platform: signed with ``fingerprint`` and ``PUBLIC_KEY``, and ``more``
    (its package name there)."""
    return {"public_key": PUBLIC_KEY, "fingerprint": fingerprint, **more}


def service_in(**overrides: object) -> dict[str, object]:
    """A website whose domain the entity holds, real-name verified, with its own person; an
    app (``kind="app"``) is published on Android unless ``overrides`` say otherwise."""
    service: dict[str, object] = {
        "kind": "website",
        "name": "Example",
        "domain": "example.cn",
        "domain_expires_on": "2028-06-30",
        "domain_registrant": "Example Ltd",
        "domain_real_name_verified": True,
        "responsible": {"name": "Han Meimei", "mobile": SITE_MOBILE},
    }
    if overrides.get("kind") == "app":
        service["app_platforms"] = {"android": on_platform(ANDROID_MD5)}
    return service | overrides


def first_filing_order(**overrides: object) -> Order:
    return {"kind": "first_filing", "entity": entity_in(), "service": service_in()} | overrides


_BIND: tuple[str, dict[str, object]] = (BIND_SERVICE_NUMBER, {"server_ip": "8.8.8.8"})
_SMS: Steps = [("host_approve", {}), ("sms_sent", {}), ("verify_sms", {})]


def _review(materials: list[str], *, sms: bool = True) -> Steps:
    after = _SMS if sms else [("host_approve", {}), ("forward_to_miit", {})]
    return [("submit", {"materials": materials}), *after]


# How each kind's order is opened on an approved entity (ids filled in by ``order_on``) and
# the events that take it to approval.
ORDER_PATHS = Paths(
    {
        "first_filing": [
            _BIND,
            *_review(ORG_MATERIALS)[:3],
            ("verify_sms", {"verifier": "entity"}),
            ("verify_sms", {"verifier": "service"}),
            ("miit_approve", {"icp_number": f"{ENTITY_NUMBER}-1"}),
        ],
        "new_service": [_BIND, *_review(ORG_APP_MATERIALS), ("miit_approve", {})],
        "new_access": [_BIND, *_review(ORG_MATERIALS), ("miit_approve", {})],
        "change": [*_review(["change_request_form", "renaming_letter"]), ("miit_approve", {})],
        "cancel_entity": [*_review(["cancellation_request"]), ("miit_approve", {})],
        "cancel_service": [*_review(["cancellation_request"]), ("miit_approve", {})],
        "cancel_access": [*_review(["cancellation_request"], sms=False), ("miit_approve", {})],
    }
)


def as_apps(steps: Steps) -> Steps:
    """``steps`` for an app: its materials submitted where a website's are."""
    return [
        (event, {**data, "materials": ORG_APP_MATERIALS})
        if data.get("materials") == ORG_MATERIALS
        else (event, data)
        for event, data in steps
    ]


def as_individuals(steps: Steps) -> Steps:
    """``steps`` for an individual's website: her materials submitted where a company's are."""
    return [
        (event, {**data, "materials": INDIVIDUAL_MATERIALS})
        if data.get("materials") == ORG_MATERIALS
        else (event, data)
        for event, data in steps
    ]


def order_on(kind: str, entity_id: int, service_id: int) -> Order:
    """An order of ``kind`` for the approved entity ``entity_id`` and its site ``service_id``."""
    app = service_in(
        kind="app",
        name="Example App",
        app_identifier="cn.example.app",
        responsible={"name": "Wang Fang", "mobile": APP_MOBILE},
    )
    accessed = service_in(
        domain="example.com.cn",
        record_number=f"{ENTITY_NUMBER}-5",
        responsible={"name": "Wang Fang", "mobile": APP_MOBILE},
    )
    bodies: dict[str, Order] = {
        "new_service": {"entity_id": entity_id, "service": app},
        "new_access": {"entity_id": entity_id, "service": accessed},
        "change": {"entity_id": entity_id, "changes": {"entity_name": "Example Group Ltd"}},
        "cancel_entity": {"entity_id": entity_id},
        "cancel_service": {"entity_id": entity_id, "service_id": service_id},
        "cancel_access": {"entity_id": entity_id, "service_id": service_id},
    }
    return bodies[kind] | {"kind": kind}


# What approval leaves on the record: (entity status, entity number, the order's service's
# status and number).
APPROVED_RECORD: dict[str, tuple[str, str, str, str | None]] = {
    "first_filing": ("active", ENTITY_NUMBER, "active", f"{ENTITY_NUMBER}-1"),
    "new_service": ("active", ENTITY_NUMBER, "active", f"{ENTITY_NUMBER}-2A"),
    "new_access": ("active", ENTITY_NUMBER, "active", f"{ENTITY_NUMBER}-5"),
    "change": ("active", ENTITY_NUMBER, "active", f"{ENTITY_NUMBER}-1"),
    "cancel_entity": ("cancelled", ENTITY_NUMBER, "cancelled", f"{ENTITY_NUMBER}-1"),
    "cancel_service": ("active", ENTITY_NUMBER, "cancelled", f"{ENTITY_NUMBER}-1"),
    "cancel_access": ("active", ENTITY_NUMBER, "access_removed", f"{ENTITY_NUMBER}-1"),
}


# A first filing as the flat fields of a CSV row, the CLI's options and the console's form.
FLAT_FILING = {
    "domain": "example.cn",
    "domain_expires_on": "2028-06-30",
    "domain_registrant": "",  # the applicant's, as its registrar shows it
    "domain_real_name_verified": "true",
    "province": "京",
    "licence": "filing",
    "applicant_type": "organisation",
    "applicant_name": "Example Ltd",
    "id_type": "business_licence",
    "id_number": ORG_CREDIT_CODE,
    "phone": "13800138000",
    "email": "ops@example.cn",
    "responsible": "Han Meimei",
    "responsible_id_type": "resident_id",
    "responsible_id_number": PERSON_ID,
    "legal_representative": "true",
    "site_name": "Example",
    "sector": "general",
}


# An official holiday schedule of a year no package knows, as ops load one: National Day's
# golden week with its make-up Sundays, and the other fixed-date holidays every schedule lists.
HOLIDAYS_2031 = ["2031-01-01", "2031-05-01", "2031-05-02", *(f"2031-10-0{n}" for n in range(1, 8))]
SCHEDULE_2031 = {"year": 2031, "holidays": HOLIDAYS_2031, "workdays": ["2031-09-28", "2031-10-11"]}


def typable(page: str, name: str, value: str) -> bool:
    """Whether a browser lets ``value`` be typed whole into the page's input ``name``: its
    ``maxlength``, if it has one, counts UTF-16 code units, two for a character beyond the
    BMP (𠀀), where the server counts characters."""
    field = re.search(rf'<input[^>]* name="{name}"[^>]*>', page)
    assert field, f"the page has no input {name!r}"
    bound = re.search(r' maxlength="([0-9]+)"', field.group(0))
    return bound is None or len(value.encode("utf-16-le")) // 2 <= int(bound.group(1))


def limit_said(page: str, form_id: str, name: str) -> int:
    """The most characters the hint under the input ``name`` of the form ``form_id`` says it
    takes ("at most 200 characters")."""
    hint = re.search(rf'id="{form_id}-{name}-hint">([^<]*)<', page)
    assert hint, f"the input {name!r} has no hint"
    said = re.search(r"at most ([0-9]+) characters", hint.group(1))
    assert said, f"the hint under {name!r} says no limit"
    return int(said.group(1))


def said_beside(page: str, form_id: str, name: str) -> str:
    """What a refused page says beside the input ``name`` of the form ``form_id``: the input
    is marked invalid and described by it."""
    form = re.search(rf'<form [^>]*id="{form_id}".*?</form>', page, re.DOTALL)
    assert form, f"the page has no form {form_id!r}"
    field = re.search(rf'<(?:input|select)[^>]* name="{name}"[^>]*>', form.group(0))
    assert field, f"the form has no input {name!r}"
    said = f"{form_id}-{name}-refused"
    described = re.search(r'aria-describedby="([^"]*)"', field.group(0))
    assert 'aria-invalid="true"' in field.group(0) and described
    assert said in described.group(1).split()
    message = re.search(rf'id="{said}">([^<]*(?:<br>[^<]*)*)</span>', form.group(0))
    assert message, f"nothing is said beside {name!r}"
    # Several reasons each on a line of their own, read as one text.
    return html.unescape(message.group(1).replace("<br>", "; "))
