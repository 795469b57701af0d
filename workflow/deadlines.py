"""Arming and disarming deadline rows, and computing their due times.

Calendar time (hours, days, weeks) counts weekends, as the SMS window does; working days
follow the Chinese official calendar, and a due time computed in a year whose official
schedule is unknown is flagged ``estimated`` until ops load the schedule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sqlalchemy import and_, bindparam, case, exists, func, insert, or_, update
from sqlmodel import Session, col, select

from config.clock import CHINA, as_utc, end_of_day
from config.settings import Settings
from models import Deadline, DeadlineStatus, Filing, table
from workflow.domain.calendar import WorkingCalendar
from workflow.domain.definition import (
    DEADLINES_BY_KIND,
    REMINDER_KINDS,
    WORKING_DAY_KINDS,
    DeadlineSpec,
    Per,
    Unit,
    deadlines_for,
)
from workflow.domain.orders import kind_spec
from workflow.domain.overrides import PER_KEY

_CALENDAR_UNITS = {
    Unit.HOURS: timedelta(hours=1),
    Unit.DAYS: timedelta(days=1),
    Unit.WEEKS: timedelta(weeks=1),
}


@lru_cache(maxsize=4)
def _calendar(schedule_dir: Path | None, recheck_seconds: float) -> WorkingCalendar:
    return WorkingCalendar(schedule_dir, recheck_seconds=recheck_seconds)


def calendar_for(settings: Settings) -> WorkingCalendar:
    """The process's calendar, with any schedule ops loaded since it last looked."""
    calendar = _calendar(settings.effective_calendar_dir, settings.calendar_recheck_seconds)
    calendar.refresh()
    return calendar


def figures(spec: DeadlineSpec, state: str, kind: str, settings: Settings) -> list[float]:
    """The configured figures of ``spec`` in ``state`` for an order of ``kind``: none, one
    or several; none where the kind's path lacks the event ``spec`` awaits."""
    if spec.awaits is not None and spec.awaits not in kind_spec(kind).events:
        return []
    per_key = PER_KEY.get(spec.kind)
    if per_key is None:
        value = spec.figure(settings)
    else:
        value = per_key.figures(settings).get(state if spec.per is Per.STATE else kind)
    if value is None:
        return []
    if isinstance(value, Mapping):
        raise TypeError(f"{spec.setting} is set per state or kind: declare its defaults in PER_KEY")
    if isinstance(value, Sequence):
        return [float(v) for v in value]
    return [float(value)]


def due_time(
    spec: DeadlineSpec, figure: float, start: datetime, settings: Settings
) -> tuple[datetime, bool]:
    if spec.unit is Unit.WORKING_DAYS:
        due = calendar_for(settings).add_working_days(start, int(figure))
        at, estimated = due.at, due.estimated
    else:
        at, estimated = start + _CALENDAR_UNITS[spec.unit] * figure, False
    if spec.by_end_of_day:
        at = end_of_day(at.astimezone(CHINA).date())
    return at, estimated


