"""The REST API as a case manager's script sees it: filings, events, history, errors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jsonschema_rs
import pytest

from config.clock import FrozenClock
from tests.factories import ORG_MATERIALS, PATH_TO, make_payload, order_on
from workflow.domain.definition import EVENTS, STATES

if TYPE_CHECKING:
    from tests.web.conftest import Api

RESUBMIT = ("resubmit", {"materials": ORG_MATERIALS})
# Each branch: the state to start from, the creation overrides, then (event, data, state after).
BRANCHES: dict[str, tuple[str, dict[str, Any], list[tuple[str, dict[str, Any], str]]]] = {
    "host_return_then_resubmit": (
        "submitted",
        {},
        [("host_return", {"reason": "photo unclear"}, "host_returned"), (*RESUBMIT, "submitted")],
    ),
    "pre_approval_granted": (
        "service_number_bound",
        {"website": {"name": "School", "sector": "education"}},
        [
            ("request_pre_approval", {}, "pre_approval_pending"),
            ("grant_pre_approval", {"document": "京教审字2026-1"}, "service_number_bound"),
            ("submit", {"materials": ORG_MATERIALS}, "submitted"),
        ],
    ),
    "pre_approval_denied": (
        "service_number_bound",
        {"website": {"name": "News", "sector": "news"}},
        [
            ("request_pre_approval", {}, "pre_approval_pending"),
            ("deny_pre_approval", {"reason": "no licence"}, "rejected"),
        ],
    ),
    "pre_approval_denied_then_granted": (
        "service_number_bound",
        {"website": {"name": "Clinic", "sector": "healthcare"}},
        [
            ("request_pre_approval", {}, "pre_approval_pending"),
            ("deny_pre_approval", {"reason": "licence expired"}, "rejected"),
            ("request_pre_approval", {}, "pre_approval_pending"),
            ("grant_pre_approval", {"document": "卫健委[2026]12号"}, "service_number_bound"),
            ("submit", {"materials": ORG_MATERIALS}, "submitted"),
        ],
    ),
    "miit_reject_then_resubmit": (
        "miit_pending",
        {},
        [
            ("miit_reject", {"reason": "site name not allowed"}, "rejected"),
            (*RESUBMIT, "submitted"),
        ],
    ),
    "withdraw": ("submitted", {}, [("withdraw", {"reason": "client left"}, "withdrawn")]),
}


def test_happy_path_moves_one_state_and_one_version_per_event(api: Api) -> None:
    filing = api.create()
    seen = [(filing["state"], filing["version"])]
    for event, data in PATH_TO["approved"]:
        filing = api.step(filing, event, data)
        seen.append((filing["state"], filing["version"]))
    assert seen == [
        ("domain_registered", 1),
        ("service_number_bound", 2),
        ("submitted", 3),
        ("host_pre_approved", 4),
        ("sms_pending", 5),
        ("miit_pending", 6),
        ("approved", 7),
    ]


def test_created_filing_shows_allowed_events_and_armed_deadlines(api: Api) -> None:
    filing = api.get(f"/api/v1/filings/{api.create()['id']}").json()
    assert filing["allowed_events"] == ["bind_service_number", "withdraw"]
    assert filing["deadlines"] and all(d["status"] == "pending" for d in filing["deadlines"])
    assert all(d["due_at"] for d in filing["deadlines"])


@pytest.mark.parametrize("branch", BRANCHES)
def test_alternative_branch(api: Api, branch: str) -> None:
    start, overrides, steps = BRANCHES[branch]
    filing = api.drive(start, **overrides)
    for event, data, expected in steps:
        version = filing["version"]
        filing = api.step(filing, event, data)
        assert (filing["state"], filing["version"]) == (expected, version + 1)


def test_unknown_filing_is_404(api: Api) -> None:
    response = api.get("/api/v1/filings/4242")
    assert (response.status_code, response.json()["error"]) == (404, "filing_not_found")


def test_stale_expected_version_is_409(api: Api) -> None:
    filing = api.create()
    api.step(filing, "bind_service_number", PATH_TO["service_number_bound"][0][1])
    response = api.fire(filing, "withdraw", {"reason": "stale"})
    assert (response.status_code, response.json()["error"]) == (409, "version_conflict")


@pytest.mark.parametrize("given", [True, "1", 1.0], ids=["true", "a string", "a float"])
def test_an_expected_version_that_is_no_integer_is_422_naming_it(api: Api, given: object) -> None:
    filing = api.create()
    response = api.client.post(
        f"/api/v1/filings/{filing['id']}/events",
        json={"event": "withdraw", "data": {"reason": "x"}, "expected_version": given},
        headers=api.headers,
    )
    assert response.status_code == 422
    assert [r["field"] for r in response.json()["reasons"]] == ["expected_version"]
    assert api.get(f"/api/v1/filings/{filing['id']}").json()["state"] == filing["state"]


def test_event_not_allowed_is_422_naming_the_allowed_events(api: Api) -> None:
    response = api.fire(api.create(), "verify_sms")
    body = response.json()
    assert (response.status_code, body["error"]) == (422, "transition_not_allowed")
    assert "bind_service_number" in body["message"] and "withdraw" in body["message"]


def test_guard_failure_lists_every_missing_material(api: Api) -> None:
    filing = api.drive("service_number_bound")
    response = api.fire(filing, "submit", {"materials": ["legal_rep_id"]})
    assert (response.status_code, response.json()["error"]) == (422, "guard_failed")
    missing = [r["material"] for r in response.json()["reasons"] if r["code"] == "missing_material"]
    assert sorted(missing) == sorted(set(ORG_MATERIALS) - {"legal_rep_id"})


def test_a_material_named_twice_is_submitted_once(api: Api) -> None:
    filing = api.drive("service_number_bound")
    submitted = api.step(filing, "submit", {"materials": [*ORG_MATERIALS, ORG_MATERIALS[0]]})
    assert submitted["materials"] == ORG_MATERIALS


def test_bad_creation_lists_every_problem(api: Api) -> None:
    payload = make_payload(domain="bad.io", province="XX")
    payload["applicant"]["phone"] = "123"  # type: ignore[index]
    response = api.client.post("/api/v1/filings", json=payload, headers=api.headers)
    assert response.status_code == 422
    fields = {r.get("field") for r in response.json()["reasons"]}
    assert {"domain", "province", "applicant.phone"} <= fields


def test_an_organisation_naming_no_responsible_person_is_asked_for_one(api: Api) -> None:
    """The body says whether the responsible person is the legal representative, never their
    name, so the refusal asks for the name rather than calling it the organisation's own."""
    payload = make_payload()
    del payload["applicant"]["responsible"]  # type: ignore[attr-defined]
    response = api.client.post("/api/v1/filings", json=payload, headers=api.headers)
    assert response.status_code == 422
    [reason] = response.json()["reasons"]
    assert (reason["code"], reason["field"]) == (
        "responsible_person_missing",
        "applicant.responsible",
    )
    assert reason["message"].startswith("applicant.responsible is required unless the applicant")


