"""What the leader runs on a timer: the deadline sweep, the outbox relay sweep and the recount
of estimated due times once new holiday schedules are on file.

A job that raises would only be logged by APScheduler and tried again at the next interval
anyway; catching here keeps the log line ours (what failed, that it will be retried) and lets
the jobs be called directly in tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from config.clock import get_clock
from config.settings import Settings
from models import get_engine
from workflow.deadlines import calendar_for
from workflow.sweeps import (
    fire_due_deadlines,
    fire_due_obligations,
    recount_working_days,
    requeue_lost_deliveries,
)

if TYPE_CHECKING:
    from dramatiq import Broker

log = logging.getLogger(__name__)


def sweep_deadlines(settings: Settings) -> int:
    """Fire what is due now, the orders' deadlines and the approved services' obligations
    (their notices, their footer checks); returns how many this run fired."""
    deadlines = _run(
        "deadline sweep",
        "fired",
        lambda: fire_due_deadlines(get_engine(), get_clock().now(), settings),
    )
    return deadlines + _run(
        "obligation sweep",
        "fired",
        lambda: fire_due_obligations(get_engine(), get_clock().now(), settings),
    )


def sweep_deadlines_and_relay(settings: Settings, broker: Broker) -> int:
    """The leader's deadline sweep: the notices it owes reach the broker right after it, not at
    the relay sweep's next run; returns how many deadlines and obligations it fired."""
    fired = sweep_deadlines(settings)
    if fired:
        _run("outbox relay", "published", lambda: _publish(settings, broker))
    return fired


def relay_outbox(settings: Settings, broker: Broker) -> int:
    """Publish outbox rows the immediate relay missed (broker down, process killed after commit),
    after owing a new job for each notification whose delivery job the broker lost (a Redis
    restarted without persistence): those reach the broker in this same run."""

    def requeue_and_publish() -> int:
        requeue_lost_deliveries(get_engine(), get_clock().now(), settings)
        return _publish(settings, broker)

    return _run("outbox relay", "published", requeue_and_publish)


class CalendarRecount:
    """The leader's recount of the due times a holiday schedule moves, run when the schedules
    on file changed (``workflow.sweeps.recount_working_days``).

    It waits one ``CALENDAR_RECHECK_SECONDS`` after seeing the change, by when every process has
    seen it too, so deadlines a process armed with the old schedules meanwhile are counted
    again as well. One per term of leadership: a new leader counts once, as a change its
    predecessor saw may not have been counted.
    """

    def __init__(self) -> None:
        self._counted: int | None = None  # the calendar's generation last counted with
        self._seen: tuple[int, float] | None = None  # a later generation, and when first seen

    def __call__(self, settings: Settings) -> int:
        calendar = calendar_for(settings)
        if calendar.generation == self._counted:
            return 0
        now = time.monotonic()
        if self._seen is None or self._seen[0] != calendar.generation:
            self._seen = (calendar.generation, now)
        if now - self._seen[1] < settings.calendar_recheck_seconds:
            return 0
        try:
            changed = recount_working_days(get_engine(), settings)
        except Exception:
            log.exception("calendar recount failed; the next run retries")
            return 0
        # The schedules waited for: one read during the recount is counted at a later run.
        self._counted = self._seen[0]
        log.info("calendar recount changed %d", changed)
        return changed


def _publish(settings: Settings, broker: Broker) -> int:
    # Imported here so that the deadline sweep, and tests without a broker, never load
    # the broker client libraries.
    from workers.relay import relay_pending

    engine, limit, published = get_engine(), settings.sweep_batch_size, 0
    # A backlog left by a broker outage drains batch after batch, as the deadline sweep does.
    while True:
        batch = relay_pending(engine, broker, limit)
        published += batch
        if batch < limit:
            return published


def _run(job: str, verb: str, work: Callable[[], int]) -> int:
    try:
        count = work()
    except Exception:
        log.exception("%s failed; the next run retries", job)
        return 0
    log.log(logging.INFO if count else logging.DEBUG, "%s %s %d", job, verb, count)
    return count
