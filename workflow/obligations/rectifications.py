"""Rectification notices (整改通知): due in working days from their receipt, extended once,
counted again when the calendar changes, closed once rectified.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlmodel import Session, col, select

from config.clock import CHINA, as_utc, end_of_day
from config.settings import Settings
from models import DeadlineStatus, Filing, Obligation, Service
from workflow.deadlines import calendar_for
from workflow.domain.calendar import WorkingCalendar
from workflow.domain.errors import NotFound, Reason
from workflow.domain.obligations import (
    ExtensionIn,
    ObligationKind,
    Recorded,
    RectificationIn,
    check_extension,
    check_notice_day,
)
from workflow.obligations.reading import ServiceDutiesOut
from workflow.obligations.recording import Written, record_write
from workflow.obligations.rows import approval_day, close_row, open_obligation, refused


def rectification(
    session: Session, service_id: int, command: RectificationIn, settings: Settings, actor: str
) -> ServiceDutiesOut:
    """A rectification notice, due ``working_days`` working days from the day it was received
    (today unless told): at the end of the last one, as the PSB filing is, since a notice may
    be met all of its last day."""

    def write(service: Service, filing: Filing, now: datetime) -> Written | None:
        today = now.astimezone(CHINA).date()
        received = command.received_on or today
        reasons = check_notice_day(received, today=today, approved_on=approval_day(filing))
        if reasons:
            raise refused("rectification not recorded", *reasons)
        said = {
            "reference": command.reference,
            "working_days": command.working_days,
            "detail": command.detail,
            "received_on": str(received),
        }
        if same := _open_notice(session, service_id, command.reference):
            # A retry naming no day says what the first did, after midnight too.
            compared = [k for k in said if k != "received_on" or command.received_on]
            if all(same.data.get(key) == said[key] for key in compared):
                return None  # the notice sent again as recorded (a retry): one duty, unchanged
            raise refused(
                "rectification not recorded",
                Reason(
                    "rectification_open",
                    f"notice {command.reference!r} is open already as rectification {same.id}",
                    field="reference",
                    details={"obligation_id": same.id},
                ),
            )
        start = _day_moment(received)
        due, estimated = _working_days_after(calendar_for(settings), start, command.working_days)
        data = {**said, "extended_by": None}
        open_obligation(
            session, service, filing, ObligationKind.RECTIFICATION, due, now, data, estimated
        )
        return Written(settled={"received_on": str(received)})

    said = command.model_dump(mode="json")
    what = Recorded.RECTIFICATION
    return record_write(session, service_id, write, settings, what=what, said=said, actor=actor)


def extend(
    session: Session, obligation_id: int, command: ExtensionIn, settings: Settings, actor: str
) -> ServiceDutiesOut:
    """One extension of at most ``rectification_max_extension_working_days``; a second is refused.
    Counted, as ``recount_rectifications`` counts it, from the notice's receipt."""
    service_id = _rectification(session, obligation_id).service_id

    def write(service: Service, filing: Filing, now: datetime) -> Written | None:
        row = _rectification(session, obligation_id, fresh=True)
        if row.data.get("extended_by") == command.working_days:
            return None  # the extension sent again (a retry): the one extension, as recorded
        reasons = check_extension(
            row.data.get("extended_by") is not None,
            command.working_days,
            settings.rectification_max_extension_working_days,
        )
        if reasons:
            raise refused("extension refused", *reasons)
        days = int(row.data["working_days"]) + command.working_days
        due = _working_days_after(calendar_for(settings), _received(row), days)
        # An extension recorded once the notice fell due keeps that it was late: escalated
        # no longer, it would otherwise read as though it had never been.
        was_due = as_utc(row.due_at)
        late = {"overdue_since": was_due.isoformat()} if was_due <= now else {}
        row.data = {**row.data, "extended_by": command.working_days, **late}
        row.due_at, row.estimated = due
        if row.due_at > now:  # escalated again if it passes; one still past was told already
            row.status, row.fired_at = DeadlineStatus.PENDING, None
        session.add(row)
        return Written()

    said = {"rectification_id": obligation_id, **command.model_dump(mode="json")}
    return record_write(
        session, service_id, write, settings, what=Recorded.EXTENSION, said=said, actor=actor
    )