_DEADLINES = table(Deadline)
# Built once: arming and disarming run on every event. Rows come back in no promised order;
# asking the database to keep the parameters' order costs more than matching (kind, figure).
_ARM = insert(_DEADLINES).returning(_DEADLINES.c.id, _DEADLINES.c.kind, _DEADLINES.c.figure)
_DISARM = (
    update(_DEADLINES)
    .where(_DEADLINES.c.filing_id == bindparam("filing"), _DEADLINES.c.disarmed_at.is_(None))
    .values(
        disarmed_at=bindparam("now"),
        status=case(
            (_DEADLINES.c.status == DeadlineStatus.PENDING, DeadlineStatus.DISARMED),
            else_=_DEADLINES.c.status,
        ),
    )
)
# A filing's open reminders still pending that a later one of the same series (kind), due
# too, has overtaken.
_SAME_SERIES = _DEADLINES.alias("same_series")
_LATEST_OF_SERIES = (
    select(func.max(_SAME_SERIES.c.due_at))
    .where(
        _SAME_SERIES.c.filing_id == _DEADLINES.c.filing_id,
        _SAME_SERIES.c.kind == _DEADLINES.c.kind,
        _SAME_SERIES.c.disarmed_at.is_(None),
        _SAME_SERIES.c.due_at <= bindparam("now"),
    )
    .scalar_subquery()
)
# ... or that the deadline it warns of (``reminds_of``), due too, has overtaken: "review is
# taking long" says nothing once the legal limit has ended, told by its own notice. Only a
# deadline that moves nothing: one firing an event takes the reminders with the state it
# leaves, and one whose event fails (stays pending) must leave them to be sent.
_WARNED_OF = _DEADLINES.alias("warned_of")
_ITS_WARNING_DUE = or_(
    *(
        and_(
            _DEADLINES.c.kind == spec.kind,
            exists().where(
                _WARNED_OF.c.filing_id == _DEADLINES.c.filing_id,
                _WARNED_OF.c.kind == spec.reminds_of,
                _WARNED_OF.c.disarmed_at.is_(None),
                _WARNED_OF.c.due_at <= bindparam("now"),
            ),
        )
        for spec in DEADLINES_BY_KIND.values()
        if spec.reminds_of is not None and DEADLINES_BY_KIND[spec.reminds_of].event is None
    )
)
_CLOSE_OVERTAKEN = (
    update(_DEADLINES)
    .where(
        _DEADLINES.c.filing_id == bindparam("filing"),
        _DEADLINES.c.disarmed_at.is_(None),
        _DEADLINES.c.status == DeadlineStatus.PENDING,
        _DEADLINES.c.kind.in_(REMINDER_KINDS),
        or_(_DEADLINES.c.due_at < _LATEST_OF_SERIES, _ITS_WARNING_DUE),
    )
    .values(status=DeadlineStatus.DISARMED, disarmed_at=bindparam("now"))
    .returning(_DEADLINES.c.id)
)


@dataclass
class OpenDeadline:
    """A deadline as just armed. Arming runs on every event, so rows are written with one
    multi-row INSERT and described from these plain objects instead of ORM instances."""

    id: int
    kind: str
    figure: float
    due_at: datetime
    estimated: bool
    status: DeadlineStatus = DeadlineStatus.PENDING


def arm(
    session: Session,
    filing: Filing,
    state: str,
    now: datetime,
    settings: Settings,
    *,
    since: datetime | None = None,
) -> list[OpenDeadline]:
    """Write the deadline rows ``state`` arms on entry for ``filing``'s order kind, counted
    from ``since`` (when the state was really entered, if it is recorded late) or ``now``;
    ``armed_at`` keeps that start, which a recount counts from again."""
    start = since or now
    planned = [
        (spec.kind, figure, *due_time(spec, figure, start, settings))
        for spec in deadlines_for(state)
        for figure in figures(spec, state, filing.kind, settings)
    ]
    if not planned:
        return []
    rows = [
        {
            "filing_id": filing.id,
            "kind": kind,
            "state": state,
            "figure": figure,
            "due_at": at,
            "status": DeadlineStatus.PENDING,
            "estimated": estimated,
            "armed_at": start,
        }
        for kind, figure, at, estimated in planned
    ]
    ids: dict[tuple[str, float], list[int]] = defaultdict(list)
    for row_id, kind, figure in session.connection().execute(_ARM, rows):
        ids[kind, figure].append(row_id)
    return [
        OpenDeadline(ids[kind, figure].pop(), kind, figure, at, estimated)
        for kind, figure, at, estimated in planned
    ]


def armed_figures(deadlines: Iterable[tuple[str, float]], settings: Settings) -> dict[str, float]:
    """The figures ``deadlines`` (kind, figure) were armed with, by the setting each reads, for
    a text naming one (``{idle_lapse_days}``) to say what was armed, not today's setting: a
    lapse armed at 45 days still says 45 after IDLE_LAPSE_DAYS became 60. A whole number reads
    as one. A setting holding a list or a mapping arms several figures: its texts keep it."""
    armed: dict[str, float] = {}
    for kind, figure in deadlines:
        setting = DEADLINES_BY_KIND[kind].setting
        if isinstance(getattr(settings, setting), int | float):
            armed[setting] = int(figure) if float(figure).is_integer() else figure
    return armed


