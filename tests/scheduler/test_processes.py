"""Real scheduler processes (``icpflow scheduler``) sharing one database and one
simulated clock file: one leads, the others stand by and take over when it dies."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from config.clock import FrozenClock, SharedOffsetClock
from config.settings import Settings
from scheduler.leader import LOCK_NAME, LeaderLock
from tests.databases import POSTGRES_ONLY, Database
from tests.factories import MakeFiling

if TYPE_CHECKING:
    from tests.scheduler.conftest import Child, Processes

pytestmark = pytest.mark.slow

LEADER_LINE = "leader: this scheduler holds the lock"
STANDBY_LINE = "standby: another scheduler holds the lock"
LOST_LINE = "standby: the scheduler lock was lost"
SWEEP_FAILED = "deadline sweep failed"
TAKEOVER_SECONDS = 10  # "within seconds": a poll is 0.2 s, the rest is two busy cores
START_SECONDS = 15
SMS_WINDOW_PASSED = timedelta(hours=25)


@pytest.fixture
def start_scheduler(
    db: Database, tmp_path: Path, clock_file: Path, processes: Processes
) -> Callable[[str], Child]:
    env = {
        "DATABASE_URL": db.url,
        "VAR_DIR": str(tmp_path / "var"),
        "SWEEP_INTERVAL_SECONDS": "0.2",
        "LEADER_POLL_SECONDS": "0.2",
        # No broker in these tests: a relay run fails fast against a closed port and is logged.
        "RELAY_INTERVAL_SECONDS": "3600",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "ICPFLOW_CLOCK_FILE": str(clock_file),
        "PYTHONUNBUFFERED": "1",
    }

    def start(name: str) -> Child:
        return processes.start(name, ["-m", "cli", "scheduler"], env)

    return start


@pytest.fixture
def leader_and_standby(
    start_scheduler: Callable[[str], Child], wait: Callable[..., object]
) -> tuple[Child, Child]:
    """Two schedulers, both up: one announced itself leader, the other standby."""
    children = [start_scheduler("scheduler-a"), start_scheduler("scheduler-b")]
    wait(
        lambda: all(LEADER_LINE in c.log() or STANDBY_LINE in c.log() for c in children),
        START_SECONDS,
        "both schedulers up",
    )
    leaders = [c for c in children if LEADER_LINE in c.log()]
    assert len(leaders) == 1, [c.log() for c in children]
    return leaders[0], next(c for c in children if c is not leaders[0])


@pytest.fixture
def awaiting_sms(clock: FrozenClock, new_filing: MakeFiling) -> Callable[[int], list[int]]:
    """Filings whose SMS window opens now in real time, which the children's clock starts at."""

    def make(count: int) -> list[int]:
        clock.set(datetime.now(UTC))
        return [new_filing("sms_pending").id for _ in range(count)]

    return make


