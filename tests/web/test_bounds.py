"""Bounded input: what a column cannot hold is refused with 422 on both databases, never a 500
on one and a 201 on the other; bodies over the limit get 413 in the common error shape."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from config import bounds
from config.settings import get_settings
from tests.factories import make_payload

if TYPE_CHECKING:
    from tests.web.conftest import Api, Headers

ID_ROUTES = [
    ("GET", "/api/v1/filings/{id}"),
    ("GET", "/api/v1/filings/{id}/history"),
    ("GET", "/api/v1/filings/{id}/notifications"),
    ("POST", "/api/v1/filings/{id}/events"),
    ("POST", "/api/v1/ops/failed/{id}/retry"),
]
LIST_ROUTES = [
    "/api/v1/filings",
    "/api/v1/ops/stuck",
    "/api/v1/ops/overdue",
    "/api/v1/entities",
    "/api/v1/overdue",
    "/api/v1/ops/failed",
    "/api/v1/ops/retrying",
    "/api/v1/ops/duties",
    "/api/v1/ops/footer-checks-failing",
    "/api/v1/services/1/recorded",
]


@pytest.fixture
def admin(as_role: Callable[[str], Headers]) -> Headers:
    return as_role("admin")


@pytest.mark.parametrize("too_big", [2**31, 2**63], ids=["2^31", "2^63"])
@pytest.mark.parametrize(("method", "route"), ID_ROUTES)
def test_an_id_beyond_the_column_is_422(
    client: TestClient, admin: Headers, method: str, route: str, too_big: int
) -> None:
    body = {"event": "withdraw", "data": {"reason": "x"}} if method == "POST" else None
    response = client.request(method, route.format(id=too_big), json=body, headers=admin)
    assert (response.status_code, response.json()["error"]) == (422, "validation_error")


@pytest.mark.parametrize(
    "typed", ["1.0", "1%20", "%EF%BC%91"], ids=["decimal", "space", "full-width"]
)
def test_an_id_that_is_not_digits_is_422_not_the_row_it_resembles(api: Api, typed: str) -> None:
    api.create()  # filing 1 exists: "1.0" named it
    response = api.get(f"/api/v1/filings/{typed}")
    assert (response.status_code, response.json()["error"]) == (422, "validation_error")


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_an_offset_that_is_not_digits_is_422(
    client: TestClient, admin: Headers, route: str
) -> None:
    response = client.get(route, params={"offset": "1.0"}, headers=admin)
    assert response.status_code == 422


@pytest.mark.parametrize("limit", ["1.0", "0", "501"])
@pytest.mark.parametrize("route", LIST_ROUTES)
def test_a_page_size_not_digits_or_past_the_largest_page_is_422(
    client: TestClient, admin: Headers, route: str, limit: str
) -> None:
    assert client.get(route, params={"limit": limit}, headers=admin).status_code == 422


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_an_offset_beyond_any_id_is_422(client: TestClient, admin: Headers, route: str) -> None:
    response = client.get(route, params={"offset": 2**63}, headers=admin)
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("route", "query"),
    [
        ("/api/v1/filings", {"stuck": "yes"}),
        ("/api/v1/filings", {"overdue": "1"}),
        ("/api/v1/filings", {"descending": "on"}),
        ("/api/v1/ops/failed", {"include_retried": "y"}),
        ("/api/v1/filings", {"min_days_in_state": "+1_0"}),
        ("/api/v1/overdue", {"within_hours": "2_4"}),
    ],
    ids=["yes", "1", "on", "y", "signed and grouped", "grouped"],
)
def test_a_query_flag_or_count_in_words_pydantic_would_coerce_is_422_naming_it(
    client: TestClient, admin: Headers, route: str, query: dict[str, str]
) -> None:
    """``true``/``false`` and digits, as the bodies take them: "1" and "on" are more likely a
    script's mistake than the filter meant."""
    response = client.get(route, params=query, headers=admin)
    [(name, _)] = query.items()
    assert response.status_code == 422
    assert [r["field"] for r in response.json()["reasons"]] == [f"query.{name}"]


@pytest.mark.parametrize(("name", "least"), [("within_hours", 0), ("limit", 1), ("offset", 0)])
def test_a_negative_count_is_422_saying_the_least_it_may_be(
    client: TestClient, admin: Headers, name: str, least: int
) -> None:
    response = client.get("/api/v1/overdue", params={name: "-5"}, headers=admin)

    assert response.status_code == 422
    assert [r["message"] for r in response.json()["reasons"]] == [
        f"query.{name}: Input should be greater than or equal to {least}"
    ]


@pytest.mark.parametrize(
    ("route", "name"),
    [
        ("/api/v1/filings", "min_days_in_state"),
        ("/api/v1/filings", "offset"),
        ("/api/v1/overdue", "within_hours"),
    ],
)
def test_a_count_written_minus_zero_is_422_naming_it(
    client: TestClient, admin: Headers, route: str, name: str
) -> None:
    """ "-0" passes a bound of 0 or more, but its sign says a number below 0 was meant."""
    response = client.get(route, params={name: "-0"}, headers=admin)

    assert response.status_code == 422
    assert [r["message"] for r in response.json()["reasons"]] == [
        f"query.{name}: must be written without a sign, not -0"
    ]


