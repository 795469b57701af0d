"""The console records an approved service's duties from its filing's page: the same models
and functions as the API's ``/services/{id}/...`` routes, refusals shown beside the form."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from config.clock import FrozenClock, get_clock
from config.settings import get_settings
from tests.factories import ORDER_PATHS, order_on, said_beside
from tests.web.page_text import cells_shown
from web import console as console_pages
from workflow import obligations, service
from workflow.domain.commands import EventCommand
from workflow.obligations import ServiceDutiesOut, reading
from workflow.schemas import FilingOut

if TYPE_CHECKING:
    from tests.conftest import Open
    from tests.web.conftest import Api


def _form_token(page: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page)
    assert found, "the page carries no form token"
    return found.group(1)


def _record(
    console: TestClient, filing: FilingOut | int, duty: str, data: dict[str, str]
) -> httpx.Response:
    """Post ``duty``'s form as the filing's page would, with the page's form token."""
    filing_id = filing if isinstance(filing, int) else filing.id
    token = _form_token(console.get(f"/filings/{filing_id}").text)
    answer: httpx.Response = console.post(
        f"/filings/{filing_id}/duties/{duty}",
        data={"form_token": token, **data},
        follow_redirects=False,
    )
    return answer


def _duties(session: Session, on_file: FilingOut) -> ServiceDutiesOut:
    """What is on file now, read in a transaction ended at once: on SQLite every transaction
    holds the write lock, which the app's next request would wait for."""
    assert on_file.service_id is not None
    try:
        return obligations.duties(session, on_file.service_id, get_clock().now(), get_settings())
    finally:
        session.rollback()


def _form(page: str, form_id: str) -> str:
    return page.split(f'id="{form_id}"')[1].split("</form>")[0]