def test_malformed_body_is_422_in_the_same_shape(api: Api) -> None:
    response = api.client.post("/api/v1/filings", json={"domain": 3}, headers=api.headers)
    body = response.json()
    assert (response.status_code, body["error"]) == (422, "validation_error")
    assert {"domain", "province", "applicant", "website"} <= {r["field"] for r in body["reasons"]}


def test_out_of_range_limit_is_422_in_the_same_shape(api: Api) -> None:
    response = api.get("/api/v1/filings?limit=501")
    assert (response.status_code, response.json()["reasons"][0]["field"]) == (422, "query.limit")


def test_unknown_query_parameter_is_422_naming_it(api: Api) -> None:
    response = api.get("/api/v1/filings?stat=submitted&limit=5&colour=red")
    body = response.json()
    assert (response.status_code, body["error"]) == (422, "validation_error")
    assert [r["field"] for r in body["reasons"]] == ["query.stat", "query.colour"]


def test_repeated_query_parameter_is_422_instead_of_keeping_the_last(api: Api) -> None:
    response = api.get("/api/v1/filings?state=submitted&state=sms_pending&limit=5")
    body = response.json()
    assert (response.status_code, body["error"]) == (422, "validation_error")
    assert [(r["code"], r["field"]) for r in body["reasons"]] == [("repeated_field", "query.state")]
    assert "given 2 times" in body["reasons"][0]["message"]


