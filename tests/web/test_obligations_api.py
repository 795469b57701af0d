"""After approval through the REST API: go-live, the PSB number, rectifications, forecasts."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from config.clock import FrozenClock
from config.settings import Settings
from tests.databases import Database
from tests.web.page_text import shown_text
from workflow import obligations
from workflow.schemas import FilingOut
from workflow.sweeps import fire_due_obligations

if TYPE_CHECKING:
    from tests.web.conftest import Api, Headers


def _post(api: Api, path: str, body: dict[str, Any]) -> Any:
    return api.client.post(f"/api/v1{path}", json=body, headers=api.headers)


def test_a_psb_number_closes_the_psb_filing_and_a_bad_one_is_refused_with_its_rule(
    api: Api, on_file: FilingOut
) -> None:
    site = f"/services/{on_file.service_id}"
    assert _post(api, f"{site}/go-live", {"live_on": "2026-03-02"}).status_code == 200
    refused = _post(api, f"{site}/psb-number", {"psb_number": "沪公网安备31010502030143号"})
    assert refused.status_code == 422
    [reason] = refused.json()["reasons"]
    assert (reason["code"], reason["rule"]) == ("psb_number_province_mismatch", "psb_number")
    done = _post(api, f"{site}/psb-number", {"psb_number": "京公网安备11010502030143号"})
    assert done.status_code == 200, done.text
    [psb] = [o for o in done.json()["obligations"] if o["kind"] == "psb_filing"]
    assert psb["closed_at"] is not None and not psb["overdue"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("rectifications", {"reference": "R1", "working_days": True}, "working_days"),
        ("rectifications", {"reference": "R1", "working_days": "1_0"}, "working_days"),
        ("renewal", {"expires_on": 1830297600}, "expires_on"),
        ("go-live", {"live_on": "2026-03-02T00:00:00"}, "live_on"),
        ("left-host", {"left_on": 20260302}, "left_on"),
    ],
    ids=[
        "true-as-one-day",
        "underscored-digits",
        "epoch-as-expiry",
        "midnight-as-day",
        "number-as-day",
    ],
)
def test_a_duty_given_a_value_of_another_type_is_refused_not_coerced(
    api: Api, on_file: FilingOut, path: str, body: dict[str, Any], field: str
) -> None:
    refused = _post(api, f"/services/{on_file.service_id}/{path}", body)

    assert refused.status_code == 422
    assert [r["field"] for r in refused.json()["reasons"]] == [field]


def test_a_server_expiry_is_recorded_and_shown_on_the_filings_page(
    api: Api, on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    recorded = _post(
        api, f"/services/{on_file.service_id}/server-renewal", {"expires_on": "2026-09-30"}
    )

    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["server_expires_on"] == "2026-09-30"
    page = signed_in("viewer").get(f"/filings/{on_file.id}").text
    block = page.split('id="after-approval"')[1].split("</dl>")[0]
    assert "2026-09-30" in block


def test_an_approved_filings_page_names_its_service_kind_in_english_and_chinese(
    on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    page = signed_in("viewer").get(f"/filings/{on_file.id}").text
    block = page.split('id="after-approval"')[1].split("</dl>")[0]
    assert "<dt>Service 服务</dt><dd>Website 网站 · " in block


def test_every_problem_with_a_go_live_is_listed(api: Api, on_file: FilingOut) -> None:
    body = {"live_on": "someday", "home_url": "ftp://example.cn/", "colour": "red"}
    response = _post(api, f"/services/{on_file.service_id}/go-live", body)
    assert response.status_code == 422
    fields = sorted(r.get("field", "") for r in response.json()["reasons"])
    assert fields == ["colour", "home_url", "live_on"]


def test_a_rectification_extended_twice_is_refused_the_second_time(
    api: Api, on_file: FilingOut
) -> None:
    notice = {"reference": "京通管〔2026〕12号", "working_days": 5}
    duties = _post(api, f"/services/{on_file.service_id}/rectifications", notice).json()
    [row] = [o for o in duties["obligations"] if o["kind"] == "rectification"]
    extend = f"/rectifications/{row['id']}/extension"
    assert _post(api, extend, {"working_days": 7}).status_code == 200
    again = _post(api, extend, {"working_days": 3})
    assert again.status_code == 422
    assert [r["code"] for r in again.json()["reasons"]] == ["extension_used"]


def test_ops_see_overdue_obligations(
    api: Api, on_file: FilingOut, clock: FrozenClock, as_role: Callable[[str], Headers]
) -> None:
    _post(api, f"/services/{on_file.service_id}/go-live", {"live_on": "2026-03-02"})
    clock.advance(timedelta(days=31))
    assert api.get("/api/v1/ops/duties").status_code == 403
    late = api.get("/api/v1/ops/duties", headers=as_role("ops")).json()["items"]
    assert [o["kind"] for o in late] == ["psb_filing"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/api/v1/ops/obligations/overdue", "/api/v1/ops/duties"),
        ("/api/v1/ops/footer-failures", "/api/v1/ops/footer-checks-failing"),
    ],
)
def test_the_ops_duties_lists_first_paths_answer_the_same_and_are_documented_deprecated(
    api: Api,
    on_file: FilingOut,
    clock: FrozenClock,
    session: Session,
    settings: Settings,
    as_role: Callable[[str], Headers],
    old: str,
    new: str,
) -> None:
    """Named as the console's /duties page names them; clients of the first paths keep working."""
    assert on_file.service_id is not None
    _psb_filing_overdue(api, on_file, clock)
    _check(session, on_file.service_id, settings, ["no number shown"])
    ops = as_role("ops")
    answered, first = api.get(new, headers=ops), api.get(old, headers=ops)
    assert answered.json()["total"] == 1
    assert (first.status_code, first.json()) == (200, answered.json())
    paths = api.get("/openapi.json").json()["paths"]
    assert paths[old]["get"]["deprecated"] is True
    assert f"GET {new.removeprefix('/api/v1')}" in paths[old]["get"]["summary"]
    assert "deprecated" not in paths[new]["get"]


