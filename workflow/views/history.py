"""What happened to one filing: its history, assignments, notifications and SMS verifiers.

A filing's page, ``GET /filings/{id}/…`` and ``icpflow filings show|history|…`` read these;
the forecast and the service read when each state was entered (``entered_at``,
``entry_times``). Reasons quoted in history are masked as the filing is: a case manager
pastes what the bureau wrote, numbers and all.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import and_
from sqlmodel import Session, col, select

from config.clock import as_utc
from config.masking import mask_phone, mask_text
from config.settings import Settings
from models import Assignment, Deadline, Filing, HistoryEntry, Notification, SmsVerifier
from workflow.deadlines import armed_figures
from workflow.domain.definition import (
    DEADLINES,
    EVENTS,
    EVENTS_BY_NAME,
    TERMINAL_STATES,
    EventSpec,
    State,
)
from workflow.domain.event_data import ReasonData
from workflow.domain.orders import VerifierResult
from workflow.domain.wording import worded
from workflow.schemas import (
    AssignmentOut,
    DeliveryRunOut,
    FilingDetailOut,
    FilingOut,
    HistoryOut,
    NotificationOut,
    SentBackOut,
    VerifierOut,
)
from workflow.views.describing import filing, get_filing

# Where a refusal or a return sends a filing and leaves it open, for the case manager to
# answer (``withdraw`` ends the filing instead): the states of the events whose data is a
# reason. An SMS window passing, or a fifth wrong code, sends it there without one.
SENT_BACK: frozenset[State] = frozenset(
    e.dest for e in EVENTS if e.data is ReasonData and e.dest not in TERMINAL_STATES
)


def delivery_run(notification: Notification, settings: Settings) -> DeliveryRunOut:
    """The notification's run as every answer shows it; the attempts a run gets are the
    install's now (``DELIVERY_MAX_RETRIES`` + 1 in ``settings``), which the row does not keep."""
    return DeliveryRunOut(
        run_attempts=notification.run_attempts,
        max_attempts=settings.delivery_attempts,
        failing_since=notification.failing_since,
        next_attempt_at=notification.next_attempt_at,
    )


def filing_detail(
    session: Session, filing_id: int, now: datetime, settings: Settings
) -> FilingDetailOut:
    """One filing as ``GET /filings/{id}`` and ``filings show --json`` give it: with why it
    was sent back, read as the console's /mine reads it (``returns``), which lists leave out
    (a query more for every page)."""
    view = filing(session, filing_id, now, settings)
    return FilingDetailOut(**dict(view), sent_back=returns(session, [view]).get(view.id))


def assignments(session: Session, filing_id: int) -> list[AssignmentOut]:
    """Who gave an existing filing to whom, and when, oldest first."""
    get_filing(session, filing_id)
    rows = session.exec(
        select(Assignment).where(Assignment.filing_id == filing_id).order_by(col(Assignment.id))
    )
    return [AssignmentOut.model_validate(row) for row in rows]


def history(session: Session, filing_id: int) -> list[HistoryOut]:
    """Every applied event of an existing filing, oldest first, with the applicant's identity
    and phone numbers masked wherever a reason or the event's data quotes them. An optional
    key left out (an SMS recorded when it came names no ``sent_at``) is stored as null; it
    is shown as not given, as it was, here, where the API, the CLI and the pages read it."""
    secrets = _secrets(get_filing(session, filing_id))
    rows = session.exec(
        select(HistoryEntry)
        .where(HistoryEntry.filing_id == filing_id)
        .order_by(col(HistoryEntry.version))
    )
    shown = []
    for row in rows:
        entry = HistoryOut.model_validate(row)
        entry.reason = mask_text(entry.reason, secrets) if entry.reason else entry.reason
        entry.data = {
            key: _masked(value, secrets) for key, value in entry.data.items() if value is not None
        }
        shown.append(entry)
    return shown


def _secrets(filing: Filing) -> tuple[str, str]:
    return filing.applicant_id_number, filing.applicant_phone


def _masked(value: Any, secrets: Sequence[str]) -> Any:
    return mask_text(value, secrets) if isinstance(value, str) else value


