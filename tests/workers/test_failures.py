"""Deliveries that failed for good: recorded for ops, who retry each one once."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from config.clock import FrozenClock
from models import FailedJob, Job, OutboxMessage
from tests.databases import Database
from tests.delivery_kit import owe_notifications
from workflow.domain.errors import ValidationError
from workflow.failures import record_final_failure, retry_failed


@pytest.fixture
def failed(session: Session, clock: FrozenClock) -> FailedJob:
    [notification_id] = owe_notifications(session, 1)
    job = record_final_failure(session, notification_id, "SMTP refused", clock.now())
    session.commit()
    return job


def jobs_owed(db: Database, notification_id: int | None) -> int:
    """Delivery jobs the outbox ever owed for the notification: its first and every retry."""
    with Session(db.engine) as session:
        rows = session.exec(select(OutboxMessage.payload))
        return sum(1 for payload in rows if payload.get("notification_id") == notification_id)


def test_a_retry_owes_the_delivery_again_and_says_when(
    db: Database, session: Session, clock: FrozenClock, failed: FailedJob
) -> None:
    assert failed.id is not None
    retried = retry_failed(session, failed.id)
    assert (retried.retried_at, retried.notification_id) == (clock.now(), failed.notification_id)
    assert jobs_owed(db, failed.notification_id) == 2


def test_two_retries_at_once_owe_the_delivery_once(
    db: Database, session: Session, failed: FailedJob
) -> None:
    """On PostgreSQL two requests at once can both read the job before either commits; here the
    other request read it before this one's retry committed."""
    assert failed.id is not None
    with Session(db.engine, expire_on_commit=False) as other:
        read = other.get(FailedJob, failed.id)
        assert read is not None and read.retried_at is None  # as far as the other request knows
        other.commit()  # SQLite's write lock, taken by the read, given back
        retry_failed(session, failed.id)
        with pytest.raises(ValidationError) as refused:
            retry_failed(other, failed.id)
        assert not other.in_transaction()  # no write lock kept past the refusal
    assert [reason.code for reason in refused.value.reasons] == ["already_retried"]
    assert jobs_owed(db, failed.notification_id) == 2


def test_a_second_retry_says_when_the_first_was_in_beijing_time(
    session: Session, clock: FrozenClock, failed: FailedJob
) -> None:
    assert failed.id is not None
    retry_failed(session, failed.id)  # the clock reads 02:00 UTC: 10:00 in Beijing
    with pytest.raises(ValidationError) as refused:
        retry_failed(session, failed.id)
    assert refused.value.message.endswith(f"{clock.now():%Y-%m-%d} 10:00 Beijing time")


def test_a_failed_job_keeping_nothing_to_run_is_refused_and_left_as_it_was(
    db: Database, session: Session, clock: FrozenClock
) -> None:
    """A row ops wrote by hand: no notification, no payload."""
    job = FailedJob(job=Job.CHECK_FOOTER, error="by hand", failed_at=clock.now())
    session.add(job)
    session.commit()
    assert job.id is not None

    with pytest.raises(ValidationError) as refused:
        retry_failed(session, job.id)

    assert [reason.code for reason in refused.value.reasons] == ["nothing_to_retry"]
    session.rollback()
    assert session.get_one(FailedJob, job.id).retried_at is None