def test_an_open_order_has_a_forecast_and_an_approved_one_none(
    api: Api, on_file: FilingOut
) -> None:
    assert api.get(f"/api/v1/filings/{on_file.id}/forecast").status_code == 422
    # another entity: the one on file files no first filing
    order = api.drive("miit_pending", province="沪", domain="other.cn")
    predicted = api.get(f"/api/v1/filings/{order['id']}/forecast").json()
    assert (predicted["basis"], predicted["median_working_days"]) == ("statutory", 20)
    report = api.get("/api/v1/reports/durations").json()
    assert {(r["province"], r["stage"]) for r in report} >= {("京", "miit_pending")}


def test_the_pages_show_a_forecast_the_obligations_and_the_review_times_chart(
    api: Api, on_file: FilingOut, client: TestClient, tokens: dict[str, str]
) -> None:
    _post(api, f"/services/{on_file.service_id}/go-live", {"live_on": "2026-03-02"})
    client.post("/login", data={"token": tokens["viewer"]})
    approved = client.get(f"/filings/{on_file.id}").text
    assert 'id="after-approval"' in approved and "PSB filing 公安联网备案" in approved
    # another entity: the one on file files no first filing
    order = api.drive("miit_pending", province="沪", domain="other.cn")
    assert "statutory limit 法定时限" in client.get(f"/filings/{order['id']}").text
    report = client.get("/reports/durations")
    assert report.status_code == 200
    assert '<svg class="durations"' in report.text and "miit_pending" in report.text
    assert "<script>" not in report.text and " style=" not in report.text


