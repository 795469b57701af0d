"""Firing deadlines: one path for those armed already due and those the sweep finds due."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pydantic
import pytest
from sqlmodel import Session, col, select

from config.clock import FrozenClock, as_utc
from config.settings import Settings, get_settings
from models import Deadline, DeadlineStatus, Filing, Notification
from tests.databases import POSTGRES_ONLY, Database
from tests.factories import ORDER_PATHS, SCHEDULE_2031, MakeFiling, first_filing_order, order_on
from workflow import deadlines, service
from workflow.domain.calendar import install_schedule_file
from workflow.domain.commands import EventCommand
from workflow.domain.definition import DEADLINES_BY_KIND, Audience, DeadlineSpec, State, Unit
from workflow.domain.errors import VersionConflict
from workflow.domain.orders import OrderKind
from workflow.domain.overrides import PER_KEY
from workflow.schemas import FilingOut
from workflow.sweeps import fire_due_deadlines
from workflow.views import describing, history

if TYPE_CHECKING:
    from tests.conftest import Open

_HOST_REVIEW = PER_KEY["host_review_overdue"]


def _no_sms_window(settings: Settings) -> Settings:
    return settings.model_copy(update={"sms_window_hours": 0})


def _deadline(session: Session, filing_id: int, kind: str, state: str | None = None) -> Deadline:
    query = select(Deadline).where(Deadline.filing_id == filing_id, Deadline.kind == kind)
    return session.exec(query.where(Deadline.state == state) if state else query).one()


def test_a_window_of_zero_hours_expires_the_sms_in_the_approval_itself(
    session: Session, settings: Settings, new_filing: MakeFiling
) -> None:
    filing = new_filing("host_pre_approved")

    service.fire_event(
        session,
        filing.id,
        EventCommand(event="sms_sent"),
        actor="bob",
        settings=_no_sms_window(settings),
    )

    entries = history.history(session, filing.id)
    assert [(e.event, e.actor, e.from_state, e.to_state) for e in entries[-2:]] == [
        ("sms_sent", "bob", "host_pre_approved", "sms_pending"),
        ("expire_sms", "system", "sms_pending", "host_returned"),
    ]
    assert [e.version for e in entries] == list(range(1, len(entries) + 1))
    stored = describing.get_filing(session, filing.id)
    assert (stored.state, stored.version) == ("host_returned", entries[-1].version)
    assert _deadline(session, filing.id, "sms_expiry").status == DeadlineStatus.FIRED


def test_the_reply_describes_the_state_an_immediate_expiry_led_to(
    session: Session, settings: Settings, new_filing: MakeFiling
) -> None:
    filing = new_filing("host_pre_approved")

    view = service.fire_event(
        session,
        filing.id,
        EventCommand(event="sms_sent"),
        actor="bob",
        settings=_no_sms_window(settings),
    )

    assert view.state == "host_returned"
    assert "resubmit_overdue" in {d.kind for d in view.deadlines}
    assert "sms_expiry" not in {d.kind for d in view.deadlines}


def test_deadlines_armed_due_past_the_chain_bound_wait_for_the_sweep(
    db: Database,
    session: Session,
    settings: Settings,
    clock: FrozenClock,
    new_filing: MakeFiling,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "MAX_CHAIN", 1)
    quick = settings.model_copy(update={"sms_window_hours": 0, "idle_reminder_days": [0]})
    filing = new_filing("host_pre_approved")
    service.fire_event(
        session, filing.id, EventCommand(event="sms_sent"), actor="bob", settings=quick
    )
    reminder = _deadline(session, filing.id, "idle_reminder", "host_returned")
    assert reminder.status == DeadlineStatus.PENDING
    session.commit()

    assert fire_due_deadlines(db.engine, clock.now(), quick) == 1
    with Session(db.engine) as fresh:
        reminder = _deadline(fresh, filing.id, "idle_reminder", "host_returned")
        assert reminder.status == DeadlineStatus.FIRED


def test_a_chain_caught_up_late_tells_its_notices_in_the_order_they_fell_due(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """The SMS window closed, then the returned order lay idle until it lapsed, all while the
    scheduler was down: the window's notice first, saying the order was returned, then the
    lapse's."""
    filing = new_filing("sms_pending")
    session.commit()
    clock.advance(timedelta(days=settings.idle_lapse_days + 3))

    fire_due_deadlines(db.engine, clock.now(), settings)

    with Session(db.engine) as fresh:
        told = fresh.exec(
            select(Notification)
            .where(Notification.filing_id == filing.id)
            .order_by(col(Notification.id))
        ).all()
    kinds = [n.kind for n in told]
    assert kinds.index("sms_expiry") < kinds.index("idle_lapse")
    window = next(n for n in told if n.kind == "sms_expiry")
    assert "host_returned" in window.body and "lapsed" not in window.body


