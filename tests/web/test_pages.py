"""The ops pages: sign in with a token, see the pipeline, the lists and a filing's timeline."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

import web.pages  # noqa: F401  (installs the access-log filter)
from config.clock import FrozenClock
from workflow.domain.definition import STATES

if TYPE_CHECKING:
    from tests.web.conftest import Api


@pytest.fixture
def browser(client: TestClient, tokens: dict[str, str]) -> TestClient:
    """The test client signed in as a viewer through the login form."""
    response = client.post("/login", data={"token": tokens["viewer"]}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/")
    return client


def test_pages_redirect_to_login_without_a_token(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_login_refuses_an_unknown_token(client: TestClient) -> None:
    response = client.post("/login", data={"token": "nope"})
    assert (response.status_code, "unknown or revoked" in response.text) == (401, True)


def test_token_link_signs_in_and_drops_the_token_from_the_url(
    client: TestClient, tokens: dict[str, str]
) -> None:
    response = client.get(f"/stuck?token={tokens['viewer']}&x=1", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/stuck?x=1")
    assert client.get("/stuck", follow_redirects=False).status_code == 200


def test_sign_out_forgets_the_token(browser: TestClient) -> None:
    browser.get("/logout")
    assert browser.get("/", follow_redirects=False).status_code == 303


def test_pipeline_shows_every_declared_state_with_its_count(api: Api, browser: TestClient) -> None:
    api.create()
    page = browser.get("/").text
    for spec in STATES:
        expected = 1 if spec.name.value == "domain_registered" else 0
        assert f'data-state="{spec.name.value}">{expected}<' in page


def test_stuck_page_lists_a_filing_past_its_threshold(
    api: Api, browser: TestClient, clock: FrozenClock
) -> None:
    api.create(domain="slow.cn")
    assert "slow.cn" not in browser.get("/stuck").text
    clock.advance(timedelta(days=15))
    assert "slow.cn" in browser.get("/stuck").text


def test_overdue_page_lists_a_filing_past_its_deadline(
    api: Api, browser: TestClient, clock: FrozenClock
) -> None:
    api.drive("submitted", domain="late.cn")
    clock.advance(timedelta(days=7))
    assert "late.cn" in browser.get("/overdue").text


def test_timeline_shows_every_history_entry(api: Api, browser: TestClient) -> None:
    filing = api.step(api.create(), "withdraw", {"reason": "client cancelled"})
    page = browser.get(f"/filings/{filing['id']}").text
    assert page.count('class="history"') == 2 and "client cancelled" in page


def test_timeline_shows_the_armed_deadlines(api: Api, browser: TestClient) -> None:
    filing = api.drive("host_pre_approved")
    page = browser.get(f"/filings/{filing['id']}").text
    assert page.count('class="deadline"') == len(filing["deadlines"]) > 0


def test_timeline_masks_the_phone_number(api: Api, browser: TestClient) -> None:
    page = browser.get(f"/filings/{api.create()['id']}").text
    assert "13800138000" not in page and "138****8000" in page


def test_token_links_are_redacted_from_the_access_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info('"%s %s"', "GET", "/stuck?token=icp_secret&x=1")
    assert caplog.messages == ['"GET /stuck?token=[redacted]&x=1"']