def open_deadlines(session: Session, filing_id: int) -> list[OpenDeadline]:
    """The deadlines of the state the filing is in (armed, not yet disarmed)."""
    rows = session.exec(
        select(Deadline).where(Deadline.filing_id == filing_id, col(Deadline.disarmed_at).is_(None))
    )
    return [
        OpenDeadline(
            row.id or 0, row.kind, row.figure, as_utc(row.due_at), row.estimated, row.status
        )
        for row in rows
    ]


def close_overtaken(session: Session, filing_id: int, now: datetime) -> set[int]:
    """Close unsent the filing's reminders due by ``now`` that a later reminder of the same
    series, or the deadline they warn of, due too, has overtaken; their ids. Only the latest
    tells the truth: after a state entered late (an SMS recorded hours after it came) or a
    sweep that was away (the scheduler down for weeks), "3 weeks in review" is stale once the
    4-week reminder is due, as are the 0 h and 12 h SMS reminders once the 20 h one is, and
    every "review is taking long" once the legal limit has ended (20 working days around a
    make-up working day end before 4 weeks do). The deadline a series warns of, when it fires
    an event, goes first and takes the series with the state it leaves; a deadline that makes
    the filing late is never closed (obligations are treated alike)."""
    closed = session.connection().execute(_CLOSE_OVERTAKEN, {"filing": filing_id, "now": now})
    return set(closed.scalars())


def skip_overtaken(
    session: Session, filing_id: int, armed: list[OpenDeadline], now: datetime
) -> list[OpenDeadline]:
    """``close_overtaken`` for a state just entered, whose deadlines are ``armed``; those left.
    Only a state entered late arms several deadlines already due: the rest costs nothing."""
    if sum(d.due_at <= now for d in armed) < 2:
        return armed
    closed = close_overtaken(session, filing_id, now)
    return [d for d in armed if d.id not in closed]


def disarm(session: Session, filing_id: int, now: datetime) -> None:
    """Close every deadline of the state the filing leaves; pending ones become ``disarmed``.

    ``disarmed_at IS NULL`` is what "belongs to the current state" means to the overdue and
    stuck filters, so fired deadlines are closed too, keeping their ``fired`` status.
    """
    session.connection().execute(_DISARM, {"filing": filing_id, "now": now})


# A recount moves a deadline only while it is still pending: one the sweep claimed or an
# event disarmed since it was read keeps the time it fired or closed at.
_RECOUNT = (
    update(_DEADLINES)
    .where(
        _DEADLINES.c.id == bindparam("b_id"),
        _DEADLINES.c.status == DeadlineStatus.PENDING,
        _DEADLINES.c.disarmed_at.is_(None),
    )
    .values(due_at=bindparam("b_due"), estimated=bindparam("b_estimated"))
)


def recount_working_days(
    session: Session, settings: Settings, *, after: int, limit: int
) -> tuple[int, int | None]:
    """Count again, with the calendar as it stands, a batch of pending due times (those with
    ids above ``after``) that a holiday schedule moves: those counted in working days, and
    those estimated without a schedule. A schedule loaded for a year without one, or one
    replacing a year's with corrections, moves them alike: a deadline counted with the old
    one would fall on what is now a holiday, while one armed next day counts the new.

    Returns how many rows changed and the id to go on after, ``None`` once all were seen; the
    start is ``armed_at``, as before.
    """
    changed = 0
    rows = session.exec(
        select(Deadline)
        .where(
            col(Deadline.status) == DeadlineStatus.PENDING,
            or_(col(Deadline.estimated).is_(True), col(Deadline.kind).in_(WORKING_DAY_KINDS)),
            col(Deadline.id) > after,
        )
        .order_by(col(Deadline.id))
        .limit(limit)
    ).all()
    for row in rows:
        at, estimated = due_time(
            DEADLINES_BY_KIND[row.kind], row.figure, as_utc(row.armed_at), settings
        )
        if (at, estimated) != (as_utc(row.due_at), row.estimated):
            moved = session.connection().execute(
                _RECOUNT, {"b_id": row.id, "b_due": at, "b_estimated": estimated}
            )
            changed += moved.rowcount
    return changed, rows[-1].id if len(rows) == limit else None