def _host_review_due_now(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> tuple[Filing, Deadline]:
    """A submitted order, and its host review's deadline, the clock at its due time."""
    filing = new_filing("submitted")
    deadline = _deadline(session, filing.id, "host_review_overdue")
    stored = session.get(Filing, filing.id)
    assert stored is not None
    clock.set(as_utc(deadline.due_at))
    return stored, deadline


def test_a_deadline_is_fired_once_however_often_it_is_fired(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    stored, deadline = _host_review_due_now(session, clock, new_filing)

    first = service.fire_deadline(session, stored, deadline, clock.now(), settings)
    again = service.fire_deadline(session, stored, deadline, clock.now(), settings)

    assert (first is not None, again) == (True, None)
    owed = session.exec(select(Notification).where(Notification.deadline_id == deadline.id)).all()
    assert len(owed) == len(settings.notify_routes["case_manager"])


def test_a_deadline_moved_later_after_the_sweep_listed_it_is_not_fired(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """A corrected holiday schedule counted it again between the sweep's list and its claim."""
    stored, deadline = _host_review_due_now(session, clock, new_filing)  # listed due now ...
    deadline.due_at += timedelta(days=1)  # ... and moved a day later by the recount
    session.add(deadline)
    session.flush()

    assert service.fire_deadline(session, stored, deadline, clock.now(), settings) is None
    assert _deadline(session, stored.id or 0, "host_review_overdue").status == "pending"


@POSTGRES_ONLY
def test_a_deadline_whose_event_meets_a_newer_filing_stays_pending(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, open_order: Open
) -> None:
    """The filing was read before a verifier answered in the window's last minute; the
    window's expiry then fails the version check, and its claim must roll back with it, or
    the expiry is lost for good."""
    order = open_order(**first_filing_order())
    for event, data in ORDER_PATHS["first_filing"][:4]:  # to sms_pending, two verifiers
        order = service.fire_event(
            session, order.id, EventCommand(event=event, data=data), actor="t"
        )
    clock.advance(timedelta(hours=23, minutes=59))
    with Session(db.engine, expire_on_commit=False) as sweep:
        stale = sweep.get(Filing, order.id)
        expiry = _deadline(sweep, order.id, "sms_expiry")
        assert stale is not None
        answer = EventCommand(event="verify_sms", data={"verifier": "entity"})
        assert service.fire_event(session, order.id, answer, actor="u").state == "sms_pending"
        clock.advance(timedelta(minutes=2))  # the window's end, the sweep still on its read

        with pytest.raises(VersionConflict):
            service.fire_deadline(sweep, stale, expiry, clock.now(), settings)
        sweep.rollback()

    with Session(db.engine) as fresh:
        assert _deadline(fresh, order.id, "sms_expiry").status == DeadlineStatus.PENDING


def test_a_deadline_reads_its_figure_from_the_settings_field_it_names(settings: Settings) -> None:
    spec = DEADLINES_BY_KIND["sms_expiry"]
    assert spec.setting == "sms_window_hours"
    changed = settings.model_copy(update={"sms_window_hours": 3})
    assert deadlines.figures(spec, State.SMS_PENDING, "first_filing", changed) == [3.0]


def test_a_figure_that_does_not_read_one_setting_is_refused() -> None:
    with pytest.raises(TypeError, match="must read one Settings field"):
        DeadlineSpec("odd", (), Unit.HOURS, lambda s: 1.0, Audience.OPS, "not a setting")


def test_each_deadline_in_the_reply_is_the_stored_row_of_its_kind_and_due_time(
    session: Session, settings: Settings, new_filing: MakeFiling
) -> None:
    filing = new_filing("submitted")

    view = service.fire_event(
        session, filing.id, EventCommand(event="host_return", data={"reason": "x"}), actor="bob"
    )

    assert len(view.deadlines) > 2  # host_returned arms several, so the ids could be mixed up
    for shown in view.deadlines:
        stored = session.get(Deadline, shown.id)
        assert stored is not None
        assert (stored.filing_id, stored.kind, stored.state) == (filing.id, shown.kind, view.state)
        assert stored.due_at.replace(tzinfo=shown.due_at.tzinfo) == shown.due_at


def _submitted(session: Session, order: FilingOut) -> FilingOut:
    for event, data in ORDER_PATHS[order.kind]:
        if event == "host_approve":
            return order
        command = EventCommand(event=event, data=data)
        order = service.fire_event(session, order.id, command, actor="t")
    raise AssertionError(f"{order.kind} has no host review")


def test_a_hosts_pass_arms_a_reminder_a_day_later_for_the_sms_not_yet_recorded(
    session: Session, new_filing: MakeFiling, clock: FrozenClock
) -> None:
    passed = new_filing("host_pre_approved")  # a first filing, which has the SMS check

    [reminder] = [d for d in passed.deadlines if d.kind == "sms_arrival_reminder"]
    assert reminder.due_at == clock.now() + timedelta(hours=24)


def test_a_hosts_pass_of_an_order_without_an_sms_check_arms_no_sms_reminder(
    session: Session, on_file: FilingOut, open_order: Open
) -> None:
    assert on_file.service_id is not None
    order = _submitted(
        session, open_order(**order_on("cancel_access", on_file.entity_id, on_file.service_id))
    )

    passed = service.fire_event(session, order.id, EventCommand(event="host_approve"), actor="t")

    assert passed.state == "host_pre_approved"
    assert "sms_arrival_reminder" not in {d.kind for d in passed.deadlines}


def test_recording_the_sms_disarms_its_arrival_reminder(
    session: Session, new_filing: MakeFiling
) -> None:
    passed = new_filing("host_pre_approved")

    service.fire_event(session, passed.id, EventCommand(event="sms_sent"), actor="bob")

    assert _deadline(session, passed.id, "sms_arrival_reminder").status == DeadlineStatus.DISARMED


@pytest.mark.parametrize(
    ("kind", "due"),
    [
        ("change", "2026-03-04T10:00+08:00"),  # Monday + 2 working days
        ("cancel_entity", "2026-03-04T10:00+08:00"),
        ("new_access", "2026-03-05T10:00+08:00"),  # as a first filing: 3
    ],
)
def test_a_hosts_pre_review_is_overdue_after_its_order_kinds_working_days(
    session: Session, on_file: FilingOut, open_order: Open, kind: str, due: str
) -> None:
    assert on_file.service_id is not None
    order = _submitted(session, open_order(**order_on(kind, on_file.entity_id, on_file.service_id)))

    [review] = [d for d in order.deadlines if d.kind == "host_review_overdue"]
    assert review.due_at == datetime.fromisoformat(due)


def test_the_host_review_has_a_default_for_every_order_kind() -> None:
    assert set(_HOST_REVIEW.defaults) == {kind.value for kind in OrderKind}


def test_one_number_for_the_host_review_sets_every_order_kind() -> None:
    figures = _HOST_REVIEW.figures(Settings.model_validate({"host_review_working_days": 4}))
    assert figures == dict.fromkeys(_HOST_REVIEW.defaults, 4)


def test_a_host_review_figure_for_one_kind_keeps_the_others() -> None:
    figures = _HOST_REVIEW.figures(Settings(host_review_working_days={"change": 1}))
    assert figures == {**_HOST_REVIEW.defaults, "change": 1}


@pytest.mark.parametrize("figure", [0, 2.5, 61, float("inf"), float("nan"), True])
def test_one_host_review_figure_that_is_no_whole_number_from_1_to_60_is_refused(
    figure: object,
) -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        Settings.model_validate({"host_review_working_days": figure})
    assert [e["loc"] for e in refused.value.errors()] == [("host_review_working_days",)]


def test_a_stuck_threshold_set_for_one_state_keeps_every_other_states_default(
    monkeypatch: pytest.MonkeyPatch, new_filing: MakeFiling
) -> None:
    """Naming `submitted` once replaced the defaults whole: every other state armed no stuck
    deadline at all, and no one was told its orders stalled."""
    monkeypatch.setenv("STUCK_WORKING_DAYS", '{"submitted": 4}')
    get_settings.cache_clear()

    filing = new_filing("host_pre_approved")  # Monday 10:00; 3 working days by default

    [stuck] = [d for d in filing.deadlines if d.kind == "stuck"]
    assert stuck.due_at == datetime.fromisoformat("2026-03-05T10:00+08:00")


def test_an_event_after_a_schedule_was_loaded_counts_with_it_without_a_restart(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    clock.set(datetime(2031, 9, 26, 2, 0, tzinfo=UTC))  # Friday before National Day 2031
    now_checking = settings.model_copy(update={"calendar_recheck_seconds": 0})
    filing = new_filing("submitted", domain_expires_on="2033-06-30")
    assert deadlines.calendar_for(now_checking).is_estimated(2031)  # the process's calendar
    install_schedule_file(
        _json_file(settings.var_dir / "notice.json", SCHEDULE_2031),
        settings.effective_calendar_dir,
    )

    returned = EventCommand(event="host_return", data={"reason": "photo unclear"})
    service.fire_event(session, filing.id, returned, actor="bob", settings=now_checking)

    resubmit = _deadline(session, filing.id, "resubmit_overdue", "host_returned")
    assert resubmit.estimated is False


def _json_file(path: Path, content: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content), encoding="utf-8")
    return path
