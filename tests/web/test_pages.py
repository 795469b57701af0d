"""The ops pages: sign in with a token, see the pipeline, lists and a filing's timeline."""

from __future__ import annotations

from datetime import timedelta

from factories import make_payload

from icpflow.workflow.definition import STATES


def sign_in(client, token: str) -> None:
    response = client.post("/login", data={"token": token}, follow_redirects=False)
    assert response.status_code == 303


def test_pages_redirect_to_login_without_a_token(client):
    response = client.get("/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_login_refuses_an_unknown_token(client):
    response = client.post("/login", data={"token": "nope"})
    assert response.status_code == 401
    assert "unknown or revoked" in response.text


def test_pipeline_shows_every_declared_state_with_its_count(client, tokens, manager):
    client.post("/api/v1/filings", json=make_payload(), headers=manager)
    sign_in(client, tokens["viewer"])
    page = client.get("/").text
    for spec in STATES:
        expected = 1 if spec.name.value == "domain_registered" else 0
        assert f'data-state="{spec.name.value}">{expected}<' in page


def test_stuck_page_lists_a_filing_past_its_threshold(client, tokens, manager, clock):
    client.post("/api/v1/filings", json=make_payload(domain="slow.cn"), headers=manager)
    sign_in(client, tokens["viewer"])
    assert "slow.cn" not in client.get("/stuck").text
    clock.advance(timedelta(days=15))
    assert "slow.cn" in client.get("/stuck").text


def test_timeline_shows_history_and_deadlines_with_masked_phone(client, tokens, manager):
    filing = client.post("/api/v1/filings", json=make_payload(), headers=manager).json()
    client.post(
        f"/api/v1/filings/{filing['id']}/events",
        json={"event": "withdraw", "data": {"reason": "client cancelled"}},
        headers=manager,
    )
    sign_in(client, tokens["viewer"])
    page = client.get(f"/filings/{filing['id']}").text
    assert page.count('class="history"') == 2
    assert "client cancelled" in page
    assert "13800138000" not in page
    assert "138****8000" in page
