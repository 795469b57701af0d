"""``deliver_notification`` run by a real ``dramatiq.Worker`` on a real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
from sqlmodel import Session, select

from config.settings import get_settings
from models import Job, Notification
from tests.databases import Database
from tests.delivery_kit import (
    failed_jobs,
    logged_keys,
    owe_notifications,
    relay_through,
    statuses,
    wait_for,
)
from tests.http_peer import HTTPPeer
from workers.broker import QUEUE
from workers.relay import ImmediateRelay, relay_pending
from workflow.failures import retry_failed

pytestmark = pytest.mark.redis


@pytest.fixture
def worker(redis_broker: dramatiq.Broker) -> Iterator[dramatiq.Worker]:
    running = dramatiq.Worker(redis_broker, worker_threads=2, worker_timeout=50)
    running.start()
    yield running
    running.stop()


def drain(broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
    broker.join(QUEUE, timeout=20_000)
    worker.join()


def webhook_notification(db: Database, peer_url: str) -> Notification:
    with Session(db.engine) as session:
        return session.exec(select(Notification).where(Notification.recipient == peer_url)).one()


def test_a_notification_delivered_again_is_sent_once(
    db: Database, session: Session, redis_broker: dramatiq.Broker, worker: dramatiq.Worker
) -> None:
    [notification_id] = owe_notifications(session, 1)
    relay_pending(db.engine, redis_broker)
    drain(redis_broker, worker)
    deliver_notification = redis_broker.get_actor(Job.DELIVER_NOTIFICATION)

    for _ in range(3):  # redeliveries: after the first send, and two at once
        deliver_notification.send(notification_id=notification_id)
        drain(redis_broker, worker)
    deliver_notification.send(notification_id=notification_id)
    deliver_notification.send(notification_id=notification_id)
    drain(redis_broker, worker)

    log_file = get_settings().notify_log_file
    assert isinstance(log_file, Path)
    assert list(logged_keys(log_file).values()) == [1]
    with Session(db.engine) as fresh:
        row = fresh.get(Notification, notification_id)
        assert row is not None
        assert (row.status, row.attempts) == ("delivered", 1)
        assert row.delivered_at is not None


def test_permanent_failure_is_recorded_and_a_retry_delivers(
    db: Database,
    session: Session,
    redis_broker: dramatiq.Broker,
    worker: dramatiq.Worker,
    http_peer: HTTPPeer,
) -> None:
    relay = ImmediateRelay(db.engine, redis_broker)
    relay_through(session, relay)
    try:
        http_peer.status = 410
        owe_notifications(session, 1, routes=[{"channel": "webhook", "recipient": http_peer.url()}])
        wait_for(lambda: len(failed_jobs(db.engine)) == 1, 20, "the failure to be recorded")
        notification = webhook_notification(db, http_peer.url())
        assert (notification.status, notification.attempts) == ("failed", 1)  # not retried
        assert "410" in (notification.last_error or "")
        [job] = failed_jobs(db.engine)
        assert (job.job, job.notification_id) == (Job.DELIVER_NOTIFICATION, notification.id)

        http_peer.status = 200
        retry_failed(session, job.id or 0)
        wait_for(
            lambda: webhook_notification(db, http_peer.url()).status == "delivered",
            20,
            "the retried notification to be delivered",
        )
    finally:
        relay.stop()
    assert http_peer.delivered == {notification.idempotency_key: 1}
    assert len(failed_jobs(db.engine)) == 1  # the retry did not fail again


def test_a_notification_failing_anew_after_a_retry_leaves_each_failure_its_own_attempts(
    db: Database,
    session: Session,
    redis_broker: dramatiq.Broker,
    worker: dramatiq.Worker,
    http_peer: HTTPPeer,
) -> None:
    http_peer.status = 410
    owe_notifications(session, 1, routes=[{"channel": "webhook", "recipient": http_peer.url()}])
    relay_pending(db.engine, redis_broker)
    wait_for(lambda: len(failed_jobs(db.engine)) == 1, 20, "the failure to be recorded")
    [first] = failed_jobs(db.engine)

    retry_failed(session, first.id or 0)
    relay_pending(db.engine, redis_broker)
    wait_for(lambda: len(failed_jobs(db.engine)) == 2, 20, "the retry's failure to be recorded")

    assert [job.attempts for job in sorted(failed_jobs(db.engine), key=lambda j: j.id or 0)] == [
        1,
        2,
    ]
    assert webhook_notification(db, http_peer.url()).attempts == 2


def test_transient_failures_are_retried_then_recorded_when_exhausted(
    db: Database,
    session: Session,
    redis_broker: dramatiq.Broker,
    worker: dramatiq.Worker,
    http_peer: HTTPPeer,
) -> None:
    http_peer.status = 503
    owe_notifications(session, 1, routes=[{"channel": "webhook", "recipient": http_peer.url()}])
    relay_pending(db.engine, redis_broker)
    wait_for(lambda: len(failed_jobs(db.engine)) == 1, 20, "retries to be exhausted")

    notification = webhook_notification(db, http_peer.url())
    retries = get_settings().delivery_max_retries
    assert (notification.status, notification.attempts) == ("failed", retries + 1)
    assert len(http_peer.received) == retries + 1
    assert not http_peer.delivered
    # The log route of the same event went out, as a job of its own.
    wait_for(lambda: statuses(db.engine)["delivered"] == 1, 30, "the log route's delivery")
