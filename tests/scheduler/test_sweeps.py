"""What one leader sweep does to the stored deadlines, driven by a frozen clock.

The sweeps go through ``scheduler.jobs.sweep_deadlines``, the function the leader runs,
so the engine and clock it picks up are the process's own (``get_engine``, ``get_clock``).
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from config.clock import CHINA, FrozenClock, as_utc
from config.settings import Settings, get_settings
from models import (
    Deadline,
    DeadlineStatus,
    Filing,
    HistoryEntry,
    Notification,
)
from scheduler.jobs import CalendarRecount, sweep_deadlines
from tests.databases import POSTGRES_ONLY, Database, second_of_two_at_once, wait_for_a_lock_wait
from tests.factories import ORDER_PATHS, SCHEDULE_2031, MakeFiling, first_filing_order
from workflow import service
from workflow.deadlines import calendar_for, due_time, figures
from workflow.domain.commands import EventCommand
from workflow.domain.definition import DEADLINES_BY_KIND, deadlines_for
from workflow.domain.errors import ValidationError as DomainValidationError
from workflow.notices import due_line
from workflow.schemas import FilingOut
from workflow.sweeps import fire_due_deadlines, recount_working_days
from workflow.views import history

if TYPE_CHECKING:
    from tests.conftest import Open


def _fresh(db: Database) -> Session:
    """A new session per check: what another process would read, not what the test cached."""
    return Session(db.engine, expire_on_commit=False)


def _sweep_at(clock: FrozenClock, settings: Settings, at: datetime) -> int:
    clock.set(at)
    return sweep_deadlines(settings)


def _deadline(db: Database, filing_id: int, kind: str, state: str | None = None) -> Deadline:
    """The filing's deadline of ``kind`` (the one ``state`` armed, for a kind several arm)."""
    query = select(Deadline).where(Deadline.filing_id == filing_id, Deadline.kind == kind)
    with _fresh(db) as s:
        return s.exec(query.where(Deadline.state == state) if state else query).one()


# --- SMS verification: 24 h of wall-clock time, reminders at 0, 12 and 20 h -----------------