def test_an_order_before_the_bureau_with_too_few_orders_says_why_it_has_no_forecast(
    api: Api, client: TestClient, tokens: dict[str, str]
) -> None:
    """The statutory basis runs only with the bureau: a new order is forecast nothing yet."""
    order = api.create()
    refused = api.get(f"/api/v1/filings/{order['id']}/forecast")
    assert refused.status_code == 422
    assert [r["code"] for r in refused.json()["reasons"]] == ["too_few_orders"]
    client.post("/login", data={"token": tokens["viewer"]})
    page = client.get(f"/filings/{order['id']}").text
    assert "None yet 暂无: 0 completed first_filing 首次备案 orders of 京 北京 Beijing" in page
    assert "statutory limit 法定时限" not in page


def test_a_misspelt_query_parameter_is_refused_naming_it(api: Api, on_file: FilingOut) -> None:
    response = api.client.get(
        f"/api/v1/services/{on_file.service_id}/obligations?open=true", headers=api.headers
    )
    assert response.status_code == 422
    assert [r["field"] for r in response.json()["reasons"]] == ["query.open"]


def test_a_rectifications_text_is_masked_where_it_quotes_a_mobile(
    api: Api, on_file: FilingOut
) -> None:
    site = f"/services/{on_file.service_id}"
    body = {
        "reference": "京通信管〔2026〕1号",
        "working_days": 10,
        "detail": "call 13912345678 first",
    }
    answer = _post(api, f"{site}/rectifications", body)
    assert answer.status_code == 200, answer.text  # the service's duties, as every such POST
    assert "13912345678" not in answer.text and "139****5678" in answer.text


def _psb_filing_overdue(api: Api, on_file: FilingOut, clock: FrozenClock) -> None:
    _post(api, f"/services/{on_file.service_id}/go-live", {"live_on": "2026-03-02"})
    clock.advance(timedelta(days=31))  # the PSB filing was due on the 30th day


def test_the_console_lists_overdue_duties_with_their_site_and_filing(
    api: Api, on_file: FilingOut, clock: FrozenClock, signed_in: Callable[[str], TestClient]
) -> None:
    _psb_filing_overdue(api, on_file, clock)
    console = signed_in("viewer")

    page = console.get("/duties").text

    [row] = page.split('<tr class="duty">')[1:]
    assert (
        "PSB filing 公安联网备案" in row
        and on_file.domain in row
        and f'href="/filings/{on_file.id}"' in row
    )
    assert "1 overdue duties" in console.get("/").text