def test_an_approved_filings_page_offers_a_case_manager_the_duties_forms(
    on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    page = signed_in("case_manager").get(f"/filings/{on_file.id}").text

    shown = re.findall(r'<form method="post" action="[^"]+/duties/([a-z_]+)"', page)
    # No notice is open: nothing to extend or to record as done.
    assert shown == [
        "go_live",
        "psb_number",
        "renewal",
        "server_renewal",
        "left_host",
        "rectification",
    ]
    assert 'name="replaces"' not in _form(page, "duty-left_host")
    assert re.search(r'<input type="date" id="duty-go_live-live_on" name="live_on" required', page)
    assert 'name="replaces"' not in _form(page, "duty-go_live")  # nothing on file to correct


def test_a_viewer_sees_the_duties_but_no_forms(
    on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    page = signed_in("viewer").get(f"/filings/{on_file.id}").text

    assert 'id="after-approval"' in page and "/duties/" not in page


def test_a_go_live_recorded_from_the_page_opens_the_psb_filing(
    session: Session, on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")

    answer = _record(console, on_file, "go_live", {"live_on": "2026-03-02"})

    assert (answer.status_code, answer.headers["location"]) == (303, f"/filings/{on_file.id}")
    duties = _duties(session, on_file)
    assert str(duties.live_on) == "2026-03-02"
    assert "psb_filing" in [o.kind for o in duties.obligations]


def test_a_refused_go_live_comes_back_filled_with_its_reasons_in_the_forms_words(
    session: Session, on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")

    answer = _record(console, on_file, "go_live", {"live_on": "2026-03-09"})  # a week ahead

    assert answer.status_code == 422
    form = _form(answer.text, "duty-go_live")
    assert 'id="refused"' in form and "2026-03-09 has not come yet" in form
    assert "2026-03-09 has not come yet" in said_beside(answer.text, "duty-go_live", "live_on")
    assert 'aria-describedby="duty-go_live-live_on-refused duty-go_live-live_on-hint"' in form
    assert "the day the site opened to the public" in form  # the hint, shown
    assert 'value="2026-03-09"' in form
    assert _duties(session, on_file).live_on is None


def _live_on_the_4th(
    on_file: FilingOut, signed_in: Callable[[str], TestClient], clock: FrozenClock
) -> TestClient:
    """Two days after approval, the site went live on the 4th, recorded from its page by a
    case manager signed in then (a session signed in earlier has lapsed)."""
    clock.advance(timedelta(days=2))
    console = signed_in("case_manager")
    _record(console, on_file, "go_live", {"live_on": "2026-03-04"})
    return console


def test_a_go_live_on_file_is_corrected_by_ticking_the_box_naming_it(
    session: Session,
    on_file: FilingOut,
    signed_in: Callable[[str], TestClient],
    clock: FrozenClock,
) -> None:
    console = _live_on_the_4th(on_file, signed_in, clock)
    page = console.get(f"/filings/{on_file.id}").text
    assert 'name="replaces" value="2026-03-04"' in _form(page, "duty-go_live")
    # The box shows its label alone, which names the day on file.
    assert "> corrects the one on file, 2026-03-04 更正已登记的</label>" in _form(
        page, "duty-go_live"
    )

    not_ticked = _record(console, on_file, "go_live", {"live_on": "2026-03-03"})
    ticked = _record(
        console, on_file, "go_live", {"live_on": "2026-03-03", "replaces": "2026-03-04"}
    )

    assert not_ticked.status_code == 422 and "to correct the day" in not_ticked.text
    assert ticked.status_code == 303
    assert str(_duties(session, on_file).live_on) == "2026-03-03"


def test_a_correction_from_a_stale_page_is_refused_not_taken_for_the_new_days(
    session: Session,
    on_file: FilingOut,
    signed_in: Callable[[str], TestClient],
    clock: FrozenClock,
) -> None:
    console = _live_on_the_4th(on_file, signed_in, clock)
    _record(console, on_file, "go_live", {"live_on": "2026-03-03", "replaces": "2026-03-04"})

    # A second page, read before the first correction, corrects what it showed on file.
    stale = _record(
        console, on_file, "go_live", {"live_on": "2026-03-02", "replaces": "2026-03-04"}
    )

    assert stale.status_code == 422
    assert "went live on 2026-03-03" in _form(stale.text, "duty-go_live")
    assert str(_duties(session, on_file).live_on) == "2026-03-03"


def test_a_psb_number_of_another_province_is_refused_beside_its_form(
    session: Session, on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")

    answer = _record(console, on_file, "psb_number", {"psb_number": "沪公网安备31010502030143号"})

    assert answer.status_code == 422
    assert "the PSB number was issued in 沪" in _form(answer.text, "duty-psb_number")
    assert _duties(session, on_file).psb_number is None


def test_a_rectification_notice_is_recorded_then_extended_once_then_done(
    session: Session, on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")
    notice = {"reference": "京通管〔2026〕12号", "working_days": "5"}
    assert _record(console, on_file, "rectification", notice).status_code == 303
    [row] = [o for o in _duties(session, on_file).obligations if o.kind == "rectification"]
    page = console.get(f"/filings/{on_file.id}").text
    assert f'<option value="{row.id}">京通管〔2026〕12号 (#{row.id})</option>' in page

    extended = _record(
        console, on_file, "extension", {"rectification": str(row.id), "working_days": "7"}
    )
    done = _record(console, on_file, "rectified", {"rectification": str(row.id)})

    assert (extended.status_code, done.status_code) == (303, 303)
    [row] = [o for o in _duties(session, on_file).obligations if o.kind == "rectification"]
    assert row.data["extended_by"] == 7 and row.closed_at is not None
    page = console.get(f"/filings/{on_file.id}").text
    assert "/duties/extension" not in page and "/duties/rectified" not in page


def test_an_extension_offers_only_notices_not_extended_yet(
    session: Session, on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")
    _record(console, on_file, "rectification", {"reference": "一号", "working_days": "5"})
    _record(console, on_file, "rectification", {"reference": "二号", "working_days": "5"})
    first, second = [o for o in _duties(session, on_file).obligations if o.kind == "rectification"]
    _record(console, on_file, "extension", {"rectification": str(first.id), "working_days": "3"})

    page = console.get(f"/filings/{on_file.id}").text

    extension = _form(page, "duty-extension")
    assert f'value="{second.id}"' in extension and f'value="{first.id}"' not in extension
    assert f'value="{first.id}"' in _form(page, "duty-rectified")


def test_a_notice_done_since_the_page_was_read_is_refused_by_its_reference(
    session: Session, on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")
    _record(console, on_file, "rectification", {"reference": "一号", "working_days": "5"})
    [row] = [o for o in _duties(session, on_file).obligations if o.kind == "rectification"]
    _record(console, on_file, "rectified", {"rectification": str(row.id)})

    again = _record(console, on_file, "rectified", {"rectification": str(row.id)})

    assert again.status_code == 422
    assert "notice 一号 is done already: reload the page" in again.text


def test_leaving_the_host_once_recorded_is_offered_as_a_correction(
    on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")

    assert _record(console, on_file, "left_host", {"left_on": "2026-03-02"}).status_code == 303

    page = console.get(f"/filings/{on_file.id}").text
    assert 'name="replaces" value="2026-03-02"' in _form(page, "duty-left_host")
    assert "Cancel access 取消接入" in page


def test_an_open_order_has_no_duties_to_record(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    order = api.create(province="沪", domain="other.cn")
    console = signed_in("case_manager")
    assert "/duties/" not in console.get(f"/filings/{order['id']}").text

    answer = _record(console, order["id"], "go_live", {"live_on": "2026-03-02"})

    assert answer.status_code == 422
    assert "duties after approval are recorded on the page of the order that was approved" in (
        answer.text
    )


def test_an_unknown_duty_is_not_found(
    on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    assert _record(signed_in("case_manager"), on_file, "colour", {}).status_code == 404


def test_a_viewer_may_not_record_a_duty(
    session: Session, on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    answer = _record(signed_in("viewer"), on_file, "go_live", {"live_on": "2026-03-02"})

    assert answer.status_code == 403
    assert _duties(session, on_file).live_on is None


def test_a_refused_duty_reloaded_is_the_filings_page_again(
    on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")

    reloaded = console.get(f"/filings/{on_file.id}/duties/go_live", follow_redirects=False)

    assert (reloaded.status_code, reloaded.headers["location"]) == (303, f"/filings/{on_file.id}")


def test_a_notice_refused_keeps_its_words(
    on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")
    _record(console, on_file, "rectification", {"reference": "一号", "working_days": "5"})

    answer = _record(console, on_file, "rectified", {"rectification": "99999"})

    assert "notice &#39;99999&#39; is not one of this service&#39;s" in answer.text


def test_no_notice_is_chosen_until_someone_chooses_one(
    on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")
    _record(console, on_file, "rectification", {"reference": "一号", "working_days": "5"})

    form = _form(console.get(f"/filings/{on_file.id}").text, "duty-rectified")

    [first] = re.findall(r"<select[^>]*>\s*<option [^>]*>[^<]*</option>", form)
    assert '<option value="">— choose 请选择</option>' in first


def test_the_correction_box_names_the_day_on_file_once(
    on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    page = signed_in("case_manager").get(f"/filings/{on_file.id}").text

    renewal = _form(page, "duty-renewal")

    assert renewal.count(f"{on_file.domain_expires_on}") == 2  # the box's value, and its label


def test_the_forms_say_the_figures_the_settings_hold(
    on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    page = signed_in("case_manager").get(f"/filings/{on_file.id}").text

    assert "falls due 30 days later" in _form(page, "duty-go_live")
    assert "{" not in page.split('id="record"')[1].split("</div>")[0]


def test_an_extension_from_a_stale_page_is_refused_as_extended_already(
    session: Session, on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")
    _record(console, on_file, "rectification", {"reference": "一号", "working_days": "5"})
    [row] = [o for o in _duties(session, on_file).obligations if o.kind == "rectification"]
    _record(console, on_file, "extension", {"rectification": str(row.id), "working_days": "3"})

    # A page read before the first extension offers the notice still.
    again = _record(
        console, on_file, "extension", {"rectification": str(row.id), "working_days": "2"}
    )

    assert again.status_code == 422
    # The extension form no longer offers it, so its reasons stand above the forms.
    assert "extended once already" in again.text


def test_a_refusal_with_one_reason_says_it_once(
    on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")

    answer = _record(console, on_file, "go_live", {"live_on": "2026-03-09"})

    assert answer.text.count("2026-03-09 has not come yet") == 1  # beside its field
    assert 'id="duty-go_live-live_on-refused">Live on' in answer.text


def test_an_apps_go_live_asks_no_home_page(
    session: Session, on_file: FilingOut, open_order: Open, signed_in: Callable[[str], TestClient]
) -> None:
    app = open_order(**order_on("new_service", on_file.entity_id, 0))
    for event, data in ORDER_PATHS["new_service"]:
        app = service.fire_event(session, app.id, EventCommand(event=event, data=data), actor="t")

    page = signed_in("case_manager").get(f"/filings/{app.id}").text

    assert 'name="home_url"' not in _form(page, "duty-go_live")
    assert 'name="home_url"' in _form(
        signed_in("case_manager").get(f"/filings/{on_file.id}").text, "duty-go_live"
    )


def test_a_refused_form_is_focused_so_the_browser_shows_it(
    on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    answer = _record(signed_in("case_manager"), on_file, "go_live", {"live_on": "2026-03-09"})

    assert 'id="refused" tabindex="-1" autofocus' in _form(answer.text, "duty-go_live")


def test_a_reason_about_a_field_says_which_by_its_label(
    on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    answer = _record(signed_in("case_manager"), on_file, "go_live", {"live_on": "2026-03-09"})

    assert "Live on 上线日期: 2026-03-09 has not come yet" in answer.text


def test_an_apps_page_calls_it_an_app(
    session: Session, on_file: FilingOut, open_order: Open, signed_in: Callable[[str], TestClient]
) -> None:
    app = open_order(**order_on("new_service", on_file.entity_id, 0))

    page = signed_in("viewer").get(f"/filings/{app.id}").text
    site = signed_in("viewer").get(f"/filings/{on_file.id}").text

    assert "<dt>App 应用</dt><dd>Example App</dd>" in page
    assert "<dt>Website 网站</dt>" in site


def test_a_go_live_recorded_from_the_page_shows_who_recorded_it(
    on_file: FilingOut, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")
    assert _record(console, on_file, "go_live", {"live_on": "2026-03-02"}).status_code == 303

    page = signed_in("viewer").get(f"/filings/{on_file.id}").text

    recorded = page.split('id="recorded"')[1].split("</table>")[0]
    assert "Go-live 上线" in recorded and "live_on 2026-03-02" in recorded
    assert "token:test-case_manager, 2026-03-02 10:00 Beijing" in cells_shown(recorded)


def _renewed(api: Api, on_file: FilingOut, clock: FrozenClock, *years: int) -> None:
    """A renewal to June of each year, an hour apart: one record each, the latest last."""
    for year in years:
        clock.advance(timedelta(hours=1))
        answer = api.client.post(
            f"/api/v1/services/{on_file.service_id}/renewal",
            json={"expires_on": f"{year}-06-30"},
            headers=api.headers,
        )
        assert answer.status_code == 200, answer.text


def _sent(year: int) -> str:
    """A renewal's day as its row shows what was sent (not what it replaced)."""
    return f'"muted">expires_on {year}-06-30'


def test_the_filings_page_links_to_the_whole_trail_only_when_it_shows_part_of_it(
    api: Api,
    on_file: FilingOut,
    clock: FrozenClock,
    signed_in: Callable[[str], TestClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reading, "AUDIT_SHOWN", 2)
    _renewed(api, on_file, clock, 2030, 2031)
    console = signed_in("viewer")
    trail = f'href="/services/{on_file.service_id}/recorded"'
    assert trail not in console.get(f"/filings/{on_file.id}").text

    _renewed(api, on_file, clock, 2032)

    page = console.get(f"/filings/{on_file.id}").text
    more = page.split('id="all-recorded"')[1].split("</p>")[0]
    assert trail in more and "All 3 entries 全部记录" in more
    shown = page.split('id="recorded"')[1].split("</table>")[0]
    assert _sent(2032) in shown and _sent(2030) not in shown


def test_a_services_trail_is_listed_newest_first_a_page_at_a_time_once_signed_in(
    api: Api,
    on_file: FilingOut,
    clock: FrozenClock,
    client: TestClient,
    signed_in: Callable[[str], TestClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _renewed(api, on_file, clock, 2030, 2031, 2032)
    monkeypatch.setattr(console_pages, "PAGE_SIZE", 2)
    path = f"/services/{on_file.service_id}/recorded"
    signed_out = client.get(path, follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login?next=")
    console = signed_in("viewer")

    first = console.get(path).text
    second = console.get(f"{path}?page=2").text

    rows = first.split('id="recorded"')[1].split("</table>")[0]
    assert rows.index(_sent(2032)) < rows.index(_sent(2031)) and _sent(2030) not in rows
    assert "Domain renewal 域名续费" in rows and "token:test-case_manager" in rows
    assert "Page 1 of 2 · 3 in all" in first and 'page=2" rel="next"' in first
    later = second.split('id="recorded"')[1].split("</table>")[0]
    assert _sent(2030) in later and _sent(2031) not in later
    assert console.get("/services/999999/recorded").status_code == 404