def test_a_reminder_names_the_lapse_its_deadlines_were_armed_with_not_a_later_setting(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing = new_filing("host_returned")  # its lapse armed at the default 45 days
    later = settings.model_copy(update={"idle_lapse_days": 60})

    _sweep_at(clock, later, clock.now() + timedelta(days=7))

    with _fresh(db) as s:
        [body] = s.exec(
            select(Notification.body).where(
                Notification.filing_id == filing.id, Notification.kind == "idle_reminder"
            )
        ).all()
    assert "lapses after 45 days" in body


def test_the_windows_end_tells_when_the_returned_order_lapses(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing = new_filing("sms_pending")

    _sweep_at(clock, settings, clock.now() + timedelta(hours=25))

    with _fresh(db) as s:
        [told] = set(  # one body, whichever route it goes by
            s.exec(
                select(Notification.body).where(
                    Notification.filing_id == filing.id, Notification.kind == "sms_expiry"
                )
            ).all()
        )
        lapse = s.exec(
            select(Deadline.due_at).where(
                Deadline.filing_id == filing.id,
                Deadline.kind == "idle_lapse",
                col(Deadline.disarmed_at).is_(None),
            )
        ).one()
    assert "订单等待申请人满45天即失效" in told
    assert due_line(lapse.replace(tzinfo=UTC)) in told


def test_sms_reminders_are_owed_once_each_in_order_as_the_clock_passes_them(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing = new_filing("sms_pending")
    entered = clock.now()

    def reminders() -> list[datetime]:
        with _fresh(db) as s:
            rows = s.exec(
                select(Notification)
                .where(Notification.filing_id == filing.id, Notification.kind == "sms_reminder")
                .order_by(col(Notification.id))
            ).all()
        return [r.created_at.replace(tzinfo=UTC) for r in rows]

    assert reminders() == [entered]  # the 0 h reminder goes out on entering the state
    for hours in (12, 20):
        _sweep_at(clock, settings, entered + timedelta(hours=hours, seconds=-1))
        assert len(reminders()) == 1 + (hours == 20)
        _sweep_at(clock, settings, entered + timedelta(hours=hours))
        _sweep_at(clock, settings, entered + timedelta(hours=hours, minutes=1))  # owed once

    assert reminders() == [entered, entered + timedelta(hours=12), entered + timedelta(hours=20)]


def test_no_sms_recorded_a_day_after_the_hosts_pass_reminds_the_case_manager(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    manager = {"channel": "email", "recipient": "pm@example.cn"}  # the filing's case manager
    filing = new_filing("host_pre_approved", notify=[manager])
    passed = clock.now()

    def told() -> list[tuple[str, str]]:
        with _fresh(db) as s:
            rows = s.exec(
                select(Notification).where(
                    Notification.filing_id == filing.id,
                    Notification.kind == "sms_arrival_reminder",
                )
            ).all()
        return [(n.recipient, n.body) for n in rows]

    _sweep_at(clock, settings, passed + timedelta(hours=24, seconds=-1))
    assert told() == []

    _sweep_at(clock, settings, passed + timedelta(hours=24))
    [body] = [body for recipient, body in told() if recipient == manager["recipient"]]
    assert "usually arrives within a day of the host's pass" in body


def test_an_unanswered_sms_expires_at_24_hours_through_the_system_actor(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing = new_filing("sms_pending")
    entered = clock.now()

    _sweep_at(clock, settings, entered + timedelta(hours=24, seconds=-1))
    with _fresh(db) as s:
        assert s.get_one(Filing, filing.id).state == "sms_pending"

    _sweep_at(clock, settings, entered + timedelta(hours=24))
    with _fresh(db) as s:
        assert s.get_one(Filing, filing.id).state == "host_returned"
        last = s.exec(
            select(HistoryEntry)
            .where(HistoryEntry.filing_id == filing.id)
            .order_by(col(HistoryEntry.version).desc())
        ).first()
    assert last is not None
    assert (last.event, last.actor, last.from_state, last.to_state) == (
        "expire_sms",
        "system",
        "sms_pending",
        "host_returned",
    )


def test_a_window_expired_by_a_sweep_behind_starts_the_returned_orders_clocks_at_its_end(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """The scheduler down three days: the resubmission is still owed five working days from
    the window's end, not from when the sweep got to it."""
    filing = new_filing("sms_pending")
    window_end = clock.now() + timedelta(hours=24)

    _sweep_at(clock, settings, window_end + timedelta(days=3))

    with _fresh(db) as s:
        returned = s.get_one(Filing, filing.id)
        [owed] = s.exec(
            select(Deadline).where(
                Deadline.filing_id == filing.id, Deadline.kind == "resubmit_overdue"
            )
        ).all()
    assert as_utc(returned.state_entered_at) == window_end
    counted = calendar_for(settings).add_working_days(window_end, int(owed.figure))
    assert as_utc(owed.due_at) == counted.at
    shown = history.timeline(Session(db.engine), filing.id, clock.now(), get_settings())
    assert dict(shown.time_in_states)["host_returned"] == timedelta(days=3)


def test_a_closed_windows_banner_says_the_hours_it_was_armed_with_after_the_setting_changed(
    db: Database,
    settings: Settings,
    clock: FrozenClock,
    new_filing: MakeFiling,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    filing = new_filing("sms_pending")  # a 24 h window
    _sweep_at(clock, settings, clock.now() + timedelta(hours=24))
    monkeypatch.setenv("SMS_WINDOW_HOURS", "36")
    get_settings.cache_clear()

    with _fresh(db) as s:
        shown = history.timeline(s, filing.id, clock.now(), get_settings()).sent_back

    assert shown is not None and shown.why.startswith("The 24 h SMS verification window")


def test_a_window_closed_by_a_sweep_behind_is_sent_back_when_it_closed(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing = new_filing("sms_pending")
    window_end = clock.now() + timedelta(hours=24)
    _sweep_at(clock, settings, window_end + timedelta(days=2))

    with _fresh(db) as s:
        shown = history.timeline(s, filing.id, clock.now(), get_settings()).sent_back

    assert shown is not None and shown.at == window_end


def _window_statuses(db: Database, filing_id: int) -> dict[tuple[str, float], str]:
    """Each deadline the SMS window armed, by kind and figure, with its status."""
    with _fresh(db) as s:
        rows = s.exec(
            select(Deadline).where(Deadline.filing_id == filing_id, Deadline.state == "sms_pending")
        )
        return {(d.kind, d.figure): d.status for d in rows}


def test_after_a_gap_reminders_of_a_window_already_over_are_not_sent(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """The scheduler was down all day: the 12 h and 20 h reminders would arrive with the
    window's expiry; the expiry fires first and its notice is the one sent."""
    filing = new_filing("sms_pending")
    entered = clock.now()

    _sweep_at(clock, settings, entered + timedelta(hours=25))

    with _fresh(db) as s:
        kinds = s.exec(
            select(Notification.kind)
            .where(Notification.filing_id == filing.id, Notification.created_at > entered)
            .distinct()
        ).all()
    assert set(kinds) == {"sms_expiry"}  # once: the expiry, not its event again
    assert _window_statuses(db, filing.id) == {
        ("sms_reminder", 0): "fired",  # on entering the state, before the gap
        ("sms_reminder", 12): "disarmed",
        ("sms_reminder", 20): "disarmed",
        ("sms_expiry", 24): "fired",
        ("stuck", 1.0): "disarmed",
    }


def _expiry_failing_with(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """The window's expiry raising ``error`` whenever it is applied (a fault injected)."""
    from workflow import service

    real = service._apply

    def failing(*args: Any, **kwargs: Any) -> service.Applied:
        if args[2].name == "expire_sms":
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "_apply", failing)


def test_an_expiry_failing_unexpectedly_does_not_hold_back_its_reminders(
    db: Database,
    settings: Settings,
    clock: FrozenClock,
    new_filing: MakeFiling,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The expiry goes first after a gap; broken, it stays pending and the reminders it would
    have made moot are sent after all: the latest, the 12 h one being overtaken by it."""
    filing = new_filing("sms_pending")
    entered = clock.now()
    _expiry_failing_with(monkeypatch, RuntimeError("injected"))
    _sweep_at(clock, settings, entered + timedelta(hours=25))

    statuses = _window_statuses(db, filing.id)
    assert statuses[("sms_expiry", 24)] == "pending"
    assert (statuses[("sms_reminder", 12)], statuses[("sms_reminder", 20)]) == ("disarmed", "fired")


def test_an_expiry_failing_for_a_fault_not_a_refusal_stays_pending_and_tells_no_one(
    db: Database,
    settings: Settings,
    clock: FrozenClock,
    new_filing: MakeFiling,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unreadable holiday schedule is no reason to give up the window's end: taken for a
    refusal, the expiry was spent and a late answer then let through."""
    filing = new_filing("sms_pending")
    entered = clock.now()
    with monkeypatch.context() as faulty:
        _expiry_failing_with(faulty, DomainValidationError("invalid holiday schedule 2027"))
        _sweep_at(clock, settings, entered + timedelta(hours=25))

    assert _window_statuses(db, filing.id)[("sms_expiry", 24)] == "pending"
    with Session(db.engine) as session:
        told = session.exec(select(Notification).where(Notification.kind == "sms_expiry")).all()
    assert told == []
    _sweep_at(clock, settings, entered + timedelta(hours=25, minutes=1))
    assert _window_statuses(db, filing.id)[("sms_expiry", 24)] == "fired"


@POSTGRES_ONLY
def test_a_sweep_racing_an_answer_that_keeps_the_state_still_expires_the_window(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, open_order: Open
) -> None:
    """One of two verifiers answers in the window's last minute: the sweep, started just past
    its end while that answer is uncommitted, waits for it and expires the window on the
    filing it left."""
    order = open_order(**first_filing_order())
    for name, data in ORDER_PATHS["first_filing"][:4]:  # to sms_pending, two verifiers
        order = service.fire_event(
            session, order.id, EventCommand(event=name, data=data), actor="t"
        )
    clock.advance(timedelta(hours=23, minutes=59))
    past_the_end = clock.now() + timedelta(minutes=2)
    sweep = threading.Thread(target=fire_due_deadlines, args=(db.engine, past_the_end, settings))

    def sweep_before_this_commits(_: Session) -> None:
        sweep.start()
        wait_for_a_lock_wait(db)

    with Session(db.engine, expire_on_commit=False) as user:
        event.listen(user, "before_commit", sweep_before_this_commits, once=True)
        answer = EventCommand(event="verify_sms", data={"verifier": "entity"})
        assert service.fire_event(user, order.id, answer, actor="u").state == "sms_pending"
    sweep.join(timeout=30)

    with _fresh(db) as s:
        assert s.get_one(Filing, order.id).state == "host_returned"
        events = [e.event for e in history.history(s, order.id)]
    assert events[-2:] == ["verify_sms", "expire_sms"]


# --- Cost follows what is due, not the table --------------------------------------------------


def _add_deadlines(
    db: Database,
    filing_id: int,
    due: list[datetime],
    status: DeadlineStatus = DeadlineStatus.PENDING,
) -> list[int]:
    with _fresh(db) as s:
        rows = [
            Deadline(
                filing_id=filing_id,
                kind="stuck",  # not a reminder: of several due, all but the last would be closed
                state="domain_registered",
                figure=7,
                due_at=at,
                status=status,
                armed_at=at - timedelta(days=7),
            )
            for at in due
        ]
        s.add_all(rows)
        s.commit()
        return [row.id for row in rows if row.id is not None]


def _pending_due(db: Database, now: datetime) -> int:
    with _fresh(db) as s:
        return len(
            s.exec(
                select(Deadline.id).where(Deadline.status == "pending", col(Deadline.due_at) <= now)
            ).all()
        )


def test_a_sweep_fires_exactly_the_due_deadlines_among_many_that_are_not(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing = new_filing("domain_registered")
    now = clock.now()
    due = _add_deadlines(db, filing.id, [now - timedelta(hours=h) for h in (1, 2, 3)])
    _add_deadlines(db, filing.id, [now + timedelta(minutes=m) for m in range(1, 2001)])
    _add_deadlines(
        db, filing.id, [now - timedelta(days=d) for d in (1, 2)], status=DeadlineStatus.FIRED
    )
    _add_deadlines(
        db, filing.id, [now - timedelta(days=d) for d in (3, 4)], status=DeadlineStatus.DISARMED
    )

    assert sweep_deadlines(settings) == 3

    with _fresh(db) as s:
        fired_now = s.exec(
            select(Deadline.id).where(Deadline.fired_at == now).order_by(col(Deadline.id))
        ).all()
    assert list(fired_now) == due


def test_one_call_fires_every_due_deadline_batch_after_batch(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing = new_filing("domain_registered")
    now = clock.now()
    _add_deadlines(db, filing.id, [now - timedelta(hours=h) for h in range(1, 6)])
    small_batches = settings.model_copy(update={"sweep_batch_size": 2})

    assert fire_due_deadlines(db.engine, now, small_batches) == 5
    assert _pending_due(db, now) == 0


# --- The MIIT review SLA in Chinese working days ----------------------------------------------


def _miit_statuses(db: Database, filing_id: int) -> dict[tuple[str, float], str]:
    with _fresh(db) as s:
        rows = s.exec(select(Deadline).where(Deadline.filing_id == filing_id))
        return {(d.kind, d.figure): d.status for d in rows if d.state == "miit_pending"}


def _told(db: Database, filing_id: int) -> list[str]:
    with _fresh(db) as s:
        rows = s.exec(select(Notification).where(Notification.filing_id == filing_id))
        return [n.kind for n in rows]


def test_after_a_gap_in_review_past_the_legal_limit_only_the_limit_is_told(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """The scheduler away five weeks: "review is taking long" is stale once the legal limit
    (four weeks, in a March without holidays) has ended, and its notice says so."""
    filing = new_filing("miit_pending")
    _sweep_at(clock, settings, clock.now() + timedelta(days=35))

    statuses = _miit_statuses(db, filing.id)
    assert (statuses[("miit_reminder", 3)], statuses[("miit_reminder", 4)]) == (
        "disarmed",
        "disarmed",
    )
    assert statuses[("miit_legal_limit", 20)] == "fired"
    assert "miit_reminder" not in _told(db, filing.id)
    assert "miit_legal_limit" in _told(db, filing.id)


def test_after_a_gap_in_review_within_the_legal_limit_only_the_latest_reminder_is_told(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing = new_filing("miit_pending")
    _sweep_at(clock, settings, clock.now() + timedelta(days=28, hours=1))

    statuses = _miit_statuses(db, filing.id)
    assert (statuses[("miit_reminder", 3)], statuses[("miit_reminder", 4)]) == ("disarmed", "fired")
    assert statuses[("miit_legal_limit", 20)] == "pending"
    assert _told(db, filing.id).count("miit_reminder") == 1


def test_a_review_reminder_falling_after_the_legal_limit_is_not_sent(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """Saturday 11 May 2024 was a make-up working day: 20 working days from Monday 6 May end on
    Friday 31 May, before the 4-week reminder of Monday 3 June."""
    clock.set(datetime(2024, 5, 6, 10, tzinfo=CHINA))
    filing = new_filing("miit_pending")
    _sweep_at(clock, settings, datetime(2024, 5, 27, 10, 1, tzinfo=CHINA))  # three weeks
    _sweep_at(clock, settings, datetime(2024, 6, 1, 0, 0, 1, tzinfo=CHINA))
    assert _miit_statuses(db, filing.id)[("miit_legal_limit", 20)] == "fired"

    _sweep_at(clock, settings, datetime(2024, 6, 3, 10, 1, tzinfo=CHINA))

    assert _miit_statuses(db, filing.id)[("miit_reminder", 4)] == "disarmed"
    assert _told(db, filing.id).count("miit_reminder") == 1  # the 3-week one, in time


@pytest.mark.parametrize(
    ("entered", "legal_limit"),
    [
        # March 2026 has no holiday: 20 working days are four calendar weeks, the last of
        # them the bureau's until it ends (24:00 Beijing).
        (datetime(2026, 3, 2, 10, tzinfo=CHINA), datetime(2026, 3, 31, 0, tzinfo=CHINA)),
        # Mid-Autumn (25 Sep) and National Day (1-7 Oct) are off, Saturday 10 Oct is a make-up
        # working day: 20 working days from Mon 21 Sep end on Mon 26 Oct, not Mon 19 Oct.
        (datetime(2026, 9, 21, 10, tzinfo=CHINA), datetime(2026, 10, 27, 0, tzinfo=CHINA)),
    ],
    ids=["holiday-free", "national-day-2026"],
)
def test_the_miit_legal_limit_fires_after_20_working_days(
    db: Database,
    settings: Settings,
    clock: FrozenClock,
    new_filing: MakeFiling,
    entered: datetime,
    legal_limit: datetime,
) -> None:
    clock.set(entered)
    filing = new_filing("miit_pending")

    _sweep_at(clock, settings, legal_limit - timedelta(seconds=1))
    assert _deadline(db, filing.id, "miit_legal_limit").status == "pending"
    _sweep_at(clock, settings, legal_limit)

    limit = _deadline(db, filing.id, "miit_legal_limit")
    assert limit.fired_at is not None
    assert limit.fired_at.replace(tzinfo=UTC) == legal_limit
    assert limit.estimated is False


def test_a_deadlines_notice_gives_its_due_time_in_beijing_time(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    clock.set(datetime(2026, 3, 2, 23, 30, tzinfo=UTC))  # Tuesday 07:30 in Beijing
    filing = new_filing("submitted")  # the host's review: 3 working days, Friday 07:30

    _sweep_at(clock, settings, datetime(2026, 3, 6, 0, 0, tzinfo=UTC))

    with _fresh(db) as s:
        [notice] = s.exec(
            select(Notification).where(
                Notification.filing_id == filing.id, Notification.kind == "host_review_overdue"
            )
        ).all()
    assert "到期 Due: 2026-03-06 07:30 北京时间 (UTC+8)" in notice.body


def test_a_reminders_notice_gives_the_due_time_of_what_it_reminds_of(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    clock.set(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # Monday 10:00 in Beijing
    filing = new_filing("sms_pending")  # the window closes on Tuesday at 10:00

    _sweep_at(clock, settings, datetime(2026, 3, 2, 22, 1, tzinfo=UTC))  # the 20 h reminder

    with _fresh(db) as s:
        bodies = s.exec(
            select(Notification.body).where(
                Notification.filing_id == filing.id, Notification.kind == "sms_reminder"
            )
        ).all()
    assert bodies and all("到期 Due: 2026-03-03 10:00 北京时间" in body for body in bodies)


def test_an_order_the_host_approved_on_friday_is_not_stuck_on_monday(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """Hosts pass an order to the bureau within 1-3 working days."""
    clock.set(datetime(2026, 3, 6, 8, 0, tzinfo=UTC))  # Friday 16:00 in Beijing
    filing = new_filing("host_pre_approved")

    _sweep_at(clock, settings, datetime(2026, 3, 9, 8, 0, tzinfo=UTC))  # Monday 16:00

    assert _deadline(db, filing.id, "stuck", "host_pre_approved").status == "pending"


def test_an_order_submitted_before_national_day_is_stuck_only_after_its_working_days(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """Five working days: 8, 9, 10 (a make-up Saturday), 12 and 13 October, not the holiday."""
    clock.set(datetime(2026, 9, 30, 2, 0, tzinfo=UTC))  # Wednesday 10:00 in Beijing
    filing = new_filing("submitted")

    _sweep_at(clock, settings, datetime(2026, 10, 7, 2, 0, tzinfo=UTC))  # the holiday's last day
    assert _deadline(db, filing.id, "stuck", "submitted").status == "pending"

    _sweep_at(clock, settings, datetime(2026, 10, 13, 2, 1, tzinfo=UTC))
    assert _deadline(db, filing.id, "stuck", "submitted").status == "fired"


def test_an_sla_breach_is_escalated_once_not_again_as_stuck_at_the_same_moment(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing = new_filing("miit_pending")

    _sweep_at(clock, settings, clock.now() + timedelta(weeks=6, minutes=1))

    assert _deadline(db, filing.id, "miit_sla_breach", "miit_pending").status == "fired"
    assert _deadline(db, filing.id, "stuck", "miit_pending").status == "pending"


def test_a_deadline_that_fails_unexpectedly_does_not_block_the_others(
    db: Database,
    settings: Settings,
    clock: FrozenClock,
    new_filing: MakeFiling,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workflow import notices, sweeps
    from workflow.notices import DeadlineLike

    first = new_filing("submitted")
    second = new_filing("submitted", domain="second.cn")
    real = notices.for_deadline

    def broken_for_first(
        session: Session, filing: Filing, deadline: DeadlineLike, now: datetime, settings: Settings
    ) -> list[int]:
        if filing.id == first.id:
            raise RuntimeError("injected")
        return real(session, filing, deadline, now, settings)

    monkeypatch.setattr(notices, "for_deadline", broken_for_first)
    clock.advance(timedelta(days=60))
    fired = sweeps.fire_due_deadlines(
        db.engine, clock.now(), settings.model_copy(update={"sweep_batch_size": 1})
    )
    with Session(db.engine) as session:
        statuses = {
            (d.filing_id, d.status)
            for d in session.exec(select(Deadline).where(Deadline.kind == "host_review_overdue"))
        }
    assert (first.id, "pending") in statuses
    assert (second.id, "fired") in statuses
    assert fired >= 1


# --- estimated due times, counted again once the year's schedule is on file ------------------


def _estimated_2031(
    settings: Settings, clock: FrozenClock, new_filing: MakeFiling, recheck_seconds: float
) -> tuple[FilingOut, Settings]:
    """A filing whose host review is estimated, the 2031 schedule then copied in by hand
    (configuration tools, not ``calendar load``), and settings looking for it that often."""
    clock.set(datetime(2031, 9, 26, 2, 0, tzinfo=UTC))  # Friday before National Day 2031
    filing = new_filing("submitted", domain_expires_on="2033-06-30")
    settings.effective_calendar_dir.mkdir(parents=True)
    (settings.effective_calendar_dir / "2031.json").write_text(json.dumps(SCHEDULE_2031))
    return filing, settings.model_copy(update={"calendar_recheck_seconds": recheck_seconds})


def test_leader_counts_again_the_due_times_estimated_before_a_schedule_was_on_file(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing, looking = _estimated_2031(settings, clock, new_filing, recheck_seconds=0)
    before = _deadline(db, filing.id, "host_review_overdue")
    assert before.estimated is True
    recount = CalendarRecount()

    assert recount(looking) == 2  # the host's review and the stuck mark, both in working days

    after = _deadline(db, filing.id, "host_review_overdue")
    assert after.estimated is False
    assert after.due_at != before.due_at  # the make-up Sunday and the week off both count
    assert recount(looking) == 0  # counted with these schedules already


def test_leader_waits_one_recheck_interval_for_every_process_to_see_a_new_schedule(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing, looking = _estimated_2031(settings, clock, new_filing, recheck_seconds=3600)

    assert CalendarRecount()(looking) == 0

    assert _deadline(db, filing.id, "host_review_overdue").estimated is True


def test_a_bad_schedule_file_copied_in_later_does_not_stop_the_recount(
    db: Database,
    settings: Settings,
    clock: FrozenClock,
    new_filing: MakeFiling,
    caplog: pytest.LogCaptureFixture,
) -> None:
    filing, looking = _estimated_2031(settings, clock, new_filing, recheck_seconds=0)
    calendar_for(looking)  # the process read the schedules, the good 2031 among them
    (settings.effective_calendar_dir / "2032.json").write_text("{not json")  # by hand

    with caplog.at_level(logging.ERROR):
        assert CalendarRecount()(looking) == 2  # host review and stuck mark

    assert _deadline(db, filing.id, "host_review_overdue").estimated is False
    assert "calendar recount failed" not in caplog.text
    assert caplog.text.count("2032.json") == 1  # the bad file is named, once


def test_estimated_due_times_are_counted_again_a_batch_at_a_time(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    first, looking = _estimated_2031(settings, clock, new_filing, recheck_seconds=0)
    second = new_filing("submitted", domain_expires_on="2033-06-30")
    third = new_filing("submitted", domain_expires_on="2033-06-30")
    in_twos = looking.model_copy(update={"sweep_batch_size": 2})

    assert recount_working_days(db.engine, in_twos) >= 3

    for filing in (first, second, third):
        assert _deadline(db, filing.id, "host_review_overdue").estimated is False


# --- a recount racing a writer on the same filing (PostgreSQL's row locks) --------------------


def _deadlines_of(db: Database, filing_id: int) -> list[Deadline]:
    with _fresh(db) as s:
        return list(s.exec(select(Deadline).where(Deadline.filing_id == filing_id)).all())


def _as_counted_now(deadline: Deadline, settings: Settings) -> bool:
    """Whether the deadline's due time is the one its start gives with the calendar on file."""
    counted = due_time(
        DEADLINES_BY_KIND[deadline.kind], deadline.figure, as_utc(deadline.armed_at), settings
    )
    return counted == (as_utc(deadline.due_at), deadline.estimated)


@POSTGRES_ONLY
def test_a_recount_racing_an_event_moves_neither_the_deadlines_it_closed_nor_those_it_armed(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """The host returns the order just as the recount of a new schedule reads its review's
    estimated due times: the recount waits for the event and finds them closed. They keep the
    times they closed at; the state entered keeps what the event armed, counted with the
    schedule it saw, once each."""
    filing, looking = _estimated_2031(settings, clock, new_filing, recheck_seconds=0)
    read = {d.id: d for d in _deadlines_of(db, filing.id) if d.disarmed_at is None}
    assert {(d.kind, d.estimated) for d in read.values()} == {
        ("host_review_overdue", True),
        ("stuck", True),
    }

    def host_returns(user: Session) -> FilingOut:
        back = EventCommand(event="host_return", data={"reason": "photo unclear"})
        return service.fire_event(user, filing.id, back, actor="u", settings=looking)

    moved = second_of_two_at_once(
        db, host_returns, lambda _: recount_working_days(db.engine, looking)
    )

    assert moved == 0  # it met the review's deadlines closed, and armed ones it never read
    rows = _deadlines_of(db, filing.id)
    closed = {d.id: d for d in rows if d.id in read}
    assert {d.status for d in closed.values()} == {DeadlineStatus.DISARMED}
    for row_id, row in closed.items():
        assert row.disarmed_at is not None
        assert (row.due_at, row.estimated) == (read[row_id].due_at, True)  # not moved
    armed = [d for d in rows if d.id not in read and d.disarmed_at is None]
    with _fresh(db) as s:
        kind = s.get_one(Filing, filing.id).kind
    assert sorted((d.kind, d.figure) for d in armed) == sorted(
        (spec.kind, figure)
        for spec in deadlines_for("host_returned")
        for figure in figures(spec, "host_returned", kind, looking)
    )  # nothing lost, nothing twice
    assert all(d.state == "host_returned" and d.status == DeadlineStatus.PENDING for d in armed)
    assert all(_as_counted_now(d, looking) for d in armed)
    assert not any(d.estimated for d in armed)
    assert recount_working_days(db.engine, looking) == 0  # nothing left to count again


@POSTGRES_ONLY
def test_a_recount_racing_the_sweep_leaves_the_deadline_it_fired_at_the_time_it_fell_due(
    db: Database, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """The sweep fires the host's review, due by the estimate, just as the recount reads it
    pending: the recount waits for the sweep and leaves the fired deadline at the time it
    fell due (what its notice said); the filing's other deadline is still counted again."""
    filing, looking = _estimated_2031(settings, clock, new_filing, recheck_seconds=0)
    review = _deadline(db, filing.id, "host_review_overdue")
    fell_due = as_utc(review.due_at)
    clock.set(fell_due + timedelta(minutes=1))
    assert not _as_counted_now(review, looking)  # the schedule on file moves it

    def sweep(sweeper: Session) -> None:
        """What the sweep's ``_fire_one`` does: the filing locked, then the deadline claimed."""
        locked = sweeper.get_one(Filing, filing.id, with_for_update=True)
        due = sweeper.get_one(Deadline, review.id)
        assert service.fire_deadline(sweeper, locked, due, clock.now(), looking) is not None
        sweeper.commit()

    moved = second_of_two_at_once(db, sweep, lambda _: recount_working_days(db.engine, looking))

    assert moved == 1  # the stuck mark alone
    fired = _deadline(db, filing.id, "host_review_overdue")
    assert fired.status == DeadlineStatus.FIRED
    assert (as_utc(fired.due_at), fired.estimated) == (fell_due, True)
    assert fired.fired_at is not None and as_utc(fired.fired_at) == clock.now()
    stuck = _deadline(db, filing.id, "stuck", state="submitted")
    assert stuck.status == DeadlineStatus.PENDING and _as_counted_now(stuck, looking)
    assert recount_working_days(db.engine, looking) == 0
