"""The console's forms and lists over HTTP: CSRF, roles, stale versions, assignment, search,
late work, masking, and errors as pages for browsers while the API keeps JSON."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from auth import sessions
from auth.tokens import UP_TOKEN_NAME, Role, replace_tokens_named
from config.clock import FrozenClock
from config.settings import get_settings
from models import Filing, Job, Notification
from tests.factories import (
    FLAT_FILING,
    ORDER_PATHS,
    ORG_APP_MATERIALS,
    ORG_MATERIALS,
    PATH_TO,
    MakeFiling,
    order_on,
    said_beside,
)
from tests.web.page_text import shown_text
from web import console, error_pages, errors, forms
from web.pages import SESSION_COOKIE
from web.status_words import said_for
from workflow import failures
from workflow.domain.definition import (
    DEADLINES_BY_KIND,
    EVENTS_BY_NAME,
    STATES_BY_NAME,
    Flag,
    State,
)
from workflow.domain.errors import Reason, ValidationError
from workflow.domain.rules import rules_for
from workflow.outbox import FooterCheck
from workflow.schemas import FilingOut
from workflow.views import describing, held_up, search

if TYPE_CHECKING:
    from tests.databases import Database
    from tests.web.conftest import Api


def form_token(page: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page)
    assert found, "the page has no form"
    return found.group(1)


def form_token_of(client: TestClient) -> str:
    """What a page would put in its forms for this browser's session."""
    return sessions.form_token(client.cookies[SESSION_COOKIE])


def post_event(
    client: TestClient, filing_id: int, event: str, version: int, **data: str
) -> tuple[int, str]:
    token = form_token(client.get(f"/filings/{filing_id}").text)
    response = client.post(
        f"/filings/{filing_id}/events/{event}",
        data={"form_token": token, "expected_version": str(version), **data},
        follow_redirects=False,
    )
    return response.status_code, response.text


