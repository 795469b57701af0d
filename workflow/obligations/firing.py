"""Due obligations, listed and fired by the scheduler's sweep.

``due_ids`` and ``fire`` are the scheduler's half: ``fire`` claims a due obligation (``pending``
-> ``fired``, so two schedulers never fire one twice), owes its notice or its job, and opens
the next footer check.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from config.clock import as_utc
from config.settings import Settings
from models import DeadlineStatus, Filing, Job, Obligation, Service, table
from workflow import notices, outbox
from workflow.domain.obligations import OBLIGATIONS_BY_KIND, Action, ObligationKind
from workflow.obligations.rows import (
    REMINDS_OF,
    figure_value,
    open_obligation,
    row_figures,
    worded_as_armed,
)

_OBLIGATIONS = table(Obligation)
_CLAIM_DUE_OBLIGATION = (
    update(_OBLIGATIONS)
    .where(
        _OBLIGATIONS.c.id == bindparam("b_id"),
        _OBLIGATIONS.c.status == DeadlineStatus.PENDING,
        _OBLIGATIONS.c.closed_at.is_(None),
        _OBLIGATIONS.c.due_at <= bindparam("b_now"),  # not moved later since it was listed
    )
    .values(status=DeadlineStatus.FIRED, fired_at=bindparam("b_now"))
)


def due_ids(session: Session, now: datetime, limit: int, skip: Sequence[int] = ()) -> list[int]:
    query = select(Obligation.id).where(
        col(Obligation.status) == DeadlineStatus.PENDING,
        col(Obligation.due_at) <= now,
        col(Obligation.closed_at).is_(None),
    )
    if skip:
        query = query.where(col(Obligation.id).not_in(skip))
    return [i for i in session.exec(query.order_by(col(Obligation.due_at)).limit(limit)) if i]


def fire(session: Session, obligation_id: int, now: datetime, settings: Settings) -> bool:
    """Claim one due obligation and act on it, in the caller's transaction; False when another
    sweeper claimed it first or it was closed meanwhile."""
    if (
        session.connection()
        .execute(_CLAIM_DUE_OBLIGATION, {"b_id": obligation_id, "b_now": now})
        .rowcount
        != 1
    ):
        return False
    row = session.get(Obligation, obligation_id)
    assert row is not None and row.id is not None
    spec = OBLIGATIONS_BY_KIND[ObligationKind(row.kind)]
    filing = session.get(Filing, row.filing_id)
    assert filing is not None
    if spec.action is Action.CHECK_FOOTER:
        check = outbox.FooterCheck(service_id=row.service_id, obligation_id=row.id)
        outbox.owe(session, Job.CHECK_FOOTER, check, now)
        row.closed_at = now  # a check is done once its job is owed; the next one is opened
        session.add(row)
        service = session.get(Service, row.service_id)
        assert service is not None
        interval = timedelta(hours=figure_value(ObligationKind.FOOTER_CHECK, settings))
        open_obligation(session, service, filing, ObligationKind.FOOTER_CHECK, now + interval, now)
        return True
    if spec.reminds is not None and _overtaken(session, row, spec.reminds, now):
        row.status, row.closed_at = DeadlineStatus.DISARMED, now
        row.data = {**row.data, "skipped": "a later reminder or the duty itself was due too"}
        session.add(row)
        return True
    due = as_utc(row.due_at)
    notices.for_service(
        session,
        filing,
        row.service_id,
        kind=notices.duty_notice(ObligationKind(row.kind)),
        audience=spec.audience,
        key=f"{filing.id}:o{row.id}:{due.isoformat()}",
        title=(
            worded_as_armed(spec.zh, row, settings),
            worded_as_armed(spec.description, row, settings),
        ),
        lines=_notice_lines(row, due),
        now=now,
        settings=settings,
    )
    return True


def _notice_lines(row: Obligation, due: datetime) -> list[str]:
    """When it is due, and what the row knows of it. A reminder's own time is when it is
    sent, not a due time: it gives the day it reminds of (the PSB filing's, the expiry's)."""
    reminded = REMINDS_OF.get(ObligationKind(row.kind))
    if reminded is None:
        return [notices.due_line(due), *_data_lines(row)]
    day = row.data.get(reminded)
    return [
        notices.due_day_line(day),
        *_data_lines(row, leave_out=(reminded, "days_before")),
    ]


def _overtaken(session: Session, row: Obligation, duty: ObligationKind, now: datetime) -> bool:
    """Whether a later reminder of the same duty, or the duty itself, is due as well: the
    sweep was away (the scheduler down for days), and only the latest still tells the truth,
    not a burst of "due in 7 days" after the day has passed."""
    later = session.exec(
        select(Obligation.id).where(
            Obligation.service_id == row.service_id,
            col(Obligation.kind).in_([row.kind, duty.value]),
            col(Obligation.closed_at).is_(None),
            col(Obligation.due_at) > row.due_at,
            col(Obligation.due_at) <= now,
        )
    ).first()
    return later is not None


def _data_lines(row: Obligation, leave_out: Sequence[str] = ()) -> list[str]:
    """What the row knows, but the figures it was armed with: its text names those."""
    left_out = {*leave_out, *row_figures(row)}
    return [
        f"{key}: {value}"
        for key, value in row.data.items()
        if value is not None and key not in left_out
    ]