def test_declared_query_parameters_are_accepted(api: Api) -> None:
    response = api.get("/api/v1/filings?state=submitted&limit=5")
    assert response.status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_json_sent_as_another_type_is_415_naming_the_header(api: Api, content_type: str) -> None:
    body = json.dumps({"event": "bind_service_number", "data": {"service_number": "X"}})
    headers = {**api.headers, "Content-Type": content_type}
    response = api.client.post("/api/v1/filings/1/events", content=body, headers=headers)
    assert (response.status_code, response.json()["error"]) == (415, "unsupported_media_type")
    assert response.json()["reasons"][0]["field"] == "header.content-type"
    assert "application/json" in response.json()["message"]


def test_json_sent_with_a_json_type_parameter_is_read(api: Api) -> None:
    filing = api.create()
    body = json.dumps({"event": "withdraw", "data": {"reason": "site dropped"}})
    headers = {**api.headers, "Content-Type": "application/json; charset=utf-8"}
    response = api.client.post(
        f"/api/v1/filings/{filing['id']}/events", content=body, headers=headers
    )
    assert response.status_code == 200, response.text


def test_unknown_path_is_404_in_the_same_shape(api: Api) -> None:
    response = api.get("/api/v1/nowhere")
    assert response.json() == {
        "error": "not_found",
        "message": "Not Found",
        "reasons": [],
        "request_id": response.headers["X-Request-ID"],
    }


def test_idempotency_key_replays_the_first_result_without_firing_again(api: Api) -> None:
    filing = api.create()
    headers = {**api.headers, "Idempotency-Key": "abc"}
    first = api.fire(filing, "withdraw", {"reason": "x"}, headers)
    again = api.fire(filing, "withdraw", {"reason": "x"}, headers)
    assert (again.status_code, again.json()) == (200, first.json())
    history = api.get(f"/api/v1/filings/{filing['id']}/history").json()
    assert [h["event"] for h in history] == ["create", "withdraw"]


def test_a_filing_posted_again_with_its_idempotency_key_is_created_once(api: Api) -> None:
    headers = {**api.headers, "Idempotency-Key": "open-1"}
    first = api.client.post("/api/v1/filings", json=make_payload(), headers=headers)
    again = api.client.post("/api/v1/filings", json=make_payload(), headers=headers)
    assert (first.status_code, again.status_code, again.json()) == (201, 201, first.json())
    assert api.get("/api/v1/filings").json()["total"] == 1


def test_a_body_with_an_unknown_key_is_refused_not_replayed_under_the_same_key(
    api: Api,
) -> None:
    """The first body opened a filing under the key; the same body with a stray key is not
    that request, so it is judged afresh (its applicant's first filing is now in flight) and
    refused, not answered with the first filing."""
    headers = {**api.headers, "Idempotency-Key": "open-1"}
    first = api.client.post("/api/v1/filings", json=make_payload(), headers=headers)
    again = api.client.post("/api/v1/filings", json=make_payload(colour=1), headers=headers)
    assert first.status_code == 201
    assert (again.status_code, again.json()["error"]) == (422, "validation_error")
    assert [r["field"] for r in again.json()["reasons"]] == ["colour", "applicant.id_number"]
    assert api.get("/api/v1/filings").json()["total"] == 1