def test_a_form_fires_the_event_and_redirects_back(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.create()
    status, _ = post_event(signed_in("case_manager"), filing["id"], "withdraw", 1, reason="no")
    assert (
        status == 303 and api.get(f"/api/v1/filings/{filing['id']}").json()["state"] == "withdrawn"
    )


def test_a_post_without_the_form_token_is_refused_with_a_page(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.create()
    response = signed_in("case_manager").post(
        f"/filings/{filing['id']}/events/withdraw",
        data={"expected_version": "1", "reason": "forged"},
    )
    assert response.status_code == 403 and "<h1>Not allowed" in response.text


def test_a_viewer_cannot_fire_events_from_a_page(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.create()
    viewer = signed_in("viewer")
    response = viewer.post(
        f"/filings/{filing['id']}/events/withdraw",
        data={"form_token": form_token_of(viewer), "expected_version": "1", "reason": "x"},
    )
    assert response.status_code == 403 and "case_manager role" in response.text


def test_a_stale_version_gets_the_filings_page_as_it_is_now_saying_it_changed(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.step(api.create(), "withdraw", {"reason": "first"})
    status, page = post_event(signed_in("case_manager"), filing["id"], "withdraw", 1, reason="x")
    assert status == 409 and "Changed by someone else" in page
    assert re.search(r"<h1>[^<]*<span class=\"pill\">withdrawn</span>", page)


def test_a_form_sent_from_a_stale_page_comes_back_filled_on_the_page_as_it_is_now(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.step(api.create(), *PATH_TO["service_number_bound"][0])
    status, page = post_event(
        signed_in("case_manager"), filing["id"], "withdraw", 1, reason="typed by hand"
    )
    form = page[page.index('id="event-withdraw"') :].split("</form>")[0]
    assert status == 409 and 'value="typed by hand"' in form
    assert 'name="expected_version" value="2"' in form


def test_a_stale_page_is_told_what_changed_and_the_state_it_left(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.step(api.create(), *PATH_TO["service_number_bound"][0])
    _, page = post_event(signed_in("case_manager"), filing["id"], "withdraw", 1, reason="x")
    notice = page[page.index('id="refused"') :].split("</div>")[0]
    bound = STATES_BY_NAME[State.SERVICE_NUMBER_BOUND].label
    assert f"it is now {bound}" in notice
    row = notice[notice.index('<tr class="changed">') :].split("</tr>")[0]
    assert EVENTS_BY_NAME["bind_service_number"].label in row and "token:test-case_manager" in row


def test_a_stale_host_return_keeps_the_reason_typed_and_shows_the_other_persons(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    """Someone returned it and it was resubmitted since: host_return is offered again, filled
    as it was typed, against the version now, beside what the other person wrote."""
    filing = api.drive("submitted")
    seen = filing["version"]
    filing = api.step(filing, "host_return", {"reason": "域名证书过期"})
    filing = api.step(filing, "resubmit", {"materials": ORG_MATERIALS})
    console = signed_in("case_manager")
    response = console.post(
        f"/filings/{filing['id']}/events/host_return",
        data={
            "form_token": form_token_of(console),
            "expected_version": str(seen),
            "reason": "ICP 负责人证件模糊",
        },
    )
    page = response.text
    notice = page[page.index('id="refused"') :].split("</div>")[0]
    assert response.status_code == 409
    assert "域名证书过期" in notice and "token:test-case_manager" in notice
    assert EVENTS_BY_NAME["resubmit"].label in notice
    assert response.headers["HX-Push-Url"] == f"/filings/{filing['id']}"
    form = page[page.index('id="event-host_return"') :].split("</form>")[0]
    assert 'value="ICP 负责人证件模糊"' in form
    assert f'name="expected_version" value="{filing["version"]}"' in form
    again = console.post(
        f"/filings/{filing['id']}/events/host_return",
        data={**_hidden_of(form), "reason": "ICP 负责人证件模糊"},
        follow_redirects=False,
    )
    assert again.status_code == 303
    last = api.get(f"/api/v1/filings/{filing['id']}/history").json()[-1]
    assert (last["event"], last["reason"]) == ("host_return", "ICP 负责人证件模糊")


def _hidden_of(form: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))


def test_a_stale_event_no_longer_allowed_lists_what_was_typed_with_no_form(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.drive("submitted")
    returned = api.step(filing, "host_return", {"reason": "域名证书过期"})
    status, page = post_event(
        signed_in("case_manager"), filing["id"], "host_return", filing["version"],
        reason="ICP 负责人证件模糊",
    )  # fmt: skip
    assert status == 409 and 'id="event-host_return"' not in page
    assert returned["state"] == "host_returned" and "域名证书过期" in page
    typed = page[page.index('id="typed"') :].split("</table>")[0]
    assert "What you typed" in typed and "ICP 负责人证件模糊" in typed and "Reason" in typed


def test_missing_event_inputs_are_listed_by_their_labels_on_a_422_page(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.create()
    status, page = post_event(signed_in("case_manager"), filing["id"], "withdraw", 1)
    refusal = page[page.index('id="refused"') :].split("</div>")[0]
    said = said_beside(page, "event-withdraw", "reason")
    assert status == 422 and "Reason 原因 is required" in said and "data." not in refusal + said


def _bound_badly(api: Api, signed_in: Callable[[str], TestClient]) -> tuple[int, str]:
    """A new filing's service number bound from its page in a shape the host never gives
    ("BAD"), beside a well-formed server IP: the status and the page that answers."""
    filing = api.create()
    return post_event(
        signed_in("case_manager"), filing["id"], "bind_service_number", 1,
        service_number="BAD", server_ip="8.8.8.8",
    )  # fmt: skip


def test_a_refused_form_comes_back_filled_as_it_was_sent_with_the_reasons_beside_it(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    status, page = _bound_badly(api, signed_in)
    form = page[page.index('id="event-bind_service_number"') :].split("</form>")[0]
    assert status == 422 and 'id="refused"' in form and "service_number" in form
    assert 'value="BAD"' in form and 'value="8.8.8.8"' in form


def test_a_refused_event_marks_the_input_its_reason_names_and_no_other(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    _, page = _bound_badly(api, signed_in)
    said = said_beside(page, "event-bind_service_number", "service_number")
    assert "does not have the host's format" in said
    server_ip = re.search(r'<input [^>]*name="server_ip"[^>]*>', page)
    assert server_ip and "aria-invalid" not in server_ip.group(0)


def test_materials_a_refusal_names_mark_each_of_their_boxes(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.drive("service_number_bound")
    _, page = post_event(signed_in("case_manager"), filing["id"], "submit", filing["version"])
    assert "is required" in said_beside(page, "event-submit", "materials")
    form = page[page.index('id="event-submit"') :].split("</form>")[0]
    boxes = re.findall(r'<input type="checkbox"[^>]*>', form)
    assert len(boxes) > 1 and all('aria-invalid="true"' in box for box in boxes)


def test_a_refused_events_page_says_each_reason_once_beside_its_field(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    """Submitted with a material unknown and the required ones left out: each reason beside
    the materials, one a line, and not listed again above the form."""
    filing = api.drive("service_number_bound")
    status, page = post_event(
        signed_in("case_manager"), filing["id"], "submit", filing["version"], materials="nope"
    )
    reasons = said_beside(page, "event-submit", "materials").split("; ")
    assert status == 422 and len(reasons) > 2 and "'nope' is not a known material" in reasons[0]
    assert all(html.unescape(page).count(reason) == 1 for reason in reasons)
    refusal = page[page.index('id="refused"') :].split("</div>")[0]
    assert "<li>" not in refusal and "said beside its field" in refusal


def test_a_refused_events_one_reason_is_said_beside_its_field_not_in_the_headline_too(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    _, page = _bound_badly(api, signed_in)
    said = said_beside(page, "event-bind_service_number", "service_number")
    refusal = page[page.index('id="refused"') :].split("</div>")[0]
    assert html.unescape(page).count(said) == 1 and "1 problem 1 个问题<" in refusal


def _headline(page: str) -> str:
    refusal = page[page.index('id="refused"') :]
    found = re.search(r"<strong>(.*?)</strong>", refusal, re.DOTALL)
    assert found, "the refusal has no headline"
    return html.unescape(found.group(1))


def test_a_refused_events_headline_names_its_form_as_the_page_titles_it_in_both_languages(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    status, page = post_event(
        signed_in("case_manager"), api.create()["id"], "bind_service_number", 1,
        service_number="abc-1", server_ip="10.0.0.1",
    )  # fmt: skip
    assert status == 422
    assert (
        _headline(page) == "Bind service number 绑定备案服务号 refused 未通过: 2 problems 2 个问题"
    )


def test_a_refused_forms_lone_reason_about_no_input_is_its_headline_under_the_forms_title(
    api: Api, session: Session, clock: FrozenClock
) -> None:
    filing = describing.filing(
        session, api.drive("host_returned")["id"], clock.now(), get_settings()
    )
    error = ValidationError(
        "event 'resubmit' refused: the applicant's document is out of date",
        [Reason("guard", "the applicant's document is out of date")],
    )
    [form] = [
        f for f in forms.event_forms(filing, rules_for(get_settings())) if f.id == "event-resubmit"
    ]
    assert form.headline(error) == (
        f"{form.title} refused 未通过: the applicant's document is out of date"
    )


def test_a_refused_events_reason_about_no_field_of_its_form_is_listed_above_it(
    api: Api, session: Session, clock: FrozenClock
) -> None:
    filing = describing.filing(
        session, api.drive("host_returned")["id"], clock.now(), get_settings()
    )
    error = ValidationError(
        "event 'resubmit' refused: 2 problems",
        [
            Reason("guard", "the applicant's document is out of date"),
            Reason("missing_field", "data.materials is required", field="data.materials"),
        ],
    )
    shown = forms.event_forms(filing, rules_for(get_settings()))
    [form] = [f for f in shown if f.id == "event-resubmit"]
    assert form.above(error) == ["the applicant's document is out of date"]
    assert form.beside(error) == {"materials": [f"{form.label('materials')} is required"]}


def _form(page: str, form_id: str) -> str:
    found = re.search(rf'<form [^>]*id="{form_id}".*?</form>', page, re.DOTALL)
    assert found, f"the page has no form {form_id!r}"
    return found.group(0)


def test_withdraw_is_sent_only_from_behind_a_danger_marked_confirmation_and_resubmit_is_not(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    """Withdrawing ends the order (its state is terminal): its button, red, shows only once
    "Withdraw…" is opened, beside a sentence saying it cannot be undone; no script needed."""
    filing = api.drive("host_returned")
    page = signed_in("case_manager").get(f"/filings/{filing['id']}").text
    withdraw, resubmit = _form(page, "event-withdraw"), _form(page, "event-resubmit")
    title = EVENTS_BY_NAME["withdraw"].label
    confirm = re.search(
        rf'<details class="confirm">\s*<summary class="danger">{title}…</summary>\s*'
        r'<p class="bad">This cannot be undone: [^<]*</p>\s*'
        rf'<button type="submit" class="danger">{title}</button>\s*</details>',
        withdraw,
    )
    assert confirm and withdraw.count("<button") == 1
    assert "Withdraw the order: it goes no further." in withdraw
    assert "danger" not in resubmit and "<details" not in resubmit
    assert "cannot be undone" not in resubmit


def test_approval_is_confirmed_as_final_but_not_marked_as_a_loss(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    """Approval ends the order too, so it is sent from behind its confirmation; it gives
    nothing up, so neither its button nor its warning is red."""
    filing = api.drive("miit_pending")
    page = signed_in("case_manager").get(f"/filings/{filing['id']}").text
    approve = _form(page, "event-miit_approve")
    title = EVENTS_BY_NAME["miit_approve"].label
    assert re.search(
        rf'<details class="confirm">\s*<summary class="final">{title}…</summary>\s*'
        r'<p class="warn">This cannot be undone: [^<]*</p>\s*'
        rf'<button type="submit">{title}</button>\s*</details>',
        approve,
    )
    assert "danger" not in approve and 'class="bad"' not in approve


def test_an_event_no_form_of_the_state_offers_is_refused_above_the_forms(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.create()
    status, page = post_event(signed_in("case_manager"), filing["id"], "miit_approve", 1)
    assert status == 422 and 'id="refused"' in page.split('<div class="actions">')[0]


def test_the_address_of_a_refused_forms_page_reloads_as_the_filing(
    signed_in: Callable[[str], TestClient],
) -> None:
    reloaded = signed_in("viewer").get("/filings/7/events/submit", follow_redirects=False)
    assert (reloaded.status_code, reloaded.headers["location"]) == (303, "/filings/7")


def test_an_event_name_too_long_to_exist_is_a_422_page(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.create()
    status, page = post_event(signed_in("case_manager"), filing["id"], "x" * 50, 1)
    assert status == 422 and "at most 40 characters" in page


def test_the_submit_form_offers_the_materials_the_rules_require(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.drive("service_number_bound")
    page = signed_in("case_manager").get(f"/filings/{filing['id']}").text
    assert 'name="materials" value="photo_verification"' in page and "幕布拍照" in page


def _boxes_shown(page: str) -> list[tuple[str, str]]:
    """Each checkbox of the page: the value it posts, and the text its label shows."""
    return [
        (value, re.sub(r"<[^>]+>", "", text).strip())
        for value, text in re.findall(
            r'<label class="check"><input type="checkbox" name="[^"]+" value="([^"]*)"[^>]*>'
            r"(.*?)</label>",
            page,
            flags=re.S,
        )
    ]


def test_a_materials_box_shows_its_key_and_chinese_name_as_the_filings_details_do(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.drive("service_number_bound")
    page = signed_in("case_manager").get(f"/filings/{filing['id']}").text
    boxes = dict(_boxes_shown(page))
    chinese = rules_for(get_settings()).materials
    assert boxes["photo_verification"] == "photo_verification 幕布拍照/人脸核验"
    assert boxes == {key: f"{key} {chinese[key]}" for key in boxes}


def _ticked(form: str) -> list[str]:
    """What each box the form shows ticked posts."""
    return re.findall(r'<input type="checkbox" name="[^"]+" value="([^"]*)" checked', form)


def test_the_resubmit_form_ticks_nothing_and_names_the_materials_on_file(
    api: Api, signed_in: Callable[[str], TestClient], session: Session, clock: FrozenClock
) -> None:
    """A resubmission sends the last submission's materials again, ticked or not: ticked in
    advance, unticking one would seem to leave it out and do nothing. The form names them by
    their labels above its boxes, and the case manager ticks only what was corrected. A
    submission sends what is ticked alone, so its form ticks what is on file and says no more."""
    filing = api.drive("host_returned")
    page = signed_in("case_manager").get(f"/filings/{filing['id']}").text
    resubmit = _form(page, "event-resubmit")
    rules = rules_for(get_settings())

    assert filing["materials"] and _ticked(resubmit) == []
    on_file = "; ".join(rules.material_label(key) for key in filing["materials"])
    assert f"On file 已提交: {html.escape(on_file)}</p>" in resubmit
    assert resubmit.index("On file") < resubmit.index('type="checkbox"')

    shown = describing.filing(session, filing["id"], clock.now(), get_settings())
    submit = forms.event_form(EVENTS_BY_NAME["submit"], shown, rules).input("materials")
    assert submit.on_file == ()
    assert {c.key for c in submit.choices or () if c.checked} == set(filing["materials"])


def test_the_sms_form_asks_when_it_was_sent_with_a_date_and_time_picker(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.drive("host_pre_approved")
    page = signed_in("case_manager").get(f"/filings/{filing['id']}").text
    [sent_at] = re.findall(r'<input type="([a-z-]+)" id="event-sms_sent-sent_at"', page)
    assert sent_at == "datetime-local" and "短信发送时间" in page


def test_an_sms_time_posted_from_the_page_is_read_as_beijing_time(
    api: Api, signed_in: Callable[[str], TestClient], clock: FrozenClock
) -> None:
    filing = api.drive("host_pre_approved")  # Monday 10:00 in Beijing
    clock.advance(timedelta(hours=1))
    client = signed_in("case_manager")
    status, _ = post_event(
        client, filing["id"], "sms_sent", filing["version"], sent_at="2026-03-02T10:30"
    )
    assert status == 303
    [verifier, *_] = api.get(f"/api/v1/filings/{filing['id']}/verifiers").json()
    assert verifier["window_started_at"] == "2026-03-02T02:30:00Z"


def _app_order(api: Api) -> dict[str, Any]:
    """A new app for an entity on file, using the domain of the entity's site."""
    filed = api.drive("approved")
    body = order_on("new_service", filed["entity_id"], filed["service_id"])
    response = api.client.post("/api/v1/orders", json=body, headers=api.headers)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def test_an_app_order_is_listed_by_its_app_identifier_not_the_domain_it_uses(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    order = _app_order(api)
    page = signed_in("viewer").get("/filings").text
    assert f'<a href="/filings/{order["id"]}">app cn.example.app</a>' in page


def test_an_app_orders_page_is_titled_by_its_app_identifier(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    order = _app_order(api)
    page = signed_in("viewer").get(f"/filings/{order['id']}").text
    assert f"<h1>#{order['id']} app cn.example.app <span" in page
    assert "<title>app cn.example.app" in page


def test_an_app_orders_submit_form_offers_the_apps_materials_not_a_websites(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    [bind, *_] = ORDER_PATHS["new_service"]
    order = api.step(_app_order(api), *bind)
    page = signed_in("case_manager").get(f"/filings/{order['id']}").text
    offered = re.findall(r'name="materials" value="([a-z_]+)"', page)
    assert offered == [*ORG_APP_MATERIALS, "authorisation_letter"]
    assert "App图标" in page and "网站备案信息真实性核验单" not in page


def _renaming(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """An approved filing, and a change order renaming its entity "New"."""
    filed = api.drive("approved")
    body = {"kind": "change", "entity_id": filed["entity_id"], "changes": {"entity_name": "New"}}
    order: dict[str, Any] = api.client.post("/api/v1/orders", json=body, headers=api.headers).json()
    return filed, order


def test_a_name_changes_submit_form_offers_what_a_change_needs_not_a_first_filings(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    _, order = _renaming(api)
    page = signed_in("case_manager").get(f"/filings/{order['id']}").text
    offered = re.findall(r'name="materials" value="([a-z_]+)"', page)
    assert offered == ["change_request_form", "renaming_letter", "authorisation_letter"]


def _approval_form(client: TestClient, filing: dict[str, Any]) -> str:
    page: str = client.get(f"/filings/{filing['id']}").text
    return page[page.index('id="event-miit_approve"') :].split("</form>")[0]


def test_a_first_filings_approval_form_requires_the_icp_number_issued(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    form = _approval_form(signed_in("case_manager"), api.drive("miit_pending"))
    assert 'name="icp_number" required' in form


def test_an_approval_form_asks_no_icp_number_of_an_order_that_is_issued_none(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    _, order = _renaming(api)
    for event, data in ORDER_PATHS["change"][:-1]:
        order = api.step(order, event, data)
    form = _approval_form(signed_in("case_manager"), order)
    assert "<button" in form and 'name="icp_number"' not in form


def test_a_change_orders_page_shows_each_name_from_old_to_new(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filed, order = _renaming(api)
    page = signed_in("viewer").get(f"/filings/{order['id']}").text
    changes = page[page.index('id="changes"') :].split("</dd>")[0]
    assert re.search(rf"{re.escape(filed['applicant']['name'])} → <strong>New</strong>", changes)


def test_an_order_on_the_entity_alone_is_named_by_its_entity_in_lists_and_its_title(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filed, order = _renaming(api)
    browser = signed_in("viewer")
    name = f"{filed['applicant']['name']} {order['icp_number']}"
    assert f"<title>{name} · icpflow</title>" in browser.get(f"/filings/{order['id']}").text
    listed = browser.get("/filings?kind=change").text
    assert f'<a href="/filings/{order["id"]}">{name}</a>' in listed


def _column(page: str, label: str, after: str = "") -> dict[int, str]:
    """Each listed filing's cell headed ``label``, by the filing's number; ``after``: what the
    cell ends with that is not wanted (a phone beside the name)."""
    rows = re.findall(
        rf'<td data-label="#"><a href="/filings/(\d+)">.*?'
        rf'<td data-label="{label}">(.*?){after}</td>',
        page,
        re.S,
    )
    return {int(filing): cell for filing, cell in rows}


def _applicants(page: str) -> dict[int, str]:
    """Each listed filing's "Applicant" cell, its phone aside, by the filing's number."""
    return _column(page, "Applicant 申请人", r' <span class="muted">[^<]*</span>')


def test_the_filings_list_names_a_renamed_entity_as_it_is_now_and_as_it_was_filed(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filed, order = _renaming(api)
    for event, data in ORDER_PATHS["change"]:
        order = api.step(order, event, data)
    other = api.create()
    old = filed["applicant"]["name"]

    page = signed_in("viewer").get("/filings").text

    filed_as = f'New <span class="muted filed-as">(filed as 原名 {old})</span>'
    assert _applicants(page) == {
        filed["id"]: filed_as,
        order["id"]: filed_as,
        other["id"]: other["applicant"]["name"],
    }


def test_an_order_on_the_entity_alone_shows_no_domain_or_site(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    _, order = _renaming(api)
    page = signed_in("viewer").get(f"/filings/{order['id']}").text
    assert "an order on the entity alone" in page and "expires 到期" not in page


def test_an_unknown_filings_page_is_html(signed_in: Callable[[str], TestClient]) -> None:
    page = signed_in("viewer").get("/filings/12345")
    assert page.headers["content-type"].startswith("text/html") and page.status_code == 404


def test_an_unknown_filings_page_leads_back_to_the_pipeline_not_to_itself(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("viewer").get("/filings/12345").text
    assert '<a href="/">Back 返回</a>' in page and 'href="/filings/12345"' not in page


def test_an_error_page_keeps_the_consoles_header_for_someone_signed_in(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("viewer").get("/filings/12345").text
    assert 'aria-label="Console"' in page and 'href="/login"' not in page


def test_an_unknown_address_keeps_the_consoles_header_for_someone_signed_in(
    signed_in: Callable[[str], TestClient],
) -> None:
    response = signed_in("viewer").get("/no-such-page")
    assert response.status_code == 404
    assert 'aria-label="Console"' in response.text and 'href="/login"' not in response.text


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_an_unknown_addresss_page_finds_who_is_signed_in_while_another_writes(
    db: Database, signed_in: Callable[[str], TestClient]
) -> None:
    """On SQLite the lookup reads outside a transaction: one would wait for the writer."""
    browser = signed_in("viewer")
    with db.engine.connect() as writer:
        writer.exec_driver_sql("SELECT 1")  # its transaction begins by taking the write lock
        page = browser.get("/no-such-page").text
        writer.rollback()
    assert 'aria-label="Console"' in page


def test_an_error_page_says_a_lone_reason_once_in_its_headline(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("viewer").get("/entities/1?page=abc").text
    said = "query.page: must be a whole number written in digits"
    assert (page.count(said), f"<strong>request refused: {said}</strong>" in page) == (1, True)


def test_a_filing_page_for_an_id_that_is_no_number_is_not_found(
    signed_in: Callable[[str], TestClient],
) -> None:
    """A person typed or followed the address: no such page, as for an id no filing has."""
    response = signed_in("viewer").get("/filings/abc")
    assert response.status_code == 404
    assert "<strong>no such filing &#39;abc&#39;</strong>" in response.text


def test_an_entity_page_for_an_id_out_of_range_is_not_found(
    signed_in: Callable[[str], TestClient],
) -> None:
    response = signed_in("viewer").get("/entities/0")
    assert response.status_code == 404
    assert "<strong>no such entity &#39;0&#39;</strong>" in response.text


def test_a_page_address_with_a_part_no_page_has_is_not_found(
    signed_in: Callable[[str], TestClient],
) -> None:
    response = signed_in("viewer").get("/filings/1/drafts/x")
    assert response.status_code == 404
    assert "no such page &#39;/filings/1/drafts/x&#39;" in response.text


def test_a_filing_id_that_is_no_number_in_the_api_is_refused_as_input(api: Api) -> None:
    """A client built the address: which parameter is wrong, and how, in the error shape."""
    response = api.get("/api/v1/filings/abc")
    assert (response.status_code, response.json()["message"]) == (
        422,
        "request refused: path.filing_id: must be a whole number written in digits",
    )


def test_an_error_page_offers_sign_in_to_someone_signed_out(client: TestClient) -> None:
    page = client.get("/no-such-page").text
    assert 'href="/login"' in page and 'aria-label="Console"' not in page


def test_an_unknown_filing_in_the_api_is_json(api: Api) -> None:
    response = api.get("/api/v1/filings/12345")
    assert response.headers["content-type"].startswith("application/json")
    assert (response.status_code, response.json()["error"]) == (404, "filing_not_found")


def test_an_unknown_api_path_is_json(api: Api) -> None:
    response = api.get("/api/v1/no-such-thing")
    assert response.headers["content-type"].startswith("application/json")
    assert (response.status_code, response.json()["error"]) == (404, "not_found")


def test_an_empty_sign_in_shows_the_form_saying_what_is_missing(client: TestClient) -> None:
    response = client.post("/login", data={"token": ""})
    assert response.status_code == 422 and "Enter your API token" in response.text


def test_a_case_manager_assigns_a_filing_and_finds_it_under_my_filings(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.create(domain="mine.cn")
    response = api.client.put(
        f"/api/v1/filings/{filing['id']}/assignee",
        json={"assignee": "test-case_manager"},
        headers=api.headers,
    )
    assert response.json()["assignee"] == "test-case_manager"
    assert response.json()["version"] == filing["version"]
    assert "mine.cn" in signed_in("case_manager").get("/mine").text


def test_only_a_case_manager_can_be_assigned(api: Api) -> None:
    filing = api.create()
    response = api.client.put(
        f"/api/v1/filings/{filing['id']}/assignee",
        json={"assignee": "test-viewer"},
        headers=api.headers,
    )
    assert (response.status_code, response.json()["reasons"][0]["code"]) == (
        422,
        "unknown_assignee",
    )


def test_the_token_up_prints_for_its_own_run_cannot_be_given_work(
    api: Api, session: Session
) -> None:
    replace_tokens_named(session, UP_TOKEN_NAME, Role.ADMIN)
    filing = api.create()
    response = api.client.put(
        f"/api/v1/filings/{filing['id']}/assignee",
        json={"assignee": UP_TOKEN_NAME},
        headers=api.headers,
    )
    assert (response.status_code, response.json()["reasons"][0]["code"]) == (
        422,
        "unknown_assignee",
    )


def test_the_assign_form_sets_the_assignee(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.create()
    browser = signed_in("case_manager")
    token = form_token(browser.get(f"/filings/{filing['id']}").text)
    browser.post(
        f"/filings/{filing['id']}/assignee", data={"form_token": token, "assignee": "test-ops"}
    )
    assert api.get(f"/api/v1/filings/{filing['id']}").json()["assignee"] == "test-ops"


def _assign(api: Api, filing_id: int, assignee: str | None) -> dict[str, Any]:
    response = api.client.put(
        f"/api/v1/filings/{filing_id}/assignee", json={"assignee": assignee}, headers=api.headers
    )
    assert response.status_code == 200, response.text
    given: dict[str, Any] = response.json()
    return given


def test_each_assignment_is_recorded_with_whom_it_was_taken_from_and_by_whom(api: Api) -> None:
    filing = api.create()
    _assign(api, filing["id"], "test-case_manager")
    _assign(api, filing["id"], "test-case_manager")  # given again to the same: nothing new
    _assign(api, filing["id"], None)

    given = api.get(f"/api/v1/filings/{filing['id']}/assignments").json()

    assert [(a["assignee"], a["previous"], a["actor"]) for a in given] == [
        ("test-case_manager", None, "token:test-case_manager"),
        (None, "test-case_manager", "token:test-case_manager"),
    ]
    assert api.get(f"/api/v1/filings/{filing['id']}").json()["version"] == filing["version"]


def test_the_filing_page_lists_its_assignments(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.create()
    _assign(api, filing["id"], "test-ops")
    page = signed_in("viewer").get(f"/filings/{filing['id']}").text
    [row] = re.findall(r'<tr class="assignment">(.*?)</tr>', page, re.S)
    assert "test-ops" in row and "token:test-case_manager" in row


def test_the_list_searches_by_domain_prefix_applicant_and_icp_number(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    api.create(domain="alpha.cn")
    api.create(domain="beta.cn")
    api.drive("approved", domain="gamma.cn")
    browser = signed_in("viewer")
    assert re.findall(r"\w+\.cn", browser.get("/filings?domain=al").text).count("alpha.cn") == 1
    assert "beta.cn" not in browser.get("/filings?domain=al").text
    by_number = browser.get("/filings", params={"icp_number": "京ICP备2026000123"}).text
    assert "gamma.cn" in by_number and "alpha.cn" not in by_number
    assert browser.get("/filings?applicant=example+ltd").text.count('class="filing') == 3


def test_a_domain_search_finds_a_domain_however_either_is_typed(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    created = api.create(domain="ｅｘａｍｐｌｅ.cn")
    api.create(domain="例子.中国")
    browser = signed_in("viewer")

    assert created["domain"] == "example.cn"
    assert "example.cn" in browser.get("/filings", params={"domain": "ＥＸＡＭ"}).text
    by_punycode = api.client.get(
        "/api/v1/filings", params={"domain": "xn--fsqu00a"}, headers=api.headers
    ).json()
    assert [f["domain"] for f in by_punycode["items"]] == ["例子.中国"]


def test_a_domain_search_is_shown_in_domain_order_until_another_is_chosen(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    api.create(domain="site120.cn")
    api.create(domain="site12.cn")
    browser = signed_in("viewer")

    searched = browser.get("/filings?domain=site12").text
    chosen = browser.get("/filings?domain=site12&sort=id").text

    assert re.findall(r"site12\d*\.cn", searched)[:2] == ["site12.cn", "site120.cn"]
    assert re.search(r'<th scope="col" aria-sort="ascending">\s*<a[^>]*>Domain', searched)
    assert re.findall(r"site12\d*\.cn", chosen)[:2] == ["site120.cn", "site12.cn"]


def test_the_list_ignores_empty_fields_and_refuses_an_unknown_state(
    signed_in: Callable[[str], TestClient],
) -> None:
    browser = signed_in("viewer")
    assert browser.get("/filings?domain=&state=&min_days=&province=").status_code == 200
    assert browser.get("/filings?state=nonsense").status_code == 422


def test_the_list_refuses_more_days_in_state_than_dates_can_go_back(
    signed_in: Callable[[str], TestClient],
) -> None:
    assert signed_in("viewer").get("/filings?min_days=99999999").status_code == 422


@pytest.mark.parametrize("path", ["/filings", "/stuck", "/overdue", "/mine", "/failed"])
def test_a_page_number_past_what_offsets_reach_is_a_422_page_naming_it(
    signed_in: Callable[[str], TestClient], path: str
) -> None:
    answer = signed_in("ops").get(f"{path}?page=99999999999999999999")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "page" in answer.text[answer.text.index('role="alert"') :].lower()


@pytest.mark.parametrize("field", ["domain", "applicant", "icp_number"])
def test_search_text_with_a_control_character_is_refused_beside_its_field(
    signed_in: Callable[[str], TestClient], field: str
) -> None:
    answer = signed_in("viewer").get(f"/filings?{field}=a%00b")
    assert answer.status_code == 422
    assert "no control or invisible characters" in said_beside(answer.text, "search", field)


@pytest.mark.parametrize(
    ("path", "field", "words"),
    [
        ("/filings?min_days=abc", "min_days", "must be a whole number 须为整数"),
        ("/filings?min_days=-1", "min_days", "must be 0 or more 不能小于 0"),
        ("/filings?min_days=-0", "min_days", "must be written without a sign 数字不带正负号"),
        (
            "/overdue?within_hours=-0",
            "within_hours",
            "must be written without a sign 数字不带正负号",
        ),
        ("/stuck?overdue=maybe", "overdue", "must be true or false 须为 true 或 false"),
        ("/overdue?within_hours=x", "within_hours", "must be a whole number 须为整数"),
        ("/duties?kind=bad", "kind", "must be one of those offered 须为所列选项之一"),
    ],
)
def test_a_refused_search_says_why_in_plain_words_beside_its_field(
    signed_in: Callable[[str], TestClient], path: str, field: str, words: str
) -> None:
    answer = signed_in("viewer").get(path)
    assert answer.status_code == 422 and words in said_beside(answer.text, "search", field)


def test_a_refused_search_comes_back_as_it_was_typed(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("viewer").get("/filings?min_days=abc&domain=shop&state=submitted").text
    assert 'name="min_days" value="abc"' in page and 'name="domain" value="shop"' in page
    assert '<option value="submitted" selected>' in page


def test_a_refused_search_lists_nothing_and_says_it_was_not_run(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    api.create()
    page = signed_in("viewer").get("/filings?min_days=-1").text
    assert 'class="filing' not in page and "Nothing was searched" in page


@pytest.mark.parametrize("path", ["/filings", "/overdue", "/stuck", "/duties"])
def test_a_province_the_rules_do_not_know_is_refused_beside_its_field_in_both_languages(
    signed_in: Callable[[str], TestClient], path: str
) -> None:
    answer = signed_in("ops").get(f"{path}?province=ZZ")
    said = said_beside(answer.text, "search", "province")
    assert answer.status_code == 422
    assert said == "Province 省份: must be one of the provinces offered 须为所列省份之一"


@pytest.mark.parametrize("path", ["/filings", "/overdue"])
def test_a_search_refused_for_its_province_is_headed_as_every_refused_search(
    signed_in: Callable[[str], TestClient], path: str
) -> None:
    page = signed_in("viewer").get(f"{path}?province=ZZ").text
    refusal = page[page.index('id="refused"') :].split("</div>")[0]
    assert "Search refused 搜索未通过" in refusal and "is not a province" not in refusal


def _province_filter(page: str) -> str:
    found = re.search(r'<select name="province"[^>]*>.*?</select>', page, re.DOTALL)
    assert found, "the province filter is not a drop-down"
    return found.group(0)


@pytest.mark.parametrize("path", ["/filings", "/overdue", "/stuck", "/duties"])
def test_each_lists_province_filter_offers_every_province_the_opening_form_does(
    path: str, signed_in: Callable[[str], TestClient]
) -> None:
    choice = _province_filter(signed_in("viewer").get(path).text)
    offered = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', choice)
    provinces = rules_for(get_settings()).provinces.values()
    assert offered == [
        ("", "any 全部"),
        *((p.char, f"{p.char} {p.name_zh} {p.name_en}") for p in provinces),
    ]
    assert "selected" not in choice


@pytest.mark.parametrize("path", ["/filings", "/overdue", "/stuck", "/duties"])
def test_a_link_with_a_province_shows_it_chosen(
    path: str, signed_in: Callable[[str], TestClient]
) -> None:
    choice = _province_filter(signed_in("viewer").get(f"{path}?province=京").text)
    assert re.findall(r'<option value="([^"]*)" selected>', choice) == ["京"]


def test_a_link_with_a_provinces_other_name_shows_the_province_it_filters_by_chosen(
    signed_in: Callable[[str], TestClient],
) -> None:
    """蜀 filters by 川: shown unchosen, the next search would drop the province."""
    choice = _province_filter(signed_in("viewer").get("/filings?province=蜀").text)
    assert re.findall(r'<option value="([^"]*)" selected>', choice) == ["川"]


def test_a_link_with_a_province_lists_that_provinces_filings_only(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    beijing, shanghai = api.create(province="京"), api.create(province="沪")
    page = signed_in("viewer").get("/filings?province=京").text
    assert f'href="/filings/{beijing["id"]}"' in page
    assert f'href="/filings/{shanghai["id"]}"' not in page


def test_every_pipeline_count_links_to_its_filings(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    api.create()
    page = signed_in("viewer").get("/").text
    assert 'href="/filings?state=domain_registered" data-state="domain_registered">1<' in page


def test_the_pipeline_of_one_order_kind_counts_and_links_that_kind_only(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filed = api.drive("approved", domain="one.cn")
    body = order_on("change", filed["entity_id"], filed["service_id"])
    assert api.client.post("/api/v1/orders", json=body, headers=api.headers).status_code == 201
    page = signed_in("viewer").get("/?kind=change").text
    assert 'href="/filings?state=approved&amp;kind=change" data-state="approved">0<' in page
    assert 'href="/filings?state=draft&amp;kind=change" data-state="draft">1<' in page
    everything = signed_in("viewer").get("/").text
    assert 'href="/filings?state=approved" data-state="approved">1<' in everything
    listed = signed_in("viewer").get("/filings?kind=change").text
    assert "1 filing matches" in listed and '<option value="change" selected>' in listed


def test_a_pipeline_of_an_order_kind_not_offered_is_refused_beside_the_choice(
    signed_in: Callable[[str], TestClient],
) -> None:
    answer = signed_in("viewer").get("/?kind=bad")
    assert answer.status_code == 422
    assert "must be one of those offered 须为所列选项之一" in said_beside(
        answer.text, "search", "kind"
    )


def test_a_refused_pipeline_counts_nothing_but_keeps_the_totals(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    api.create()
    page = signed_in("viewer").get("/?kind=bad").text
    assert "data-state=" not in page and 'class="pipeline"' not in page
    assert "Nothing was searched" in page and 'id="duties-count"' in page


def test_the_whole_pipeline_tells_each_states_order_kinds_apart(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filed = api.drive("approved", domain="one.cn")
    body = order_on("cancel_entity", filed["entity_id"], filed["service_id"])
    opened = api.client.post("/api/v1/orders", json=body, headers=api.headers).json()
    api.step(opened, "submit", {"materials": ["cancellation_request"]})
    api.drive("submitted", domain="two.cn")
    page = signed_in("viewer").get("/").text
    assert (
        '<a href="/filings?state=submitted&amp;kind=first_filing" data-kind="first_filing">'
        'first_filing 首次备案 1</a> · <a href="/filings?state=submitted&amp;kind=cancel_entity" '
        'data-kind="cancel_entity">cancel_entity 注销主体 1</a></td>'
    ) in page


def test_the_pipeline_says_what_each_state_means_in_english_and_chinese(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("viewer").get("/").text
    meanings = re.findall(r'<td data-label="Meaning 说明" class="muted">([^<]*)</td>', page)
    assert (
        "MIIT sent its SMS: every listed person answers within 24 h of it. "
        "工信部已发送核验短信：每位需核验的负责人须在24小时内完成核验。"
    ) in [html.unescape(m) for m in meanings]


def test_the_pipeline_of_one_order_kind_names_it_in_english_and_chinese(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("viewer").get("/?kind=change").text
    assert "<h2>By state 各状态数量 · change 变更备案</h2>" in page


def test_the_state_counts_say_how_many_of_each_order_kind(
    api: Api, session: Session, clock: FrozenClock
) -> None:
    filed = api.drive("approved", domain="one.cn")
    body = order_on("change", filed["entity_id"], filed["service_id"])
    api.client.post("/api/v1/orders", json=body, headers=api.headers)
    counts = {c.state.value: c for c in held_up.state_counts(session, clock.now())}
    assert (counts["draft"].count, counts["draft"].by_kind) == (1, {"change": 1})
    assert counts["approved"].by_kind == {"first_filing": 1}
    assert counts["submitted"].by_kind == {}


def test_late_work_shows_one_row_per_filing_with_how_late(
    api: Api, signed_in: Callable[[str], TestClient], clock: FrozenClock
) -> None:
    api.drive("submitted", domain="late.cn")
    clock.advance(timedelta(days=60))
    page = signed_in("ops").get("/overdue").text
    assert page.count('class="overdue-item"') == 1 and "d overdue" in page
    assert "Idle reminder" not in page


def test_late_work_names_each_deadline_in_english_and_chinese(
    api: Api, signed_in: Callable[[str], TestClient], clock: FrozenClock
) -> None:
    api.drive("submitted", domain="late.cn")
    clock.advance(timedelta(days=7))
    page = signed_in("ops").get("/overdue").text
    [late] = re.findall(r'<td data-label="Deadline 期限">([^<]*)<span', page)
    assert late == "Host review due 接入商初审到期 "


def test_late_work_says_what_each_deadline_means_in_english_and_chinese(
    api: Api, signed_in: Callable[[str], TestClient], clock: FrozenClock
) -> None:
    api.drive("submitted", domain="late.cn")
    clock.advance(timedelta(days=7))
    page = signed_in("ops").get("/overdue").text
    assert "past it, it is overdue. 接入商初审到期，逾期即为超时。</span>" in page


def test_late_work_offers_each_deadline_to_filter_by_in_english_and_chinese(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("ops").get("/overdue").text
    assert '<option value="miit_sla_breach">MIIT SLA breach 管局审核超时升级</option>' in page


def test_the_api_history_masks_numbers_quoted_in_a_reason(api: Api) -> None:
    filing = api.step(api.create(), "withdraw", {"reason": "call 13800138000"})
    history = api.get(f"/api/v1/filings/{filing['id']}/history").json()
    assert history[-1]["reason"] == "call 138****8000"
    assert history[-1]["data"]["reason"] == "call 138****8000"


def test_past_the_counted_total_the_pager_offers_the_next_page_of_a_full_page(
    signed_in: Callable[[str], TestClient], api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "COUNTED_UP_TO", 1)
    monkeypatch.setattr(console, "PAGE_SIZE", 1)
    for n in range(3):
        api.create(domain=f"site{n}.cn")

    page = signed_in("viewer").get("/filings?page=2").text

    assert "1+ in all" in page and 'rel="next"' in page


def test_a_page_past_the_last_says_so_and_links_to_the_last(
    signed_in: Callable[[str], TestClient], api: Api
) -> None:
    api.create()

    page = signed_in("viewer").get("/filings?page=99").text

    assert "Past the last page" in page and "Page 99 of 1" not in page
    assert 'page=1" rel="prev"' in page


@pytest.mark.parametrize("path", ["/filings", "/stuck", "/overdue", "/mine"])
def test_a_list_past_its_last_page_says_so_not_that_nothing_matches(
    signed_in: Callable[[str], TestClient], api: Api, path: str
) -> None:
    api.create()

    page = signed_in("case_manager").get(f"{path}?page=99").text

    assert "Past the last page: go back a page" in page
    assert "Nothing " not in page


def test_a_failed_footer_check_is_shown_with_its_service_and_a_retry(
    signed_in: Callable[[str], TestClient], session: Session, clock: FrozenClock
) -> None:
    check = FooterCheck(service_id=4, obligation_id=9)
    failures.record_failed_job(session, Job.CHECK_FOOTER, check, "no such table", 4, clock.now())
    session.commit()
    page = signed_in("ops").get("/failed").text
    assert re.search(
        r"check_footer 底部备案号检查\s*<span[^>]*>service_id 4 · obligation_id 9</span>", page
    )
    assert (
        'aria-label="Retry 重试 check_footer 底部备案号检查 service_id 4 · obligation_id 9"' in page
    )


def test_the_pipeline_counts_the_deliveries_being_retried_linking_ops_to_them(
    signed_in: Callable[[str], TestClient], retrying_delivery: Notification
) -> None:
    page = signed_in("ops").get("/").text

    assert '<a href="/failed#retrying" class="warn" id="retrying-count">1 delivery retrying' in page


def test_the_failed_jobs_page_lists_the_deliveries_being_retried(
    signed_in: Callable[[str], TestClient], retrying_delivery: Notification
) -> None:
    page = signed_in("ops").get("/failed").text

    [row] = re.findall(r'<tr class="retrying">(.*?)</tr>', page, re.DOTALL)
    assert f'<a href="/filings/{retrying_delivery.filing_id}">' in row
    assert f"webhook:{retrying_delivery.recipient}" in row
    assert re.search(r">\s*4 of 11\s*</td>", row) and "webhook answered HTTP 501" in row
    assert ">in 40 s</td>" in row


def test_the_failed_jobs_page_names_a_retrying_deliverys_filing_by_its_domain_and_notice_by_its_event(
    signed_in: Callable[[str], TestClient], session: Session, retrying_delivery: Notification
) -> None:
    filing = session.get_one(Filing, retrying_delivery.filing_id)
    session.commit()  # end the read: SQLite's sign-in writes from the app's connection

    page = signed_in("ops").get("/failed").text

    [row] = re.findall(r'<tr class="retrying">(.*?)</tr>', page, re.DOTALL)
    assert f'<a href="/filings/{filing.id}">#{filing.id}</a> {filing.domain}</td>' in row
    assert f">{retrying_delivery.kind} <span" not in row  # named as the event, not by its key


def test_the_filing_page_says_a_delivery_being_retried_its_attempt_of_how_many_and_next_try(
    signed_in: Callable[[str], TestClient], retrying_delivery: Notification
) -> None:
    page = signed_in("viewer").get(f"/filings/{retrying_delivery.filing_id}").text

    assert '<span class="warn">retrying 重试中</span>' in page
    assert (
        "retrying 重试中: attempt 4 of 11, failing since "
        "2026-03-02 10:00 Beijing, next try in 40 s, last error: webhook answered HTTP 501, "
        "waiting since 2026-03-02 10:00 Beijing"
    ) in shown_text(page)


def test_the_failed_jobs_page_claims_no_next_try_it_does_not_know(
    signed_in: Callable[[str], TestClient], unscheduled_retry: Notification
) -> None:
    page = signed_in("ops").get("/failed").text

    [row] = re.findall(r'<tr class="retrying">(.*?)</tr>', page, re.DOTALL)
    assert '<td data-label="Next try 下次重试">not known 未知</td>' in row


def test_the_filing_page_claims_no_next_try_it_does_not_know(
    signed_in: Callable[[str], TestClient], unscheduled_retry: Notification
) -> None:
    page = signed_in("viewer").get(f"/filings/{unscheduled_retry.filing_id}").text

    assert "failing since 2026-03-02 10:00 Beijing, next try not known 未知, last error:" in (
        shown_text(page)
    )


def _failed_delivery(session: Session, clock: FrozenClock, new_filing: MakeFiling) -> FilingOut:
    """A withdrawn filing whose notice of the withdrawal failed for good."""
    filing = new_filing("withdrawn")
    notification = session.exec(select(Notification)).first()
    assert notification is not None and notification.id is not None
    failures.record_final_failure(session, notification.id, "SMTP refused", clock.now())
    session.commit()
    return filing


def test_a_failed_delivery_is_listed_by_the_event_it_told_of_in_both_languages(
    signed_in: Callable[[str], TestClient],
    session: Session,
    clock: FrozenClock,
    new_filing: MakeFiling,
) -> None:
    _failed_delivery(session, clock, new_filing)
    page = signed_in("ops").get("/failed").text
    assert re.search(r'<td data-label="Job 任务">Withdraw 撤回订单 <span', page)


def test_a_failed_delivery_is_listed_with_its_filings_domain(
    signed_in: Callable[[str], TestClient],
    session: Session,
    clock: FrozenClock,
    new_filing: MakeFiling,
) -> None:
    filing = _failed_delivery(session, clock, new_filing)
    page = signed_in("ops").get("/failed").text
    [row] = re.findall(r'<tr class="failed">(.*?)</tr>', page, re.DOTALL)
    assert f'<a href="/filings/{filing.id}">#{filing.id}</a> {filing.domain}</td>' in row


def test_a_failed_deliverys_retry_button_is_named_by_its_words_and_the_filing_its_row_shows(
    signed_in: Callable[[str], TestClient],
    session: Session,
    clock: FrozenClock,
    new_filing: MakeFiling,
) -> None:
    """WCAG 2.5.3: the name starts with what the button shows, then says what it retries."""
    filing = _failed_delivery(session, clock, new_filing)
    page = signed_in("ops").get("/failed").text
    label = f"Retry 重试 #{filing.id} {filing.domain} Withdraw 撤回订单"
    assert f'<button type="submit" aria-label="{label}">Retry 重试</button>' in page


def test_a_retried_job_is_said_to_be_queued_again_once_its_row_is_gone(
    signed_in: Callable[[str], TestClient],
    session: Session,
    clock: FrozenClock,
    new_filing: MakeFiling,
) -> None:
    filing = _failed_delivery(session, clock, new_filing)
    client = signed_in("ops")
    job = re.findall(r'action="/failed/(\d+)/retry"', client.get("/failed").text)[0]
    page = client.post(f"/failed/{job}/retry", data={"form_token": form_token_of(client)}).text
    [said] = re.findall(r'<p role="status" class="ok" id="queued-again">(.*?)</p>', page, re.S)
    assert "Queued again 已重新排队" in said and f"#{filing.id}</a> {filing.domain}" in said


def test_a_filings_failed_notice_is_named_by_the_event_it_told_of_in_both_languages(
    signed_in: Callable[[str], TestClient],
    session: Session,
    clock: FrozenClock,
    new_filing: MakeFiling,
) -> None:
    filing = _failed_delivery(session, clock, new_filing)
    page = signed_in("viewer").get(f"/filings/{filing.id}").text
    notices = page.split('id="failed-notices"')[1].split("</div>")[0]
    assert "Withdraw 撤回订单 → log: SMTP refused" in notices


def test_a_filings_one_failed_notice_is_counted_in_the_singular(
    signed_in: Callable[[str], TestClient],
    session: Session,
    clock: FrozenClock,
    new_filing: MakeFiling,
) -> None:
    filing = _failed_delivery(session, clock, new_filing)
    page = signed_in("viewer").get(f"/filings/{filing.id}").text
    assert "<strong>1 notification failed 通知发送失败</strong>" in page


def test_the_filing_page_shows_a_delivery_ops_retried_as_queued_again_its_error_the_last_run_s(
    signed_in: Callable[[str], TestClient], retried_delivery: Notification
) -> None:
    page = signed_in("viewer").get(f"/filings/{retried_delivery.filing_id}").text

    assert "retrying 重试中" not in page
    assert (
        "queued again 已重新排队, previous run's error 上一轮错误: webhook answered HTTP 501"
    ) in page


def test_a_reminder_sent_reads_as_ago_on_the_filing_page_not_overdue(
    api: Api, signed_in: Callable[[str], TestClient], clock: FrozenClock
) -> None:
    filing = api.drive("sms_pending")
    clock.advance(timedelta(hours=1))
    page = signed_in("viewer").get(f"/filings/{filing['id']}").text
    [reminder] = re.findall(r'<td data-label="When 剩余" class="([a-z]*)">1 h ago</td>', page)
    assert reminder == "" and "overdue" not in page.split("<h2>Deadlines")[1].split("</table>")[0]


def test_a_stuck_deadline_passed_reads_as_stuck_on_the_filing_page_not_overdue(
    api: Api, signed_in: Callable[[str], TestClient], clock: FrozenClock
) -> None:
    """Stuck (idle in its state too long) and overdue (past a deadline with a limit of its
    own) are two flags: a filing only stuck is not called overdue anywhere on its page."""
    filing = api.create()
    clock.advance(timedelta(days=15))  # past the stuck threshold; no deadline of its own passed
    page = signed_in("viewer").get(f"/filings/{filing['id']}").text
    deadlines = page.split("<h2>Deadlines")[1].split("</table>")[0]
    assert re.search(r'class="bad">[^<]+ stuck</td>', deadlines)
    assert "overdue" not in deadlines


def _standing(page: str) -> str:
    """What the filing's page says of its deadlines at its top, under its heading."""
    top = page.split("</h1>")[1].split("<h2")[0]
    return top[top.index('id="standing"') :].split("</ul>")[0]


def test_a_late_filings_page_says_at_its_top_what_it_is_past_since_when_and_what_is_next(
    api: Api, signed_in: Callable[[str], TestClient], clock: FrozenClock
) -> None:
    """Sent back and left: stuck, past the escalation and lapsing in 4 days, said above the
    sent-back note and the forms, not only in the Deadlines table at the foot of the page."""
    filing = api.drive("host_returned")
    clock.advance(timedelta(days=41))
    page = signed_in("viewer").get(f"/filings/{filing['id']}").text
    standing = _standing(page)
    escalation, lapse = DEADLINES_BY_KIND["idle_escalation"], DEADLINES_BY_KIND["idle_lapse"]
    assert f"<strong>{Flag.STUCK.label.capitalize()}</strong>: 32 d stuck · due 到期" in standing
    assert (
        f"<strong>{Flag.OVERDUE.label.capitalize()}</strong>: {escalation.label}, 1 d overdue"
        in standing
    )
    assert f"Next 下一期限: {lapse.label} due in 4 d" in standing
    assert page.index('id="standing"') < page.index('id="refusal"')


def test_a_filing_in_good_order_shows_at_its_top_its_next_deadline_only(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.drive("sms_pending")
    standing = _standing(signed_in("viewer").get(f"/filings/{filing['id']}").text)
    assert f"Next 下一期限: {DEADLINES_BY_KIND['sms_expiry'].label} due in 1 d" in standing
    assert 'class="bad"' not in standing and "overdue" not in standing
    assert "stuck" not in standing.lower() and "reminder" not in standing


def test_the_console_names_the_overdue_flag_as_the_api_and_the_cli_do(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("viewer").get("/").text
    assert f'<a href="/overdue">{Flag.OVERDUE.label.capitalize()}</a>' in page
    assert f">0 {Flag.OVERDUE.label}</a>" in page
    assert "late 逾期" not in page.lower()


def test_the_overdue_page_is_titled_overdue_as_the_menu_names_it_not_late_work(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("viewer").get("/overdue").text
    named = Flag.OVERDUE.label.capitalize()
    assert f'<a href="/overdue">{named}</a>' in page
    assert f"<title>{named} · icpflow</title>" in page and f"<h1>{named}</h1>" in page
    assert "late work" not in page.lower() and "how late" not in page.lower()


def test_the_filings_search_offers_the_overdue_flag_by_its_name(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("viewer").get("/filings").text
    assert f">{Flag.OVERDUE.label} only</option>" in page
    assert f">not {Flag.OVERDUE.label}</option>" in page


def test_the_filing_page_shows_who_must_answer_the_sms_and_their_wrong_codes_so_far(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.step(api.drive("sms_pending"), "sms_wrong_entry", {"verifier": "entity"})
    page = signed_in("viewer").get(f"/filings/{filing['id']}").text
    rows = page[page.index('id="sms"') :].split("</table>")[0].split('<tr class="verifier">')[1:]
    entity = next(row for row in rows if "主体负责人<" in row)
    assert "1 of 5" in entity and "pending" in entity and "****" in entity


def _hint(page: str, input_id: str) -> str:
    return page.split(f'id="{input_id}-hint">')[1].split("</span>")[0]


def test_a_fields_hint_says_the_figure_this_install_sets_not_the_settings_name(
    api: Api, signed_in: Callable[[str], TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SMS time's hint is worded as the form's description is: with the window in force."""
    filing = api.drive("host_pre_approved")
    monkeypatch.setenv("SMS_WINDOW_HOURS", "36")
    get_settings.cache_clear()
    page = signed_in("case_manager").get(f"/filings/{filing['id']}").text
    hint = _hint(page, "event-sms_sent-sent_at")
    assert hint.endswith("the 36 h window runs from it") and "SMS_WINDOW_HOURS" not in hint


def _sms_results(page: str) -> list[str]:
    """The Result column of the filing page's SMS table, row by row."""
    return re.findall(r'<td data-label="Result 结果" class="[a-z]*">([^<]*)</td>', page)


def test_a_verifier_before_miits_sms_is_said_not_sent_not_pending(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.drive("submitted")
    page = signed_in("viewer").get(f"/filings/{filing['id']}").text
    assert _sms_results(page) == ["not sent 短信未发送"]


def test_a_verifier_once_the_sms_is_sent_is_said_pending_in_both_languages(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.drive("sms_pending")
    page = signed_in("viewer").get(f"/filings/{filing['id']}").text
    assert _sms_results(page) == ["pending 待核验"]


def test_a_verifier_of_an_order_resubmitted_after_its_sms_round_is_said_not_sent_again(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    """Verified, then rejected by the bureau and resubmitted: the next round's SMS is to come."""
    filing = api.step(api.drive("rejected"), "resubmit", {"materials": ORG_MATERIALS})
    page = signed_in("viewer").get(f"/filings/{filing['id']}").text
    assert _sms_results(page) == ["not sent 短信未发送"]


def test_a_verifier_whose_round_ended_in_failure_is_said_failed_until_the_order_is_resubmitted(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.drive("sms_pending")
    for _ in range(5):
        filing = api.step(filing, "sms_wrong_entry", {"verifier": "entity"})
    assert filing["state"] == "host_returned"
    page = signed_in("viewer").get(f"/filings/{filing['id']}").text
    assert _sms_results(page) == ["failed 核验失败"]


def test_a_verifier_is_named_as_whose_responsible_person_in_both_languages(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.drive("sms_pending")
    page = signed_in("viewer").get(f"/filings/{filing['id']}").text
    whose = re.findall(r'<td data-label="Whose 核验人">([^<]*)</td>', page)
    assert [html.unescape(w) for w in whose] == ["Entity's responsible person 主体负责人"]


def test_the_sms_answer_forms_offer_only_the_people_still_to_answer(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    """A first filing whose website names no person of its own: the entity's answers alone."""
    filing = api.drive("sms_pending")
    listed = api.get(f"/api/v1/filings/{filing['id']}/verifiers").json()
    assert [v["role"] for v in listed] == ["entity"]
    page = signed_in("case_manager").get(f"/filings/{filing['id']}").text
    for event in ("verify_sms", "sms_wrong_entry"):
        form = page.split(f'id="event-{event}"')[1].split("</form>")[0]
        assert re.findall(r'<option value="([a-z]+)">', form) == ["entity"]


def test_the_sms_answer_forms_offer_each_person_by_whose_in_both_languages(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.drive("sms_pending")
    page = signed_in("case_manager").get(f"/filings/{filing['id']}").text
    form = page.split('id="event-verify_sms"')[1].split("</form>")[0]
    offered = re.findall(r'<option value="entity">([^<]*)</option>', form)
    assert [html.unescape(o) for o in offered] == ["Entity's responsible person 主体负责人"]


def _heading(page: str, form_id: str) -> str:
    """What a form says above its inputs: its title and where it leads."""
    form = page.split(f'id="{form_id}"')[1].split("</form>")[0]
    return form.split("<p>")[1].split("<br>")[0]


def test_an_event_forms_title_names_the_event_in_english_and_chinese(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.create()
    page = signed_in("case_manager").get(f"/filings/{filing['id']}").text
    heading = _heading(page, "event-bind_service_number")
    assert heading == (
        "<strong>Bind service number 绑定备案服务号</strong>"
        " → service_number_bound 已绑定备案服务号"
    )


def test_an_event_forms_description_says_what_it_records_in_english_and_chinese(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    filing = api.drive("host_pre_approved")
    page = signed_in("case_manager").get(f"/filings/{filing['id']}").text
    form = page.split('id="event-sms_sent"')[1].split("</form>")[0]
    described = form.split('<br><span class="muted">')[1].split("</span>")[0]
    assert described == (
        "MIIT sent its SMS: each listed person has 24 h to answer it. "
        "工信部已发送核验短信：每位需核验的负责人须在24小时内完成核验。"
    )


def test_an_sms_answer_form_says_the_order_may_stay_in_the_sms_window(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    """One answer moves the order only when it is the last; one wrong code, only the fifth."""
    filing = api.drive("sms_pending")
    page = signed_in("case_manager").get(f"/filings/{filing['id']}").text
    assert _heading(page, "event-verify_sms").endswith(
        " → miit_pending 管局审核中 or stays 仍为 sms_pending 待短信核验"
    )
    assert _heading(page, "event-sms_wrong_entry").endswith(
        " → host_returned 接入商退回 or stays 仍为 sms_pending 待短信核验"
    )


def test_an_event_leading_to_the_state_it_leaves_is_said_to_keep_the_order_there() -> None:
    staying = replace(EVENTS_BY_NAME["withdraw"], dest=State.SUBMITTED)
    assert forms.leads_to(staying, State.SUBMITTED) == "stays 仍为 submitted 已提交接入商初审"


def test_my_filings_name_what_each_needs_next_as_its_forms_are_titled(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    _assign(api, api.create()["id"], "test-case_manager")
    page = signed_in("case_manager").get("/mine").text
    needs = page.split('<td data-label="Needs next 下一步">')[1].split("</td>")[0]
    assert re.findall(r'<span class="pill">([^<]*)</span>', needs) == [
        "Bind service number 绑定备案服务号"
    ]


def test_my_filings_name_a_pre_approval_not_a_submission_for_an_order_that_needs_one_first(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    clinic = api.drive("service_number_bound", website={"name": "Clinic", "sector": "healthcare"})
    _assign(api, clinic["id"], "test-case_manager")
    page = signed_in("case_manager").get("/mine").text
    needs = page.split('<td data-label="Needs next 下一步">')[1].split("</td>")[0]
    assert re.findall(r'<span class="pill">([^<]*)</span>', needs) == [
        "Request pre approval 申请前置审批"
    ]


def test_my_filings_come_nearest_deadline_first_those_without_one_last(
    api: Api, signed_in: Callable[[str], TestClient], clock: FrozenClock
) -> None:
    """Assigned oldest first: one approved (no deadline), one just opened (its first idle
    reminder a week away), one awaiting its SMS (a reminder within hours)."""
    ids = []
    for state in ("approved", "domain_registered", "sms_pending"):
        ids.append(_assign(api, api.drive(state)["id"], "test-case_manager")["id"])
        clock.advance(timedelta(hours=1))
    approved, opened, awaiting_sms = ids

    page = signed_in("case_manager").get("/mine").text

    listed = [int(i) for i in re.findall(r'<a href="/filings/(\d+)">', page)]
    assert listed == [awaiting_sms, opened, approved]
    assert "the nearest deadline first, those without one last" in page


def test_my_filings_show_the_deadline_ahead_not_a_reminder_already_sent(
    api: Api, signed_in: Callable[[str], TestClient], clock: FrozenClock
) -> None:
    filing = api.drive("sms_pending")  # its 0 h reminder went out as it entered
    api.client.put(
        f"/api/v1/filings/{filing['id']}/assignee",
        json={"assignee": "test-case_manager"},
        headers=api.headers,
    )
    clock.advance(timedelta(hours=1))
    page = signed_in("case_manager").get("/mine").text
    assert "SMS reminder 短信核验提醒: due in 11 h" in page and " ago" not in page


def _sent_back(page: str) -> dict[int, str]:
    """What /mine says sent each filing back, by the filing's number; "" for none."""
    rows = re.findall(
        r'<td data-label="Filing 备案"><a href="/filings/(\d+)">.*?'
        r'<td data-label="State 状态">(.*?)</td>',
        page,
        re.S,
    )
    said = {
        int(filing): re.search(r'<div class="sent-back">(.*?)</div>', cell) for filing, cell in rows
    }
    return {filing: found.group(1) if found else "" for filing, found in said.items()}


def test_my_filings_say_why_each_sent_back_was_returned_or_rejected(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    """The reason of the return as its history has it, numbers masked; none for the others."""
    returned = api.step(
        api.drive("submitted"), "host_return", {"reason": "unsigned form, call 13800138000"}
    )
    rejected, waiting = api.drive("rejected"), api.drive("submitted")
    for filing in (returned, rejected, waiting):
        _assign(api, filing["id"], "test-case_manager")

    page = signed_in("case_manager").get("/mine").text

    assert _sent_back(page) == {
        returned["id"]: "<strong>Sent back 退回原因</strong> (Host return 接入商退回): "
        "unsigned form, call 138****8000",
        rejected["id"]: "<strong>Sent back 退回原因</strong> (MIIT reject 管局驳回): "
        "site name not allowed",
        waiting["id"]: "",
    }


def _next_deadlines(page: str) -> dict[int, str]:
    """Each listed filing's "Next deadline" cell, by the filing's number."""
    return _column(page, "Next deadline 下一期限")


def test_the_filings_list_shows_each_filings_next_deadline_as_its_page_names_it(
    api: Api, signed_in: Callable[[str], TestClient], clock: FrozenClock
) -> None:
    """Late, ahead (its reminder sent is behind it, as /mine says) and none at all."""
    done = api.drive("approved")
    late = api.drive("submitted")
    clock.advance(timedelta(days=7))  # past the host review's working days
    ahead = api.drive("sms_pending")
    clock.advance(timedelta(hours=1))

    page = signed_in("viewer").get("/filings").text

    assert '<th scope="col">Next deadline 下一期限</th>' in page
    host_review = DEADLINES_BY_KIND["host_review_overdue"].label
    sms_reminder = DEADLINES_BY_KIND["sms_reminder"].label
    assert _next_deadlines(page) == {
        done["id"]: "",
        late["id"]: f'<span class="bad">{host_review}: 4 d 1 h overdue</span>',
        ahead["id"]: f'<span class="">{sms_reminder}: due in 11 h</span>',
    }


# A form posted after the session ended: carried through the sign-in, sent with a click.

SAME_SITE = {"Origin": "http://testserver"}


def hidden_inputs(page: str, form: str = 'action="/login"') -> list[tuple[str, str]]:
    """The hidden fields of the page's form starting with ``form``, in order and unescaped,
    as a browser sends them."""
    start = page.index(form)
    found = re.findall(
        r'<input type="hidden" name="([^"]*)" value="([^"]*)"',
        page[start : page.index("</form>", start)],
    )
    return [(html.unescape(name), html.unescape(value)) for name, value in found]


def as_form(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Fields in order, a name repeated as often as sent, as the test client takes them."""
    form: dict[str, list[str]] = {}
    for name, value in fields:
        form.setdefault(name, []).append(value)
    return form


def _lapsed_order(
    console: TestClient, clock: FrozenClock, **typed: str
) -> tuple[Any, list[tuple[str, str]]]:
    """An opening form filled in, then posted once the session has lapsed."""
    page_fields = hidden_inputs(console.get("/filings/new").text, 'id="open-filing"')
    clock.advance(timedelta(hours=get_settings().page_session_hours, seconds=1))
    sent = [*page_fields, *{**FLAT_FILING, **typed}.items()]
    answer = console.post(
        "/filings/new", data=as_form(sent), headers=SAME_SITE, follow_redirects=False
    )
    return answer, sent


def _filings(session: Session) -> int:
    try:
        return len(session.exec(select(Filing.id)).all())
    finally:
        session.rollback()  # a SQLite transaction holds the write lock the app needs


def test_a_form_posted_after_the_sign_in_lapsed_is_sent_once_signed_in_and_clicked(
    signed_in: Callable[[str], TestClient],
    tokens: dict[str, str],
    clock: FrozenClock,
    session: Session,
) -> None:
    console = signed_in("case_manager")
    stale_token = form_token_of(console)

    lapsed, sent = _lapsed_order(console, clock, applicant_name="Ten Minutes Ltd")

    assert lapsed.status_code == 401 and "nothing you typed is lost" in lapsed.text
    carried = hidden_inputs(lapsed.text)
    assert ("send_to", "/filings/new") in carried
    assert ("sent:applicant_name", "Ten Minutes Ltd") in carried
    assert ("sent:phone", FLAT_FILING["phone"]) in carried
    assert stale_token not in lapsed.text and "sent:form_token" not in lapsed.text
    assert _filings(session) == 0

    signing_in = [*carried, ("token", tokens["case_manager"])]
    shown = console.post(
        "/login", data=as_form(signing_in), headers=SAME_SITE, follow_redirects=False
    )

    # Shown to send, not sent: nothing is opened until the person clicks.
    assert shown.status_code == 200 and 'action="/filings/new"' in shown.text
    assert "Ten Minutes Ltd" in shown.text
    assert _filings(session) == 0
    again = hidden_inputs(shown.text, 'id="send-again"')
    assert ("form_token", form_token_of(console)) in again and stale_token not in shown.text
    assert again[1:] == [f for f in sent if f[0] != "form_token"]

    clicked = console.post("/filings/new", data=as_form(again), follow_redirects=False)

    assert clicked.status_code == 303 and clicked.headers["location"].startswith("/filings/")
    assert "Ten Minutes Ltd" in console.get(clicked.headers["location"]).text
    assert _filings(session) == 1


def test_a_lapsed_form_carries_no_secret_and_escapes_what_it_carries(
    signed_in: Callable[[str], TestClient], clock: FrozenClock
) -> None:
    console = signed_in("case_manager")
    typed = {"site_name": '"><script>alert(1)</script>', "token": "icp_secret", "api_key": "k"}

    lapsed, _ = _lapsed_order(console, clock, **typed)

    assert lapsed.status_code == 401
    assert "<script>alert" not in lapsed.text and "icp_secret" not in lapsed.text
    assert "sent:api_key" not in lapsed.text and "sent:token" not in lapsed.text
    assert ("sent:site_name", typed["site_name"]) in hidden_inputs(lapsed.text)


@pytest.mark.parametrize(
    "headers", [{}, {"Origin": "https://elsewhere.example"}, {"Sec-Fetch-Site": "cross-site"}]
)
def test_a_lapsed_form_from_another_site_is_not_carried(
    signed_in: Callable[[str], TestClient], clock: FrozenClock, headers: dict[str, str]
) -> None:
    console = signed_in("case_manager")
    clock.advance(timedelta(hours=get_settings().page_session_hours, seconds=1))

    answer = console.post("/filings/new", data=FLAT_FILING, headers=headers, follow_redirects=False)

    assert (answer.status_code, answer.headers["location"]) == (303, "/login")


@pytest.mark.parametrize(
    ("send_to", "headers"),
    [
        ("//elsewhere.example/filings/new", SAME_SITE),
        ("https://elsewhere.example/filings/new", SAME_SITE),
        ("/api/v1/filings", SAME_SITE),
        ("/logout", SAME_SITE),
        ("/entities/1/orders/.", SAME_SITE),  # a browser would post to /entities/1/orders/
        ("/filings/new", {}),
    ],
)
def test_a_sign_in_carries_a_form_only_from_this_site_to_a_console_form(
    client: TestClient, tokens: dict[str, str], send_to: str, headers: dict[str, str]
) -> None:
    answer = client.post(
        "/login",
        data={"token": tokens["case_manager"], "send_to": send_to, "sent:site_name": "x"},
        headers=headers,
        follow_redirects=False,
    )

    assert (answer.status_code, answer.headers["location"]) == (303, "/")


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://elsewhere.example"},
    ],
)
def test_a_sign_in_posted_from_another_site_is_refused(
    client: TestClient, tokens: dict[str, str], headers: dict[str, str]
) -> None:
    answer = client.post(
        "/login", data={"token": tokens["case_manager"]}, headers=headers, follow_redirects=False
    )

    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers
    assert "sign in from this site&#39;s own sign-in page" in answer.text


def test_a_wrong_token_keeps_carrying_the_form(
    signed_in: Callable[[str], TestClient], clock: FrozenClock
) -> None:
    console = signed_in("case_manager")
    lapsed, _ = _lapsed_order(console, clock, applicant_name="Still Here Ltd")
    carried = hidden_inputs(lapsed.text)

    wrong = console.post("/login", data=as_form([*carried, ("token", "nope")]), headers=SAME_SITE)

    assert wrong.status_code == 401
    assert ("sent:applicant_name", "Still Here Ltd") in hidden_inputs(wrong.text)


def review_rows(page: str) -> list[tuple[str, str]]:
    """What the page showing a carried form lists: each field's label, and what it held."""
    found = re.findall(r'<tr><th scope="row">([^<]*)</th><td>([^<]*)</td>', page)
    return [(html.unescape(label), html.unescape(value)) for label, value in found]


def _signed_in_again(
    console: TestClient, tokens: dict[str, str], lapsed: Any, role: str = "case_manager"
) -> Any:
    """The sign-in the lapsed form's answer offers, with what it carries."""
    signing_in = [*hidden_inputs(lapsed.text), ("token", tokens[role])]
    return console.post("/login", data=as_form(signing_in), headers=SAME_SITE)


def test_a_carried_form_lists_its_fields_by_the_labels_its_form_shows(
    signed_in: Callable[[str], TestClient], tokens: dict[str, str], clock: FrozenClock
) -> None:
    console = signed_in("case_manager")
    lapsed, _ = _lapsed_order(console, clock, applicant_name="Ten Minutes Ltd")

    shown = review_rows(_signed_in_again(console, tokens, lapsed).text)

    assert ("Applicant name 主体名称", "Ten Minutes Ltd") in shown
    assert ("ID number 证件号码", FLAT_FILING["id_number"]) in shown
    assert not [label for label, _ in shown if label in FLAT_FILING]


def test_a_carried_form_shows_a_choice_as_its_form_offered_it(
    signed_in: Callable[[str], TestClient], tokens: dict[str, str], clock: FrozenClock
) -> None:
    console = signed_in("case_manager")
    opening = console.get("/filings/new").text
    offered = re.search(r'<option value="organisation"[^>]*>([^<]*)</option>', opening)
    assert offered is not None
    lapsed, _ = _lapsed_order(console, clock, applicant_type="organisation")

    shown = review_rows(_signed_in_again(console, tokens, lapsed).text)

    assert ("Applicant type 主体类型", html.unescape(offered[1])) in shown
    assert ("Applicant type 主体类型", "organisation") not in shown


def test_a_carried_event_sends_the_version_its_page_was_filled_in_against_unlisted(
    api: Api,
    signed_in: Callable[[str], TestClient],
    tokens: dict[str, str],
    clock: FrozenClock,
) -> None:
    filing = api.create()
    console = signed_in("case_manager")
    page = console.get(f"/filings/{filing['id']}").text
    fields = [*hidden_inputs(page, 'id="event-withdraw"'), ("reason", "client gave up")]
    clock.advance(timedelta(hours=get_settings().page_session_hours, seconds=1))
    lapsed = console.post(
        f"/filings/{filing['id']}/events/withdraw", data=as_form(fields), headers=SAME_SITE
    )

    shown = _signed_in_again(console, tokens, lapsed).text

    assert review_rows(shown) == [("Reason 原因", "client gave up")]
    assert ("expected_version", "1") in hidden_inputs(shown, 'id="send-again"')


def test_a_carried_opening_sends_its_forms_key_unlisted(
    signed_in: Callable[[str], TestClient], tokens: dict[str, str], clock: FrozenClock
) -> None:
    """The key the page gave the form, which opens one filing however often it is sent,
    means nothing to the person: it goes with the form, not in the list of what they typed."""
    console = signed_in("case_manager")
    lapsed, sent = _lapsed_order(console, clock)
    key = dict(sent)["opening_key"]

    shown = _signed_in_again(console, tokens, lapsed).text

    assert key not in [value for _, value in review_rows(shown)]
    assert ("opening_key", key) in hidden_inputs(shown, 'id="send-again"')


@pytest.mark.parametrize(
    ("page", "form", "action", "typed", "label"),
    [
        (
            "/entities/{entity}",
            "order-change",
            "/entities/{entity}/orders/change",
            ("changes.entity_name", "Example Group Ltd"),
            "Entity name 主体名称",
        ),
        (
            "/filings/{filing}",
            "duty-go_live",
            "/filings/{filing}/duties/go_live",
            ("live_on", "2026-03-01"),
            "Live on 上线日期",
        ),
    ],
)
def test_a_carried_order_or_duty_lists_its_fields_by_their_labels(
    on_file: FilingOut,
    session: Session,
    signed_in: Callable[[str], TestClient],
    tokens: dict[str, str],
    clock: FrozenClock,
    page: str,
    form: str,
    action: str,
    typed: tuple[str, str],
    label: str,
) -> None:
    session.rollback()  # a SQLite transaction holds the write lock the app needs
    ids = {"entity": on_file.entity_id, "filing": on_file.id}
    console = signed_in("case_manager")
    hidden = hidden_inputs(console.get(page.format(**ids)).text, f'id="{form}"')
    clock.advance(timedelta(hours=get_settings().page_session_hours, seconds=1))
    lapsed = console.post(action.format(**ids), data=as_form([*hidden, typed]), headers=SAME_SITE)

    shown = review_rows(_signed_in_again(console, tokens, lapsed).text)

    assert (label, typed[1]) in shown


def test_a_form_carried_without_a_file_or_a_secret_says_so_and_is_not_offered_to_send(
    signed_in: Callable[[str], TestClient],
    tokens: dict[str, str],
    clock: FrozenClock,
    session: Session,
) -> None:
    """Sent without them, it would act on part of what was meant: the person fills it in
    again, from what is shown."""
    console = signed_in("case_manager")
    typed = {k: v for k, v in FLAT_FILING.items() if k != "site_name"}
    page_fields = hidden_inputs(console.get("/filings/new").text, 'id="open-filing"')
    clock.advance(timedelta(hours=get_settings().page_session_hours, seconds=1))
    lapsed = console.post(
        "/filings/new",
        data=as_form([*page_fields, *typed.items(), ("password", "hunter2")]),
        files={"site_name": ("site.txt", b"Example site")},
        headers=SAME_SITE,
    )

    shown = _signed_in_again(console, tokens, lapsed)

    unsent = re.findall(r'<strong class="unsent">([^<]*)</strong>', shown.text)
    assert unsent == ["password", "Site name 网站名称"]
    assert "hunter2" not in shown.text
    assert 'action="/filings/new"' not in shown.text and "Send 提交" not in shown.text
    assert 'href="/filings/new" target="_blank"' in shown.text
    assert _filings(session) == 0


def test_a_filings_form_carried_without_a_secret_links_to_the_filings_page(
    api: Api, signed_in: Callable[[str], TestClient], tokens: dict[str, str], clock: FrozenClock
) -> None:
    """The event's own address answers no GET with its form: the filing's page has it."""
    console = signed_in("case_manager")
    filing = FilingOut.model_validate(api.create())
    fields = hidden_inputs(console.get(f"/filings/{filing.id}").text, 'id="event-withdraw"')
    clock.advance(timedelta(hours=get_settings().page_session_hours, seconds=1))
    lapsed = console.post(
        f"/filings/{filing.id}/events/withdraw",
        data=as_form([*fields, ("reason", "client gave up"), ("password", "hunter2")]),
        headers=SAME_SITE,
    )

    shown = _signed_in_again(console, tokens, lapsed)

    assert f'href="/filings/{filing.id}" target="_blank"' in shown.text


def _withdrawal_from_an_earlier_sign_in(
    api: Api, console: TestClient, tokens: dict[str, str], headers: dict[str, str]
) -> tuple[FilingOut, Any]:
    """A withdrawal typed on a filing's page, then posted after signing in again elsewhere
    (another tab): the session is valid, the page's form token is not."""
    filing = FilingOut.model_validate(api.create())
    page = console.get(f"/filings/{filing.id}").text
    fields = [*hidden_inputs(page, 'id="event-withdraw"'), ("reason", "client gave up")]
    console.post("/login", data={"token": tokens["case_manager"]})
    answer = console.post(
        f"/filings/{filing.id}/events/withdraw", data=as_form(fields), headers=headers
    )
    return filing, answer


def test_a_form_of_an_earlier_sign_ins_page_is_shown_to_send_under_the_new_token(
    api: Api, signed_in: Callable[[str], TestClient], tokens: dict[str, str]
) -> None:
    console = signed_in("case_manager")
    filing, answer = _withdrawal_from_an_earlier_sign_in(api, console, tokens, SAME_SITE)

    assert answer.status_code == 403 and "from a page of an earlier sign-in" in answer.text
    assert ("Reason 原因", "client gave up") in review_rows(answer.text)
    assert api.get(f"/api/v1/filings/{filing.id}").json()["state"] == filing.state
    again = hidden_inputs(answer.text, 'id="send-again"')
    assert again[0] == ("form_token", form_token_of(console))

    clicked = console.post(
        f"/filings/{filing.id}/events/withdraw", data=as_form(again), follow_redirects=False
    )

    assert clicked.status_code == 303
    assert api.get(f"/api/v1/filings/{filing.id}").json()["state"] == "withdrawn"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "https://elsewhere.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_form_with_a_stale_token_not_posted_from_this_sites_pages_is_refused_bare(
    api: Api,
    signed_in: Callable[[str], TestClient],
    tokens: dict[str, str],
    headers: dict[str, str],
) -> None:
    console = signed_in("case_manager")
    filing, answer = _withdrawal_from_an_earlier_sign_in(api, console, tokens, headers)

    assert answer.status_code == 403 and "this form is out of date" in answer.text
    assert "client gave up" not in answer.text and 'id="send-again"' not in answer.text
    assert api.get(f"/api/v1/filings/{filing.id}").json()["state"] == filing.state


def test_a_form_with_an_empty_token_is_refused_bare_as_one_without(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    """No page of an earlier sign-in sends an empty token: nothing to review."""
    console = signed_in("case_manager")
    filing = FilingOut.model_validate(api.create())
    answer = console.post(
        f"/filings/{filing.id}/events/withdraw",
        data={"form_token": "", "reason": "client gave up"},
        headers=SAME_SITE,
    )

    assert answer.status_code == 403 and 'id="send-again"' not in answer.text


def test_an_orders_forecast_says_why_it_has_none_with_the_names_the_page_uses(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    """The kind, the province and the state by their labels, not their keys as stored, in
    English then Chinese, the count in the singular or plural it takes."""
    order = api.drive("host_returned")
    page = html.unescape(signed_in("viewer").get(f"/filings/{order['id']}").text)
    [said] = re.findall(r'<p id="forecast" class="muted">(.*?)</p>', page, re.S)
    assert said == (
        "None yet 暂无: 0 completed first_filing 首次备案 orders of 京 北京 Beijing went "
        "through host_returned 接入商退回, fewer than 5, and the statutory limit runs only in "
        "miit_pending 管局审核中. 经过接入商退回的北京已完成首次备案订单 0 个，少于 5 个；"
        "法定时限仅在管局审核中计算。"
    )


def test_a_reminder_listed_with_what_it_reminds_of_is_named_its_reminder_on_the_filing_page(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    """The lapse's row says what lapsing means, in English and Chinese; the reminders above it
    name it, not say it again."""
    order = api.drive("host_returned")
    page = html.unescape(signed_in("viewer").get(f"/filings/{order['id']}").text)
    table = page.split("<h2>Deadlines")[1].split("</table>")[0]
    meanings = [
        meaning.strip()
        for meaning in re.findall(r'<td data-label="Meaning 说明" class="muted">([^<]*)', table)
    ]
    reminders = [d for d in order["deadlines"] if d["kind"] == "idle_reminder"]
    assert meanings.count("Reminder of Idle lapse. 订单失效的提醒。") == len(reminders) >= 1
    assert meanings.count("Escalation to ops ahead of Idle lapse. 订单失效前升级至运维。") == 1
    assert table.count("the host keeps the data") == 1 and table.count("接入商保留资料") == 1


def test_a_source_several_deadlines_cite_is_given_once_under_the_table(
    api: Api, signed_in: Callable[[str], TestClient]
) -> None:
    """The idle reminders and the lapse rest on one host's page: each row points to it as a
    footnote, listed once below the table, not its title in every row."""
    order = api.drive("host_returned")
    page = signed_in("viewer").get(f"/filings/{order['id']}").text
    assert page.count("关于增加备案订单有效期的通知") == 1
    source = DEADLINES_BY_KIND["idle_lapse"].source
    citing = [d for d in order["deadlines"] if d["source"] == source]
    assert len(citing) > 2
    assert page.count('<a href="#deadline-source-1">[1]</a>') == len(citing)
    assert f'<p id="deadline-source-1">[1] Source 来源: {source}</p>' in page


def _said_first(page: str) -> tuple[str, str]:
    """An error page's heading and the sentence under it."""
    found = re.search(r"<h1>(.*?)</h1>\s*<p>(.*?)</p>", page, re.DOTALL)
    assert found, "the page has no heading with a sentence under it"
    return html.unescape(found.group(1)), html.unescape(found.group(2))


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("viewer", "/no-such-page", 404),
        ("case_manager", "/failed", 403),
        ("viewer", "/services/1/recorded?page=abc", 422),
        ("admin", "/failed/1/retry", 405),  # an address that takes only a button's POST
    ],
)
def test_an_error_page_first_says_in_both_languages_what_its_status_means(
    signed_in: Callable[[str], TestClient], role: str, path: str, status: int
) -> None:
    answer = signed_in(role).get(path)
    said = said_for(status)
    assert answer.status_code == status
    assert _said_first(answer.text) == (said.title, said.explained)


@pytest.mark.parametrize(
    "status", sorted(s for s in {*errors.STATUS.values(), *error_pages._NO_ROUTE} if s < 500)
)
def test_every_status_a_person_can_put_right_has_words_of_its_own(status: int) -> None:
    """Below 500 the fault is the request's: the server's advice (tell ops the request
    number) would send a person to ops for a form they can send again."""
    assert said_for(status) != said_for(500)


def test_a_refused_sign_in_says_in_both_languages_what_to_do_before_the_apis_words(
    client: TestClient,
) -> None:
    answer = client.post("/login", data={"token": "not-a-token"})
    alert = re.search(r'<p id="sign-in-error"[^>]*>(.*?)</p>', answer.text, re.DOTALL)
    assert answer.status_code == 401 and alert
    assert html.unescape(alert.group(1)).startswith(said_for(401).explained)