def _scalar(db: Database, sql: str, **params: object) -> Any:
    with db.engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def _states(db: Database, ids: list[int]) -> set[str]:
    query = sa.text("SELECT state FROM filings WHERE id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )
    with db.engine.connect() as conn:
        return {row[0] for row in conn.execute(query, {"ids": ids})}


def _expiries_per_filing(db: Database) -> dict[int, int]:
    query = sa.text(
        "SELECT filing_id, count(*) FROM history"
        " WHERE event = 'expire_sms' AND actor = 'system' GROUP BY filing_id"
    )
    with db.engine.connect() as conn:
        return {row[0]: row[1] for row in conn.execute(query)}


def _pending_due(db: Database, now: datetime) -> int:
    return int(
        _scalar(
            db,
            "SELECT count(*) FROM deadlines WHERE status = 'pending' AND due_at <= :now",
            now=now,
        )
    )


def test_two_schedulers_fire_each_due_deadline_exactly_once(
    db: Database,
    settings: Settings,
    awaiting_sms: Callable[[int], list[int]],
    leader_and_standby: tuple[Child, Child],
    clock_file: Path,
    wait: Callable[..., object],
) -> None:
    ids = awaiting_sms(30)
    shared = SharedOffsetClock(clock_file)

    shared.advance(SMS_WINDOW_PASSED)
    wait(lambda: _states(db, ids) == {"host_returned"}, 20, "every SMS window expired")
    wait(lambda: _pending_due(db, shared.now()) == 0, 30, "every due deadline fired")

    assert _expiries_per_filing(db) == dict.fromkeys(ids, 1)
    # One recipient per audience by default: one notification per fired deadline, one outbox
    # row (delivery job) per notification.
    fired = _scalar(db, "SELECT count(*) FROM deadlines WHERE status = 'fired'")
    owed = _scalar(db, "SELECT count(*) FROM notifications WHERE deadline_id IS NOT NULL")
    owed_deadlines = _scalar(
        db, "SELECT count(DISTINCT deadline_id) FROM notifications WHERE deadline_id IS NOT NULL"
    )
    # Per filing: the 0 h reminder (on entering) and the expiry. The clock jumped past the 12 h
    # and 20 h reminders: the expiry fired first and its event disarmed them, unsent.
    assert fired == 2 * len(ids)
    assert owed == owed_deadlines == fired
    assert _scalar(db, "SELECT count(*) FROM outbox") == _scalar(
        db, "SELECT count(*) FROM notifications"
    )
    logs = [child.log() for child in leader_and_standby]
    assert sum(LEADER_LINE in log for log in logs) == 1
    assert not any(SWEEP_FAILED in log for log in logs), logs


def test_a_standby_takes_over_within_seconds_when_the_leader_is_killed(
    db: Database,
    settings: Settings,
    awaiting_sms: Callable[[int], list[int]],
    leader_and_standby: tuple[Child, Child],
    clock_file: Path,
    wait: Callable[..., object],
) -> None:
    ids = awaiting_sms(3)
    leader, standby = leader_and_standby

    leader.signal(signal.SIGKILL)
    killed_at = time.monotonic()
    wait(lambda: LEADER_LINE in standby.log(), TAKEOVER_SECONDS, "the standby took over")
    assert time.monotonic() - killed_at < TAKEOVER_SECONDS

    SharedOffsetClock(clock_file).advance(SMS_WINDOW_PASSED)
    wait(
        lambda: _states(db, ids) == {"host_returned"}, 30, "the new leader expired the SMS windows"
    )
    assert _expiries_per_filing(db) == dict.fromkeys(ids, 1)


def test_sigterm_stops_the_scheduler_cleanly_and_frees_the_lock(
    db: Database,
    settings: Settings,
    start_scheduler: Callable[[str], Child],
    wait: Callable[..., object],
    tmp_path: Path,
) -> None:
    scheduler = start_scheduler("scheduler")
    wait(lambda: LEADER_LINE in scheduler.log(), START_SECONDS, "the scheduler leads")

    scheduler.signal(signal.SIGTERM)

    assert scheduler.proc.wait(timeout=10) == 0, scheduler.log()
    assert "scheduler stopped" in scheduler.log()
    lock = LeaderLock.for_url(db.url, tmp_path / "var", settings.leader_takeover_seconds)
    try:
        assert lock.try_acquire()
    finally:
        lock.release()


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_leader_that_loses_its_lock_connection_wins_it_back_and_sweeps_again(
    db: Database,
    settings: Settings,
    awaiting_sms: Callable[[int], list[int]],
    start_scheduler: Callable[[str], Child],
    clock_file: Path,
    wait: Callable[..., object],
) -> None:
    ids = awaiting_sms(3)
    scheduler = start_scheduler("scheduler")
    wait(lambda: LEADER_LINE in scheduler.log(), START_SECONDS, "the scheduler leads")

    killed = _scalar(
        db,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = :name",
        name=LOCK_NAME,
    )
    assert killed == 1
    wait(lambda: LOST_LINE in scheduler.log(), TAKEOVER_SECONDS, "the leader noticed the loss")
    wait(lambda: scheduler.log().count(LEADER_LINE) == 2, TAKEOVER_SECONDS, "it leads again")

    SharedOffsetClock(clock_file).advance(SMS_WINDOW_PASSED)
    wait(lambda: _states(db, ids) == {"host_returned"}, 30, "sweeps resumed")