def _refusal(api: Api, payload: dict[str, Any]) -> tuple[int, list[tuple[str, str]]]:
    response = api.client.post("/api/v1/filings", json=payload, headers=api.headers)
    return response.status_code, [(r["code"], r["field"]) for r in response.json()["reasons"]]


def test_the_api_schema_bounds_numbers_with_json_schema_s_minimum_and_maximum(
    client: TestClient,
) -> None:
    """The keywords clients and fuzzers read; never pydantic's own ``ge`` and ``le``."""
    answer = client.get("/openapi.json")
    listing = answer.json()["paths"]["/api/v1/filings"]["get"]["parameters"]
    limit = next(p for p in listing if p["name"] == "limit")["schema"]

    assert (limit.get("minimum"), limit.get("maximum")) == (1, bounds.MAX_PAGE)
    assert '"ge":' not in answer.text and '"le":' not in answer.text


def test_a_name_longer_than_its_column_is_422_naming_the_field(api: Api) -> None:
    applicant = {**make_payload()["applicant"], "name": "名" * 8000}  # type: ignore[dict-item]
    assert _refusal(api, make_payload(applicant=applicant)) == (
        422,
        [("invalid_field", "applicant.name")],
    )


@pytest.mark.parametrize(
    ("field", "sent"),
    [
        ("domain_expires_on", 1830297600),  # seconds since 1970: 2028-01-01
        ("domain_expires_on", "2028-06-30T00:00:00"),
        ("domain_real_name_verified", "yes"),
        ("domain_real_name_verified", 1),
    ],
    ids=["epoch-as-day", "midnight-as-day", "yes-as-true", "one-as-true"],
)
def test_a_value_of_another_type_than_the_fields_is_422_not_coerced(
    api: Api, field: str, sent: object
) -> None:
    """A day is a date, a yes/no is true or false: pydantic would read these as one."""
    code = "invalid_date" if field.endswith("_on") else "invalid_field"
    assert _refusal(api, make_payload(**{field: sent})) == (422, [(code, field)])


def test_a_day_that_does_not_exist_is_422_saying_how_a_day_is_written(api: Api) -> None:
    sent = make_payload(domain_expires_on="2028-02-30")
    response = api.client.post("/api/v1/filings", json=sent, headers=api.headers)
    assert [r["message"] for r in response.json()["reasons"]] == [
        "domain_expires_on: day value is outside expected range; "
        "give a date such as 2026-03-02 (YYYY-MM-DD)"
    ]


def test_a_day_and_a_yes_no_padded_with_spaces_are_taken_as_written(api: Api) -> None:
    padded = make_payload(domain_expires_on=" 2028-06-30 ", domain_real_name_verified=" true ")
    created = api.client.post("/api/v1/filings", json=padded, headers=api.headers)
    assert created.status_code == 201, created.text
    assert created.json()["domain_expires_on"] == "2028-06-30"


def test_a_nul_byte_is_422(api: Api) -> None:
    assert _refusal(api, make_payload(province="京\x00")) == (
        422,
        [("invalid_characters", "province")],
    )


@pytest.mark.parametrize(
    "blank", ["\u200b\u200b", "\u3164", "\u2800"], ids=["zwsp", "hangul-filler", "braille-blank"]
)
def test_a_name_that_looks_blank_is_422(api: Api, blank: str) -> None:
    applicant = {**make_payload()["applicant"], "name": blank}  # type: ignore[dict-item]
    status, reasons = _refusal(api, make_payload(applicant=applicant))
    assert (status, reasons) == (422, [("invalid_characters", "applicant.name")])


@pytest.mark.parametrize("invisible", ["\u200b", "\u202e", "\ufeff"], ids=["zwsp", "rlo", "bom"])
def test_an_invisible_character_inside_a_domain_is_422(api: Api, invisible: str) -> None:
    assert _refusal(api, make_payload(domain=f"exam{invisible}ple.cn")) == (
        422,
        [("invalid_characters", "domain")],
    )


@pytest.mark.parametrize(
    "invisible", ["\U000e0041", "\U0001d173", "\U0001bca0"], ids=["tag", "musical", "shorthand"]
)
def test_an_invisible_character_beyond_the_bmp_inside_a_name_is_422(
    api: Api, invisible: str
) -> None:
    applicant = {**make_payload()["applicant"], "name": f"Example{invisible} Ltd"}  # type: ignore[dict-item]
    status, reasons = _refusal(api, make_payload(applicant=applicant))
    assert (status, reasons) == (422, [("invalid_characters", "applicant.name")])


