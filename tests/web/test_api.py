"""The REST API as a case manager's script sees it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from factories import ORG_MATERIALS, PATH_TO, make_payload
from fastapi.testclient import TestClient

Headers = dict[str, str]


def create(client: TestClient, headers: Headers, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/filings", json=make_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def fire(
    client: TestClient, headers: Headers, filing: dict[str, Any], event: str, data: dict[str, Any]
) -> Any:
    return client.post(
        f"/api/v1/filings/{filing['id']}/events",
        json={"event": event, "data": data, "expected_version": filing["version"]},
        headers=headers,
    )


def drive(client: TestClient, headers: Headers, state: str, **overrides: Any) -> dict[str, Any]:
    filing = create(client, headers, **overrides)
    for event, data in PATH_TO[state]:
        response = fire(client, headers, filing, event, data)
        assert response.status_code == 200, response.text
        filing = response.json()
    return filing


def test_happy_path_reaches_approved_one_version_per_event(client, manager):
    filing = drive(client, manager, "approved")
    assert (filing["state"], filing["version"]) == ("approved", 1 + len(PATH_TO["approved"]))
    assert filing["icp_number"] == "京ICP备2026000123号-1"
    assert {d["kind"] for d in filing["deadlines"]} == {"psb_filing_due"}


def test_created_filing_shows_allowed_events_and_deadlines(client, manager):
    filing = create(client, manager)
    assert filing["allowed_events"] == ["bind_service_number", "withdraw"]
    assert all(d["status"] == "pending" for d in filing["deadlines"])


@pytest.mark.parametrize(
    ("start", "steps", "end"),
    [
        ("host_returned", [("resubmit", {"materials": ORG_MATERIALS})], "submitted"),
        ("rejected", [("resubmit", {"materials": ORG_MATERIALS})], "submitted"),
        ("submitted", [("withdraw", {"reason": "client left"})], "withdrawn"),
        ("miit_pending", [("miit_reject", {"reason": "bad name"})], "rejected"),
    ],
)
def test_alternative_branches(client, manager, start, steps, end):
    filing = drive(client, manager, start)
    for event, data in steps:
        response = fire(client, manager, filing, event, data)
        assert response.status_code == 200, response.text
        filing = response.json()
    assert filing["state"] == end


def test_pre_approval_grant_and_deny(client, manager):
    granted = drive(
        client, manager, "service_number_bound", website={"name": "x", "sector": "education"}
    )
    granted = fire(client, manager, granted, "request_pre_approval", {}).json()
    granted = fire(
        client, manager, granted, "grant_pre_approval", {"document": "教育厅2026-1"}
    ).json()
    assert granted["state"] == "service_number_bound"
    assert fire(client, manager, granted, "submit", {"materials": ORG_MATERIALS}).status_code == 200
    denied = drive(
        client,
        manager,
        "service_number_bound",
        domain="second.cn",
        website={"name": "y", "sector": "news"},
    )
    denied = fire(client, manager, denied, "request_pre_approval", {}).json()
    assert (
        fire(client, manager, denied, "deny_pre_approval", {"reason": "no"}).json()["state"]
        == "rejected"
    )


def test_missing_token_is_401_with_the_error_shape(client):
    response = client.get("/api/v1/filings")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"


def test_unknown_token_is_401(client):
    response = client.get("/api/v1/filings", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_viewer_reads_but_cannot_fire(client, manager, as_role):
    filing = create(client, manager)
    viewer = as_role("viewer")
    assert client.get(f"/api/v1/filings/{filing['id']}", headers=viewer).status_code == 200
    response = fire(client, viewer, filing, "withdraw", {"reason": "x"})
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


def test_viewer_cannot_see_ops(client, as_role):
    assert client.get("/api/v1/ops/stuck", headers=as_role("case_manager")).status_code == 403
    assert client.get("/api/v1/ops/stuck", headers=as_role("ops")).status_code == 200


def test_unknown_filing_is_404(client, manager):
    response = client.get("/api/v1/filings/4242", headers=manager)
    assert (response.status_code, response.json()["error"]) == (404, "filing_not_found")


def test_stale_expected_version_is_409(client, manager):
    filing = create(client, manager)
    fire(client, manager, filing, "withdraw", {"reason": "first"})
    response = fire(client, manager, filing, "withdraw", {"reason": "second"})
    assert (response.status_code, response.json()["error"]) == (409, "version_conflict")


def test_event_not_allowed_is_422_naming_the_allowed_events(client, manager):
    filing = create(client, manager)
    response = fire(client, manager, filing, "verify_sms", {})
    assert response.status_code == 422
    assert response.json()["error"] == "transition_not_allowed"
    assert "bind_service_number" in response.json()["message"]


def test_guard_failure_lists_every_missing_material(client, manager):
    filing = drive(client, manager, "service_number_bound")
    response = fire(client, manager, filing, "submit", {"materials": ["legal_rep_id"]})
    assert response.status_code == 422
    body = response.json()
    missing = {r["material"] for r in body["reasons"] if r["code"] == "missing_material"}
    assert missing == set(ORG_MATERIALS) - {"legal_rep_id"}


def test_bad_creation_lists_every_problem(client, manager):
    payload = make_payload(domain="bad.io", province="XX")
    payload["applicant"]["phone"] = "123"  # type: ignore[index]
    response = client.post("/api/v1/filings", json=payload, headers=manager)
    assert response.status_code == 422
    fields = {r.get("field") for r in response.json()["reasons"]}
    assert {"domain", "province", "applicant.phone"} <= fields


def test_malformed_body_is_422_in_the_same_shape(client, manager):
    response = client.post("/api/v1/filings", json={"domain": 3}, headers=manager)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error" and body["reasons"]


def test_idempotency_key_replays_without_firing_again(client, manager):
    filing = create(client, manager)
    body = {"event": "withdraw", "data": {"reason": "x"}, "expected_version": 1}
    headers = {**manager, "Idempotency-Key": "abc"}
    first = client.post(f"/api/v1/filings/{filing['id']}/events", json=body, headers=headers)
    again = client.post(f"/api/v1/filings/{filing['id']}/events", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    history = client.get(f"/api/v1/filings/{filing['id']}/history", headers=manager).json()
    assert [h["event"] for h in history] == ["create", "withdraw"]


def test_idempotency_key_with_another_body_is_refused(client, manager):
    filing = create(client, manager)
    headers = {**manager, "Idempotency-Key": "abc"}
    url = f"/api/v1/filings/{filing['id']}/events"
    client.post(url, json={"event": "withdraw", "data": {"reason": "x"}}, headers=headers)
    response = client.post(
        url, json={"event": "withdraw", "data": {"reason": "y"}}, headers=headers
    )
    assert (response.status_code, response.json()["error"]) == (422, "idempotency_key_reused")


def test_list_filters_by_state_and_province_and_paginates(client, manager):
    drive(client, manager, "submitted")
    create(client, manager, domain="two.cn")
    create(client, manager, domain="three.cn", province="沪")
    page = client.get("/api/v1/filings?state=domain_registered&province=京", headers=manager).json()
    assert [f["domain"] for f in page["items"]] == ["two.cn"]
    page = client.get("/api/v1/filings?limit=2&offset=2", headers=manager).json()
    assert (page["total"], len(page["items"])) == (3, 1)


def test_overdue_filter_follows_the_clock(client, manager, clock):
    filing = drive(client, manager, "submitted")
    assert client.get("/api/v1/filings?overdue=true", headers=manager).json()["total"] == 0
    clock.advance(timedelta(days=7))
    page = client.get("/api/v1/filings?overdue=true", headers=manager).json()
    assert [f["id"] for f in page["items"]] == [filing["id"]]
    assert client.get("/api/v1/ops/overdue", headers={**manager}).status_code == 403


def test_lists_mask_identity_and_phone_numbers(client, manager):
    filing = create(client, manager)
    listed = client.get("/api/v1/filings", headers=manager).json()["items"][0]
    assert listed["applicant"]["phone"] != filing["applicant"]["phone"]
    assert "*" in listed["applicant"]["phone"] and "*" in listed["applicant"]["id_number"]


def test_notifications_of_a_filing_are_listed(client, manager):
    filing = drive(client, manager, "host_pre_approved")
    notes = client.get(f"/api/v1/filings/{filing['id']}/notifications", headers=manager).json()
    assert {"sms_reminder", "host_approve"} <= {n["kind"] for n in notes}
    assert all(n["status"] == "pending" for n in notes)


def test_ops_failed_list_and_retry_of_unknown_job(client, as_role):
    ops = as_role("ops")
    assert client.get("/api/v1/ops/failed", headers=ops).json() == []
    assert client.post("/api/v1/ops/failed/9/retry", headers=ops).status_code == 404


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_metrics_count_filings_by_state(client, manager):
    create(client, manager)
    text = client.get("/metrics").text
    assert 'icpflow_filings{state="domain_registered"} 1.0' in text


def test_openapi_documents_events_errors_and_bearer_auth(client):
    spec = client.get("/openapi.json").json()
    assert (
        "miit_approve"
        in spec["components"]["schemas"]["EventIn"]["properties"]["event"]["description"]
    )
    assert "409" in spec["paths"]["/api/v1/filings/{filing_id}/events"]["post"]["responses"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
