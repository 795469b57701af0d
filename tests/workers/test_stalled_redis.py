"""A Redis that stops answering (paused, its host swapping) is told to Dramatiq as lost.

Dramatiq's consumer handles a refused connection and starts again; a server that accepts and
then says nothing times out instead, and the consumer thread, requeueing its delayed messages
as it closed, died of it: the worker process lived on, and no retry ran again.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import redis
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.errors import BrokerConnectionError

from workers.broker import QUEUE, RecoveringRedisBroker, middleware


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers one."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    listener.close()


@pytest.fixture
def broker(silent_redis: str) -> Iterator[RecoveringRedisBroker]:
    client = redis.Redis.from_url(silent_redis, socket_connect_timeout=1, socket_timeout=0.2)
    built = RecoveringRedisBroker(client=client, middleware=middleware())
    yield built
    built.close()


def test_fetching_from_a_silent_redis_is_a_lost_connection(
    broker: RecoveringRedisBroker,
) -> None:
    consumer = broker.consume(QUEUE, prefetch=1, timeout=100)

    with pytest.raises(BrokerConnectionError):
        next(consumer)


def test_requeueing_to_a_silent_redis_as_the_consumer_closes_is_a_lost_connection(
    broker: RecoveringRedisBroker,
) -> None:
    """What killed the thread: ``close`` swallows a lost connection, nothing else."""
    consumer = broker.consume(QUEUE, prefetch=1, timeout=100)
    message: Message[None] = Message(
        QUEUE, "deliver_notification", (1,), {}, {"redis_message_id": "m1"}
    )

    with pytest.raises(BrokerConnectionError):
        consumer.requeue([MessageProxy(message)])