def notifications(session: Session, filing_id: int, settings: Settings) -> list[NotificationOut]:
    """What an existing filing owed whom, with each delivery's run, oldest first."""
    get_filing(session, filing_id)
    rows = session.exec(
        select(Notification)
        .where(Notification.filing_id == filing_id)
        .order_by(col(Notification.id))
    )
    return [
        NotificationOut.model_validate(
            {name: getattr(row, name) for name in _NOTIFICATION_COLUMNS}
            | dict(delivery_run(row, settings))
        )
        for row in rows
    ]


# What a filing's notification shows of its row as stored; the run's fields are derived.
# (Read field by field: the row's status is the text stored, which ``model_dump`` warns of.)
_NOTIFICATION_COLUMNS = NotificationOut.model_fields.keys() - DeliveryRunOut.model_fields.keys()


@dataclass(frozen=True)
class SentBack:
    """The event that sent a filing back where it stands, and why: its reason, or for one
    that has none (the SMS window passing) what the event means."""

    entry: HistoryOut
    why: str

    @property
    def at(self) -> datetime:
        """When it happened: a window closed while the scheduler was away closed when it fell
        due, not when the sweep got to it (``entered_at``)."""
        return entered_at(self.entry.event, self.entry.data, self.entry.at)


def returns(session: Session, filings: Collection[FilingOut]) -> dict[int, SentBackOut]:
    """Why each of a page's filings sent back (host returned, rejected) was: its latest
    history entry, the one that put it there, for all of them in one query by their ids and
    versions (the history's unique index)."""
    ids = {f.id for f in filings if f.state in SENT_BACK}
    if not ids:
        return {}
    rows = session.exec(
        select(HistoryEntry, Filing.applicant_id_number, Filing.applicant_phone)
        .join(
            Filing,
            and_(
                col(HistoryEntry.filing_id) == col(Filing.id),
                col(HistoryEntry.version) == col(Filing.version),
            ),
        )
        .where(col(Filing.id).in_(ids))
    ).all()
    return {
        entry.filing_id: SentBackOut(
            event=entry.event,
            reason=mask_text(entry.reason, (id_number, phone)) if entry.reason else None,
        )
        for entry, id_number, phone in rows
    }


@dataclass(frozen=True)
class Timeline:
    """A filing's page: the filing (masked), its history, its notifications, how long it spent
    in each state and, while a return or refusal is still owed an answer, why it was sent
    back."""

    filing: FilingOut
    history: list[HistoryOut]
    notifications: list[NotificationOut]
    time_in_states: list[tuple[str, timedelta]]
    sent_back: SentBack | None
    assignments: list[AssignmentOut]


def timeline(session: Session, filing_id: int, now: datetime, settings: Settings) -> Timeline:
    entries = history(session, filing_id)
    return Timeline(
        filing(session, filing_id, now, settings),
        entries,
        notifications(session, filing_id, settings),
        time_in_states(entries, now),
        _sent_back(session, filing_id, entries, settings),
        assignments(session, filing_id),
    )


def _sent_back(
    session: Session, filing_id: int, entries: Sequence[HistoryOut], settings: Settings
) -> SentBack | None:
    """Only the answer still owed: the latest return or refusal no (re)submission followed.
    Lapsing, or binding a new server's number after it, answers nothing: the order resumes
    by submitting again. A filing ended (withdrawn, approved) owes none."""
    if not entries or entries[-1].to_state in TERMINAL_STATES:
        return None
    for entry in reversed(entries):
        if entry.to_state == State.SUBMITTED:  # a (re)submission answered it
            return None
        if entry.to_state in SENT_BACK:
            spec = EVENTS_BY_NAME.get(entry.event)
            told = _meant(session, filing_id, entry, spec, settings) if spec else entry.event
            return SentBack(entry, entry.reason or told)
    return None