def test_idempotency_key_with_another_body_is_refused(api: Api) -> None:
    filing = api.create()
    headers = {**api.headers, "Idempotency-Key": "abc"}
    api.fire(filing, "withdraw", {"reason": "x"}, headers)
    response = api.fire(filing, "withdraw", {"reason": "y"}, headers)
    assert (response.status_code, response.json()["error"]) == (422, "idempotency_key_reused")


def test_history_records_actor_data_and_reason(api: Api) -> None:
    filing = api.step(api.create(), "withdraw", {"reason": "client left"})
    last = api.get(f"/api/v1/filings/{filing['id']}/history").json()[-1]
    assert (last["event"], last["actor"], last["reason"]) == (
        "withdraw",
        "token:test-case_manager",
        "client left",
    )


def test_list_filters_by_state(api: Api) -> None:
    api.drive("submitted", domain="one.cn")
    api.create(domain="two.cn")
    page = api.get("/api/v1/filings?state=submitted").json()
    assert [f["domain"] for f in page["items"]] == ["one.cn"]


def test_list_filters_by_province(api: Api) -> None:
    api.create(domain="one.cn")
    api.create(domain="two.cn", province="沪")
    page = api.get("/api/v1/filings?province=沪").json()
    assert [f["domain"] for f in page["items"]] == ["two.cn"]


def test_list_searches_as_the_console_does(api: Api) -> None:
    """Domain and ICP number from their start, applicant anywhere, newest first on request."""
    api.drive("approved", domain="shop-example.cn")
    api.create(domain="shopping.cn")
    api.create(domain="blog.cn")
    by_domain = api.get("/api/v1/filings?domain=shop&sort=domain&descending=true").json()
    assert [f["domain"] for f in by_domain["items"]] == ["shopping.cn", "shop-example.cn"]
    by_number = api.get("/api/v1/filings?" + urlencode({"icp_number": "京ICP备"})).json()
    assert [f["domain"] for f in by_number["items"]] == ["shop-example.cn"]


def test_list_filters_by_order_kind(api: Api) -> None:
    filed = api.drive("approved", domain="one.cn")
    body = order_on("change", filed["entity_id"], filed["service_id"])
    change = api.client.post("/api/v1/orders", json=body, headers=api.headers)
    assert change.status_code == 201, change.text
    page = api.get("/api/v1/filings?kind=change").json()
    assert [(f["id"], f["kind"]) for f in page["items"]] == [(change.json()["id"], "change")]


def test_list_refuses_an_unknown_order_kind(api: Api) -> None:
    response = api.get("/api/v1/filings?kind=renewal")
    assert response.status_code == 422
    assert response.json()["reasons"][0]["field"] == "query.kind"


def test_list_refuses_an_unknown_province_naming_it(api: Api) -> None:
    response = api.get("/api/v1/filings?province=XX")
    body = response.json()
    assert (response.status_code, body["error"], body["reasons"][0]["code"]) == (
        422,
        "validation_error",
        "unknown_province",
    )


def test_list_paginates_with_the_total(api: Api) -> None:
    for name in ("a", "b", "c"):
        api.create(domain=f"{name}.cn")
    page = api.get("/api/v1/filings?limit=2&offset=2").json()
    assert (page["total"], [f["domain"] for f in page["items"]]) == (3, ["c.cn"])


def test_overdue_filter_follows_the_clock(api: Api, clock: FrozenClock) -> None:
    filing = api.drive("submitted")
    assert api.get("/api/v1/filings?overdue=true").json()["total"] == 0
    clock.advance(timedelta(days=7))  # past the host's 3 working days
    page = api.get("/api/v1/filings?overdue=true").json()
    assert [f["id"] for f in page["items"]] == [filing["id"]]


def test_a_stuck_deadline_passed_says_its_flag_is_stuck_not_overdue(
    api: Api, clock: FrozenClock
) -> None:
    filing = api.create()
    clock.advance(timedelta(days=15))  # past the stuck threshold; no deadline of its own passed

    deadlines = api.get(f"/api/v1/filings/{filing['id']}").json()["deadlines"]

    assert {d["kind"]: d["flag"] for d in deadlines if d["flag"]} == {"stuck": "stuck"}


