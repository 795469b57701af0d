"""The read side: the filing pages the API, the CLI and the HTML pages all show."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pydantic
import pytest
from sqlmodel import Session

from config.clock import FrozenClock
from config.settings import Settings, get_settings
from tests.factories import MakeFiling, commands_to, make_payload, order_on
from workflow import service
from workflow.domain.definition import OVERDUE_KINDS, State
from workflow.domain.errors import FilingNotFound, ValidationError
from workflow.domain.orders import OrderKind
from workflow.schemas import FilingOut, FilingSort
from workflow.views import describing, held_up, history, search
from workflow.views.search import FilingFilters

if TYPE_CHECKING:
    from tests.conftest import Open


def test_a_page_counts_every_match_and_holds_only_its_slice(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    for n in range(3):
        new_filing("submitted", domain=f"site{n}.cn")
    new_filing("domain_registered", domain="other.cn")

    page = search.filing_page(
        session,
        clock.now(),
        FilingFilters(state=State.SUBMITTED),
        limit=2,
        offset=1,
        settings=get_settings(),
    )

    assert (page.total, len(page.items), page.offset) == (3, 2, 1)
    assert {f.state for f in page.items} == {"submitted"}


def test_a_page_counts_matches_up_to_a_limit_and_says_when_there_are_more(
    session: Session, clock: FrozenClock, new_filing: MakeFiling, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "COUNTED_UP_TO", 2)
    for n in range(3):
        new_filing("submitted", domain=f"site{n}.cn")

    page = search.filing_page(session, clock.now(), limit=1, settings=get_settings())

    assert (page.total, page.total_is_exact, len(page.items)) == (2, False, 1)
    assert search.filing_page(
        session, clock.now(), FilingFilters(domain="site1"), settings=get_settings()
    ).total_is_exact


def test_a_province_alias_finds_the_filings_stored_under_its_province(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    new_filing(domain="chengdu.cn", province="川")
    new_filing(domain="beijing.cn")

    page = search.filing_page(
        session, clock.now(), FilingFilters(province="蜀"), settings=get_settings()
    )

    assert [f.domain for f in page.items] == ["chengdu.cn"]


def test_the_late_list_takes_a_province_alias_too(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    new_filing("submitted", domain="chengdu.cn", province="川")
    clock.advance(timedelta(days=7))  # past the host's 3 working days

    page = held_up.overdue_page(session, clock.now(), province="蜀", settings=get_settings())

    assert [item.filing.domain for item in page.items] == ["chengdu.cn"]


def test_a_late_filing_shows_the_latest_deadline_it_is_past_not_the_first(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    new_filing("miit_pending")
    clock.advance(timedelta(weeks=7))  # past the legal limit's 20 working days and the SLA

    page = held_up.overdue_page(
        session, clock.now(), state=State.MIIT_PENDING, settings=get_settings()
    )

    assert [item.deadline.kind for item in page.items] == ["miit_sla_breach"]


def test_a_filing_moved_off_a_late_list_between_its_reads_shows_no_deadline_not_an_error(
    new_filing: MakeFiling, clock: FrozenClock
) -> None:
    """A late list reads its rows, then their deadlines: an event committed in between can
    leave a row's filing with no deadline of the list's kinds (here, an order just approved)."""
    approved = new_filing("approved")

    assert held_up.shown_deadline(approved, OVERDUE_KINDS, clock.now()) is None


def test_a_filing_moved_on_to_a_deadline_not_yet_due_between_a_late_lists_reads_is_left_out(
    session: Session, clock: FrozenClock, new_filing: MakeFiling, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Here the host approves, and MIIT sends its SMS, after the list read its rows: the row
    would be listed as late for the SMS window that has just opened."""
    late = new_filing("submitted")
    clock.advance(timedelta(days=7))  # past the host's 3 working days
    describe_many = describing.describe_many

    def moved_on_meanwhile(*args: Any) -> list[FilingOut]:
        for command in commands_to("sms_pending")[len(commands_to("submitted")) :]:
            service.fire_event(session, late.id, command, actor="test")
        return describe_many(*args)

    monkeypatch.setattr(held_up, "describe_many", moved_on_meanwhile)

    assert held_up.overdue_page(session, clock.now(), settings=get_settings()).items == []


def _filings_of(session: Session, now: datetime, *, province: str, settings: Settings) -> object:
    return search.filing_page(session, now, FilingFilters(province=province), settings=settings)


