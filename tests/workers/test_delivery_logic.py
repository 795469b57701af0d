"""The relay and the delivery actor on Dramatiq's ``StubBroker``: no Redis, fast.

The same behaviours run against a real Redis in ``test_relay.py``/``test_actors.py`` and
across processes in ``tests/e2e``; here each one is a specification of its logic.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import update
from sqlmodel import Session, col, select

from config.clock import FrozenClock, as_utc, get_clock
from config.settings import Settings
from models import Job, Notification, NotificationStatus, OutboxMessage
from tests.databases import Database
from tests.delivery_kit import (
    failed_jobs,
    logged_keys,
    notification,
    owe_notifications,
    statuses,
    wait_for,
    worker_on,
)
from tests.http_peer import SLOW_PATH, HTTPPeer
from workers.actors import DeliveryInProgress, RetryPolicy, declare_actors, deliver
from workers.broker import QUEUE, middleware
from workers.channels import DeliveryFailed
from workers.relay import message_id, publish, relay_pending
from workflow import outbox

RETRIES = 2


@pytest.fixture
def fast_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "notify_log_file": tmp_path / "notify.log",
            "delivery_max_retries": RETRIES,
            "delivery_min_backoff_ms": 10,
            "delivery_max_backoff_ms": 20,
        }
    )


@pytest.fixture
def stub_broker(db: Database, fast_settings: Settings) -> Iterator[StubBroker]:
    broker = StubBroker(middleware=middleware())
    broker.emit_after("process_boot")
    declare_actors(broker, fast_settings, db.engine)
    yield broker
    broker.close()


@pytest.fixture
def stub_worker(stub_broker: StubBroker) -> Iterator[dramatiq.Worker]:
    worker = dramatiq.Worker(stub_broker, worker_timeout=20, worker_threads=1)
    worker.start()
    yield worker
    worker.stop()


def run_all(broker: StubBroker, worker: dramatiq.Worker) -> None:
    """Until every message and retry ran; a job failing for good is what some tests expect."""
    broker.join(QUEUE, timeout=20_000, fail_fast=False)
    worker.join()


def owe_rows(db: Database, notification_ids: list[int]) -> list[int]:
    with Session(db.engine) as session:
        ids = outbox.owe_deliveries(session, notification_ids, get_clock().now())
        session.commit()
    return ids


def outbox_rows(db: Database) -> list[OutboxMessage]:
    with Session(db.engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


def test_every_job_has_an_actor_taking_exactly_its_payload(stub_broker: StubBroker) -> None:
    for job, payload in outbox.PAYLOADS.items():
        actor = stub_broker.get_actor(job)
        assert list(inspect.signature(actor.fn).parameters) == list(payload.model_fields)
    assert set(outbox.PAYLOADS) == set(Job)


def test_the_relay_publishes_each_row_once_as_its_jobs_message(
    db: Database, stub_broker: StubBroker
) -> None:
    ids = owe_rows(db, [7, 8])

    assert publish(ids, db.engine, stub_broker) == 2
    assert publish(ids, db.engine, stub_broker) == 0
    assert relay_pending(db.engine, stub_broker) == 0

    messages = [dramatiq.Message.decode(m) for m in stub_broker.queues[QUEUE].queue]
    assert [(m.message_id, m.actor_name, m.args, m.kwargs) for m in messages] == [
        (message_id(ids[0]), Job.DELIVER_NOTIFICATION, (), {"notification_id": 7}),
        (message_id(ids[1]), Job.DELIVER_NOTIFICATION, (), {"notification_id": 8}),
    ]
    assert all(row.published_at is not None for row in outbox_rows(db))


def test_rows_stay_unpublished_when_the_broker_refuses(db: Database, settings: Settings) -> None:
    refusing = StubBroker(middleware=middleware())  # no queue declared: every enqueue fails
    owe_rows(db, [7, 8])

    assert relay_pending(db.engine, refusing) == 0

    first, second = outbox_rows(db)
    assert (first.published_at, first.attempts) == (None, 1)
    assert first.last_error and "QueueNotFound" in first.last_error
    assert (second.published_at, second.attempts) == (None, 0)  # not tried: the broker is down


def test_a_row_whose_payload_does_not_fit_is_set_aside_and_the_others_published(
    db: Database, stub_broker: StubBroker
) -> None:
    bad, _ = owe_rows(db, [7, 8])
    with Session(db.engine) as session:
        session.exec(
            update(OutboxMessage).where(col(OutboxMessage.id) == bad).values(payload={"id": 7})
        )
        session.commit()

    assert relay_pending(db.engine, stub_broker) == 1

    first, second = outbox_rows(db)
    assert (first.published_at, first.attempts) == (None, 1)
    assert second.published_at is not None


def test_the_actor_claims_and_delivers_a_pending_notification(
    db: Database, session: Session, stub_broker: StubBroker, stub_worker: dramatiq.Worker
) -> None:
    [notification_id] = owe_notifications(session, 1)
    relay_pending(db.engine, stub_broker)
    run_all(stub_broker, stub_worker)

    row = notification(db.engine, notification_id)
    assert (row.status, row.attempts, row.claimed_until) == (NotificationStatus.DELIVERED, 1, None)


def test_the_actor_does_nothing_for_a_delivered_notification(
    db: Database,
    session: Session,
    fast_settings: Settings,
    stub_broker: StubBroker,
    stub_worker: dramatiq.Worker,
) -> None:
    [notification_id] = owe_notifications(session, 1)
    relay_pending(db.engine, stub_broker)
    run_all(stub_broker, stub_worker)

    stub_broker.get_actor(Job.DELIVER_NOTIFICATION).send(notification_id=notification_id)
    run_all(stub_broker, stub_worker)

    assert notification(db.engine, notification_id).attempts == 1
    assert fast_settings.notify_log_file is not None
    assert list(logged_keys(fast_settings.notify_log_file).values()) == [1]


def test_the_actor_records_its_final_failure_after_the_last_retry(
    db: Database,
    session: Session,
    stub_broker: StubBroker,
    stub_worker: dramatiq.Worker,
    unused_port: int,
) -> None:
    route = {"channel": "webhook", "recipient": f"http://127.0.0.1:{unused_port}/hook"}
    owe_notifications(session, 1, routes=[route])
    relay_pending(db.engine, stub_broker)
    run_all(stub_broker, stub_worker)

    [job] = failed_jobs(db.engine)
    hook = notification(db.engine, job.notification_id or 0)
    assert (hook.recipient, hook.status, hook.attempts) == (
        route["recipient"],
        NotificationStatus.FAILED,
        RETRIES + 1,
    )
    assert job.job == Job.DELIVER_NOTIFICATION
    assert statuses(db.engine)[NotificationStatus.DELIVERED] == 1  # the log route went out


def test_a_permanent_failure_is_recorded_at_once(
    db: Database,
    session: Session,
    stub_broker: StubBroker,
    stub_worker: dramatiq.Worker,
    http_peer: HTTPPeer,
) -> None:
    url = http_peer.url("/status/410")
    owe_notifications(session, 1, routes=[{"channel": "webhook", "recipient": url}])
    relay_pending(db.engine, stub_broker)
    run_all(stub_broker, stub_worker)

    [job] = failed_jobs(db.engine)
    hook = notification(db.engine, job.notification_id or 0)
    assert (hook.status, hook.attempts) == (NotificationStatus.FAILED, 1)


def test_a_peer_slower_than_the_time_limit_fails_each_attempt_and_is_recorded_in_the_end(
    db: Database,
    session: Session,
    fast_settings: Settings,
    http_peer: HTTPPeer,
) -> None:
    """Each attempt's error is noted, as a refusal's is: the lease given back, the job is not
    taken for one a dead worker lost, and its retries run out as theirs do."""
    limited = fast_settings.model_copy(update={"delivery_time_limit_seconds": 1})
    http_peer.slow_seconds = 3
    broker = StubBroker(middleware=middleware())
    broker.emit_after("process_boot")
    declare_actors(broker, limited, db.engine)
    worker = dramatiq.Worker(broker, worker_timeout=20, worker_threads=1)
    worker.start()
    try:
        route = {"channel": "webhook", "recipient": http_peer.url(SLOW_PATH)}
        owe_notifications(session, 1, routes=[route])
        relay_pending(db.engine, broker)
        run_all(broker, worker)
    finally:
        worker.stop()
        broker.close()

    [job] = failed_jobs(db.engine)
    hook = notification(db.engine, job.notification_id or 0)
    assert (hook.status, hook.attempts) == (NotificationStatus.FAILED, RETRIES + 1)
    assert hook.last_error is not None and "1 s time limit" in hook.last_error


def test_waiting_for_another_workers_lease_is_never_exhausted() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.should_retry(100, DeliveryInProgress("leased"))
    assert not policy.should_retry(2, ConnectionError("refused"))


def test_waiting_for_another_workers_lease_uses_up_none_of_the_retries(
    db: Database,
    session: Session,
    stub_broker: StubBroker,
    stub_worker: dramatiq.Worker,
    http_peer: HTTPPeer,
) -> None:
    http_peer.status = 503
    route = {"channel": "webhook", "recipient": http_peer.url()}
    hook = owe_notifications(session, 1, routes=[route])[-1]
    with Session(db.engine) as s:  # another worker is sending it for another second
        until = get_clock().now() + timedelta(seconds=1)
        s.exec(update(Notification).where(col(Notification.id) == hook).values(claimed_until=until))
        s.commit()
    relay_pending(db.engine, stub_broker)
    run_all(stub_broker, stub_worker)

    assert (notification(db.engine, hook).attempts, len(http_peer.received)) == (
        RETRIES + 1,
        RETRIES + 1,
    )


def test_a_run_of_failed_attempts_is_failing_since_its_first(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, http_peer: HTTPPeer
) -> None:
    route = {"channel": "webhook", "recipient": http_peer.url("/status/501")}
    hook = owe_notifications(session, 1, routes=[route])[-1]
    first_failure = clock.now()
    for _ in range(3):
        with pytest.raises(DeliveryFailed):
            deliver(db.engine, hook, settings)
        clock.advance(timedelta(minutes=1))

    row = notification(db.engine, hook)
    assert row.failing_since is not None
    assert (row.run_attempts, as_utc(row.failing_since)) == (3, first_failure)


def test_a_failed_attempt_records_when_its_worker_tries_again_as_dramatiq_scheduled_it(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, http_peer: HTTPPeer
) -> None:
    a_minute = {"delivery_min_backoff_ms": 60_000, "delivery_max_backoff_ms": 60_000}
    slow = settings.model_copy(update=a_minute)
    route = {"channel": "webhook", "recipient": http_peer.url("/status/503")}
    hook = owe_notifications(session, 1, routes=[route])[-1]

    with worker_on(lambda broker: declare_actors(broker, slow, db.engine)) as broker:
        relay_pending(db.engine, broker)
        wait_for(
            lambda: notification(db.engine, hook).next_attempt_at is not None,
            10,
            "the retry's time to be recorded",
        )

    next_attempt_at = notification(db.engine, hook).next_attempt_at
    assert next_attempt_at is not None
    # Dramatiq's first backoff: the least, halved and given up to as much again of jitter.
    wait = as_utc(next_attempt_at) - clock.now()
    assert timedelta(seconds=30) <= wait <= timedelta(seconds=60)
