"""The console as case managers and ops use it, in Chromium: act, find, retry, on any screen."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlmodel import col, select

from auth.tokens import Role
from config import bounds
from config.clock import CHINA
from models import Notification
from tests.browser.conftest import PHONE, Console, SignIn, settled, snapshot
from tests.colours import as_hex, contrast
from tests.factories import ANDROID_MD5, PUBLIC_KEY, commands_to, make_command
from workflow import service
from workflow.domain.commands import AssignCommand, EventCommand
from workflow.failures import record_final_failure
from workflow.views import describing

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

PHONE_NUMBER, ID_NUMBER = "13800138000", "91110000MA01ABCD52"
# The pipeline's edge labels as drawn on the screen: their font size times the drawing's scale.
DRAWN_LABEL_PX = """() => parseFloat(getComputedStyle(document.querySelector('svg .edge-label')).fontSize)
    * document.querySelector('svg.pipeline').getScreenCTM().a"""
# The caption of a search that found one: anchored, as "31 filing matches" would contain it.
ONE_MATCH = re.compile(r"^\s*1 filing matches")


def create(console: Console, domain: str, state: str = "domain_registered") -> int:
    """A filing made through the service (setup, as the API would), driven to ``state``."""
    with console.session() as session:
        opening = make_command(**console.applicants.fill({"domain": domain}))
        filing = service.create_filing(session, opening, actor="setup")
        for command in commands_to(state):
            service.fire_event(session, filing.id, command, actor="setup")
        return filing.id


def fire(console: Console, filing_id: int, event: str, **data: object) -> None:
    with console.session() as session:
        service.fire_event(session, filing_id, EventCommand(event=event, data=data), actor="x")


def on_file(console: Console, domain: str, number: str) -> int:
    """An entity whose first filing is approved with ``number`` (setup, as the API would)."""
    filing_id = create(console, domain, "miit_pending")
    fire(console, filing_id, "miit_approve", icp_number=number)
    with console.session() as session:
        return describing.get_filing(session, filing_id).entity_id


def click(page: Page, form: str, button: str) -> None:
    """Send the form by its button; an irreversible event's (withdraw, approve) shows once its
    confirmation is opened, as a person opens it."""
    sent = page.locator(f"form#{form}")
    confirm = sent.locator("details.confirm > summary")
    if confirm.count():
        confirm.click()
    sent.locator("button[type=submit]", has_text=button).click()


def press(page: Page, form: str, button: str) -> None:
    """Fire an event from its form and wait for the page to show it in the history (htmx
    swaps the page in place, so there is no navigation to wait for)."""
    before = page.locator("tr.history").count()
    click(page, form, button)
    page.locator("tr.history").nth(before).wait_for()
    settled(page)


def test_a_case_manager_takes_a_filing_from_creation_to_approval_by_forms_alone(
    console: Console, sign_in: SignIn
) -> None:
    filing_id = create(console, "happy.cn")
    page = sign_in(Role.CASE_MANAGER)
    page.goto(f"{console.url}/filings/{filing_id}")
    page.get_by_label("Service number").fill("BA2026000123")
    page.get_by_label("Server IP").fill("8.8.8.8")
    press(page, "event-bind_service_number", "Bind service number")
    for box in page.locator("form#event-submit input[type=checkbox]").all():
        box.check()
    press(page, "event-submit", "Submit")
    press(page, "event-host_approve", "Host approve")
    press(page, "event-sms_sent", "SMS sent")
    press(page, "event-verify_sms", "Verify SMS")
    page.get_by_label("ICP number").fill("京ICP备2026000456号-1")
    press(page, "event-miit_approve", "MIIT approve")
    page.locator("#icp-number", has_text="京ICP备2026000456号-1").wait_for()
    assert "approved" in page.locator("h1").inner_text()
    assert page.locator("tr.history").count() == 7
    snapshot(page, "filing-approved")


def test_a_case_manager_records_a_go_live_and_the_psb_filing_falls_due(
    console: Console, sign_in: SignIn
) -> None:
    filing_id = create(console, "golive.cn", "miit_pending")
    fire(console, filing_id, "miit_approve", icp_number="京ICP备2026000321号-1")
    today = console.clock.now().astimezone(CHINA).date().isoformat()
    page = sign_in(Role.CASE_MANAGER)
    page.goto(f"{console.url}/filings/{filing_id}")
    page.locator("form#duty-go_live").get_by_label("Live on").fill(today)
    click(page, "duty-go_live", "Record go-live 登记上线")
    page.locator("#obligations td", has_text="PSB filing 公安联网备案").first.wait_for()
    settled(page)
    assert today in page.locator("#after-approval").inner_text()
    # Recorded once: correcting it now means ticking the box naming the day on file.
    box = page.locator("form#duty-go_live").get_by_label("corrects the one on file")
    assert box.get_attribute("value") == today


def test_a_case_manager_opens_a_new_site_from_the_entitys_page(
    console: Console, sign_in: SignIn
) -> None:
    entity_id = on_file(console, "example-shop.cn", "京ICP备2026000301号-1")
    page = sign_in(Role.CASE_MANAGER)
    page.goto(f"{console.url}/entities/{entity_id}")
    page.locator("summary", has_text="New service").click()
    form = page.locator("form#order-new_service")
    form.get_by_label("Name 名称", exact=True).fill("Example Shop")
    form.get_by_label("Domain 域名", exact=True).fill("example-mall.cn")
    form.get_by_label("Domain expires on 域名到期日").fill("2028-06-30")
    form.get_by_label("Domain registrant 域名持有者").fill("Example Ltd")
    form.get_by_label("Domain real name verified 域名已实名认证").select_option("true")

    form.get_by_role("button", name="New service 新增网站/App").click()

    page.wait_for_url(re.compile(r"/filings/\d+$"))
    assert "example-mall.cn" in page.locator("h1").inner_text()
    assert f"/entities/{entity_id}" in page.content()


def test_an_apps_platforms_unfold_on_the_entitys_page_and_open_its_order(
    console: Console, sign_in: SignIn
) -> None:
    entity_id = on_file(console, "example-app.cn", "京ICP备2026000303号-1")
    page = sign_in(Role.CASE_MANAGER)
    page.goto(f"{console.url}/entities/{entity_id}")
    page.locator("summary", has_text="New service").click()
    form = page.locator("form#order-new_service")
    fingerprint = form.get_by_label("App platforms android fingerprint (MD5)")
    assert not fingerprint.is_visible()  # folded away: a website's order is short
    form.get_by_label("Kind 类型", exact=True).select_option("app")
    form.get_by_label("Name 名称", exact=True).fill("Example Shop App")
    form.get_by_label("Domain 域名", exact=True).fill("example-apps.cn")
    form.get_by_label("Domain expires on 域名到期日").fill("2028-06-30")
    form.get_by_label("Domain registrant 域名持有者").fill("Example Ltd")
    form.get_by_label("Domain real name verified 域名已实名认证").select_option("true")
    form.locator("summary", has_text="App platforms (apps, mini programs, quick apps only)").click()
    form.get_by_label("App identifier 包名或 Bundle ID").fill("cn.example.shop")
    form.get_by_label("App platforms android public key").fill(PUBLIC_KEY)
    fingerprint.fill(ANDROID_MD5)

    form.get_by_role("button", name="New service 新增网站/App").click()

    page.wait_for_url(re.compile(r"/filings/\d+$"))
    assert "Example Shop App" in page.content()


def test_a_refused_duty_is_scrolled_to_and_focused(console: Console, sign_in: SignIn) -> None:
    filing_id = create(console, "refusedpsb.cn", "miit_pending")
    fire(console, filing_id, "miit_approve", icp_number="京ICP备2026000789号-1")
    page = sign_in(Role.CASE_MANAGER)
    page.goto(f"{console.url}/filings/{filing_id}")
    form = page.locator("form#duty-psb_number")
    form.get_by_label("PSB number").fill("沪公网安备31010502030143号")
    click(page, "duty-psb_number", "Record PSB number 登记公安备案号")
    refusal = page.locator("form#duty-psb_number #refused")
    refusal.wait_for()
    settled(page)
    assert page.evaluate("document.activeElement.id") == "refused"
    in_view = "(e => { const r = e.getBoundingClientRect(); return r.top > -2 && r.bottom <= innerHeight; })"
    assert refusal.evaluate(in_view), refusal.evaluate(
        "e => JSON.stringify(e.getBoundingClientRect())"
    )


def test_a_refused_form_keeps_what_was_typed(console: Console, sign_in: SignIn) -> None:
    filing_id = create(console, "typo.cn")
    page = sign_in(Role.CASE_MANAGER)
    page.goto(f"{console.url}/filings/{filing_id}")
    page.get_by_label("Service number").fill("BAD")
    page.get_by_label("Server IP").fill("8.8.8.8")
    page.locator("form#event-bind_service_number button[type=submit]").click()
    page.locator("form#event-bind_service_number #refused").wait_for()
    assert page.get_by_label("Service number").input_value() == "BAD"
    assert page.get_by_label("Server IP").input_value() == "8.8.8.8"


def test_a_name_in_characters_beyond_the_bmp_is_typed_whole_up_to_its_limit(
    console: Console, sign_in: SignIn
) -> None:
    """𠀀 (CJK Extension B, met in personal names) is one character to the server, and two
    UTF-16 code units to the browser's maxlength, which stopped such a name at half its limit."""
    page = sign_in(Role.CASE_MANAGER)
    page.goto(f"{console.url}/filings/new")
    name = "𠀀" * bounds.NAME
    box = page.locator("#open-filing-applicant_name")
    box.press_sequentially(name)
    assert box.input_value() == name