def test_an_overdue_deadline_passed_says_its_flag_is_overdue(api: Api, clock: FrozenClock) -> None:
    filing = api.drive("submitted")
    clock.advance(timedelta(days=7))  # past the host's 3 working days

    deadlines = api.get(f"/api/v1/filings/{filing['id']}").json()["deadlines"]

    [review] = [d for d in deadlines if d["kind"] == "host_review_overdue"]
    assert review["flag"] == "overdue"


def test_a_deadline_not_yet_due_or_a_reminder_sent_has_no_flag(
    api: Api, clock: FrozenClock
) -> None:
    filing = api.drive("sms_pending")
    clock.advance(timedelta(hours=1))  # the SMS's first reminder sent, its expiry ahead

    deadlines = api.get(f"/api/v1/filings/{filing['id']}").json()["deadlines"]

    assert any(
        d["kind"] == "sms_reminder" and datetime.fromisoformat(d["due_at"]) <= clock.now()
        for d in deadlines
    )
    assert [d["flag"] for d in deadlines] == [None] * len(deadlines)


def test_the_openapi_schema_marks_a_deadlines_overdue_deprecated_for_its_flag(api: Api) -> None:
    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    overdue = schemas["DeadlineOut"]["properties"]["overdue"]
    flag = schemas["DeadlineOut"]["properties"]["flag"]
    assert overdue["deprecated"] is True and "read flag" in overdue["description"]
    assert {"$ref": "#/components/schemas/Flag"} in flag["anyOf"]
    assert schemas["Flag"]["enum"] == ["stuck", "overdue"]


def test_the_overdue_list_also_lists_what_falls_due_within_the_hours_asked(api: Api) -> None:
    filing = api.drive("submitted")  # the host's pre-review is due in 3 working days
    assert api.get("/api/v1/overdue").json()["items"] == []
    page = api.get("/api/v1/overdue?within_hours=168").json()
    assert [(i["filing"]["id"], i["deadline"]["kind"]) for i in page["items"]] == [
        (filing["id"], "host_review_overdue")
    ]


def test_the_list_behind_the_overdue_page_is_named_and_documented_as_overdue(api: Api) -> None:
    operation = api.get("/openapi.json").json()["paths"]["/api/v1/overdue"]["get"]
    assert operation["summary"] == "Overdue, and what falls due soon"
    assert operation["description"].startswith("What is overdue")
    assert "deprecated" not in operation


def test_the_two_overdue_lists_each_say_in_openapi_how_they_differ_from_the_other(
    api: Api,
) -> None:
    """``GET /overdue`` (the case managers' worklist) and ``GET /ops/overdue`` (ops' list)."""
    paths = api.get("/openapi.json").json()["paths"]
    worklist = paths["/api/v1/overdue"]["get"]["description"]
    ops = paths["/api/v1/ops/overdue"]["get"]["description"]
    assert "case managers' worklist" in worklist and "GET /ops/overdue" in worklist
    assert "ops' list" in ops and "GET /overdue" in ops


def test_the_overdue_lists_first_path_answers_the_same_and_is_documented_deprecated(
    api: Api,
) -> None:
    api.drive("submitted")
    late = api.get("/api/v1/late?within_hours=168")
    overdue = api.get("/api/v1/overdue?within_hours=168")
    assert (late.status_code, late.json()) == (200, overdue.json())
    operation = api.get("/openapi.json").json()["paths"]["/api/v1/late"]["get"]
    assert operation["deprecated"] is True and "GET /overdue" in operation["summary"]


def test_the_overdue_list_refuses_a_kind_of_deadline_that_makes_nothing_late(api: Api) -> None:
    response = api.get("/api/v1/overdue?kind=sms_reminder")
    assert (response.status_code, response.json()["reasons"][0]["code"]) == (
        422,
        "unknown_deadline_kind",
    )


