"""The outbox relay against a real Redis: published means the broker has it, and only once."""

from __future__ import annotations

import threading
from collections.abc import Callable

import dramatiq
import pytest
import redis
from dramatiq import Middleware
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from config.clock import FrozenClock, get_clock
from models import OutboxMessage, table
from tests.databases import Database
from tests.delivery_kit import (
    RedisServer,
    owe_notifications,
    queued_message_ids,
    relay_through,
    unpublished,
)
from workers.relay import CLAIM, ImmediateRelay, message_id, publish, relay_pending
from workflow import outbox

pytestmark = pytest.mark.redis


def add_rows(db: Database, count: int) -> list[int]:
    """Committed outbox rows from a session without a publisher: the relay under test moves them."""
    with Session(db.engine) as session:
        ids = outbox.owe_deliveries(session, range(count), get_clock().now())
        session.commit()
    return ids


def outbox_rows(db: Database) -> list[OutboxMessage]:
    with Session(db.engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


def test_a_row_is_published_once_with_its_deterministic_message_id(
    db: Database, redis_broker: dramatiq.Broker
) -> None:
    ids = add_rows(db, 3)

    assert publish(ids[:1], db.engine, redis_broker) == 1
    assert publish(ids[:1], db.engine, redis_broker) == 0  # already published: not sent again
    assert relay_pending(db.engine, redis_broker, limit=10) == 2
    assert relay_pending(db.engine, redis_broker, limit=10) == 0

    assert sorted(queued_message_ids(redis_broker)) == sorted(message_id(i) for i in ids)
    rows = outbox_rows(db)
    assert all(row.published_at is not None and row.attempts == 0 for row in rows)


def test_broker_down_leaves_the_row_for_the_next_sweep(
    db: Database, redis_broker: dramatiq.Broker, redis_server: RedisServer
) -> None:
    [row_id] = add_rows(db, 1)
    redis_server.stop()

    assert relay_pending(db.engine, redis_broker) == 0  # no exception escapes to the caller
    [row] = outbox_rows(db)
    assert row.published_at is None
    assert row.attempts == 1
    assert row.last_error and "Connection" in row.last_error

    redis_server.start()
    assert relay_pending(db.engine, redis_broker) == 1
    [row] = outbox_rows(db)
    assert row.published_at is not None
    assert queued_message_ids(redis_broker) == [message_id(row_id)]


def test_rows_behind_a_refused_one_are_left_for_the_next_sweep_at_once(
    db: Database, redis_broker: dramatiq.Broker, redis_server: RedisServer
) -> None:
    add_rows(db, 3)
    redis_server.stop()

    assert relay_pending(db.engine, redis_broker) == 0
    rows = outbox_rows(db)
    assert [row.attempts for row in rows] == [1, 0, 0]  # the broker was asked once
    assert all(row.claimed_until is None for row in rows)


def test_rows_a_dead_relay_claimed_wait_for_its_claim_to_end(
    db: Database, redis_broker: dramatiq.Broker, clock: FrozenClock
) -> None:
    ids = add_rows(db, 2)
    with db.engine.begin() as connection:  # as a relay that claimed them, then died
        connection.execute(update(table(OutboxMessage)).values(claimed_until=clock.now() + CLAIM))

    assert relay_pending(db.engine, redis_broker) == 0
    clock.advance(CLAIM)
    assert relay_pending(db.engine, redis_broker) == 2
    assert sorted(queued_message_ids(redis_broker)) == sorted(message_id(i) for i in ids)
    assert all(row.claimed_until is None for row in outbox_rows(db))


class BeforeEachEnqueue(Middleware):
    """Runs ``then`` as the broker takes each message: time passing while a relay publishes."""

    def __init__(self, then: Callable[[], object]) -> None:
        self.then = then

    def before_enqueue(self, broker: dramatiq.Broker, message: object, delay: object) -> None:
        self.then()


def test_a_relay_stops_halfway_through_its_claim_and_gives_the_rest_back(
    db: Database, redis_broker: dramatiq.Broker, clock: FrozenClock
) -> None:
    add_rows(db, 3)
    redis_broker.add_middleware(BeforeEachEnqueue(lambda: clock.advance(CLAIM / 2)))

    assert relay_pending(db.engine, redis_broker) == 1
    rows = outbox_rows(db)
    assert [row.published_at is not None for row in rows] == [True, False, False]
    assert all(row.claimed_until is None and row.attempts == 0 for row in rows)


def test_a_relay_whose_claim_ran_out_leaves_the_next_ones_claim_alone(
    db: Database, redis_broker: dramatiq.Broker, clock: FrozenClock
) -> None:
    def another_relay_takes_over() -> None:
        clock.advance(CLAIM)
        with db.engine.begin() as connection:
            connection.execute(
                update(table(OutboxMessage)).values(claimed_until=clock.now() + CLAIM)
            )

    add_rows(db, 3)
    redis_broker.add_middleware(BeforeEachEnqueue(another_relay_takes_over))

    assert relay_pending(db.engine, redis_broker) == 1
    published, *others = outbox_rows(db)
    assert published.published_at is not None and published.claimed_until is None
    assert all(row.claimed_until is not None for row in others)


def test_a_row_naming_no_known_job_is_noted_and_the_others_still_go(
    db: Database, redis_broker: dramatiq.Broker
) -> None:
    with db.engine.begin() as connection:  # as a row written by a newer or older icpflow
        connection.execute(
            insert(table(OutboxMessage)),
            {"job": "no_such_job", "payload": {}, "created_at": get_clock().now(), "attempts": 0},
        )
    [good] = add_rows(db, 1)

    assert relay_pending(db.engine, redis_broker) == 1

    unusable, published = outbox_rows(db)
    assert (unusable.published_at, unusable.attempts) == (None, 1)
    assert unusable.last_error and "no_such_job" in unusable.last_error
    assert published.published_at is not None
    assert queued_message_ids(redis_broker) == [message_id(good)]


def test_concurrent_relays_publish_each_row_exactly_once(
    db: Database, redis_broker: dramatiq.Broker
) -> None:
    ids = add_rows(db, 120)
    start = threading.Barrier(2)
    counts: list[int] = []

    def sweep() -> None:
        start.wait()
        total = 0
        while published := relay_pending(db.engine, redis_broker, limit=15):
            total += published
        counts.append(total)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(counts) == len(ids)
    queued = queued_message_ids(redis_broker)
    assert len(queued) == len(ids)
    assert set(queued) == {message_id(i) for i in ids}


def test_immediate_relay_publishes_after_commit_and_leaves_refused_rows_for_the_sweep(
    db: Database,
    session: Session,
    redis_broker: dramatiq.Broker,
    redis_server: RedisServer,
) -> None:
    relay = ImmediateRelay(db.engine, redis_broker)
    relay_through(session, relay)
    try:
        owe_notifications(session, 2)
        assert relay.drain()
        assert unpublished(db.engine) == 0
        assert len(queued_message_ids(redis_broker)) == 2

        redis_server.stop()
        owe_notifications(session, 3, start=2)
        assert relay.drain()
        assert unpublished(db.engine) == 3
    finally:
        relay.stop()


def test_immediate_relay_never_makes_the_caller_wait_for_a_hung_broker(
    db: Database, session: Session, redis_server: RedisServer
) -> None:
    # Without a socket timeout (redis-py's default is 5 s), a publish waits as long as the
    # frozen Redis does, however slow the machine running the test.
    hung = RedisBroker(client=redis.Redis.from_url(redis_server.url, socket_timeout=None))
    relay = ImmediateRelay(db.engine, hung)
    relay_through(session, relay)
    redis_server.freeze()
    try:
        owing = threading.Thread(target=owe_notifications, args=(session, 3))
        owing.start()
        owing.join(60)
        assert not owing.is_alive(), "the commits waited for the hung broker"
        assert not relay.drain(0.1), "the relay is not waiting on the broker"
        redis_server.thaw()
        assert relay.drain(30)
        assert unpublished(db.engine) == 0
    finally:
        redis_server.thaw()
        relay.stop()
        hung.close()