def test_a_stale_page_is_told_someone_else_changed_the_filing(
    console: Console, sign_in: SignIn
) -> None:
    filing_id = create(console, "stale.cn")
    page = sign_in(Role.CASE_MANAGER)
    page.goto(f"{console.url}/filings/{filing_id}")
    fire(console, filing_id, "withdraw", reason="changed elsewhere")
    page.locator("form#event-withdraw input[name=reason]").fill("too late")
    click(page, "event-withdraw", "Withdraw")
    page.locator("#refused", has_text="Changed by someone else").wait_for()
    snapshot(page, "conflict-409")
    assert "withdrawn" in page.locator("h1").inner_text()  # the page as it is now


def test_a_viewer_sees_no_buttons(console: Console, sign_in: SignIn) -> None:
    filing_id = create(console, "look.cn")
    page = sign_in(Role.VIEWER)
    page.goto(f"{console.url}/filings/{filing_id}")
    assert page.locator("main button").count() == 0


def test_ops_retries_a_failed_delivery(console: Console, sign_in: SignIn) -> None:
    filing_id = create(console, "bounce.cn", "host_returned")
    with console.session() as session:
        owed = session.exec(
            select(Notification).where(col(Notification.filing_id) == filing_id)
        ).first()
        assert owed is not None and owed.id is not None
        record_final_failure(session, owed.id, "SMTP 550 mailbox unavailable", console.clock.now())
        session.commit()
    page = sign_in(Role.OPS)
    assert "1 failed job " in page.locator("#failed-count").inner_text()
    page.get_by_role("link", name=re.compile("failed job")).click()
    page.locator("td", has_text="SMTP 550 mailbox unavailable").wait_for()
    snapshot(page, "failed-deliveries")
    page.get_by_role("button", name=f"Retry 重试 #{filing_id} bounce.cn", exact=False).click()
    page.get_by_role("status").filter(has_text="Queued again 已重新排队").wait_for()
    page.get_by_text("No failed jobs").wait_for()
    page.goto(f"{console.url}/filings/{filing_id}")
    assert page.locator("#failed-notices").count() == 0


