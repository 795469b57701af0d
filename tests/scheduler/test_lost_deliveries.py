"""The relay sweep owes a delivery again when the broker lost its job, and only then.

A job is lost when it was published and no worker started it within the window (a Redis
without persistence restarted), or the worker that started it died. A running lease, a
delivery, a retry Dramatiq holds and a job still in the outbox are not losses. The sweep is
``scheduler.jobs.relay_outbox``, as the leader runs it; deliveries run for real
(``workers.actors.deliver``) to the log channel or a webhook peer; the broker is a
``StubBroker`` whose queue the tests read instead of a worker.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import update
from sqlmodel import Session

from config.clock import FrozenClock, as_utc
from config.settings import Settings
from models import Notification, table
from scheduler.jobs import relay_outbox
from tests.databases import Database
from tests.delivery_kit import notification, owe_notifications
from tests.http_peer import HTTPPeer
from workers.actors import deliver, note_next_attempt
from workers.broker import QUEUE
from workers.channels import DeliveryFailed
from workflow.sweeps import requeue_lost_deliveries

WINDOW = timedelta(seconds=60)  # the default unstarted_after_seconds
MOMENT = timedelta(seconds=1)
# Longer than the window (the default lease is as long), so that the lease alone holds a job back.
LEASE = 3 * WINDOW
# The spec's bar for a worker killed mid-job: its notification delivered within two minutes.
RECOVERY = timedelta(minutes=2)


@pytest.fixture
def broker() -> Iterator[StubBroker]:
    stub = StubBroker()
    stub.declare_queue(QUEUE)
    yield stub
    stub.close()


@pytest.fixture
def log_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"notify_log_file": tmp_path / "notify.log"})


def jobs(broker: StubBroker, notification_id: int) -> int:
    """Delivery jobs the broker was handed for this notification."""
    messages = [dramatiq.Message.decode(m) for m in list(broker.queues[QUEUE].queue)]
    return sum(1 for m in messages if m.kwargs["notification_id"] == notification_id)


def owe_webhook(session: Session, peer: HTTPPeer) -> int:
    """A filing notifying the peer (besides the case managers' log); the webhook's id."""
    ids = owe_notifications(session, 1, routes=[{"channel": "webhook", "recipient": peer.url()}])
    return ids[-1]  # the filing's own routes come after its team's


def test_a_published_job_no_worker_started_is_owed_again_after_the_window_and_not_before(
    session: Session, settings: Settings, clock: FrozenClock, broker: StubBroker
) -> None:
    [lost] = owe_notifications(session, 1)
    assert relay_outbox(settings, broker) == 1

    clock.advance(WINDOW - MOMENT)
    assert relay_outbox(settings, broker) == 0
    clock.advance(2 * MOMENT)
    assert relay_outbox(settings, broker) == 1
    assert jobs(broker, lost) == 2
    assert relay_outbox(settings, broker) == 0  # owed again once a window, not once a sweep


def test_the_window_runs_from_publication_so_a_job_still_in_the_outbox_is_not_lost(
    session: Session, settings: Settings, clock: FrozenClock, broker: StubBroker
) -> None:
    [waiting] = owe_notifications(session, 1)
    clock.advance(10 * WINDOW)  # the broker was down all along: nothing published
    assert relay_outbox(settings, broker) == 1  # the original job, now
    assert jobs(broker, waiting) == 1

    clock.advance(WINDOW + MOMENT)
    assert relay_outbox(settings, broker) == 1
    assert jobs(broker, waiting) == 2


def test_a_job_still_in_the_outbox_past_the_backstop_is_not_owed_again(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, broker: StubBroker
) -> None:
    """A broker down for hours: the notification's one job waits in the outbox all along, and
    every backstop passing must not add another to publish once the broker is back."""
    [waiting] = owe_notifications(session, 1)
    backstop = timedelta(minutes=settings.stranded_after_minutes)
    for _ in range(5):
        clock.advance(backstop + MOMENT)
        assert requeue_lost_deliveries(db.engine, clock.now(), settings) == 0

    assert relay_outbox(settings, broker) == 1  # the broker is back: the one job goes out
    assert jobs(broker, waiting) == 1


@contextmanager
def mid_send(db: Database, hook: int, settings: Settings, peer: HTTPPeer) -> Iterator[None]:
    """A worker sending ``hook``, held by the peer: to the database, one killed mid-send."""
    peer.hold.set()
    outcome: list[BaseException | None] = []

    def send() -> None:
        try:
            deliver(db.engine, hook, settings)
            outcome.append(None)
        except BaseException as exc:  # handed to the test's thread, which asserts on it
            outcome.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        assert peer.holding.wait(10), "the delivery never reached the peer"
        yield
    finally:
        peer.release.set()
        sender.join(30)
    assert not sender.is_alive(), "the held delivery never ended"
    [ended] = outcome
    assert isinstance(ended, DeliveryFailed), ended  # the held request ends in a 503


def test_a_notification_being_sent_is_owed_again_only_once_its_lease_ran_out(
    db: Database,
    session: Session,
    settings: Settings,
    clock: FrozenClock,
    broker: StubBroker,
    http_peer: HTTPPeer,
) -> None:
    leased = settings.model_copy(update={"delivery_lease_seconds": LEASE.total_seconds()})
    hook = owe_webhook(session, http_peer)
    relay_outbox(leased, broker)
    with mid_send(db, hook, leased, http_peer):
        clock.advance(LEASE - MOMENT)
        relay_outbox(leased, broker)
        assert jobs(broker, hook) == 1
        clock.advance(2 * MOMENT)  # its worker is presumed dead
        relay_outbox(leased, broker)
        assert jobs(broker, hook) == 2


def test_an_attempt_that_outlived_its_lease_leaves_the_next_workers_lease_alone(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, http_peer: HTTPPeer
) -> None:
    """A send stuck past its lease (a socket its time limit could not interrupt) fails after
    another worker took the notification over: that worker's lease stands, or a third could
    send it meanwhile."""
    leased = settings.model_copy(update={"delivery_lease_seconds": LEASE.total_seconds()})
    hook = owe_webhook(session, http_peer)
    with mid_send(db, hook, leased, http_peer):
        clock.advance(LEASE + MOMENT)
        taken_until = clock.now() + LEASE  # what the next worker's claim writes
        with db.engine.begin() as conn:
            conn.execute(
                update(table(Notification))
                .where(table(Notification).c.id == hook)
                .values(claimed_until=taken_until)
            )

    row = notification(db.engine, hook)
    assert row.claimed_until is not None and as_utc(row.claimed_until) == taken_until
    assert row.last_error is None


def test_by_default_a_worker_killed_mid_send_is_replaced_in_time_to_deliver_within_two_minutes(
    db: Database,
    session: Session,
    settings: Settings,
    clock: FrozenClock,
    broker: StubBroker,
    http_peer: HTTPPeer,
) -> None:
    """The sweep runs every ``relay_interval_seconds`` and owes the job again once the lease and
    the window allow; the new attempt, even one its time limit has to stop, ends in time."""
    hook = owe_webhook(session, http_peer)
    relay_outbox(settings, broker)
    with mid_send(db, hook, settings, http_peer):
        killed = clock.now()
        while jobs(broker, hook) == 1 and clock.now() - killed < RECOVERY:
            clock.advance(timedelta(seconds=settings.relay_interval_seconds))
            relay_outbox(settings, broker)
        owed_again = clock.now() - killed
    assert owed_again + timedelta(seconds=settings.delivery_time_limit_seconds) <= RECOVERY


def test_a_delivered_notification_is_not_owed_again(
    db: Database, session: Session, log_settings: Settings, clock: FrozenClock, broker: StubBroker
) -> None:
    [done] = owe_notifications(session, 1)
    relay_outbox(log_settings, broker)
    assert deliver(db.engine, done, log_settings) is True

    clock.advance(timedelta(minutes=log_settings.stranded_after_minutes) + MOMENT)
    assert relay_outbox(log_settings, broker) == 0
    assert jobs(broker, done) == 1


def test_a_failed_attempt_waits_for_its_retry_until_the_backstop(
    db: Database,
    session: Session,
    settings: Settings,
    clock: FrozenClock,
    broker: StubBroker,
    http_peer: HTTPPeer,
) -> None:
    """Dramatiq holds the retry, with a delay the database does not know: owing another job
    after a minute would start a second chain of retries against a failing peer."""
    hook = owe_webhook(session, http_peer)
    relay_outbox(settings, broker)
    http_peer.status = 503
    with pytest.raises(DeliveryFailed):
        deliver(db.engine, hook, settings)

    clock.advance(10 * WINDOW)
    relay_outbox(settings, broker)
    assert jobs(broker, hook) == 1
    clock.advance(timedelta(minutes=settings.stranded_after_minutes))
    relay_outbox(settings, broker)
    assert jobs(broker, hook) == 2


def test_a_delivery_ops_sent_back_whose_job_was_lost_is_owed_again_after_the_window(
    settings: Settings, clock: FrozenClock, broker: StubBroker, retried_delivery: Notification
) -> None:
    """The error it keeps is its previous run's: no attempt of this run failed, so no retry of
    Dramatiq's can be waiting, and its loss is not left to the backstop."""
    assert retried_delivery.id is not None and retried_delivery.last_error is not None
    relay_outbox(settings, broker)
    published = jobs(broker, retried_delivery.id)

    clock.advance(WINDOW + MOMENT)
    relay_outbox(settings, broker)
    assert jobs(broker, retried_delivery.id) == published + 1


def test_a_delivery_owed_again_after_its_retry_was_lost_starts_a_new_run(
    db: Database,
    session: Session,
    settings: Settings,
    clock: FrozenClock,
    broker: StubBroker,
    http_peer: HTTPPeer,
) -> None:
    hook = owe_webhook(session, http_peer)
    relay_outbox(settings, broker)
    http_peer.status = 503
    with pytest.raises(DeliveryFailed):
        deliver(db.engine, hook, settings)
    note_next_attempt(db.engine, hook, 1000)  # the retry Dramatiq then lost

    clock.advance(timedelta(minutes=settings.stranded_after_minutes) + MOMENT)
    relay_outbox(settings, broker)

    row = notification(db.engine, hook)
    assert (row.run_attempts, row.failing_since, row.next_attempt_at) == (0, None, None)
    assert row.last_error == "webhook answered HTTP 503"  # the previous run's, kept


def test_a_backlog_is_owed_again_batch_after_batch_in_one_run(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, broker: StubBroker
) -> None:
    owed = owe_notifications(session, 5)
    relay_outbox(settings, broker)
    clock.advance(WINDOW + MOMENT)
    small_batches = settings.model_copy(update={"sweep_batch_size": 2})
    assert requeue_lost_deliveries(db.engine, clock.now(), small_batches) == len(owed)
