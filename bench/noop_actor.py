"""The worker throughput bar's baseline: an actor that does nothing, on icpflow's broker (same
middleware, same Redis settings) and queue, so that its messages cost only what Dramatiq and
Redis cost per message. The benchmark's worker runs ``NOOP_BROKER``: icpflow's worker broker
with this actor declared beside the real ones.
"""

from __future__ import annotations

import dramatiq

from config.settings import get_settings
from workers.broker import QUEUE
from workers.setup import build_worker_broker

ACTOR = "bench_noop"
# What Dramatiq's CLI is told to call for its broker (``module:callable``).
NOOP_BROKER = "bench.noop_actor:use_bench_broker"


def noop(notification_id: int) -> None:
    """Takes what ``deliver_notification`` takes, so both messages are the same size."""


def declare_noop(broker: dramatiq.Broker) -> dramatiq.Actor[..., None]:
    return dramatiq.actor(broker=broker, actor_name=ACTOR, queue_name=QUEUE)(noop)


def use_bench_broker() -> None:
    """icpflow's worker broker plus the no-op actor, made Dramatiq's global one."""
    broker = build_worker_broker(get_settings())
    declare_noop(broker)
    dramatiq.set_broker(broker)