def test_search_finds_a_filing_by_domain_and_pages_through_the_rest(
    console: Console, sign_in: SignIn
) -> None:
    for number in range(27):
        create(console, f"bulk{number:02d}.cn")
    page = sign_in(Role.VIEWER)
    page.goto(f"{console.url}/filings")
    page.get_by_role("link", name=re.compile("Next")).click()
    page.wait_for_url(re.compile(r"page=2"))
    settled(page)
    assert page.locator("tr.filing").count() > 0
    page.get_by_role("searchbox", name="Domain 域名").fill("bulk13")
    page.wait_for_url(re.compile(r"domain=bulk13"))
    page.locator("caption", has_text=ONE_MATCH).wait_for()
    assert page.locator("tr.filing").inner_text().count("bulk13.cn") == 1
    snapshot(page, "filings-search")


def test_a_search_refused_shows_why_in_place_and_the_next_search_still_runs(
    console: Console, sign_in: SignIn
) -> None:
    create(console, "kept.cn")
    page = sign_in(Role.VIEWER)
    page.goto(f"{console.url}/filings")
    domain = page.get_by_role("searchbox", name="Domain 域名")
    domain.fill("kept\u200b")  # a zero-width space, refused
    page.locator("#results .alert", has_text="no control or invisible characters").wait_for()
    domain.fill("kept")
    page.locator("caption", has_text=ONE_MATCH).wait_for()
    assert "kept.cn" in page.locator("#results").inner_text()


