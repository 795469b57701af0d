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
from datetime import timedelta
from pathlib import Path

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlmodel import Session

from config.clock import FrozenClock
from config.settings import Settings
from scheduler.jobs import relay_outbox
from tests.databases import Database
from tests.delivery_kit import owe_notifications
from tests.http_peer import HTTPPeer
from workers.actors import deliver
from workers.broker import QUEUE
from workers.channels import DeliveryFailed
from workflow.sweeps import requeue_lost_deliveries

WINDOW = timedelta(seconds=60)  # the default unstarted_after_seconds
MOMENT = timedelta(seconds=1)
LEASE = timedelta(seconds=150)  # the default delivery_lease_seconds


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


def test_a_notification_being_sent_is_owed_again_only_once_its_lease_ran_out(
    db: Database,
    session: Session,
    settings: Settings,
    clock: FrozenClock,
    broker: StubBroker,
    http_peer: HTTPPeer,
) -> None:
    hook = owe_webhook(session, http_peer)
    relay_outbox(settings, broker)
    http_peer.hold.set()

    def send() -> None:
        with pytest.raises(DeliveryFailed):  # the held request ends in a 503
            deliver(db.engine, hook, settings)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        assert http_peer.holding.wait(10), "the delivery never reached the peer"
        clock.advance(LEASE - MOMENT)
        relay_outbox(settings, broker)
        assert jobs(broker, hook) == 1
        clock.advance(2 * MOMENT)  # its worker is presumed dead
        relay_outbox(settings, broker)
        assert jobs(broker, hook) == 2
    finally:
        http_peer.release.set()
        sender.join(30)


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


def test_a_backlog_is_owed_again_batch_after_batch_in_one_run(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, broker: StubBroker
) -> None:
    owed = owe_notifications(session, 5)
    relay_outbox(settings, broker)
    clock.advance(WINDOW + MOMENT)
    small_batches = settings.model_copy(update={"sweep_batch_size": 2})
    assert requeue_lost_deliveries(db.engine, clock.now(), small_batches) == len(owed)
