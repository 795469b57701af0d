"""Faults from the spec's bars: Redis stopped during a burst, a worker killed mid-job.

Both must end with every notification delivered exactly once: counted at the peer by
idempotency key, and one ``delivered`` row each.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from models import Notification, OutboxMessage
from tests.delivery_kit import (
    RedisServer,
    System,
    keys_by_id,
    logged_keys,
    one_retry_taken_by_a_worker,
    owe_notifications,
    statuses,
    unpublished,
    wait_for,
)
from tests.http_peer import HTTPPeer
from workers.relay import relay_pending

pytestmark = [pytest.mark.slow, pytest.mark.redis]

BURST = 200


def test_redis_stopped_during_a_burst_loses_and_duplicates_nothing(
    system: System, session: Session, redis_server: RedisServer
) -> None:
    engine = system.db.engine
    system.worker.start()
    third = BURST // 3
    owe_notifications(session, third)
    redis_server.stop()
    owe_notifications(session, third, start=third)
    # Redis comes back only once the relay has met the outage: on a slow machine it may still
    # be publishing the first third when the burst ends.
    wait_for(lambda: refused_publishes(engine) > 0, 30, "the relay to meet the outage")
    redis_server.start()
    owe_notifications(session, BURST - 2 * third, start=2 * third)
    assert system.relay.drain(30)

    wait_for(
        lambda: relay_pending(engine, system.broker) == 0 and unpublished(engine) == 0,
        20,
        "the sweep",
    )
    wait_for(lambda: statuses(engine) == {"delivered": BURST}, 40, "every delivery")

    keys = keys_by_id(engine)
    assert len(keys) == BURST
    assert logged_keys(system.log_file) == dict.fromkeys(keys.values(), 1)


def refused_publishes(engine: Engine) -> int:
    with Session(engine) as fresh:
        return fresh.exec(select(func.count()).where(col(OutboxMessage.attempts) > 0)).one()


def test_worker_killed_mid_job_delivers_once_after_restart(
    system: System, session: Session, http_peer: HTTPPeer
) -> None:
    http_peer.hold.set()
    system.worker.start()
    owe_notifications(session, 1, routes=[{"channel": "webhook", "recipient": http_peer.url()}])
    wait_for(http_peer.holding.is_set, 30, "the worker to be mid-request")
    engine = system.db.engine
    # The log route's notice is another job: killed halfway through it, it would be sent twice.
    wait_for(lambda: statuses(engine)["delivered"] == 1, 30, "the log route's delivery")

    system.worker.kill()
    http_peer.hold.clear()
    http_peer.release.set()  # the held request now fails: the peer never accepted it
    system.worker.start()

    wait_for(lambda: statuses(engine) == {"delivered": 2}, 30, "the requeued job to complete")
    with Session(engine) as fresh:
        hook = fresh.exec(
            select(Notification).where(Notification.recipient == http_peer.url())
        ).one()
    assert http_peer.delivered == {hook.idempotency_key: 1}
    assert http_peer.received == [hook.idempotency_key] * 2
    assert hook.attempts == 2
    assert sum(logged_keys(system.log_file).values()) == 1


def test_a_retry_waiting_in_a_worker_survives_a_redis_restart(
    system: System, session: Session, redis_server: RedisServer, http_peer: HTTPPeer
) -> None:
    """Dramatiq holds a retry in worker memory until its backoff ends; a Redis outage then
    drops it while Redis still counts it as taken by that (live) worker."""
    system.worker.env.update(DELIVERY_MIN_BACKOFF_MS="5000", DELIVERY_MAX_BACKOFF_MS="10000")
    http_peer.status = 503
    system.worker.start()
    owe_notifications(session, 1, routes=[{"channel": "webhook", "recipient": http_peer.url()}])
    wait_for(lambda: len(http_peer.received) == 1, 30, "the first, failing attempt")
    wait_for(lambda: one_retry_taken_by_a_worker(system.broker), 10, "the worker to hold the retry")

    redis_server.stop()
    http_peer.status = 200
    wait_for(
        lambda: system.worker.logs().count("connection error") >= 2, 15, "both consumers to fail"
    )
    redis_server.start()

    engine = system.db.engine
    wait_for(lambda: statuses(engine) == {"delivered": 2}, 30, "the retry to be delivered")
    assert list(http_peer.delivered.values()) == [1]
