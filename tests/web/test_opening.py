"""A case manager opens a first filing from the console: the CSV import's fields, read and
judged as the API and the import judge them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from config.clock import get_clock
from config.settings import get_settings
from models import Filing
from tests.factories import (
    FLAT_FILING,
    ORG_MATERIALS,
    PATH_TO,
    limit_said,
    said_beside,
    typable,
)
from workflow.domain.flat import IMPORT_COLUMNS
from workflow.views import describing, history

if TYPE_CHECKING:
    from tests.web.conftest import Api


def _form(console: TestClient) -> dict[str, str]:
    """The hidden fields of a fresh form, as the page gives them."""
    page = console.get("/filings/new").text
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page))


def _open(console: TestClient, hidden: dict[str, str], **fields: str) -> httpx.Response:
    answer: httpx.Response = console.post(
        "/filings/new", data={**hidden, **fields}, follow_redirects=False
    )
    return answer


def _now() -> datetime:
    return get_clock().now()


def _filings(session: Session) -> int:
    try:
        return session.exec(select(func.count()).select_from(Filing)).one()
    finally:
        session.rollback()  # a SQLite transaction holds the write lock the app needs


def test_the_form_asks_every_column_of_an_import_with_the_rules_choices(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("case_manager").get("/filings/new").text

    assert re.findall(r'id="open-filing-([a-z_]+)"', page) == list(IMPORT_COLUMNS)
    assert '<option value="京">京 北京 Beijing</option>' in page
    assert '<input type="date" id="open-filing-domain_expires_on"' in page


def test_a_filled_form_opens_the_filing_and_shows_its_page(
    session: Session, signed_in: Callable[[str], TestClient], tokens: dict[str, str]
) -> None:
    console = signed_in("case_manager")

    answer = _open(console, _form(console), **FLAT_FILING)

    assert answer.status_code == 303
    filing_id = int(answer.headers["location"].rsplit("/", 1)[1])
    [created] = history.history(session, filing_id)
    session.rollback()
    assert (created.event, created.actor) == ("create", "token:test-case_manager")


# 𠀀 (CJK Extension B, met in personal names) is one character to the server and two UTF-16
# code units to a browser's maxlength.
EXTENSION_B = "𠀀"


def test_the_applicant_name_box_takes_the_longest_name_it_says_in_any_characters(
    signed_in: Callable[[str], TestClient],
) -> None:
    console = signed_in("case_manager")
    page = console.get("/filings/new").text
    longest = EXTENSION_B * limit_said(page, "open-filing", "applicant_name")

    answer = _open(console, _form(console), **{**FLAT_FILING, "applicant_name": longest})

    assert typable(page, "applicant_name", longest) and answer.status_code == 303


def test_a_name_longer_than_its_box_says_is_refused_naming_the_box_and_its_limit(
    signed_in: Callable[[str], TestClient],
) -> None:
    console = signed_in("case_manager")
    limit = limit_said(console.get("/filings/new").text, "open-filing", "applicant_name")

    answer = _open(console, _form(console), **{**FLAT_FILING, "applicant_name": "x" * (limit + 1)})

    said = said_beside(answer.text, "open-filing", "applicant_name")
    assert answer.status_code == 422
    assert "Applicant name 主体名称" in said and f"at most {limit} characters" in said


def test_a_refused_form_comes_back_filled_with_every_reason_by_its_label(
    session: Session, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")

    answer = _open(console, _form(console), **{**FLAT_FILING, "applicant_name": "", "phone": "1"})

    assert answer.status_code == 422
    assert "Applicant name 主体名称 is required" in answer.text
    assert "applicant.name" not in answer.text
    assert 'value="example.cn"' in answer.text  # what was typed stays
    assert _filings(session) == 0


def test_a_refused_field_is_marked_with_its_reason_beside_it(
    signed_in: Callable[[str], TestClient],
) -> None:
    console = signed_in("case_manager")

    answer = _open(console, _form(console), **{**FLAT_FILING, "applicant_name": ""})

    assert "is required" in said_beside(answer.text, "open-filing", "applicant_name")


def test_a_form_posted_twice_opens_one_filing(
    session: Session, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")
    hidden = _form(console)

    first = _open(console, hidden, **FLAT_FILING)
    again = _open(console, hidden, **FLAT_FILING)

    assert first.headers["location"] == again.headers["location"]
    assert _filings(session) == 1


def test_a_form_whose_key_was_altered_is_refused(
    session: Session, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")

    answer = _open(console, {**_form(console), "opening_key": "mine"}, **FLAT_FILING)

    assert answer.status_code == 422 and "reload the form" in answer.text
    assert _filings(session) == 0


def test_a_viewer_may_neither_see_nor_post_the_form(
    session: Session, signed_in: Callable[[str], TestClient]
) -> None:
    viewer = signed_in("viewer")
    hidden = dict(re.findall(r'name="(form_token)" value="([^"]+)"', viewer.get("/").text))

    assert viewer.get("/filings/new").status_code == 403
    assert _open(viewer, {**hidden, "opening_key": "0" * 32}, **FLAT_FILING).status_code == 403
    assert _filings(session) == 0


def test_the_filings_list_leads_a_case_manager_to_the_form(
    signed_in: Callable[[str], TestClient],
) -> None:
    assert 'href="/filings/new"' in signed_in("case_manager").get("/filings").text


def test_a_form_that_opened_a_filing_changed_and_sent_again_says_so_keeping_what_was_typed(
    session: Session, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")
    hidden = _form(console)
    _open(console, hidden, **FLAT_FILING)

    again = _open(console, hidden, **{**FLAT_FILING, "site_name": "Renamed"})

    assert again.status_code == 422 and "this form opened an order already" in again.text
    assert 'value="Renamed"' in again.text
    assert f'value="{hidden["opening_key"]}"' not in again.text  # a new key for a new filing
    assert _filings(session) == 1


def test_a_choice_with_a_default_shows_it_chosen(signed_in: Callable[[str], TestClient]) -> None:
    page = signed_in("case_manager").get("/filings/new").text

    licence = page.split('id="open-filing-licence"')[1].split("</select>")[0]
    sector = page.split('id="open-filing-sector"')[1].split("</select>")[0]
    assert '<option value="filing" selected>' in licence
    assert re.search(r'<option value="general" selected>', sector)


def test_the_licence_is_offered_by_its_chinese_name_and_key(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("case_manager").get("/filings/new").text

    licence = page.split('id="open-filing-licence"')[1].split("</select>")[0]
    assert re.findall(r'<option value="[a-z]+"[^>]*>([^<]*)</option>', licence) == [
        "非经营性互联网信息服务备案 (filing)",
        "经营性互联网信息服务（ICP证） (commercial)",
    ]


def test_a_fields_hint_is_shown_beside_it(signed_in: Callable[[str], TestClient]) -> None:
    page = signed_in("case_manager").get("/filings/new").text

    assert 'aria-describedby="open-filing-phone-hint"' in page
    assert '<span class="hint muted" id="open-filing-phone-hint">' in page


def test_a_rules_refusal_names_its_field_by_label(
    session: Session, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")
    bad = {**FLAT_FILING, "id_number": "91110000MA01ABCD5X"}

    answer = _open(console, _form(console), **bad)

    assert answer.status_code == 422
    assert re.search(r"ID number 证件号码: [^<]*check", answer.text)


def _assignee(session: Session, answer: httpx.Response) -> str | None:
    filing_id = int(answer.headers["location"].rsplit("/", 1)[1])
    try:
        return describing.filing(session, filing_id, _now(), get_settings()).assignee
    finally:
        session.rollback()


def test_the_filing_opened_is_the_openers_with_the_box_ticked(
    session: Session, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")
    assert 'name="assign_to_me" value="yes" checked' in console.get("/filings/new").text

    opened = _open(console, _form(console), **FLAT_FILING, assign_to_me="yes")

    assert _assignee(session, opened) == "test-case_manager"


def test_the_assign_box_shows_its_label_not_the_yes_it_posts(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("case_manager").get("/filings/new").text
    [shown] = re.findall(r'name="assign_to_me" value="yes"[^>]*>(.*?)</label>', page, re.S)
    assert shown.strip() == "the order is mine to work 由我负责"


def test_the_filing_opened_is_nobodys_with_the_box_unticked(
    session: Session, signed_in: Callable[[str], TestClient]
) -> None:
    console = signed_in("case_manager")

    opened = _open(console, _form(console), **FLAT_FILING)

    assert _assignee(session, opened) is None


@pytest.mark.parametrize(
    ("field", "typed", "said"),
    [
        ("domain_registrant", "Someone Else Ltd", "the domain is registered to"),
        ("domain_real_name_verified", "false", "real name"),
    ],
)
def test_a_domain_not_the_applicants_or_unverified_is_refused_as_the_api_refuses_it(
    session: Session, signed_in: Callable[[str], TestClient], field: str, typed: str, said: str
) -> None:
    console = signed_in("case_manager")

    answer = _open(console, _form(console), **{**FLAT_FILING, field: typed})

    assert answer.status_code == 422
    assert said in said_beside(answer.text, "open-filing", field)
    assert _filings(session) == 0


def test_a_responsible_person_not_the_legal_representative_is_asked_for_the_letter(
    signed_in: Callable[[str], TestClient], api: Api
) -> None:
    """As an order from the API naming such a person is, in a province asking for it."""
    console = signed_in("case_manager")
    opened = _open(console, _form(console), **{**FLAT_FILING, "legal_representative": "false"})
    filing_id = int(opened.headers["location"].rsplit("/", 1)[1])
    [bind] = PATH_TO["service_number_bound"]
    bound = api.step(api.get(f"/api/v1/filings/{filing_id}").json(), *bind)

    submitted = api.fire(bound, "submit", {"materials": ORG_MATERIALS})

    assert submitted.status_code == 422
    assert "authorisation_letter_required" in [r["code"] for r in submitted.json()["reasons"]]