def test_lists_and_answers_mask_identity_and_phone_numbers(api: Api) -> None:
    filing = api.create()
    listed = api.get("/api/v1/filings").json()["items"][0]["applicant"]
    assert (listed["phone"], listed["id_number"]) == ("138****8000", "911***********CD52")
    assert filing["applicant"] == listed


def test_a_filing_sent_back_says_which_event_sent_it_and_why_its_numbers_masked(
    api: Api,
) -> None:
    """As the console's /mine says it: the return's reason as history has it, masked."""
    filing = api.step(api.drive("submitted"), "host_return", {"reason": "call 13800138000"})
    shown = api.get(f"/api/v1/filings/{filing['id']}").json()
    assert shown["sent_back"] == {"event": "host_return", "reason": "call 138****8000"}


def test_a_filing_not_sent_back_says_nothing_sent_it_back(api: Api) -> None:
    filing = api.step(api.drive("host_returned"), *RESUBMIT)
    assert api.get(f"/api/v1/filings/{filing['id']}").json()["sent_back"] is None


def test_the_verifiers_of_an_order_returned_and_resubmitted_wait_for_the_next_rounds_sms(
    api: Api,
) -> None:
    """Five wrong codes failed the entity's person and returned it; its resubmission starts a
    round whose SMS, and 24 h window, are still to come."""
    filing = api.drive("sms_pending")
    for _ in range(5):
        filing = api.step(filing, "sms_wrong_entry", {"verifier": "entity"})
    filing = api.step(filing, *RESUBMIT)

    listed = api.get(f"/api/v1/filings/{filing['id']}/verifiers").json()

    assert [(v["window_started_at"], v["wrong_entries"], v["result"]) for v in listed] == [
        (None, 0, "pending")
    ]


def test_notifications_of_a_filing_are_listed(api: Api) -> None:
    filing = api.drive("sms_pending")
    notes = api.get(f"/api/v1/filings/{filing['id']}/notifications").json()
    assert {"sms_reminder", "host_approve", "sms_sent"} <= {n["kind"] for n in notes}


def test_workflow_is_the_declaration(api: Api) -> None:
    declared = api.get("/api/v1/workflow").json()
    assert [s["name"] for s in declared["states"]] == [s.name.value for s in STATES]
    assert [(e["name"], e["dest"]) for e in declared["events"]] == [
        (e.name, e.dest.value) for e in EVENTS
    ]
    # How an event's offer is computed is the service's own, not part of the declaration.
    assert not any("offered_if" in e for e in declared["events"])


def test_misspelt_field_is_refused_naming_it(api: Api) -> None:
    payload = make_payload(license="commercial")
    del payload["licence"]
    response = api.client.post("/api/v1/filings", json=payload, headers=api.headers)
    assert response.status_code == 422
    assert [(r["code"], r["field"]) for r in response.json()["reasons"]] == [
        ("unknown_field", "license")
    ]


def test_unknown_nested_field_is_refused_naming_its_path(api: Api) -> None:
    payload = make_payload()
    payload["applicant"]["nmae"] = "Example Ltd"  # type: ignore[index]
    response = api.client.post("/api/v1/filings", json=payload, headers=api.headers)
    assert response.status_code == 422
    assert [r["field"] for r in response.json()["reasons"]] == ["applicant.nmae"]


def test_an_unknown_key_in_a_body_is_said_with_the_keys_allowed_beside_it(api: Api) -> None:
    payload = make_payload()
    payload["website"]["title"] = "Example"  # type: ignore[index]
    response = api.client.post("/api/v1/filings", json=payload, headers=api.headers)
    assert response.status_code == 422
    assert [r["message"] for r in response.json()["reasons"]] == [
        "unknown field 'website.title'; allowed: name, sector"
    ]


