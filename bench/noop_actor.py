"""The worker throughput bar's baseline: an actor that does nothing, on icpflow's broker (same
middleware, same Redis settings) and queue, so that its messages cost only what Dramatiq and
Redis cost per message. A worker loads this module beside ``workers.actors``.

Importing it configures the broker from the settings when no broker is configured yet (as
importing the real actors does), so the benchmark imports it only after configuring its own.
"""

from __future__ import annotations

import dramatiq

from workers.broker import QUEUE, get_broker

ACTOR = "bench_noop"

get_broker()  # before declaring, or Dramatiq would invent a default broker on localhost


@dramatiq.actor(actor_name=ACTOR, queue_name=QUEUE)
def noop(notification_id: int) -> None:
    """Takes what ``deliver_notification`` takes, so both messages are the same size."""
