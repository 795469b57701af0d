"""The ops pages: sign in with a token, see the pipeline, the lists and a filing's timeline."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

import web.pages  # noqa: F401  (installs the access-log filter)
from auth.tokens import Role, create_token, list_tokens, revoke_token
from config.clock import FrozenClock, in_beijing, lateness
from config.settings import Settings, get_settings
from tests.factories import ORG_MATERIALS, fresh_service_number
from tests.web.page_text import shown_text
from web.pages import SESSION_COOKIE
from workflow import privacy
from workflow.domain.definition import DEADLINES_BY_KIND, STATES, Flag
from workflow.sweeps import fire_due_deadlines
from workflow.views import search

if TYPE_CHECKING:
    from tests.databases import Database
    from tests.web.conftest import Api, Filing, Headers


@pytest.fixture
def sign_in(client: TestClient, tokens: dict[str, str]) -> Callable[..., TestClient]:
    """Sign the test client in through the login form, as a viewer unless told otherwise."""

    def submit(token: str = tokens["viewer"]) -> TestClient:
        response = client.post("/login", data={"token": token}, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/")
        return client

    return submit


@pytest.fixture
def browser(sign_in: Callable[..., TestClient]) -> TestClient:
    return sign_in()


def signed_out(client: TestClient) -> bool:
    return bool(client.get("/", follow_redirects=False).status_code == 303)


def test_the_favicon_is_served_without_signing_in(client: TestClient) -> None:
    asked = client.get("/favicon.ico", follow_redirects=False)
    assert (asked.status_code, asked.headers["location"]) == (301, "/static/favicon.svg")
    icon = client.get("/static/favicon.svg")
    assert (icon.status_code, icon.headers["content-type"]) == (200, "image/svg+xml")


def test_pages_redirect_to_login_without_a_token(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=%2F")


def test_a_link_followed_signed_out_leads_to_its_page_once_signed_in(
    client: TestClient, tokens: dict[str, str]
) -> None:
    """A notice's link to a filing, opened with the session expired."""
    asked = client.get("/filings/5?tab=1", follow_redirects=False)
    form = client.get(asked.headers["location"]).text
    assert 'name="next" value="/filings/5?tab=1"' in form

    signed = client.post(
        "/login",
        data={"token": tokens["viewer"], "next": "/filings/5?tab=1"},
        follow_redirects=False,
    )

    assert (signed.status_code, signed.headers["location"]) == (303, "/filings/5?tab=1")


