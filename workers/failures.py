"""Jobs that exhausted their retries: recorded in the database, listed for ops, retryable.

Redis forgets dead letters after a week; a filing's missed reminder must not be forgotten,
so the final failure is written here and a retry goes back through the outbox like any
other job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from config.clock import get_clock
from models import FailedJob, Notification, NotificationStatus
from workflow import outbox
from workflow.domain.errors import NotFound, Reason, ValidationError


def record_failure(
    session: Session,
    actor: str,
    args: list[Any],
    error: str,
    now: datetime,
    notification_id: int | None,
) -> FailedJob:
    """Record a job's final failure (and mark its notification failed) in the caller's transaction."""
    if notification_id is not None:
        notification = session.get(Notification, notification_id)
        if notification is not None and notification.status != NotificationStatus.DELIVERED:
            notification.status = NotificationStatus.FAILED
            notification.last_error = error
            session.add(notification)
    job = FailedJob(
        actor=actor, args=args, error=error, failed_at=now, notification_id=notification_id
    )
    session.add(job)
    return job


def list_failed(
    session: Session, *, include_retried: bool = False, limit: int = 100
) -> list[FailedJob]:
    query = select(FailedJob).order_by(col(FailedJob.id).desc()).limit(limit)
    if not include_retried:
        query = query.where(col(FailedJob.retried_at).is_(None))
    return list(session.exec(query))


def retry_failed(session: Session, failed_id: int) -> FailedJob:
    """Queue the job again through the outbox; its notification goes back to ``pending``."""
    job = session.get(FailedJob, failed_id)
    if job is None:
        raise NotFound(f"failed job {failed_id} does not exist")
    if job.retried_at is not None:
        raise ValidationError(
            f"failed job {failed_id} was already retried at {job.retried_at:%Y-%m-%d %H:%M}",
            [Reason("already_retried", "a retried job fails anew as a new row if it fails again")],
        )
    now = get_clock().now()
    if job.notification_id is not None:
        notification = session.get(Notification, job.notification_id)
        if notification is not None and notification.status == NotificationStatus.FAILED:
            notification.status = NotificationStatus.PENDING
            notification.queued_at = now
            session.add(notification)
    job.retried_at = now
    session.add(job)
    outbox.add(session, job.actor, list(job.args), now)
    session.commit()
    return job