def recount_rectifications(session: Session, settings: Settings) -> int:
    """Count again, with the calendar as it stands, the due times of open rectification
    notices (``deadlines.recount_working_days`` does the filings' deadlines); returns how many
    changed. A notice is due its working days, and any extension's, after it was received,
    whether they were counted with a schedule since corrected or estimated without one. They
    are few (one per notice a bureau sent), so one transaction takes them all."""
    calendar = calendar_for(settings)
    rows = session.exec(
        select(Obligation)
        .where(
            col(Obligation.kind) == ObligationKind.RECTIFICATION,
            col(Obligation.status) == DeadlineStatus.PENDING,  # an escalated one stays as told
            col(Obligation.closed_at).is_(None),
        )
        # Held until counted: an extension or the sweep's escalation committed meanwhile is
        # waited for and read, not written over with a due time counted without it. Taken in
        # id order, as another recount (the CLI's beside the leader's) takes them, or the two
        # could each hold a row the other waits for.
        .order_by(col(Obligation.id))
        .with_for_update()
    ).all()
    changed = 0
    for row in rows:
        days = int(row.data["working_days"]) + int(row.data.get("extended_by") or 0)
        due = _working_days_after(calendar, _received(row), days)
        if due != (as_utc(row.due_at), row.estimated):
            row.due_at, row.estimated = due
            session.add(row)
            changed += 1
    return changed


def rectified(
    session: Session, obligation_id: int, settings: Settings, actor: str
) -> ServiceDutiesOut:
    """The rectification was done: its obligation closes."""
    service_id = _rectification(session, obligation_id).service_id

    def write(service: Service, filing: Filing, now: datetime) -> Written:
        row = _rectification(session, obligation_id, fresh=True)
        close_row(row, now, {"rectified": True})
        session.add(row)
        return Written()

    said = {"rectification_id": obligation_id}
    return record_write(
        session, service_id, write, settings, what=Recorded.RECTIFIED, said=said, actor=actor
    )


def _rectification(session: Session, obligation_id: int, *, fresh: bool = False) -> Obligation:
    """The open rectification; ``fresh`` reads it again, as a writer holding its service's
    lock must: another may have extended or closed it while this one waited."""
    row = session.get(Obligation, obligation_id, populate_existing=fresh)
    if row is None or row.kind != ObligationKind.RECTIFICATION:
        raise NotFound(f"rectification {obligation_id} does not exist")
    if row.closed_at is not None:
        raise refused("not recorded", Reason("closed", f"rectification {obligation_id} is closed"))
    return row


def _working_days_after(
    calendar: WorkingCalendar, start: datetime, days: int
) -> tuple[datetime, bool]:
    """The end of the Beijing day ``days`` working days after ``start``'s, as a calendar-day
    duty ends its day, and whether that day is estimated (a year without the official schedule)."""
    due = calendar.add_working_days(start, days)
    return end_of_day(due.at.astimezone(CHINA).date()), due.estimated


def _day_moment(day: date) -> datetime:
    """A moment of the Beijing ``day``, which a count of working days starts from."""
    return datetime.combine(day, time(12), tzinfo=CHINA)


def _received(notice: Obligation) -> datetime:
    """When a rectification notice's working days start: the day it was received, or for one
    recorded before that day was asked, the moment it was recorded."""
    day = notice.data.get("received_on")
    return _day_moment(date.fromisoformat(day)) if day else as_utc(notice.opened_at)


def _open_notice(session: Session, service_id: int, reference: str) -> Obligation | None:
    """The open rectification recording the notice ``reference``: a notice is one duty, however
    often it is typed in."""
    rows = session.exec(
        select(Obligation).where(
            Obligation.service_id == service_id,
            Obligation.kind == ObligationKind.RECTIFICATION,
            col(Obligation.closed_at).is_(None),
        )
    )
    return next((row for row in rows if row.data.get("reference") == reference), None)
