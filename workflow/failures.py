"""Jobs that failed for good: recorded in the database, listed for ops, retryable.

Redis forgets dead letters after a week; a filing's missed reminder or a site's scheduled
footer check must not be forgotten, so the actors write their final failures here, and a
retry owes the job again through the outbox like any other.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import update
from sqlmodel import Session, col

from config.clock import CHINA, as_utc, get_clock
from models import NEW_RUN, FailedJob, Job, Notification, NotificationStatus
from workflow import outbox
from workflow.domain.errors import NotFound, Reason, ValidationError
from workflow.schemas import FailedJobOut
from workflow.views.deliveries import failed_job_out


def record_final_failure(
    session: Session, notification_id: int, error: str, now: datetime
) -> FailedJob:
    """Mark the notification failed (unless delivered meanwhile) and record the failed job, in
    the caller's transaction."""
    notification = session.get(Notification, notification_id)
    if notification is not None and notification.status != NotificationStatus.DELIVERED:
        notification.status = NotificationStatus.FAILED
        notification.last_error = error
        session.add(notification)
    job = FailedJob(
        job=Job.DELIVER_NOTIFICATION,
        notification_id=notification_id,
        error=error,
        attempts=notification.attempts if notification is not None else 0,
        failed_at=now,
    )
    session.add(job)
    return job


def record_failed_job(
    session: Session, job: Job, payload: BaseModel, error: str, attempts: int, now: datetime
) -> FailedJob:
    """Record a job other than a delivery that failed for good after ``attempts``, with its
    outbox payload, in the caller's transaction."""
    failed = FailedJob(
        job=job,
        payload=payload.model_dump(mode="json"),
        error=error,
        attempts=attempts,
        failed_at=now,
    )
    session.add(failed)
    return failed


def retry_failed(session: Session, failed_id: int) -> FailedJobOut:
    """Owe the job again through the outbox; a delivery's notification goes back to
    ``pending``, on a new run (its failed one's error kept as the previous run's).

    The job is marked retried by an update conditional on its not being retried yet, which
    decides between two retries at once: on PostgreSQL both may read it not retried, but the
    second update waits for the first to commit, then matches nothing and is refused.
    """
    job = session.get(FailedJob, failed_id)
    if job is None:
        raise NotFound(f"failed job {failed_id} does not exist")
    if job.retried_at is not None:
        raise _already_retried(job)
    if job.notification_id is None and job.payload is None:  # a row written by hand
        raise ValidationError(
            f"failed job {failed_id} names no notification to deliver and no job to run",
            [Reason("nothing_to_retry", "the failed job keeps nothing to run again")],
        )
    now = get_clock().now()
    marked = session.exec(
        update(FailedJob)
        .where(col(FailedJob.id) == failed_id, col(FailedJob.retried_at).is_(None))
        .values(retried_at=now)
    )
    session.refresh(job)  # retried now: by this call, or meanwhile by another
    if marked.rowcount == 0:
        refused = _already_retried(job)
        session.rollback()  # wrote nothing; SQLite's write lock goes now, not with the session
        raise refused
    notification = None
    if job.payload is not None:  # a job other than a delivery (record_failed_job)
        outbox.owe(session, Job(job.job), outbox.payload(job.job, job.payload), now)
    else:
        assert job.notification_id is not None
        notification = session.get(Notification, job.notification_id)
        if notification is not None and notification.status == NotificationStatus.FAILED:
            pending = {"status": NotificationStatus.PENDING, "queued_at": now}
            notification.sqlmodel_update(NEW_RUN | pending)
            session.add(notification)
        outbox.owe_deliveries(session, [job.notification_id], now)
    session.commit()
    return failed_job_out(job, notification)


def _already_retried(job: FailedJob) -> ValidationError:
    assert job.retried_at is not None
    at = as_utc(job.retried_at).astimezone(CHINA)  # as the tables show times
    return ValidationError(
        f"failed job {job.id} was already retried at {at:%Y-%m-%d %H:%M} Beijing time",
        [Reason("already_retried", "a retried job fails anew as a new row if it fails again")],
    )