def _meant(
    session: Session, filing_id: int, entry: HistoryOut, spec: EventSpec, settings: Settings
) -> str:
    """What an event without a reason meant, its figures as the deadline firing it was armed
    with (the window it closed was 24 h, whatever SMS_WINDOW_HOURS says since)."""
    kinds = [d.kind for d in DEADLINES if d.event == spec.name]
    if not kinds:
        return worded(spec.description, settings)
    fired = session.exec(
        select(Deadline.kind, Deadline.figure).where(
            Deadline.filing_id == filing_id,
            col(Deadline.kind).in_(kinds),
            Deadline.fired_at == entry.at,
        )
    ).all()
    return worded(spec.description, settings, armed_figures(fired, settings))


def time_in_states(entries: Sequence[HistoryOut], now: datetime) -> list[tuple[str, timedelta]]:
    """Total time spent in each state visited, in order of first visit; the current state
    counts up to ``now`` (a terminal one too: it says how long ago the filing ended)."""
    spent: dict[str, timedelta] = {}
    entered = entry_times([entered_at(e.event, e.data, e.at) for e in entries])
    for entry, start, until in zip(entries, entered, [*entered[1:], now], strict=True):
        spent[entry.to_state] = spent.get(entry.to_state, timedelta(0)) + (until - start)
    return list(spent.items())


def entry_times(happened: Sequence[datetime]) -> list[datetime]:
    """When each of an order's successive history rows' states began, from when the rows say
    they happened (``entered_at``, in the rows' order): a state lasts until the next begins.

    A row may say it happened before rows recorded ahead of it: an SMS sent before the host's
    approval was recorded, a window closed before the resubmission that caught it up. The
    late row's time is the one known; the rows before it were in truth done by then, so
    each of those states ends there, however short that leaves it (nothing for one recorded
    after it), never the late state pushed back to when they were recorded: that would
    count the SMS window from the wrong time and lengthen the state before. No time is
    before the first row's (the order opened): no state lasts less than nothing, and none
    more than the order has existed.
    """
    if not happened:
        return []
    opened = happened[0]
    later_first = accumulate((max(at, opened) for at in reversed(happened)), min)
    return list(reversed(list(later_first)))


def entered_at(event: str, data: Mapping[str, Any], recorded: datetime) -> datetime:
    """When a history row's state was entered: when its event was ``recorded``, or the earlier
    time its data says it happened (an SMS recorded late, ``EventData.starts_clocks``). A value
    that is no time (history edited by hand) counts as not given."""
    spec = EVENTS_BY_NAME.get(event)
    key = spec.data.starts_clocks if spec else None
    given = data.get(key) if key else None
    try:
        return as_utc(datetime.fromisoformat(given)) if isinstance(given, str) else recorded
    except ValueError:
        return recorded


def verifiers(session: Session, filing_id: int) -> list[VerifierOut]:
    """Who must answer the order's SMS, and how far each got in the order's current round:
    the API, the CLI and the filing's page all read this. A (re)submission starts a round,
    whose SMS comes anew with a 24 h window of its own; the rows keep the last round's
    results until that SMS (``workflow.verifiers``). So one (re)submitted since MIIT's last
    SMS shows each as a round starts, its SMS not sent and no wrong code, not failed (a
    window that expired) or verified (before the bureau rejected it) in a round that ended;
    that round's results stay in the history."""
    get_filing(session, filing_id)
    rows = session.exec(
        select(SmsVerifier).where(SmsVerifier.filing_id == filing_id).order_by(col(SmsVerifier.id))
    )
    stored = [
        VerifierOut.model_validate(r).model_copy(update={"mobile": mask_phone(r.mobile)})
        for r in rows
    ]
    if _sms_sent_this_round(session, filing_id):
        return stored
    new_round = {"window_started_at": None, "result": VerifierResult.PENDING, "wrong_entries": 0}
    return [v.model_copy(update=new_round) for v in stored]


def _sms_sent_this_round(session: Session, filing_id: int) -> bool:
    """Whether MIIT's SMS came since the order was last (re)submitted, which starts a round:
    its latest history row of the two, by the history's unique index."""
    latest = session.exec(
        select(HistoryEntry.to_state)
        .where(
            HistoryEntry.filing_id == filing_id,
            col(HistoryEntry.to_state).in_([State.SMS_PENDING, State.SUBMITTED]),
        )
        .order_by(col(HistoryEntry.version).desc())
        .limit(1)
    ).first()
    return latest == State.SMS_PENDING