def test_unknown_event_data_key_is_refused_naming_it(api: Api) -> None:
    filing = api.create()
    data = {"service_number": "BA2026000123", "server_ip": "8.8.8.8", "colour": "red"}
    response = api.client.post(
        f"/api/v1/filings/{filing['id']}/events",
        json={"event": "bind_service_number", "data": data},
        headers=api.headers,
    )
    assert (response.status_code, response.json()["error"]) == (422, "validation_error")
    assert [(r["code"], r["field"]) for r in response.json()["reasons"]] == [
        ("unknown_field", "data.colour")
    ]


def test_null_event_data_is_taken_as_none_given(api: Api) -> None:
    """Generated clients send null for an optional object they have no value for."""
    filing = api.drive("submitted")
    response = api.client.post(
        f"/api/v1/filings/{filing['id']}/events",
        json={"event": "host_approve", "data": None},
        headers=api.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "host_pre_approved"


def test_an_unknown_key_in_a_body_is_refused_with_every_rule_the_rest_breaks(api: Api) -> None:
    payload = make_payload(domain="example.zzz", province="XX", colour=1)
    payload["applicant"]["email"] = "not-an-email"  # type: ignore[index]
    payload["applicant"]["phone"] = "12345"  # type: ignore[index]
    payload["website"]["title"] = "Example"  # type: ignore[index]
    response = api.client.post("/api/v1/filings", json=payload, headers=api.headers)
    assert (response.status_code, response.json()["error"]) == (422, "validation_error")
    assert [r["field"] for r in response.json()["reasons"]] == [
        "website.title",
        "colour",
        "domain",
        "province",
        "applicant.phone",
        "applicant.email",
    ]
    assert response.json()["reasons"][0]["message"] == (
        "unknown field 'website.title'; allowed: name, sector"
    )


def test_an_unknown_event_data_key_is_refused_with_what_the_guards_refuse(api: Api) -> None:
    filing = api.create()
    response = api.client.post(
        f"/api/v1/filings/{filing['id']}/events",
        json={
            "event": "bind_service_number",
            "data": {"service_number": "X1", "server_ip": "8.8.8.8", "foo": 1},
        },
        headers=api.headers,
    )
    assert (response.status_code, response.json()["error"]) == (422, "validation_error")
    assert [(r["code"], r["field"]) for r in response.json()["reasons"]] == [
        ("unknown_field", "data.foo"),
        ("invalid_service_number", "data.service_number"),
    ]


def test_openapi_documents_each_event_data_from_the_declaration(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    data = schema["components"]["schemas"]["EventIn"]["properties"]["data"]
    documented = [set(option.get("properties", {})) for option in data["anyOf"]]
    assert {"service_number", "server_ip"} in documented
    assert {"icp_number"} in documented


@pytest.mark.parametrize(
    "body",
    [
        {"event": "submit", "data": {"materials": ["photo_verification"]}},
        {"event": "withdraw", "data": {"reason": "moved to another host"}},
        {"event": "verify_sms", "data": {"verifier": "entity"}},
        {"event": "sms_sent", "data": {}},
        {"event": "sms_sent", "data": {"sent_at": "2026-03-02T22:10:00+08:00"}},
        {"event": "host_approve", "data": None},
    ],
    ids=["submit", "withdraw", "verify_sms", "sms_sent", "sms_sent late", "null data"],
)
def test_the_event_bodies_the_readme_sends_are_valid_against_the_published_schema(
    api: Api, body: dict[str, object]
) -> None:
    """Checked as a generated client or a validating proxy would: every reference resolved
    within the document."""
    document = api.client.get("/openapi.json").json()
    validator = jsonschema_rs.validator_for({**document, "$ref": "#/components/schemas/EventIn"})
    assert validator.is_valid(body)


def test_an_empty_event_name_is_a_422_naming_it(api: Api) -> None:
    filing = api.create()
    response = api.client.post(
        f"/api/v1/filings/{filing['id']}/events", json={"event": ""}, headers=api.headers
    )
    assert response.status_code == 422
    assert [r["field"] for r in response.json()["reasons"]] == ["event"]