def test_the_filing_page_shows_a_duty_due_by_the_end_of_its_last_day_at_24_00(
    api: Api, on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    _post(api, f"/services/{on_file.service_id}/go-live", {"live_on": "2026-03-02"})
    page = signed_in("viewer").get(f"/filings/{on_file.id}").text
    duties = page.split('id="obligations"')[1].split("</table>")[0]
    psb = next(row for row in duties.split("<tr>") if '义务">PSB filing 公安联网备案 <' in row)
    assert "2026-04-01 24:00" in shown_text(psb) and "2026-04-02 00:00" not in shown_text(psb)


def test_metrics_count_the_overdue_duties(api: Api, on_file: FilingOut, clock: FrozenClock) -> None:
    _psb_filing_overdue(api, on_file, clock)
    assert "icpflow_obligations_overdue 1.0" in api.get("/metrics").text


def test_the_filing_page_says_what_each_duty_means_in_english_and_chinese(
    api: Api, on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    _post(api, f"/services/{on_file.service_id}/go-live", {"live_on": "2026-03-02"})
    page = signed_in("viewer").get(f"/filings/{on_file.id}").text
    duties = page.split('id="obligations"')[1].split("</table>")[0]
    psb = next(row for row in duties.split("<tr>") if '义务">PSB filing 公安联网备案 <' in row)
    assert (
        "The public-security (PSB) filing is due within 30 days of the site going live. "
        "网站开通后30日内须办理公安联网备案。"
    ) in psb


def test_the_filing_page_shows_footer_checks_once_each_with_their_result(
    api: Api,
    on_file: FilingOut,
    clock: FrozenClock,
    session: Session,
    settings: Settings,
    db: Database,
    signed_in: Callable[[str], TestClient],
) -> None:
    _post(api, f"/services/{on_file.service_id}/go-live", {"live_on": "2026-03-02"})
    assert on_file.service_id is not None
    for _ in range(3):  # three days of scheduled checks, each made and recorded
        assert fire_due_obligations(db.engine, clock.now(), settings) == 1
        problems = ["no link to https://beian.miit.gov.cn/"]
        obligations.record_footer(
            session, on_file.service_id, None, url="http://example.cn/", status_code=200,
            problems=problems, settings=settings,
        )  # fmt: skip
        session.commit()
        clock.advance(timedelta(days=1))

    page = signed_in("viewer").get(f"/filings/{on_file.id}").text

    duties = page.split('id="obligations"')[1].split("</table>")[0]
    assert duties.count("Footer check 底部备案号检查") == 1  # the next one, not the three made
    checks = page.split('id="footer-checks"')[1].split("</table>")[0]
    assert checks.count("no link to https://beian.miit.gov.cn/") == 3


def _check(session: Session, service_id: int, settings: Settings, problems: list[str]) -> None:
    obligations.record_footer(
        session, service_id, None, url="http://example.cn/", status_code=200,
        problems=problems, settings=settings,
    )  # fmt: skip
    session.commit()


def _failing_sites(api: Api, ops: Headers) -> Any:
    """The items of the ops list of live sites whose footer check fails."""
    return api.client.get("/api/v1/ops/footer-checks-failing", headers=ops).json()["items"]


def _notices_named(page: str) -> list[str]:
    """The Kind column of a filing page's notifications, row by row."""
    return re.findall(r'<tr class="notification">\s*<td data-label="Kind 类型">([^<]*)</td>', page)


def test_a_duty_falling_due_is_named_in_the_filings_notifications_as_the_duty(
    api: Api,
    on_file: FilingOut,
    clock: FrozenClock,
    settings: Settings,
    db: Database,
    signed_in: Callable[[str], TestClient],
) -> None:
    _psb_filing_overdue(api, on_file, clock)
    fire_due_obligations(db.engine, clock.now(), settings)
    page = signed_in("viewer").get(f"/filings/{on_file.id}").text
    assert "PSB filing 公安联网备案" in _notices_named(page)


def test_a_footer_failing_twice_is_named_in_the_filings_notifications_as_such(
    api: Api,
    on_file: FilingOut,
    session: Session,
    settings: Settings,
    signed_in: Callable[[str], TestClient],
) -> None:
    assert on_file.service_id is not None
    _post(api, f"/services/{on_file.service_id}/go-live", {"live_on": "2026-03-02"})
    for _ in range(2):
        _check(session, on_file.service_id, settings, ["no link to https://beian.miit.gov.cn/"])
    page = signed_in("viewer").get(f"/filings/{on_file.id}").text
    assert "Footer check failed 底部备案号检查未通过" in _notices_named(page)


def test_ops_list_the_live_sites_whose_footer_fails_since_their_first_failure_in_a_row(
    api: Api,
    on_file: FilingOut,
    clock: FrozenClock,
    session: Session,
    settings: Settings,
    as_role: Callable[[str], Headers],
    signed_in: Callable[[str], TestClient],
) -> None:
    assert on_file.service_id is not None
    _post(api, f"/services/{on_file.service_id}/go-live", {"live_on": "2026-03-02"})
    _check(session, on_file.service_id, settings, [])
    clock.advance(timedelta(days=1))
    first_failure = clock.now()
    for _ in range(2):
        _check(session, on_file.service_id, settings, ["no link to https://beian.miit.gov.cn/"])
        clock.advance(timedelta(days=1))

    [site] = _failing_sites(api, as_role("ops"))

    assert (site["service_id"], site["filing_id"], site["failures"]) == (
        on_file.service_id,
        on_file.id,
        2,
    )
    assert site["failing_since"] == first_failure.isoformat().replace("+00:00", "Z")
    assert "no link to https://beian.miit.gov.cn/" in signed_in("ops").get("/duties").text


def test_the_duties_page_says_when_a_failing_site_is_checked_again(
    api: Api,
    on_file: FilingOut,
    clock: FrozenClock,
    session: Session,
    settings: Settings,
    db: Database,
    signed_in: Callable[[str], TestClient],
) -> None:
    _post(api, f"/services/{on_file.service_id}/go-live", {"live_on": "2026-03-02"})
    assert on_file.service_id is not None
    assert fire_due_obligations(db.engine, clock.now(), settings) == 1  # the next one opened
    _check(session, on_file.service_id, settings, ["no number shown"])

    page = signed_in("ops").get("/duties").text

    row = page.split('<tr class="footer-failing">')[1].split("</tr>")[0]
    assert '<td data-label="Next check 下次检查">in 1 d</td>' in row


def test_a_site_that_left_the_host_is_no_longer_listed_however_its_footer_failed(
    api: Api, on_file: FilingOut, clock: FrozenClock, session: Session, settings: Settings,
    as_role: Callable[[str], Headers],
) -> None:  # fmt: skip
    assert on_file.service_id is not None
    site = f"/services/{on_file.service_id}"
    _post(api, f"{site}/go-live", {"live_on": "2026-03-02"})
    _check(session, on_file.service_id, settings, ["no number shown"])
    assert len(_failing_sites(api, as_role("ops"))) == 1
    assert _post(api, f"{site}/left-host", {"left_on": "2026-03-02"}).status_code == 200
    assert _failing_sites(api, as_role("ops")) == []


def test_a_site_whose_footer_passed_again_is_not_listed(
    api: Api, on_file: FilingOut, clock: FrozenClock, session: Session, settings: Settings,
    as_role: Callable[[str], Headers],
) -> None:  # fmt: skip
    assert on_file.service_id is not None
    _check(session, on_file.service_id, settings, ["no number shown"])
    clock.advance(timedelta(days=1))
    _check(session, on_file.service_id, settings, [])
    assert _failing_sites(api, as_role("ops")) == []


def test_a_site_that_failed_and_passed_at_one_time_is_taken_as_passing(
    api: Api, on_file: FilingOut, session: Session, settings: Settings,
    as_role: Callable[[str], Headers],
) -> None:  # fmt: skip
    """Two checks at one instant (a check by hand beside a scheduled one): no run of failures."""
    assert on_file.service_id is not None
    _check(session, on_file.service_id, settings, ["no number shown"])
    _check(session, on_file.service_id, settings, [])
    assert _failing_sites(api, as_role("ops")) == []


def test_the_services_page_block_says_what_it_is_and_when_it_left(
    api: Api, on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    site = f"/services/{on_file.service_id}"
    _post(api, f"{site}/go-live", {"live_on": "2026-03-02"})
    duties = _post(api, f"{site}/left-host", {"left_on": "2026-03-02"}).json()

    page = signed_in("viewer").get(f"/filings/{on_file.id}").text

    assert (duties["kind"], duties["left_on"], duties["status"]) == (
        "website",
        "2026-03-02",
        "active",
    )
    block = page.split('id="after-approval"')[1].split("</dl>")[0]
    assert (
        "Website 网站" in block and "on record 已备案" in block and "Left this host 迁出" in block
    )


def test_a_rectification_row_says_which_notice_and_its_extension(
    api: Api, on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    notice = {"reference": "京通管〔2026〕12号", "working_days": 5, "detail": "补充备案信息"}
    duties = _post(api, f"/services/{on_file.service_id}/rectifications", notice).json()
    [row] = [o for o in duties["obligations"] if o["kind"] == "rectification"]
    _post(api, f"/rectifications/{row['id']}/extension", {"working_days": 7})

    page = signed_in("viewer").get(f"/filings/{on_file.id}").text

    table = page.split('id="obligations"')[1].split("</table>")[0]
    [shown] = [r for r in table.split("<tr>") if "rectification" in r]
    assert "京通管〔2026〕12号: 补充备案信息" in shown and "extended 7 working days" in shown
    assert "open 待办" in shown


def test_an_overdue_duty_reads_overdue_and_a_done_one_closed(
    api: Api, on_file: FilingOut, clock: FrozenClock, signed_in: Callable[[str], TestClient]
) -> None:
    _psb_filing_overdue(api, on_file, clock)
    console = signed_in("viewer")
    late = console.get(f"/filings/{on_file.id}").text
    _post(
        api,
        f"/services/{on_file.service_id}/psb-number",
        {"psb_number": "京公网安备11010502030143号"},
    )
    done = console.get(f"/filings/{on_file.id}").text

    def psb_row(page: str) -> str:
        rows = page.split('id="obligations"')[1].split("</table>")[0].split("<tr>")
        return next(r for r in rows if '义务">PSB filing 公安联网备案 <' in r)

    assert "overdue 逾期" in psb_row(late)
    assert "closed 已关闭" in psb_row(done) and "disarmed" not in psb_row(done)


def _give_the_case_manager(api: Api, filing_id: int) -> None:
    answer = api.client.put(
        f"/api/v1/filings/{filing_id}/assignee",
        json={"assignee": "test-case_manager"},
        headers=api.headers,
    )
    assert answer.status_code == 200, answer.text


def test_a_case_managers_own_list_shows_the_duties_their_sites_owe_late(
    api: Api, on_file: FilingOut, clock: FrozenClock, signed_in: Callable[[str], TestClient]
) -> None:
    _give_the_case_manager(api, on_file.id)
    _psb_filing_overdue(api, on_file, clock)

    page = signed_in("case_manager").get("/mine").text

    late = page.split('id="late-duties"')[1]
    assert "PSB filing 公安联网备案" in late and f'href="/filings/{on_file.id}"' in late


def test_a_case_managers_own_list_leaves_out_duties_of_others_sites(
    api: Api, on_file: FilingOut, clock: FrozenClock, signed_in: Callable[[str], TestClient]
) -> None:
    _psb_filing_overdue(api, on_file, clock)  # the site's order is nobody's

    assert 'id="late-duties"' not in signed_in("case_manager").get("/mine").text


def test_a_notice_extended_after_it_fell_due_keeps_that_it_was_late(
    api: Api, on_file: FilingOut, clock: FrozenClock, signed_in: Callable[[str], TestClient]
) -> None:
    notice = {"reference": "京通管〔2026〕12号", "working_days": 5}
    duties = _post(api, f"/services/{on_file.service_id}/rectifications", notice).json()
    [row] = [o for o in duties["obligations"] if o["kind"] == "rectification"]
    clock.advance(timedelta(days=10))  # 5 working days from Monday 2 March ended on the 9th

    extended = _post(api, f"/rectifications/{row['id']}/extension", {"working_days": 7}).json()

    [row] = [o for o in extended["obligations"] if o["kind"] == "rectification"]
    assert row["data"]["overdue_since"] == "2026-03-09T16:00:00+00:00"
    page = signed_in("viewer").get(f"/filings/{on_file.id}").text
    assert "extended after it fell due on 2026-03-09 24:00" in shown_text(page)


def test_a_notice_extended_in_time_says_nothing_of_lateness(api: Api, on_file: FilingOut) -> None:
    notice = {"reference": "京通管〔2026〕12号", "working_days": 5}
    duties = _post(api, f"/services/{on_file.service_id}/rectifications", notice).json()
    [row] = [o for o in duties["obligations"] if o["kind"] == "rectification"]

    extended = _post(api, f"/rectifications/{row['id']}/extension", {"working_days": 7}).json()

    [row] = [o for o in extended["obligations"] if o["kind"] == "rectification"]
    assert "overdue_since" not in row["data"]


def test_the_duties_page_names_every_duty_that_can_be_overdue(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("viewer").get("/duties").text

    named = page.split('id="duties-kinds">')[1].split("</p>")[0]
    assert named.endswith(
        ": PSB filing 公安联网备案, Domain expired 域名已到期, Server expired 服务器已到期, "
        "Cancel access 取消接入, Rectification 整改."
    )


def test_a_duties_page_past_the_last_says_so_not_nothing_overdue(
    api: Api, on_file: FilingOut, clock: FrozenClock, signed_in: Callable[[str], TestClient]
) -> None:
    _psb_filing_overdue(api, on_file, clock)

    page = signed_in("viewer").get("/duties?page=9").text

    assert "Past the last page" in page and "Nothing overdue" not in page


def test_my_overdue_duties_page_on_their_own(
    api: Api, on_file: FilingOut, clock: FrozenClock, signed_in: Callable[[str], TestClient]
) -> None:
    _give_the_case_manager(api, on_file.id)
    _psb_filing_overdue(api, on_file, clock)
    console = signed_in("case_manager")

    first = console.get("/mine").text.split('id="late-duties"')[1]
    past = console.get("/mine?late_page=2").text.split('id="late-duties"')[1]

    assert 'aria-label="Overdue duties pages"' in first and "PSB filing 公安联网备案" in first
    assert "Past the last page" in past and "PSB filing 公安联网备案" not in past


def test_a_reminder_closed_is_no_row_of_its_own(
    api: Api,
    on_file: FilingOut,
    clock: FrozenClock,
    db: Database,
    settings: Settings,
    signed_in: Callable[[str], TestClient],
) -> None:
    _psb_filing_overdue(api, on_file, clock)
    fire_due_obligations(db.engine, clock.now(), settings)  # the reminders: skipped, closed
    duties = api.get(f"/api/v1/services/{on_file.service_id}/obligations").json()
    assert any(o["kind"] == "psb_filing_reminder" for o in duties["obligations"])

    page = signed_in("viewer").get(f"/filings/{on_file.id}").text

    table = page.split('id="obligations"')[1].split("</table>")[0]
    assert "PSB filing reminder" not in table and '义务">PSB filing 公安联网备案 <' in table


def test_an_order_of_theirs_withdrawn_makes_no_site_theirs_on_my_filings(
    api: Api, on_file: FilingOut, clock: FrozenClock, signed_in: Callable[[str], TestClient]
) -> None:
    change = api.client.post(
        "/api/v1/orders",
        json={
            "kind": "change",
            "entity_id": on_file.entity_id,
            "service_id": on_file.service_id,
            "changes": {"service_name": "Example Renamed"},
        },
        headers=api.headers,
    ).json()
    _give_the_case_manager(api, change["id"])
    assert change["service_id"] == on_file.service_id  # an order of the site's
    api.step(change, "withdraw", {"reason": "not needed"})
    _psb_filing_overdue(api, on_file, clock)

    assert 'id="late-duties"' not in signed_in("case_manager").get("/mine").text


def test_an_expiry_reminder_says_how_long_before_the_expiry(
    api: Api, on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    page = signed_in("viewer").get(f"/filings/{on_file.id}").text

    table = page.split('id="obligations"')[1].split("</table>")[0]
    shown = {days for days in (60, 30, 7) if f"{days} days before 提前{days}天" in table}
    assert shown == {60, 30, 7}


def test_ops_filter_the_overdue_duties_by_kind_and_province(
    api: Api, on_file: FilingOut, clock: FrozenClock, as_role: Callable[[str], Headers],
    signed_in: Callable[[str], TestClient],
) -> None:  # fmt: skip
    _psb_filing_overdue(api, on_file, clock)
    ops = as_role("ops")

    def listed(query: str) -> Any:
        return api.get(f"/api/v1/ops/duties?{query}", headers=ops)

    assert listed("kind=psb_filing").json()["total"] == 1
    assert listed("kind=cancel_access").json()["total"] == 0
    assert listed("province=沪").json()["total"] == 0
    assert listed("province=X").status_code == 422
    page = signed_in("viewer").get("/duties?kind=cancel_access").text
    table = page.split('<table class="stack">')[1].split("</table>")[0]
    assert "PSB filing 公安联网备案 <span" not in table


def test_ops_choose_the_kind_of_duty_by_its_english_and_chinese_name(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("viewer").get("/duties").text
    assert '<option value="psb_filing">PSB filing 公安联网备案</option>' in page


def test_a_record_names_who_recorded_it_when_and_what_was_recorded(
    api: Api, on_file: FilingOut, clock: FrozenClock
) -> None:
    site = f"/services/{on_file.service_id}"
    done = _post(api, f"{site}/go-live", {"live_on": "2026-03-02"})
    assert done.status_code == 200, done.text
    [entry] = api.get(f"/api/v1{site}/obligations").json()["recorded"]
    assert entry["what"] == "go_live"
    assert entry["actor"] == "token:test-case_manager"
    assert entry["at"] == clock.now().isoformat().replace("+00:00", "Z")
    home = f"https://{on_file.domain}/"  # the page it checks, where none was sent
    assert entry["data"] == {"live_on": "2026-03-02", "home_url": home, "replaces": None}
    assert entry["replaced"] is None


def test_a_correction_keeps_what_it_replaced_newest_first(
    api: Api, on_file: FilingOut, clock: FrozenClock
) -> None:
    site = f"/services/{on_file.service_id}"
    _post(api, f"{site}/psb-number", {"psb_number": "京公网安备11010502030143号"})
    clock.advance(timedelta(hours=1))
    fixed = {"psb_number": "京公网安备11010502030144号", "replaces": "京公网安备11010502030143号"}
    assert _post(api, f"{site}/psb-number", fixed).status_code == 200
    [correction, first] = api.get(f"/api/v1{site}/obligations").json()["recorded"]
    assert correction["data"]["psb_number"] == "京公网安备11010502030144号"
    assert correction["replaced"] == {"psb_number": "京公网安备11010502030143号"}
    assert first["replaced"] is None


def test_a_refused_record_leaves_no_audit_row(api: Api, on_file: FilingOut) -> None:
    site = f"/services/{on_file.service_id}"
    refused = _post(api, f"{site}/psb-number", {"psb_number": "沪公网安备31010502030143号"})
    assert refused.status_code == 422
    assert api.get(f"/api/v1{site}/obligations").json()["recorded"] == []


def test_a_record_sent_again_as_recorded_adds_no_audit_row(api: Api, on_file: FilingOut) -> None:
    site = f"/services/{on_file.service_id}"
    for _ in range(2):
        assert _post(api, f"{site}/go-live", {"live_on": "2026-03-02"}).status_code == 200
    assert len(api.get(f"/api/v1{site}/obligations").json()["recorded"]) == 1


def test_a_services_whole_audit_trail_is_paged_newest_first_with_its_total(
    api: Api, on_file: FilingOut, clock: FrozenClock
) -> None:
    site = f"/services/{on_file.service_id}"
    for year in (2030, 2031, 2032):
        clock.advance(timedelta(hours=1))
        assert _post(api, f"{site}/renewal", {"expires_on": f"{year}-06-30"}).status_code == 200

    first = api.get(f"/api/v1{site}/recorded?limit=2")
    second = api.get(f"/api/v1{site}/recorded?limit=2&offset=2").json()

    assert first.status_code == 200, first.text
    page = first.json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert [e["data"]["expires_on"] for e in page["items"]] == ["2032-06-30", "2031-06-30"]
    assert [e["data"]["expires_on"] for e in second["items"]] == ["2030-06-30"]
    assert api.get(f"/api/v1{site}/obligations").json()["recorded_total"] == 3


def test_the_audit_trail_of_an_unknown_service_is_404_and_an_unknown_query_422(
    api: Api, on_file: FilingOut, as_role: Callable[[str], Headers]
) -> None:
    assert api.get("/api/v1/services/999999/recorded").status_code == 404
    site = f"/api/v1/services/{on_file.service_id}/recorded"
    refused = api.get(f"{site}?limit=5&page=2")
    assert refused.status_code == 422
    assert [r["field"] for r in refused.json()["reasons"]] == ["query.page"]
    assert api.get(site, headers=as_role("viewer")).status_code == 200
    assert api.client.get(site).status_code == 401
