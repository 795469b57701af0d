"""Firing deadlines that have come due: what the scheduler's sweep runs.

Due rows are found through the ``(status, due_at)`` index, a batch at a time, and each is
fired by ``service.fire_deadline`` (which claims it) in its own transaction, so two sweepers
can never fire one deadline twice and one bad filing cannot block the others.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from config.settings import Settings
from models import Deadline, DeadlineStatus, Filing, Notification, NotificationStatus
from workflow import outbox
from workflow.service import fire_deadline

log = logging.getLogger(__name__)


def due_deadline_ids(
    session: Session, now: datetime, limit: int, skip: Collection[int] = ()
) -> list[int]:
    query = select(Deadline.id).where(
        col(Deadline.status) == DeadlineStatus.PENDING, col(Deadline.due_at) <= now
    )
    if skip:
        query = query.where(col(Deadline.id).not_in(skip))
    rows = session.exec(query.order_by(col(Deadline.due_at)).limit(limit))
    return [row for row in rows if row is not None]


def fire_due_deadlines(engine: Engine, now: datetime, settings: Settings) -> int:
    """Fire every deadline due at ``now``, batch by batch; returns how many this call fired.

    A deadline that fails unexpectedly stays pending for the next sweep and is skipped for
    the rest of this one, so it can neither block the deadlines behind it nor loop forever.
    """
    fired = 0
    failed: set[int] = set()
    while True:
        with Session(engine) as session:
            batch = due_deadline_ids(session, now, settings.sweep_batch_size, failed)
        for deadline_id in batch:
            try:
                fired += _fire_one(engine, deadline_id, now, settings)
            except Exception:
                log.exception("deadline %s failed to fire; it stays pending", deadline_id)
                failed.add(deadline_id)
        if len(batch) < settings.sweep_batch_size:
            return fired


def _fire_one(engine: Engine, deadline_id: int, now: datetime, settings: Settings) -> int:
    with Session(engine, expire_on_commit=False) as session:
        deadline = session.get(Deadline, deadline_id)
        assert deadline is not None
        filing = session.get(Filing, deadline.filing_id)
        assert filing is not None
        fired = fire_deadline(session, filing, deadline, now, settings)
        session.commit()
        return 0 if fired is None else 1


def requeue_stranded_notifications(engine: Engine, now: datetime, settings: Settings) -> int:
    """Queue a new delivery job for notifications that are pending long after their last one.

    A job can be lost where no retry reaches the broker (Redis down when a retry was due) or
    no failure reaches the database; this sweep is the backstop. A duplicate job is harmless:
    the notification's status and lease decide whether anything is sent.
    """
    cutoff = now - timedelta(minutes=settings.stranded_after_minutes)
    with Session(engine) as session:
        stranded = session.exec(
            select(Notification)
            .where(
                col(Notification.status) == NotificationStatus.PENDING,
                col(Notification.queued_at) < cutoff,
                or_(
                    col(Notification.claimed_until).is_(None), col(Notification.claimed_until) < now
                ),
            )
            .order_by(col(Notification.id))
            .limit(settings.sweep_batch_size)
        ).all()
        for notification in stranded:
            notification.queued_at = now
            session.add(notification)
        outbox.owe_deliveries(session, [n.id for n in stranded if n.id is not None], now)
        session.commit()
    if stranded:
        log.warning("queued %d stranded notifications again", len(stranded))
    return len(stranded)