@pytest.mark.parametrize("elsewhere", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_signing_in_never_leads_off_the_site(
    client: TestClient, tokens: dict[str, str], elsewhere: str
) -> None:
    signed = client.post(
        "/login", data={"token": tokens["viewer"], "next": elsewhere}, follow_redirects=False
    )
    assert (signed.status_code, signed.headers["location"]) == (303, "/")


def test_login_refuses_an_unknown_token(client: TestClient) -> None:
    response = client.post("/login", data={"token": "nope"})
    assert (response.status_code, "unknown or revoked" in response.text) == (401, True)


def test_token_link_signs_in_and_drops_the_token_from_the_url(
    client: TestClient, tokens: dict[str, str]
) -> None:
    response = client.get(f"/stuck?token={tokens['viewer']}&x=1", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/stuck?x=1")
    assert client.get("/stuck", follow_redirects=False).status_code == 200


def test_a_token_link_to_the_sign_in_page_signs_in_and_goes_to_the_pipeline(
    client: TestClient, tokens: dict[str, str]
) -> None:
    response = client.get(f"/login?token={tokens['viewer']}", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/")
    assert client.get("/stuck", follow_redirects=False).status_code == 200


def test_the_header_names_whoever_signed_in_and_their_role_in_english_and_chinese(
    browser: TestClient,
) -> None:
    assert '<span class="who">test-viewer (viewer 只读) ·' in browser.get("/").text


def test_sign_out_ends_the_session_on_the_server(browser: TestClient) -> None:
    cookie = browser.cookies[SESSION_COOKIE]
    form_token = re.search(r'name="form_token" value="([^"]+)"', browser.get("/").text)
    assert form_token is not None
    browser.post("/logout", data={"form_token": form_token.group(1)})
    browser.cookies.set(SESSION_COOKIE, cookie)  # a copy kept from before signing out
    assert signed_out(browser)


def test_the_session_ends_after_its_configured_hours(
    browser: TestClient, clock: FrozenClock, settings: Settings
) -> None:
    clock.advance(timedelta(hours=settings.page_session_hours, seconds=1))
    assert signed_out(browser)


def test_revoking_the_token_ends_its_sessions(browser: TestClient, session: Session) -> None:
    viewer = next(t for t in list_tokens(session) if t.role == "viewer")
    revoke_token(session, viewer.id)
    assert signed_out(browser)


def test_sign_in_refuses_an_expired_token(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    token = create_token(session, "brief", Role.VIEWER, clock.now() + timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    response = client.post("/login", data={"token": token})
    assert (response.status_code, "expired" in response.text) == (401, True)


def test_the_cookie_holds_a_session_id_not_the_token(
    browser: TestClient, tokens: dict[str, str]
) -> None:
    assert browser.cookies[SESSION_COOKIE] not in tokens.values()


def test_the_cookie_is_httponly_strict_and_secure_over_https(
    client: TestClient, tokens: dict[str, str]
) -> None:
    response = client.post(
        "https://testserver/login", data={"token": tokens["viewer"]}, follow_redirects=False
    )
    flags = response.headers["set-cookie"].lower()
    assert all(flag in flags for flag in ("httponly", "samesite=strict", "secure"))


def test_a_sixth_failed_sign_in_within_a_minute_is_429_with_retry_after(client: TestClient) -> None:
    answers = [client.post("/login", data={"token": "guess"}) for _ in range(6)]
    assert [a.status_code for a in answers] == [401] * 5 + [429]
    assert 0 < int(answers[-1].headers["retry-after"]) <= 60


def test_the_refusal_of_too_many_sign_ins_says_how_long_to_wait(client: TestClient) -> None:
    answers = [client.post("/login", data={"token": "guess"}) for _ in range(6)]

    wait = answers[-1].headers["retry-after"]
    assert f"try again in {wait} s" in answers[-1].text
    assert f"请 {wait} 秒后再试" in answers[-1].text


def test_while_refused_even_a_good_token_does_not_sign_in(
    client: TestClient, tokens: dict[str, str]
) -> None:
    for _ in range(5):
        client.post("/login", data={"token": "guess"})
    assert client.post("/login", data={"token": tokens["viewer"]}).status_code == 429


def test_pipeline_shows_every_declared_state_with_its_count(api: Api, browser: TestClient) -> None:
    api.create()
    page = browser.get("/").text
    for spec in STATES:
        expected = 1 if spec.name.value == "domain_registered" else 0
        assert f'data-state="{spec.name.value}">{expected}<' in page


def test_pipeline_shows_late_counts_per_state_and_a_stuck_total_past_counting_as_such(
    api: Api,
    sign_in: Callable[..., TestClient],
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(search, "COUNTED_UP_TO", 1)
    api.drive("submitted", domain="late.cn")
    for name in ("slow", "slower"):
        api.create(domain=f"{name}.cn")
    clock.advance(timedelta(days=15))  # past the host's review and every state's stuck threshold
    page = sign_in().get("/").text
    assert '/filings?state=submitted&amp;overdue=true">1</a>' in page
    assert ">1+ stuck 停滞<" in page


def test_stuck_page_lists_a_filing_past_its_threshold(
    api: Api, sign_in: Callable[..., TestClient], clock: FrozenClock
) -> None:
    api.create(domain="slow.cn")
    assert "slow.cn" not in sign_in().get("/stuck").text
    clock.advance(timedelta(days=15))
    assert "slow.cn" in sign_in().get("/stuck").text


def test_stuck_page_names_the_stuck_deadline_and_how_long_the_filing_is_stuck(
    api: Api, sign_in: Callable[..., TestClient], clock: FrozenClock
) -> None:
    api.create(domain="slow.cn")
    clock.advance(timedelta(days=15))
    [filing] = api.get("/api/v1/filings?stuck=true").json()["items"]
    [stuck] = [d for d in filing["deadlines"] if d["kind"] == "stuck"]
    fell_due = datetime.fromisoformat(stuck["due_at"])

    page = sign_in().get("/stuck").text

    stuck_for = lateness(fell_due, clock.now(), Flag.STUCK)
    assert f"{DEADLINES_BY_KIND['stuck'].label}: {stuck_for}" in page


def test_overdue_page_lists_a_filing_past_its_deadline(
    api: Api, sign_in: Callable[..., TestClient], clock: FrozenClock
) -> None:
    api.drive("submitted", domain="late.cn")
    clock.advance(timedelta(days=7))
    assert "late.cn" in sign_in().get("/overdue").text


@pytest.mark.parametrize("path", ["/stuck", "/overdue"])
def test_a_late_list_says_when_the_deadline_that_lists_a_filing_fell_due(
    api: Api,
    as_role: Callable[[str], Headers],
    sign_in: Callable[..., TestClient],
    clock: FrozenClock,
    path: str,
) -> None:
    api.drive("submitted", domain="late.cn")
    clock.advance(timedelta(days=15))  # past the host's review and its stuck threshold
    [listed] = api.get(f"/api/v1/ops{path}", as_role("ops")).json()["items"]
    fell_due = datetime.fromisoformat(listed["listed_for"]["due_at"])

    page = sign_in().get(path).text

    said = f"{lateness(fell_due, clock.now(), Flag(path[1:]))} · due 到期 "
    [when] = re.findall(rf"{re.escape(said)}<time datetime=\"[^\"]+\">(.*?)</time>", page)
    assert shown_text(when) == in_beijing(fell_due, due=True)


def test_timeline_shows_every_history_entry(api: Api, browser: TestClient) -> None:
    filing = api.step(api.create(), "withdraw", {"reason": "client cancelled"})
    page = browser.get(f"/filings/{filing['id']}").text
    assert page.count('class="history"') == 2 and "client cancelled" in page


def test_timeline_names_each_event_and_state_as_the_forms_do(api: Api, browser: TestClient) -> None:
    filing = api.step(api.create(), "withdraw", {"reason": "client cancelled"})
    page = browser.get(f"/filings/{filing['id']}").text
    withdrawn = page.split('<tr class="history">')[2].split("</tr>")[0]
    assert '<td data-label="Event 事件">Withdraw 撤回订单</td>' in withdrawn
    assert "domain_registered 域名已实名 → withdrawn 已撤回" in withdrawn


def test_timeline_names_the_orders_opening_in_english_and_chinese(
    api: Api, browser: TestClient
) -> None:
    page = browser.get(f"/filings/{api.create()['id']}").text
    opened = page.split('<tr class="history">')[1].split("</tr>")[0]
    assert '<td data-label="Event 事件">Create 创建订单</td>' in opened


def test_time_in_each_state_names_the_state_with_its_chinese_label(
    api: Api, browser: TestClient
) -> None:
    filing = api.create()
    page = browser.get(f"/filings/{filing['id']}").text
    [row] = re.findall(r'<tr class="time-in-state"><th scope="row" [^>]*>([^<]*)<', page)
    assert row == "domain_registered 域名已实名 "


def test_a_sent_back_filing_names_the_event_that_returned_it(api: Api, browser: TestClient) -> None:
    filing = _returned(api)
    refusal = _sent_back(browser.get(f"/filings/{filing['id']}").text)
    assert "(Host return 接入商退回, " in refusal


def test_timeline_shows_the_armed_deadlines(api: Api, browser: TestClient) -> None:
    filing = api.drive("sms_pending")
    page = browser.get(f"/filings/{filing['id']}").text
    assert page.count('class="deadline"') == len(filing["deadlines"]) > 0


def test_notifications_are_named_by_the_event_or_deadline_they_tell_of(
    api: Api, browser: TestClient
) -> None:
    filing = api.drive("sms_pending")
    page = browser.get(f"/filings/{filing['id']}").text
    kinds = re.findall(r'<tr class="notification">\s*<td data-label="Kind 类型">([^<]*)</td>', page)
    assert kinds == [
        "Host approve 接入商初审通过",
        "SMS sent 工信部短信已发送",
        "SMS reminder 短信核验提醒",
    ]


def test_each_deadline_says_its_status_in_english_and_chinese(
    api: Api, browser: TestClient
) -> None:
    """In the SMS window: the first reminder went out as it opened, the rest wait."""
    filing = api.drive("sms_pending")
    page = browser.get(f"/filings/{filing['id']}").text
    statuses = re.findall(
        r'<tr class="deadline">.*?<td data-label="Status 状态">([^<]*)<', page, re.S
    )
    assert statuses == ["fired 已触发", *["pending 待到期"] * (len(statuses) - 1)]


def test_each_notification_says_its_status_in_english_and_chinese(
    api: Api, browser: TestClient
) -> None:
    filing = api.drive("sms_pending")  # no worker runs here: none is delivered yet
    page = browser.get(f"/filings/{filing['id']}").text
    rows = page.split('<tr class="notification">')[1:]
    assert rows and all(
        '<td data-label="Status 状态" class="">pending 待发送</td>' in r for r in rows
    )


def test_each_deadline_says_what_it_means_in_english_and_chinese(
    api: Api, browser: TestClient
) -> None:
    filing = api.drive("submitted")
    page = browser.get(f"/filings/{filing['id']}").text
    [review, _stuck] = re.findall(r'<td data-label="Meaning 说明" class="muted">([^<]*)</td>', page)
    assert review == (
        "The host&#39;s pre-review falls due; past it, it is overdue. 接入商初审到期，逾期即为超时。"
    )


def test_timeline_names_each_deadline_in_english_and_chinese(api: Api, browser: TestClient) -> None:
    filing = api.drive("submitted")
    page = browser.get(f"/filings/{filing['id']}").text
    kinds = re.findall(r'<tr class="deadline">\s*<td data-label="Kind 类型">([^<]*)</td>', page)
    assert kinds == ["Host review due 接入商初审到期", "Stuck 停滞"]


def _sent_back(page: str) -> str:
    return page[page.index('id="refusal"') :].split("</div>")[0] if 'id="refusal"' in page else ""


def _returned(api: Api) -> Filing:
    """A filing the host returned, for a photo unclear."""
    return api.step(api.drive("submitted"), "host_return", {"reason": "photo unclear"})


def test_a_returned_filing_says_why_it_was_sent_back(api: Api, browser: TestClient) -> None:
    filing = _returned(api)
    assert "photo unclear" in _sent_back(browser.get(f"/filings/{filing['id']}").text)


def test_a_purged_order_says_so_in_place_of_what_it_no_longer_owes(
    api: Api,
    sign_in: Callable[..., TestClient],
    session: Session,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    """Its return cannot be answered: a purged order can only be withdrawn."""
    filing = api.step(_returned(api), "withdraw", {"reason": "dropped"})
    clock.advance(timedelta(days=31))
    privacy.purge(session, timedelta(days=30), clock.now(), settings)
    session.rollback()  # a SQLite transaction holds the write lock the app needs

    page = sign_in().get(f"/filings/{filing['id']}").text

    assert 'id="purged"' in page and "Personal data purged 个人信息已清除" in page
    assert _sent_back(page) == "" and "can only be withdrawn" not in page  # it was


def test_a_return_answered_by_a_resubmission_is_no_longer_shown_as_owed(
    api: Api, browser: TestClient
) -> None:
    filing = api.step(_returned(api), "resubmit", {"materials": ORG_MATERIALS})
    assert _sent_back(browser.get(f"/filings/{filing['id']}").text) == ""


def test_a_returned_filing_that_lapsed_unanswered_still_says_why_it_was_sent_back(
    api: Api,
    sign_in: Callable[..., TestClient],
    db: Database,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    filing = _returned(api)
    clock.advance(timedelta(days=settings.idle_lapse_days + 1))
    fire_due_deadlines(db.engine, clock.now(), settings)
    assert api.get(f"/api/v1/filings/{filing['id']}").json()["state"] == "lapsed"
    assert "photo unclear" in _sent_back(sign_in().get(f"/filings/{filing['id']}").text)
    lapsed = api.get(f"/api/v1/filings/{filing['id']}").json()
    bound = {"service_number": fresh_service_number(), "server_ip": "8.8.8.8"}
    api.step(lapsed, "bind_service_number", bound)  # a new server: still to resubmit
    assert "photo unclear" in _sent_back(sign_in().get(f"/filings/{filing['id']}").text)


def test_an_sms_window_passing_unanswered_says_so_where_a_reason_would(
    api: Api,
    sign_in: Callable[..., TestClient],
    db: Database,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    filing = api.step(_returned(api), "resubmit", {"materials": ORG_MATERIALS})
    filing = api.step(api.step(filing, "host_approve"), "sms_sent")
    clock.advance(timedelta(hours=25))
    assert fire_due_deadlines(db.engine, clock.now(), settings) == 1
    shown = _sent_back(sign_in().get(f"/filings/{filing['id']}").text)
    assert "(Expire SMS 短信核验超时, " in shown and "photo unclear" not in shown


def test_timeline_masks_the_phone_number(api: Api, browser: TestClient) -> None:
    page = browser.get(f"/filings/{api.create()['id']}").text
    assert "13800138000" not in page and "138****8000" in page


def test_token_links_are_redacted_from_the_access_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info('"%s %s"', "GET", "/stuck?token=icp_secret&x=1")
    assert caplog.messages == ['"GET /stuck?token=[redacted]&x=1"']


def test_timeline_shows_the_orders_kind_and_what_it_concerns(api: Api, browser: TestClient) -> None:
    filing = api.create()
    page = browser.get(f"/filings/{filing['id']}").text
    assert '<span class="pill">first_filing</span> 首次备案' in page
    assert (
        f'entity 主体 <a href="/entities/{filing["entity_id"]}">#{filing["entity_id"]}</a>' in page
    )
    assert f"service 服务 #{filing['service_id']}" in page


def _detail(page: str, term: str) -> str:
    """What a filing's details say beside ``term`` (``Licence 类型``)."""
    return page.split(f"<dt>{term}</dt><dd>")[1].split("</dd>")[0]


def test_a_filings_details_name_its_licence_in_english_and_chinese(
    api: Api, browser: TestClient
) -> None:
    page = browser.get(f"/filings/{api.create()['id']}").text
    assert _detail(page, "Licence 类型") == "filing 非经营性互联网信息服务备案"


def test_a_filings_details_name_the_applicants_identity_document_in_english_and_chinese(
    api: Api, browser: TestClient
) -> None:
    page = browser.get(f"/filings/{api.create()['id']}").text
    assert _detail(page, "Identity 证件").startswith(
        "business_licence 营业执照（统一社会信用代码） "
    )


def _rules_in_force_edited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *edits: tuple[str, str]
) -> None:
    """The packaged rules file with each (old, new) replaced, in force from now on."""
    text = str(files("workflow.domain").joinpath("rules.toml").read_text(encoding="utf-8"))
    for old, new in edits:
        text = text.replace(old, new)
    (tmp_path / "rules.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("RULES_FILE", str(tmp_path / "rules.toml"))
    get_settings.cache_clear()


def test_a_filings_details_name_a_document_the_rules_in_force_no_longer_define_by_its_key(
    api: Api, browser: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Filed before the rules file dropped business licences: the page shows what it knows."""
    filing = api.create()
    _rules_in_force_edited(
        tmp_path,
        monkeypatch,
        ('"business_licence", ', ""),
        ("[documents.business_licence]", "[documents.business_licence_dropped]"),
    )
    page = browser.get(f"/filings/{filing['id']}").text
    assert _detail(page, "Identity 证件") == f"business_licence {filing['applicant']['id_number']}"


def _materials(page: str) -> list[str]:
    """The pills of a filing's details' materials."""
    return re.findall(r'<span class="pill">([^<]*)</span>', _detail(page, "Materials 材料"))


def test_a_filings_details_name_each_material_in_english_and_chinese(
    api: Api, browser: TestClient
) -> None:
    page = browser.get(f"/filings/{api.drive('submitted')['id']}").text
    assert _materials(page)[0] == "business_licence_copy 营业执照副本"


def test_a_filings_details_name_a_material_the_rules_in_force_no_longer_list_by_its_key(
    api: Api, browser: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filing = api.drive("submitted")
    _rules_in_force_edited(
        tmp_path,
        monkeypatch,
        ('"business_licence_copy", ', ""),
        ('business_licence_copy = "营业执照副本"', ""),
    )
    page = browser.get(f"/filings/{filing['id']}").text
    assert _materials(page)[0] == "business_licence_copy"


def test_a_filings_details_name_its_sites_sector_in_english_and_chinese(
    api: Api, browser: TestClient
) -> None:
    page = browser.get(f"/filings/{api.create()['id']}").text
    assert _detail(page, "Sector 行业") == "general 一般"


def test_sign_out_without_the_sessions_form_token_is_refused(browser: TestClient) -> None:
    response = browser.post("/logout", data={"form_token": "from-another-site"})
    assert response.status_code == 403
    assert not signed_out(browser)
