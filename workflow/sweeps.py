"""What the scheduler's sweeps run: firing deadlines that have come due, queueing again the
deliveries whose jobs the broker lost, and counting again, with a new holiday schedule, the
due times counted in working days.

Due rows are found through the ``(status, due_at)`` index, a batch at a time, and each is
fired by ``service.fire_deadline`` (which claims it) in its own transaction, so two sweepers
can never fire one deadline twice and one bad filing cannot block the others. Lost deliveries
are found the same way, through the notifications' ``(status, queued_at)`` index.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import ReturningUpdate
from sqlmodel import Session, col, select

from config.clock import as_utc
from config.settings import Settings
from models import (
    NEW_RUN,
    Deadline,
    DeadlineStatus,
    Filing,
    Job,
    Notification,
    NotificationStatus,
    OutboxMessage,
    table,
)
from workflow import deadlines, obligations, outbox
from workflow.domain.definition import EVENT_DEADLINE_KINDS, REMINDER_KINDS
from workflow.service import fire_deadline

log = logging.getLogger(__name__)
_NOTIFICATIONS = table(Notification)


def due_deadline_ids(
    session: Session,
    now: datetime,
    limit: int,
    skip: Collection[int] = (),
    kinds: Collection[str] | None = None,
) -> list[int]:
    query = select(Deadline.id).where(
        col(Deadline.status) == DeadlineStatus.PENDING, col(Deadline.due_at) <= now
    )
    if skip:
        query = query.where(col(Deadline.id).not_in(skip))
    if kinds is not None:
        query = query.where(col(Deadline.kind).in_(kinds))
    rows = session.exec(query.order_by(col(Deadline.due_at)).limit(limit))
    return [row for row in rows if row is not None]


def fire_due_deadlines(engine: Engine, now: datetime, settings: Settings) -> int:
    """Fire every deadline due at ``now``, batch by batch; returns how many this call fired.

    Those that fire an event go first. After a gap (the scheduler down, a machine asleep) a
    reminder may come due together with the deadline it warns of; the state that deadline's
    event leaves takes the stale reminder with it, disarmed and unsent, and a reminder a later
    deadline due too has overtaken is closed unsent (``deadlines.close_overtaken``). One
    failing stays pending and holds nothing back: the reminders still fire in the second
    pass.
    """
    size, failed = settings.sweep_batch_size, set[int]()

    def fire(deadline_id: int) -> int:
        return _fire_one(engine, deadline_id, now, settings)

    moving = _in_batches(
        "deadline",
        engine,
        size,
        lambda session, skip: due_deadline_ids(session, now, size, skip, EVENT_DEADLINE_KINDS),
        fire,
        failed,
    )
    return moving + _in_batches(
        "deadline",
        engine,
        size,
        lambda session, skip: due_deadline_ids(session, now, size, skip),
        fire,
        failed,
    )


def _in_batches(
    what: str,
    engine: Engine,
    size: int,
    due: Callable[[Session, Collection[int]], list[int]],
    fire: Callable[[int], int],
    failed: set[int],
) -> int:
    """Fire what ``due`` finds, a batch of ``size`` at a time, each in its own transaction;
    returns how many fired. One that fails unexpectedly stays pending for the next sweep and
    joins ``failed``, skipped for the rest of this one: it neither blocks those behind it
    nor loops."""
    fired = 0
    while True:
        with Session(engine) as session:
            batch = due(session, failed)
        for row_id in batch:
            try:
                fired += fire(row_id)
            except Exception:
                log.exception("%s %s failed to fire; it stays pending", what, row_id)
                failed.add(row_id)
        if len(batch) < size:
            return fired


def _fire_one(engine: Engine, deadline_id: int, now: datetime, settings: Settings) -> int:
    """The filing is locked before the deadline is claimed, in the order a user's event takes
    them (filing, then its deadlines): a user's event committing meanwhile is waited for and
    seen, rather than deadlocking with the sweep or failing its event's version check."""
    with Session(engine, expire_on_commit=False) as session:
        deadline = session.get(Deadline, deadline_id)  # its status is judged by the claim
        assert deadline is not None
        filing = session.get(Filing, deadline.filing_id, with_for_update=True)
        assert filing is not None
        if deadline.kind in REMINDER_KINDS and deadline_id in deadlines.close_overtaken(
            session, deadline.filing_id, now
        ):
            session.commit()
            return 0
        fired = fire_deadline(session, filing, deadline, now, settings)
        session.commit()
        return 0 if fired is None else 1


def fire_due_obligations(engine: Engine, now: datetime, settings: Settings) -> int:
    """Fire every obligation of an approved service due at ``now`` (its notice or its footer
    check owed), batch by batch, each in its own transaction and claimed as deadlines are."""

    def fire(obligation_id: int) -> int:
        with Session(engine) as session:
            fired = obligations.fire(session, obligation_id, now, settings)
            session.commit()
            return int(fired)

    return _in_batches(
        "obligation",
        engine,
        settings.sweep_batch_size,
        lambda session, skip: obligations.due_ids(
            session, now, settings.sweep_batch_size, list(skip)
        ),
        fire,
        set(),
    )