def test_a_live_search_marks_and_unmarks_the_field_refused_while_typing_goes_on_unharmed(
    console: Console, sign_in: SignIn
) -> None:
    create(console, "typed-on.cn")
    page = sign_in(Role.VIEWER)
    page.goto(f"{console.url}/filings")
    domain = page.get_by_role("searchbox", name="Domain 域名")
    said = page.locator("#search-domain-refused")
    domain.evaluate("box => { box.typedInto = true }")  # gone if the box is replaced

    domain.press_sequentially("typed-on\u200b")  # a zero-width space, refused
    said.filter(has_text="no control or invisible characters").wait_for()
    settled(page)
    marked = (domain.get_attribute("aria-invalid"), domain.get_attribute("aria-describedby"))
    domain.press("Backspace")
    domain.press_sequentially(" ")
    page.locator("caption", has_text=ONE_MATCH).wait_for()
    said.wait_for(state="hidden")
    settled(page)

    assert marked == ("true", "search-domain-refused")
    assert domain.get_attribute("aria-invalid") is None
    assert domain.get_attribute("aria-describedby") is None
    assert domain.input_value() == "typed-on " and domain.evaluate("box => box.typedInto") is True
    assert page.evaluate("document.activeElement.name") == "domain"


def test_late_work_lists_the_most_overdue_first(console: Console, sign_in: SignIn) -> None:
    late = create(console, "late-first.cn", "submitted")
    console.clock.advance(timedelta(days=9))
    create(console, "later.cn", "submitted")
    page = sign_in(Role.OPS)
    page.goto(f"{console.url}/overdue")
    first = page.locator("tr.overdue-item").first
    assert f"#{late} late-first.cn" in first.inner_text() and "overdue" in first.inner_text()
    snapshot(page, "late-work")
    page.goto(console.url)
    snapshot(page, "pipeline")


def test_identity_and_phone_numbers_are_masked_even_in_reasons(
    console: Console, sign_in: SignIn
) -> None:
    filing_id = create(console, "private.cn", "submitted")
    fire(console, filing_id, "host_return", reason=f"call {PHONE_NUMBER} about {ID_NUMBER}")
    page = sign_in(Role.CASE_MANAGER)
    page.goto(f"{console.url}/filings/{filing_id}")
    text = page.content()
    assert PHONE_NUMBER not in text and ID_NUMBER not in text
    assert "138****8000" in page.locator("#refusal").inner_text()
    snapshot(page, "filing-returned")