def test_a_nul_byte_in_a_reason_is_422(api: Api) -> None:
    response = api.fire(api.create(), "withdraw", {"reason": "because\x00"})
    assert response.status_code == 422
    assert [(r["code"], r["field"]) for r in response.json()["reasons"]] == [
        ("invalid_characters", "data.reason")
    ]


def test_a_reason_may_span_lines(api: Api) -> None:
    filing = api.step(api.create(), "withdraw", {"reason": "first line\nsecond line"})
    last = api.get(f"/api/v1/filings/{filing['id']}/history").json()[-1]
    assert last["reason"] == "first line\nsecond line"


def test_a_recipient_longer_than_its_column_is_422_at_creation(api: Api) -> None:
    route = {"channel": "log", "recipient": "r" * 600}
    assert _refusal(api, make_payload(notify=[route])) == (
        422,
        [("invalid_field", "notify[0].recipient")],
    )


@pytest.mark.parametrize(
    ("channel", "recipient"),
    [
        ("email", "not-an-address"),
        ("webhook", "http://example.cn/hook"),
        ("webhook", "https://169.254.169.254/latest/meta-data/"),
        ("webhook", "https://[fe80::1]/hook"),
        ("webhook", "https://0.0.0.0/hook"),
        ("webhook", "https://2852039166/latest/"),
        ("webhook", "https://169.254.169.254./latest/"),
        ("webhook", "https://0/hook"),
        ("webhook", "https://100.100.100.200/latest/"),
        ("webhook", "https://[fd00:ec2::254]/latest/"),
        ("webhook", "https://user:secret@hooks.example.cn/icp"),
        ("chat", "nope://x"),
    ],
    ids=[
        "email",
        "plain http",
        "metadata",
        "link-local v6",
        "unspecified",
        "metadata as a number",
        "metadata with a final dot",
        "zero",
        "shared address space",
        "aws metadata v6",
        "password",
        "chat",
    ],
)
def test_a_recipient_its_channel_cannot_use_is_422_at_creation(
    api: Api, channel: str, recipient: str
) -> None:
    route = {"channel": channel, "recipient": recipient}
    assert _refusal(api, make_payload(notify=[route])) == (
        422,
        [("invalid_field", "notify[0].recipient")],
    )


def test_routes_each_channel_can_use_are_accepted(api: Api) -> None:
    api.create(
        notify=[
            {"channel": "email", "recipient": "cm@example.cn"},
            {"channel": "webhook", "recipient": "https://hooks.example.cn/icp"},
            {"channel": "webhook", "recipient": "http://127.1:8080/hook"},  # this machine
            {"channel": "webhook", "recipient": "http://localhost./hook"},
            {"channel": "webhook", "recipient": "https://10.1.2.3/hook"},  # an in-house one
            {"channel": "chat", "recipient": "dingtalk://token"},
            {"channel": "log", "recipient": "case managers"},
        ]
    )


def test_a_10_mb_body_is_413_in_the_error_shape(api: Api) -> None:
    big = {"event": "withdraw", "data": {"reason": "x" * 10_000_000}}
    response = api.client.post("/api/v1/filings/1/events", json=big, headers=api.headers)
    assert (response.status_code, response.json()["error"]) == (413, "request_too_large")


def test_a_chunked_body_over_the_limit_is_413(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(get_settings().max_request_bytes // 65536 + 2):
            yield b" " * 65536

    response = api.client.post("/api/v1/filings", content=chunks(), headers=api.headers)
    assert response.status_code == 413


def test_options_lists_every_method_of_the_path(client: TestClient) -> None:
    response = client.options("/api/v1/filings")
    assert (response.status_code, response.headers["Allow"]) == (204, "GET, OPTIONS, POST")


def test_a_wrong_method_is_405_with_every_allowed_method(client: TestClient) -> None:
    response = client.delete("/api/v1/filings")
    assert (response.status_code, response.headers["Allow"]) == (405, "GET, OPTIONS, POST")


def test_a_body_that_is_not_json_is_400_naming_where_it_broke(api: Api) -> None:
    response = api.client.post(
        "/api/v1/filings/1/events",
        content=b'{"event":',
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["error"]) == (400, "unreadable_request")
    [reason] = response.json()["reasons"]
    assert (reason["code"], reason["field"]) == ("invalid_json", "body")
    assert "at character 9" in reason["message"]


def test_a_body_of_the_wrong_shape_is_422_located_at_the_body(api: Api) -> None:
    response = api.client.post("/api/v1/filings", json="a filing", headers=api.headers)
    assert response.status_code == 422
    assert [r["field"] for r in response.json()["reasons"]] == ["body"]


def test_an_expected_version_below_1_is_422_not_a_conflict(api: Api) -> None:
    body = {"event": "withdraw", "data": {"reason": "x"}, "expected_version": -1}
    filing = api.create()
    response = api.client.post(
        f"/api/v1/filings/{filing['id']}/events", json=body, headers=api.headers
    )
    assert response.status_code == 422
    assert [r["field"] for r in response.json()["reasons"]] == ["expected_version"]
