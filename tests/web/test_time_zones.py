"""Every time the console shows says its zone ("2026-03-02 10:00 Beijing"), as the CLI prints
it: a page, a card's label at a phone's width or a sentence showing a bare wall-clock time
leaves the reader to guess the clock. These specs read each page's text as a person reads it,
so a new template that writes a time without the zone fails here."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from config.clock import FrozenClock
from models import Notification
from tests.factories import MakeFiling
from tests.web.page_text import shown_text
from workflow import failures

# A wall-clock time as the pages write one; ``T`` (an ISO attribute) is no reader's text.
A_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
ZONED = re.compile(rf"{A_TIME.pattern} Beijing")


def unzoned(page: str) -> tuple[int, list[str]]:
    """How many times the page shows, and those among them not saying their zone."""
    text = shown_text(page)
    shown = list(A_TIME.finditer(text))
    return len(shown), [m.group() for m in shown if not ZONED.match(text, m.start())]


@pytest.fixture
def busy(session: Session, clock: FrozenClock, new_filing: MakeFiling) -> dict[str, str]:
    """Pages with times on them: a filing waiting on the host long enough to be late, an
    approved one (its entity, its duties), and a withdrawn one whose notice failed for good;
    each page by its address."""
    late = new_filing("submitted", domain="late.cn")
    approved = new_filing("approved", domain="done.cn")
    withdrawn = new_filing("withdrawn", domain="gone.cn")
    owed = session.exec(
        select(Notification).where(col(Notification.filing_id) == withdrawn.id)
    ).first()
    assert owed is not None and owed.id is not None
    failures.record_final_failure(session, owed.id, "SMTP refused", clock.now())
    session.commit()
    clock.advance(timedelta(days=40))
    return {
        "filings": "/filings",
        "stuck": "/stuck",
        "failed": "/failed",
        "late filing": f"/filings/{late.id}",
        "approved filing": f"/filings/{approved.id}",
        "withdrawn filing": f"/filings/{withdrawn.id}",
        "entity": f"/entities/{approved.entity_id}",
    }


@pytest.mark.parametrize(
    "page",
    [
        "filings",
        "stuck",
        "failed",
        "late filing",
        "approved filing",
        "withdrawn filing",
        "entity",
    ],
)
def test_every_time_a_page_shows_says_its_zone(
    signed_in: Callable[[str], TestClient], busy: dict[str, str], page: str
) -> None:
    response = signed_in("ops").get(busy[page])
    assert response.status_code == 200, response.text

    shown, bare = unzoned(response.text)

    assert shown > 0, f"{busy[page]} shows no time: this spec would check nothing there"
    assert bare == [], f"{busy[page]} shows times without their zone"


def test_the_retrying_list_says_its_times_zone(
    signed_in: Callable[[str], TestClient], retrying_delivery: Notification
) -> None:
    shown, bare = unzoned(signed_in("ops").get("/failed").text)

    assert shown > 0 and bare == []


def test_a_time_without_its_zone_is_found() -> None:
    """The reading above must see a bare time in a cell and in a card's label."""
    page = '<td data-label="Due 2026-03-02 10:00">2026-03-02 10:00 Beijing</td>'

    assert unzoned(page) == (2, ["2026-03-02 10:00"])


def test_a_time_whose_date_is_wrapped_is_read_as_shown() -> None:
    """The filters wrap a time's date (``<span class="date">``, web/templating.py): read as
    shown, "2026-03-02</span> 10:00" is one time, its zone said, not a date and a bare time."""
    page = '<td data-label="Due">due <span class="date">2026-03-02</span> 10:00 Beijing</td>'

    assert unzoned(page) == (1, [])
