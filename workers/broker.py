"""The one place that chooses and configures Dramatiq's broker.

Building a broker declares nothing and starts nothing: the worker declares its actors on the
broker it builds (``workers.setup``), the relay publishes through the broker it is handed, and
whoever wants the embedded Redis running says so (``workers.embedded_redis.serving``).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import CurrentMessage, Middleware, Retries, TimeLimit
from redis.backoff import NoBackoff
from redis.retry import Retry

from config.settings import Settings
from workers.embedded_redis import embedded_redis_url

log = logging.getLogger(__name__)

# The queue every icpflow actor consumes.
QUEUE = "icpflow"

# An idle Redis consumer sleeps this long between polls of an empty queue. Dramatiq's default
# (1 s) alone would use up the 1 s commit-to-delivery budget; 100 ms costs ten cheap calls a second.
IDLE_POLL_MS = 100

# A job's own timeouts bound it; this only catches an actor wedged beyond them, which then
# counts as a failed attempt. Deliveries and footer checks have limits of their own, from
# their settings.
TIME_LIMIT_MS = 120_000

# A web request relays its outbox rows through this broker: a dead Redis must fail fast.
_CONNECT_TIMEOUT_SECONDS = 2.0
_SOCKET_TIMEOUT_SECONDS = 5.0


class RecoveringRedisBroker(RedisBroker):
    """A RedisBroker that takes a new worker id whenever a consumer reconnects.

    When Redis goes away, Dramatiq's consumer drops the messages it had fetched but not yet run
    (prefetched, or waiting out a retry delay); they stay in this worker's "unacked" set, which
    Redis hands back only once the worker's heartbeat stops, i.e. never while it lives. With a
    new id the old one falls silent, so after ``heartbeat_timeout`` those messages are requeued
    (the ones that did run are then no-ops for the idempotent actors).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]  # Dramatiq has no annotations
        self._consumed: set[str] = set()

    def _dispatch(self, command: str) -> Any:
        """Dramatiq's Redis commands, a stalled server told as a lost one: its consumer handles
        a refused connection (``redis.ConnectionError``) only. A server that stops answering
        times out instead, and the consumer thread, requeueing its delayed messages as it
        closes, died of it: the process lived on, its retries never ran again."""
        dispatch = super()._dispatch(command)  # type: ignore[no-untyped-call]  # no annotations

        def guarded(*args: Any) -> Any:
            try:
                return dispatch(*args)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                raise ConnectionClosed(exc) from None

        return guarded

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Any:
        if queue_name in self._consumed:
            self.broker_id = str(uuid.uuid4())
            log.warning("consumer of %s reconnected; now broker id %s", queue_name, self.broker_id)
        self._consumed.add(queue_name)
        return super().consume(queue_name, prefetch, min(timeout, IDLE_POLL_MS))


# An actor's ``retry_scheduled`` option: told, after a failed attempt, the message Dramatiq
# will run again and its delay in milliseconds (random within its backoff: only it knows).
RetryScheduled = Callable[[dramatiq.Message[Any], int], None]


class PatientRetries(Retries):
    """Dramatiq's retries, except that a job raising ``dramatiq.Retry`` with a delay is waiting,
    not failing (for another worker's lease, for the database to come back): it runs again after
    that delay without using up one of its retries or lengthening its backoff, however long it
    waits, so that the failures it meets afterwards still get every retry.

    A failure's retry, once scheduled, is told to the actor's ``retry_scheduled`` option, with
    the delay Dramatiq drew: the database cannot see it, and ops want to know the next try."""

    def __init__(self) -> None:
        super().__init__()
        self._failed = threading.local()  # the message whose failure this thread retries

    @property
    def actor_options(self) -> set[str]:
        return super().actor_options | {"retry_scheduled"}  # type: ignore[no-any-return]  # Retries has no annotations

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if isinstance(exception, dramatiq.Retry) and exception.delay is not None:
            broker.enqueue(message.copy(), delay=exception.delay)  # the message, options and all
            return
        self._failed.message_id = message.message_id
        try:
            super().after_process_message(broker, message, result=result, exception=exception)  # type: ignore[no-untyped-call]  # Retries has no annotations
        finally:
            self._failed.message_id = None

    def after_enqueue(
        self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None
    ) -> None:
        if delay is None or getattr(self._failed, "message_id", None) != message.message_id:
            return  # published, or waiting: not a failure's retry
        scheduled: RetryScheduled | None = broker.get_actor(message.actor_name).options.get(
            "retry_scheduled"
        )
        if scheduled is not None:
            scheduled(message, delay)


def middleware() -> list[Middleware]:
    """No AgeLimit: a late reminder is better than one dropped without a trace. Each actor
    declares its own retry policy and backoff (``Retries`` reads them from its options);
    ``CurrentMessage`` lets an actor see which attempt it is running."""
    return [TimeLimit(time_limit=TIME_LIMIT_MS), PatientRetries(), CurrentMessage()]


def redis_url(settings: Settings) -> str:
    """``REDIS_URL``, else the embedded server's socket for ``var_dir`` (not started here)."""
    return settings.redis_url or embedded_redis_url(settings.var_dir)


def build_broker(settings: Settings) -> dramatiq.Broker:
    """RabbitMQ for an ``amqp`` ``BROKER_URL``, else Redis; no actors declared."""
    if settings.broker_url.startswith("amqp"):
        # Publisher confirms: the relay marks a row published only once RabbitMQ has it.
        return RabbitmqBroker(
            url=settings.broker_url, confirm_delivery=True, middleware=middleware()
        )
    client = redis.Redis.from_url(
        redis_url(settings),
        socket_connect_timeout=_CONNECT_TIMEOUT_SECONDS,
        socket_timeout=_SOCKET_TIMEOUT_SECONDS,
        # One immediate retry replaces a pooled connection that a Redis restart broke.
        retry=Retry(NoBackoff(), 1),
    )
    return RecoveringRedisBroker(
        client=client,
        middleware=middleware(),
        heartbeat_timeout=settings.redis_heartbeat_timeout_ms,
        maintenance_chance=settings.redis_maintenance_chance,
    )