@pytest.mark.parametrize("lister", [_filings_of, held_up.overdue_page])
def test_a_list_refuses_a_province_that_is_none_rather_than_showing_nothing(
    session: Session, clock: FrozenClock, lister: Callable[..., object]
) -> None:
    with pytest.raises(ValidationError) as refused:
        lister(session, clock.now(), province="港", settings=get_settings())

    assert [(r.code, r.field) for r in refused.value.reasons] == [("unknown_province", "province")]


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("site1", ["site1.cn", "site10.cn"]),
        ("site1.", ["site1.cn"]),
        ("site1.cn.", ["site1.cn"]),  # a name pasted in full, with its root's dot
        ("ite1", []),
        ("s_te", []),
    ],
)
def test_the_domain_search_matches_from_the_start_of_the_name(
    session: Session, clock: FrozenClock, new_filing: MakeFiling, term: str, found: list[str]
) -> None:
    for domain in ("site1.cn", "site10.cn", "site2.cn", "asite1.cn"):
        new_filing(domain=domain)

    page = search.filing_page(
        session, clock.now(), FilingFilters(domain=term), settings=get_settings()
    )

    assert sorted(f.domain for f in page.items) == found


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("xn--1lq", ["北京.cn"]),  # decoded alone, the start of 北京's label would be 京
        ("XN--1LQ9", ["北京.cn"]),  # decodes to nothing
        ("例子.xn--fiqs", ["例子.中国"]),
        ("京", ["京东.cn"]),
        ("xn-", ["xn-test.cn", "京东.cn", "例子.中国", "北京.cn"]),
        ("x", ["xn-test.cn"]),  # someone typing xiaomi.cn
        ("xn", ["xn-test.cn"]),
    ],
)
def test_a_domain_search_in_punycode_finds_an_internationalised_domain_from_its_start(
    session: Session, clock: FrozenClock, new_filing: MakeFiling, term: str, found: list[str]
) -> None:
    """Either spelling of an IDN finds it, a label cut short included: the ASCII one as the
    registry's records and DNS show it, the Unicode one as people read it."""
    for domain in ("北京.cn", "京东.cn", "例子.中国", "xn-test.cn", "site1.cn"):
        new_filing(domain=domain)

    page = search.filing_page(
        session, clock.now(), FilingFilters(domain=term), settings=get_settings()
    )

    assert sorted(f.domain for f in page.items) == sorted(found)


@pytest.mark.parametrize("descending", [False, True])
def test_a_domain_search_in_punycode_lists_its_matches_in_their_ascii_spellings_order(
    session: Session, clock: FrozenClock, new_filing: MakeFiling, descending: bool
) -> None:
    for domain in ("京东.cn", "例子.中国", "北京.cn"):  # xn--xhq9m, xn--fsqu00a, xn--1lq90i
        new_filing(domain=domain)

    page = search.filing_page(
        session,
        clock.now(),
        FilingFilters(domain="xn--", descending=descending),
        settings=get_settings(),
    )

    in_ascii_order = ["北京.cn", "例子.中国", "京东.cn"]
    assert [f.domain for f in page.items] == (
        in_ascii_order[::-1] if descending else in_ascii_order
    )