def requeue_lost_deliveries(engine: Engine, now: datetime, settings: Settings) -> int:
    """Owe a new delivery job for every pending notification whose job the broker lost; returns
    how many, batch by batch (each batch one transaction: ``queued_at`` and the outbox rows).

    Two rules, because the database sees every state but one:

    - ``unstarted_after_seconds`` (a minute) after its job was *published*, no lease is running
      and no attempt of its run failed (``failing_since``; a delivery ops sent back keeps its
      previous run's ``last_error``): no worker started the job (a broker that lost its memory, a Redis
      without persistence restarted), or the worker that started it died and its lease ran out.
      Jobs still in the outbox (the broker is down) are not lost, and are not owed again;
    - ``stranded_after_minutes`` (the backstop) after it was queued: an attempt failed and gave
      its lease back, so Dramatiq holds a retry whose delay the database does not know; only
      then can the retry's loss (Redis down when it was due, a final failure the database never
      heard of) be told from a retry still waiting. A job still in the outbox is not lost here
      either: a broker down for hours must not find a job per backstop waiting when it is back.

    A job queued twice is harmless: the claim and its lease let one worker send, once per
    idempotency key. A queue that takes longer than the first window to drain gets some such
    duplicates, which cost a claim each.
    """
    requeued = 0
    while True:
        with Session(engine) as session:
            window = timedelta(seconds=settings.unstarted_after_seconds)
            unstarted = _published_before(session, now - window)
            backstop = now - timedelta(minutes=settings.stranded_after_minutes)
            stranded = _published_before(session, backstop, published_since=False)
            statement = _lost_deliveries(now, unstarted, stranded, settings.sweep_batch_size)
            batch = list(session.connection().execute(statement).scalars())
            outbox.owe_deliveries(session, batch, now)
            session.commit()
        requeued += len(batch)
        if len(batch) < settings.sweep_batch_size:
            break
    if requeued:
        log.warning("queued %d notifications again: their delivery jobs were lost", requeued)
    return requeued


def _published_before(
    session: Session, cutoff: datetime, *, published_since: bool = True
) -> datetime:
    """The earlier of ``cutoff`` and the oldest owed job still in the outbox (and, with
    ``published_since``, the oldest published at ``cutoff`` or after).

    A notification's ``queued_at`` is its newest job's ``created_at`` (both written in one
    transaction), so one queued before the time returned has its job out of the outbox (and
    published before ``cutoff``). Found through the index on ``published_at``: only the rows
    published since, or not yet.
    """
    unpublished = col(OutboxMessage.published_at).is_(None)
    oldest = session.exec(
        select(func.min(OutboxMessage.created_at)).where(
            col(OutboxMessage.job) == Job.DELIVER_NOTIFICATION,
            or_(unpublished, col(OutboxMessage.published_at) >= cutoff)
            if published_since
            else unpublished,
        )
    ).one()
    return cutoff if oldest is None else min(cutoff, as_utc(oldest))


def _lost_deliveries(
    now: datetime, unstarted: datetime, stranded: datetime, limit: int
) -> ReturningUpdate[int]:
    """Mark up to ``limit`` lost deliveries queued now, on a new run, returning their ids: those
    queued before ``unstarted`` whose run no attempt failed, and any queued before ``stranded``.

    A failed attempt is told by ``failing_since``, the run's, not by ``last_error``: a delivery
    ops sent back keeps its previous run's error, and its new job, lost, must not wait for the
    backstop as a retry Dramatiq holds does.

    The conditions are checked again on the rows being updated, so a worker's claim that lands
    between the selection and the update (PostgreSQL re-reads such a row) keeps its row out.
    """
    lease_free = or_(_NOTIFICATIONS.c.claimed_until.is_(None), _NOTIFICATIONS.c.claimed_until < now)
    run_never_failed_or_died = or_(
        _NOTIFICATIONS.c.failing_since.is_(None), _NOTIFICATIONS.c.claimed_until.is_not(None)
    )
    lost = and_(
        _NOTIFICATIONS.c.status == NotificationStatus.PENDING,
        _NOTIFICATIONS.c.queued_at < max(unstarted, stranded),
        lease_free,
        or_(
            and_(_NOTIFICATIONS.c.queued_at < unstarted, run_never_failed_or_died),
            _NOTIFICATIONS.c.queued_at < stranded,
        ),
    )
    batch = (
        select(_NOTIFICATIONS.c.id).where(lost).order_by(_NOTIFICATIONS.c.queued_at).limit(limit)
    )
    return (
        update(_NOTIFICATIONS)
        .where(_NOTIFICATIONS.c.id.in_(batch), lost)
        .values(queued_at=now, **NEW_RUN)
        .returning(_NOTIFICATIONS.c.id)
    )


def recount_working_days(engine: Engine, settings: Settings) -> int:
    """Count again, with the holiday schedules now on file, the due times they move (the
    filings' deadlines counted in working days or estimated without a schedule, a batch per
    transaction so that writers never wait long, then the open rectification notices);
    returns how many changed.

    ``calendar load`` runs it once the file is in place; the leader runs it once every process
    has seen a new file (``scheduler.jobs.CalendarRecount``).
    """
    deadlines.calendar_for(settings).refresh(look_now=True)
    changed, after = 0, 0
    while True:
        with Session(engine) as session:
            count, went_on = deadlines.recount_working_days(
                session, settings, after=after, limit=settings.sweep_batch_size
            )
            session.commit()
        changed += count
        if went_on is None:
            break
        after = went_on
    with Session(engine) as session:
        changed += obligations.recount_rectifications(session, settings)
        session.commit()
    return changed
