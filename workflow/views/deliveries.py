"""Deliveries gone wrong: jobs failed for good, and notifications failing now and retrying.

The ops lists (API, CLI, console) and a filing's page read these.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from config.settings import Settings
from models import FailedJob, Job, Notification, NotificationStatus
from workflow.domain.definition import Channel
from workflow.schemas import FailedJobOut, FailedJobPage, RetryingDeliveryOut, RetryingDeliveryPage
from workflow.views.history import delivery_run


def failed_jobs(
    session: Session,
    *,
    filing_id: int | None = None,
    job: Job | None = None,
    to: str | None = None,
    include_retried: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> FailedJobPage:
    """Jobs that failed for good and (unless ``include_retried``) were not retried yet, of one
    filing, one kind of job, or deliveries to a recipient whose address holds ``to`` (case
    aside) if given, newest first, with the total."""
    conditions: list[ColumnElement[bool]] = []
    if not include_retried:
        conditions.append(col(FailedJob.retried_at).is_(None))
    if filing_id is not None:
        conditions.append(col(Notification.filing_id) == filing_id)
    if job is not None:
        conditions.append(col(FailedJob.job) == job)
    if to is not None:
        recipient = func.lower(col(Notification.recipient))
        conditions.append(recipient.contains(to.lower(), autoescape=True))
    joined = select(FailedJob, Notification).outerjoin(
        Notification, col(Notification.id) == col(FailedJob.notification_id)
    )
    total = session.exec(select(func.count()).select_from(joined.where(*conditions).subquery()))
    rows = session.exec(
        joined.where(*conditions).order_by(col(FailedJob.id).desc()).limit(limit).offset(offset)
    ).all()
    return FailedJobPage(
        items=[failed_job_out(job, notification) for job, notification in rows],
        total=int(total.one()),
        limit=limit,
        offset=offset,
    )


def failed_job(session: Session, job_id: int) -> FailedJobOut | None:
    """One failed job, retried or not (what a page just retried, to say so), or None."""
    job = session.get(FailedJob, job_id)
    if job is None:
        return None
    notification = session.get(Notification, job.notification_id) if job.notification_id else None
    return failed_job_out(job, notification)


def failed_job_out(job: FailedJob, notification: Notification | None) -> FailedJobOut:
    assert job.id is not None
    return FailedJobOut(
        id=job.id,
        job=job.job,
        filing_id=notification.filing_id if notification else None,
        notification_id=job.notification_id,
        payload=job.payload,
        kind=notification.kind if notification else None,
        channel=Channel(notification.channel) if notification else None,
        recipient=notification.recipient if notification else None,
        attempts=job.attempts,
        error=job.error,
        failed_at=job.failed_at,
        retried_at=job.retried_at,
    )


def retrying_deliveries(
    session: Session,
    *,
    settings: Settings,
    filing_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> RetryingDeliveryPage:
    """Notifications pending after a failed attempt of their run (``failing_since``), of
    one filing if given, waiting longest first, with the total: deliveries failing now, which
    become failed jobs only once their retries run out."""
    retrying = select(Notification).where(
        col(Notification.status) == NotificationStatus.PENDING,
        col(Notification.failing_since).is_not(None),
        *([col(Notification.filing_id) == filing_id] if filing_id is not None else []),
    )
    total = session.exec(select(func.count()).select_from(retrying.subquery())).one()
    rows = session.exec(
        retrying.order_by(col(Notification.queued_at), col(Notification.id))
        .limit(limit)
        .offset(offset)
    )
    return RetryingDeliveryPage(
        items=[_retrying_out(n, settings) for n in rows],
        total=int(total),
        limit=limit,
        offset=offset,
    )


def _retrying_out(notification: Notification, settings: Settings) -> RetryingDeliveryOut:
    assert notification.id is not None and notification.last_error is not None
    return RetryingDeliveryOut(
        notification_id=notification.id,
        filing_id=notification.filing_id,
        kind=notification.kind,
        channel=Channel(notification.channel),
        recipient=notification.recipient,
        attempts=notification.attempts,
        last_error=notification.last_error,
        waiting_since=notification.queued_at,
        **dict(delivery_run(notification, settings)),
    )
