"""The scheduler process: stand by until it wins the leader lock, then sweep on a timer.

Every scheduler polls the lock; the winner adds the sweep jobs, the others wait. The leader's
poll checks the lock on its session, which is also how standbys see it is alive (a leader silent
for ``LEADER_TAKEOVER_SECONDS`` is ended, ``scheduler.leader``), so the poll needs a thread of
its own: a sweep running long must not hold it back, or a busy leader would look hung. APScheduler's
timers are in-memory, which is safe only because the work lives in rows: a new leader's first
sweep picks up whatever came due while nobody led. Jobs have fixed ids so that becoming leader
twice replaces them instead of doubling them.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import make_url

from config.logs import configure_logging
from config.settings import Settings
from scheduler.jobs import CalendarRecount, relay_outbox, sweep_deadlines_and_relay
from scheduler.leader import LeaderLock
from workflow.startup import check_settings

if TYPE_CHECKING:
    from dramatiq import Broker

log = logging.getLogger(__name__)

LEADERSHIP_JOB_ID = "icpflow.leadership"
SWEEP_JOB_ID = "icpflow.deadline_sweep"
RELAY_JOB_ID = "icpflow.outbox_relay"
RECOUNT_JOB_ID = "icpflow.calendar_recount"

# A sweep that starts late (a busy host, a paused VM) is still worth running; with
# ``coalesce`` the runs it missed collapse into that one.
MISFIRE_GRACE_SECONDS = 3600

LeaderJob = Callable[[Settings, "Broker"], int]


def _recount() -> LeaderJob:
    recount = CalendarRecount()
    return lambda settings, _broker: recount(settings)


# Leader-only jobs: id, a maker of the job (called at each take-over, so a job that keeps
# state starts afresh with each term), and its interval in seconds as read from the settings.
LEADER_JOBS: tuple[tuple[str, Callable[[], LeaderJob], Callable[[Settings], float]], ...] = (
    (SWEEP_JOB_ID, lambda: sweep_deadlines_and_relay, lambda s: s.sweep_interval_seconds),
    (RELAY_JOB_ID, lambda: relay_outbox, lambda s: s.relay_interval_seconds),
    (RECOUNT_JOB_ID, _recount, lambda s: s.sweep_interval_seconds),
)


class Leadership:
    """Adds the leader jobs when this process wins the lock and removes them when it loses it."""

    def __init__(
        self, scheduler: BaseScheduler, lock: LeaderLock, settings: Settings, broker: Broker
    ) -> None:
        self.scheduler = scheduler
        self.lock = lock
        self.settings = settings
        self.broker = broker
        self.leading = False
        self._said_standby = False
        # Polls and job guards run in different worker threads and may both see a lost lock.
        self._mutex = threading.Lock()

    def poll(self) -> None:
        """Lead when the lock is won; while leading, check it every poll, even with no job due:
        that check is the leader's sign of life to the standbys."""
        with self._mutex:
            if self.leading:
                if not self.lock.still_held():
                    self._step_down("the scheduler lock was lost")
            elif self.lock.try_acquire():
                self._take_over()
            elif not self._said_standby:
                self._said_standby = True
                log.info(
                    "standby: another scheduler holds the lock; polling every %ss",
                    self.settings.leader_poll_seconds,
                )

    def resign(self) -> None:
        """Give the lock up at shutdown so a standby takes over at its next poll."""
        with self._mutex:
            if self.leading:
                self._step_down("shutting down")
            else:
                self.lock.release()

    def _take_over(self) -> None:
        self.leading = True
        log.info("leader: this scheduler holds the lock and runs the sweeps")
        for job_id, make_job, interval in LEADER_JOBS:
            job = self._guarded(make_job())
            _add_interval_job(self.scheduler, job_id, job, interval(self.settings))

    def _step_down(self, why: str) -> None:
        self.leading = False
        self._said_standby = False
        for job_id, _make_job, _interval in LEADER_JOBS:
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(job_id)
        self.lock.release()
        log.warning("standby: %s; leader jobs stopped", why)

    def _guarded(self, job: LeaderJob) -> Callable[[], None]:
        """Run ``job`` only while the lock is still ours: a run queued just before the lock was
        lost must not sweep beside the new leader."""

        def run() -> None:
            if self.lock.still_held():
                job(self.settings, self.broker)
                return
            with self._mutex:
                if self.leading:
                    self._step_down("the scheduler lock was lost")

        return run


def run_scheduler(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT: standby, leader when the lock is won, lock released at exit.

    Without ``REDIS_URL`` the scheduler attaches to the embedded Redis or starts it, and stops
    the one it started when it exits.
    """
    from workers.broker import build_broker
    from workers.embedded_redis import serving

    check_settings(settings)
    configure_logging()
    # A thread for every job at once (each runs one instance at a time), so the leadership poll
    # never waits for a worker while the sweeps run. APScheduler's default pool of 10 gave that
    # already; sized here from the jobs, the guarantee is written down and grows with them.
    executor = ThreadPoolExecutor(max_workers=len(LEADER_JOBS) + 1)
    scheduler = BlockingScheduler(timezone=UTC, executors={"default": executor})
    _stop_on_signals(scheduler)
    with serving(settings) as served:
        lock = LeaderLock.for_url(
            settings.effective_database_url, settings.var_dir, settings.leader_takeover_seconds
        )
        leadership = Leadership(scheduler, lock, settings, build_broker(served))
        _add_interval_job(
            scheduler, LEADERSHIP_JOB_ID, leadership.poll, settings.leader_poll_seconds
        )
        log.info("scheduler starting on %s", _redacted(settings.effective_database_url))
        try:
            scheduler.start()
        finally:
            leadership.resign()
            log.info("scheduler stopped")


def _add_interval_job(
    scheduler: BaseScheduler, job_id: str, func: Callable[[], Any], seconds: float
) -> None:
    scheduler.add_job(
        func,
        "interval",
        seconds=seconds,
        id=job_id,
        name=job_id,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
        next_run_time=datetime.now(UTC),
    )


def _stop_on_signals(scheduler: BlockingScheduler) -> None:
    """Shut down from a helper thread: a signal handler runs on the main thread between any two
    bytecodes, possibly inside the scheduler's own locked sections, and ``shutdown`` waits for
    running jobs to finish."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: finishing running jobs and stopping", signal.Signals(signum).name)
        threading.Thread(target=_shutdown, args=(scheduler,), name="scheduler-shutdown").start()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)


def _shutdown(scheduler: BlockingScheduler) -> None:
    with contextlib.suppress(SchedulerNotRunningError):  # a second signal while stopping
        scheduler.shutdown(wait=True)


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