def test_a_domain_search_lists_the_domain_typed_in_full_first(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    for domain in ("site120.cn", "site12.cn", "site121.cn"):  # ids in this order
        new_filing(domain=domain)

    page = search.filing_page(
        session, clock.now(), FilingFilters(domain="site12"), settings=get_settings()
    )

    assert [f.domain for f in page.items] == ["site12.cn", "site120.cn", "site121.cn"]


def test_a_chosen_order_holds_for_a_domain_search_too(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    for domain in ("site120.cn", "site12.cn"):
        new_filing(domain=domain)

    page = search.filing_page(
        session,
        clock.now(),
        FilingFilters(domain="site12", sort=FilingSort.ID),
        settings=get_settings(),
    )

    assert [f.domain for f in page.items] == ["site120.cn", "site12.cn"]


def test_a_list_without_a_domain_search_is_oldest_first(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    for domain in ("b.cn", "a.cn"):
        new_filing(domain=domain)

    assert [
        f.domain for f in search.filing_page(session, clock.now(), settings=get_settings()).items
    ] == ["b.cn", "a.cn"]


def test_every_view_masks_identity_and_phone_numbers(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    created = new_filing()
    listed = search.filing_page(session, clock.now(), settings=get_settings()).items[0]
    shown = describing.filing(session, created.id, clock.now(), get_settings())
    assert created.applicant == listed.applicant == shown.applicant
    assert (shown.applicant.id_number, shown.applicant.phone) == (
        "911***********CD52",
        "138****8000",
    )


def test_a_missing_filing_has_no_history(session: Session, clock: FrozenClock) -> None:
    with pytest.raises(FilingNotFound):
        history.history(session, 404)


def test_a_timeline_shows_the_masked_filing_its_history_and_notifications(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    created = new_filing("sms_pending")

    shown = history.timeline(session, created.id, clock.now(), get_settings())

    assert shown.filing.applicant.phone == "138****8000"
    assert shown.history[-1].event == "sms_sent"
    assert "sms_reminder" in {n.kind for n in shown.notifications}


def test_history_shows_only_the_data_an_event_was_given(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """An SMS recorded when it came names no time, and a code answered for everyone names no
    verifier: the history says nothing of either, rather than a key with no value."""
    created = new_filing("miit_pending")

    shown = {entry.event: entry.data for entry in history.history(session, created.id)}

    assert (shown["sms_sent"], shown["verify_sms"]) == ({}, {})


@pytest.mark.parametrize("last", ["\ud7ff", "\U0010ffff"], ids=["before-surrogates", "last"])
def test_a_prefix_ending_where_no_range_can_follow_finds_nothing_rather_than_failing(
    session: Session, clock: FrozenClock, new_filing: MakeFiling, last: str
) -> None:
    new_filing(domain="a.cn")
    assert (
        search.filing_page(
            session, clock.now(), FilingFilters(domain=f"a{last}"), settings=get_settings()
        ).total
        == 0
    )


def test_a_kind_of_order_is_listed_and_counted_apart(
    session: Session, clock: FrozenClock, on_file: FilingOut, open_order: Open
) -> None:
    change = open_order(**order_on("change", on_file.entity_id, on_file.service_id or 0))

    page = search.filing_page(
        session, clock.now(), FilingFilters(kind=OrderKind.CHANGE), settings=get_settings()
    )
    assert [f.id for f in page.items] == [change.id]
    counts = {c.state: c.count for c in held_up.state_counts(session, clock.now(), "change")}
    assert (counts[State.DRAFT], counts[State.APPROVED]) == (1, 0)


def test_a_misspelt_filter_is_refused_rather_than_filtering_nothing() -> None:
    with pytest.raises(pydantic.ValidationError):
        FilingFilters(stat=State.SUBMITTED)  # type: ignore[call-arg]


def test_a_filter_holds_the_state_and_kind_it_names_as_their_enums() -> None:
    filters = FilingFilters.model_validate({"state": "submitted", "kind": "change"})

    assert (filters.state, filters.kind) == (State.SUBMITTED, OrderKind.CHANGE)


@pytest.mark.parametrize("typed", ["科技(北京)", "科技（北京）"])
def test_an_applicant_search_finds_full_width_brackets_typed_either_way(
    session: Session, clock: FrozenClock, new_filing: MakeFiling, typed: str
) -> None:
    applicant = {**make_payload()["applicant"], "name": "派伦科技（北京）有限公司"}  # type: ignore[dict-item]
    filing = new_filing(applicant=applicant)

    page = search.filing_page(
        session, clock.now(), FilingFilters(applicant=typed), settings=get_settings()
    )

    assert [f.id for f in page.items] == [filing.id]


# Rows of one order, in the order they were recorded: opened, then three more.
OPENED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def _hours(*hours: float) -> list[datetime]:
    return [OPENED + timedelta(hours=h) for h in hours]


def test_states_begin_when_their_rows_say_they_happened_in_order() -> None:
    assert history.entry_times(_hours(0, 5, 9)) == _hours(0, 5, 9)


def test_a_row_that_happened_before_rows_recorded_ahead_of_it_ends_their_states_then() -> None:
    """The fourth row happened at 3 h: the states of the rows recorded at 5 h and 9 h were
    entered by then and last nothing; the first ends at 3 h, the fourth begins there."""
    assert history.entry_times(_hours(0, 5, 9, 3)) == _hours(0, 3, 3, 3)


def test_no_state_begins_before_the_order_was_opened() -> None:
    assert history.entry_times(_hours(0, 5, -4)) == _hours(0, 0, 0)


def test_a_lists_entity_names_leave_out_the_filings_purged_of_personal_data(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """A purged order's list row names no one: not its entity, though the entity stays, and
    though an order of the same entity beside it on the page is named."""
    first = new_filing(domain="kept.cn")
    # Two more orders of its entity, numbered apart from it: one kept, one purged.
    kept = first.model_copy(update={"id": first.entity_id + 100})
    purged = first.model_copy(
        update={"id": first.entity_id + 101, "personal_data_purged_at": clock.now()}
    )

    named = search.entity_names(session, [kept, purged])

    assert named == {kept.id: kept.applicant.name}