def test_on_a_phone_nothing_overflows_the_screen(console: Console, sign_in: SignIn) -> None:
    filing_id = create(console, "narrow.cn", "submitted")
    entity_id = on_file(console, "narrow-entity.cn", "京ICP备2026000302号-1")
    page = sign_in(Role.CASE_MANAGER, viewport=PHONE)
    for path, name in [
        ("/", "phone-pipeline"),
        ("/filings", "phone-filings"),
        (f"/filings/{filing_id}", "phone-filing"),
        (f"/entities/{entity_id}", "phone-entity"),
    ]:
        page.goto(console.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide on a {PHONE['width']}px phone"
        snapshot(page, name)


def test_on_a_phone_the_pipeline_diagram_scrolls_in_its_frame_at_its_own_size(
    console: Console, sign_in: SignIn
) -> None:
    page = sign_in(Role.VIEWER, viewport=PHONE)
    page.goto(f"{console.url}/")
    scrolled = page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    framed = page.locator(".diagram").evaluate("frame => frame.scrollWidth > frame.clientWidth")
    label = page.evaluate(DRAWN_LABEL_PX)
    assert (scrolled, framed, round(label)) == (True, True, 11)  # px, as drawn


@pytest.mark.parametrize("width", [800, 1024, 1280])
def test_on_a_tablet_or_a_desktop_the_pipeline_labels_stay_legible(
    console: Console, sign_in: SignIn, width: int
) -> None:
    """Fitted to the frame at any width, a tablet's drew the 11px labels at 6px."""
    page = sign_in(Role.VIEWER, viewport={"width": width, "height": 900})
    page.goto(f"{console.url}/")
    scrolled = page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    label = page.evaluate(DRAWN_LABEL_PX)
    assert scrolled and label >= 9, f"labels drawn at {label:.1f}px at {width}px wide"


def test_on_a_phone_a_cells_second_piece_stays_beside_its_label(
    console: Console, sign_in: SignIn
) -> None:
    """The order kind after a domain read as a label when it fell into the label's column."""
    create(console, "pieces.cn", "submitted")
    page = sign_in(Role.VIEWER, viewport=PHONE)
    page.goto(f"{console.url}/filings?domain=pieces")
    cell = page.locator("tr.filing td[data-label='Domain 域名']").first
    link, kind = cell.locator("a").bounding_box(), cell.locator(".muted").bounding_box()
    assert link is not None and kind is not None
    assert kind["x"] >= link["x"]  # on the link's side of the card, not under the label


def test_on_a_phone_the_keyboard_never_lands_on_the_hidden_header_row(
    console: Console, sign_in: SignIn
) -> None:
    """The cards label every cell; the sort links of the header row took focus off-screen."""
    page = sign_in(Role.VIEWER, viewport=PHONE)
    page.goto(f"{console.url}/filings")
    focusable = page.locator("table.stack thead a")
    assert focusable.count() > 0 and not any(link.is_visible() for link in focusable.all())


def test_the_keyboards_focus_ring_in_the_header_stands_out_from_the_bar(
    console: Console, sign_in: SignIn
) -> None:
    page = sign_in(Role.VIEWER)
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the header's first link
    ring, bar = page.evaluate(
        "[getComputedStyle(document.activeElement).outlineColor,"
        " getComputedStyle(document.querySelector('header')).backgroundColor]"
    )
    assert page.evaluate("document.activeElement.closest('header') !== null")
    assert contrast(as_hex(ring), as_hex(bar)) >= 3


def test_error_pages_and_an_empty_sign_in_are_pages_not_json(
    console: Console, sign_in: SignIn
) -> None:
    page = sign_in(Role.VIEWER)
    response = page.goto(f"{console.url}/filings/999999")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text().startswith("Not found")
    snapshot(page, "error-404")
    page.goto(console.url)
    page.get_by_role("button", name="Sign out 退出").click()
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()
    assert "Enter your API token" in page.get_by_role("alert").inner_text()


def test_the_api_docs_render_offline(console: Console, sign_in: SignIn) -> None:
    page = sign_in(Role.VIEWER)
    blocked: list[str] = []
    page.on(
        "console", lambda message: blocked.append(message.text) if message.type == "error" else None
    )
    page.goto(f"{console.url}/docs")
    page.get_by_text("/api/v1/filings").first.wait_for()
    assert not blocked, blocked
    snapshot(page, "api-docs")


def test_a_form_sent_after_signing_out_elsewhere_is_sent_after_signing_in_again(
    console: Console, sign_in: SignIn
) -> None:
    filing_id = create(console, "lapsed-form.cn")
    page = sign_in(Role.CASE_MANAGER)
    page.goto(f"{console.url}/filings/{filing_id}")
    page.get_by_label("Service number").fill("BA2026000777")
    page.get_by_label("Server IP").fill("8.8.4.4")
    page.context.clear_cookies()  # the session ended while the form was being filled

    click(page, "event-bind_service_number", "Bind service number")
    page.get_by_text("nothing you typed is lost").wait_for()
    settled(page)
    page.get_by_label("API token").fill(console.tokens[Role.CASE_MANAGER])
    page.get_by_role("button", name="Sign in").click()
    sending = page.locator("form#send-again")
    sending.wait_for()
    settled(page)

    assert "BA2026000777" in sending.inner_text() and "8.8.4.4" in sending.inner_text()
    with console.session() as session:  # shown, not sent
        assert describing.get_filing(session, filing_id).state == "domain_registered"
    sending.get_by_role("button", name="Send").click()
    page.locator("tr.history").nth(1).wait_for()
    with console.session() as session:
        assert describing.get_filing(session, filing_id).state == "service_number_bound"


@pytest.mark.parametrize("path", ["/filings", "/stuck"])
def test_on_a_desktop_a_lists_every_column_shows_without_scrolling_sideways(
    console: Console, sign_in: SignIn, path: str
) -> None:
    """At 1280 px the Assignee column lay past the list's frame, reached only by a sideways
    scrollbar under the whole table."""
    number = {"/filings": 998, "/stuck": 999}[path]
    filing_id = on_file(console, f"a-long-domain-name-{number}.cn", f"京ICP备2026000{number}号-1")
    with console.session() as session:
        service.assign(
            session,
            filing_id,
            AssignCommand(assignee="case_manager-1"),
            actor="x",
            now=console.clock.now(),
        )
    create(console, f"wide-stuck-{number}.cn", "host_pre_approved")
    console.clock.advance(timedelta(days=30))
    page = sign_in(Role.OPS)
    page.goto(f"{console.url}{path}")
    assert page.locator("tr.filing").count() > 0
    snapshot(page, f"desktop{path.replace('/', '-')}")

    frame = page.locator("#results .scroll")
    overflow = frame.evaluate("frame => frame.scrollWidth - frame.clientWidth")
    last, edge = page.locator("thead th").last.bounding_box(), frame.bounding_box()

    assert last is not None and edge is not None
    assert (overflow, last["x"] + last["width"] <= edge["x"] + edge["width"]) == (0, True)


def test_on_a_phone_an_empty_lists_message_starts_at_the_cards_edge(
    console: Console, sign_in: SignIn
) -> None:
    """Stacked into a card, "No delivery failing now" sat in the value column beside an
    empty label's."""
    page = sign_in(Role.OPS, viewport=PHONE)
    page.goto(f"{console.url}/duties")
    messages = page.locator("table.stack td[colspan]")
    assert messages.count() > 0
    for message in messages.all():
        indent = message.evaluate(
            """cell => { const range = document.createRange(); range.selectNodeContents(cell);
            return range.getBoundingClientRect().left - cell.getBoundingClientRect().left; }"""
        )
        assert indent < 20, f"{message.inner_text()!r} starts {indent:.0f}px into its card"


# The first ten characters of a cell's time ("2026-11-19"): the range over them and the
# distinct tops of the lines it is drawn on. Read in the ``.date`` element the filters wrap a
# date in, or the cell itself if it has none, so the measure is the same either way.
DATE_LINES = """cell => {
    const holder = cell.querySelector('.date') || cell;
    const walker = document.createTreeWalker(holder, NodeFilter.SHOW_TEXT);
    let node = walker.nextNode();
    while (node && !node.textContent.trim()) node = walker.nextNode();
    const start = node.textContent.search(/\\S/);
    const range = document.createRange();
    range.setStart(node, start);
    range.setEnd(node, Math.min(start + 10, node.textContent.length));
    const drawn = [...range.getClientRects()].filter(rect => rect.width > 0);
    return [range.toString(), new Set(drawn.map(rect => Math.round(rect.top))).size];
}"""


@pytest.mark.parametrize("width", [800, 1024, 1280])
def test_a_lists_time_keeps_its_date_on_one_line(
    console: Console, sign_in: SignIn, width: int
) -> None:
    """At 1280 px /filings showed "2026-11-" over "19 03:01 Beijing" in its "In state since"
    column: squeezed by long domains, the date broke at its hyphen."""
    stem = f"dates{width}-"  # domains are searched from their start
    on_file(console, f"{stem}a-rather-long-domain-name-on-file.cn", f"京ICP备2026{width:06d}号-1")
    create(console, f"{stem}a-rather-long-domain-name-submitted.cn", "submitted")
    page = sign_in(Role.VIEWER, viewport={"width": width, "height": 900})
    page.goto(f"{console.url}/filings?domain={stem}")
    settled(page)
    cells = page.locator('tr.filing td[data-label^="In state since"]')
    assert cells.count() == 2
    snapshot(page, f"filings-dates-{width}")

    for cell in cells.all():
        date, lines = cell.evaluate(DATE_LINES)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", date), f"{cell.inner_text()!r} starts no date"
        assert lines == 1, f"{cell.inner_text()!r} draws its date on {lines} lines at {width} px"
