"""The one place that chooses and configures Dramatiq's broker.

Dramatiq binds an actor to whatever broker is global when the actor is declared, and silently
creates a default one on ``localhost`` if none is; so ``workers.actors`` asks
``get_broker()`` before declaring anything, and every process (web relay, worker, scheduler)
builds the same broker from the same settings.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware, Retries, TimeLimit
from redis.backoff import NoBackoff
from redis.retry import Retry

from config.settings import Settings, get_settings

log = logging.getLogger(__name__)

# The queue every icpflow actor consumes.
QUEUE = "icpflow"

# An idle Redis consumer sleeps this long between polls of an empty queue. Dramatiq's default
# (1 s) alone would use up the 1 s commit-to-delivery budget; 100 ms costs ten cheap calls a second.
IDLE_POLL_MS = 100

# A delivery's channel call is bounded by its own timeout (SMTP 30 s, webhooks 10 s by default);
# this only catches an actor wedged beyond any of them, which then counts as a failed attempt.
TIME_LIMIT_MS = 120_000

# A web request relays its outbox rows through this broker: a dead Redis must fail fast.
_CONNECT_TIMEOUT_SECONDS = 2.0
_SOCKET_TIMEOUT_SECONDS = 5.0

_broker: dramatiq.Broker | None = None


class RecordFinalFailure(Middleware):
    """Write a job that fails for good (retries exhausted, or an error its actor ``throws``) to
    ``failed_jobs``: Redis keeps dead letters a week, a missed reminder must stay visible.

    Dramatiq runs ``after_process_message`` hooks in reverse order, so this must be added
    *before* ``Retries`` to see the ``failed`` flag that ``Retries`` sets.
    """

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None or not message.failed:
            return
        from config.clock import get_clock
        from models import session_scope
        from workers.failures import record_failure
        from workflow.notices import DELIVER_ACTOR

        args = list(message.args)
        notification_id = args[0] if message.actor_name == DELIVER_ACTOR and args else None
        error = f"{type(exception).__name__}: {exception}"
        with session_scope() as session:
            record_failure(
                session, message.actor_name, args, error, get_clock().now(), notification_id
            )
            session.commit()
        log.warning("job %s%r failed for good: %s", message.actor_name, tuple(args), error)


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

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Any:
        if queue_name in self._consumed:
            self.broker_id = str(uuid.uuid4())
            log.warning("consumer of %s reconnected; now broker id %s", queue_name, self.broker_id)
        self._consumed.add(queue_name)
        return super().consume(queue_name, prefetch, min(timeout, IDLE_POLL_MS))


def middleware(settings: Settings) -> list[Middleware]:
    """No AgeLimit: a late reminder is better than one dropped without a trace."""
    return [
        TimeLimit(time_limit=TIME_LIMIT_MS),
        RecordFinalFailure(),
        Retries(
            retry_when=retry_policy(settings.delivery_max_retries),
            min_backoff=settings.delivery_min_backoff_ms,
            max_backoff=settings.delivery_max_backoff_ms,
        ),
    ]


def retry_policy(max_retries: int) -> Callable[[int, BaseException], bool]:
    """Failures are retried ``max_retries`` times; an explicit ``dramatiq.Retry`` (a job
    waiting for another worker's lease) is waiting, not failing, and is never exhausted."""

    def should_retry(retries: int, exception: BaseException) -> bool:
        return isinstance(exception, dramatiq.Retry) or retries < max_retries

    return should_retry


def redis_url(settings: Settings) -> str:
    """``REDIS_URL``, else the embedded server for ``var_dir``.

    A process run on its own (not under ``icpflow up``) starts that server if nobody has and
    leaves it running at exit: its sibling worker processes and later processes attach to it.
    """
    if settings.redis_url:
        return settings.redis_url
    from workers.embedded_redis import start_embedded_redis

    url, _ = start_embedded_redis(settings.var_dir)
    return url


def build_broker(settings: Settings) -> dramatiq.Broker:
    if settings.broker_url.startswith("amqp"):
        # Publisher confirms: the relay marks a row published only once RabbitMQ has it.
        return RabbitmqBroker(
            url=settings.broker_url, confirm_delivery=True, middleware=middleware(settings)
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
        middleware=middleware(settings),
        heartbeat_timeout=settings.redis_heartbeat_timeout_ms,
        maintenance_chance=settings.redis_maintenance_chance,
    )


def configure_broker(settings: Settings | None = None) -> dramatiq.Broker:
    """Build the broker, make it Dramatiq's global one, and move already declared actors onto it
    (tests and a settings reload switch brokers within one process)."""
    global _broker
    broker = build_broker(settings or get_settings())
    previous, _broker = _broker, broker
    dramatiq.set_broker(broker)
    if previous is not None:
        for actor in previous.actors.values():
            actor.broker = broker
            broker.declare_actor(actor)
        previous.close()
    return broker


def get_broker() -> dramatiq.Broker:
    """The process's broker, configured from the settings on first use."""
    return _broker if _broker is not None else configure_broker()
