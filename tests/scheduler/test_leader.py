"""Exactly one scheduler leads: the leader lock on both backends, held by separate processes."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from scheduler.leader import LOCK_NAME, LeaderLock, PostgresLeaderLock
from tests.databases import POSTGRES_ONLY, Database

if TYPE_CHECKING:
    from tests.scheduler.conftest import Child, Processes

TAKEOVER_SECONDS = 10  # "within seconds", on two busy cores
HOLD_LOCK_SCRIPT = Path(__file__).with_name("hold_lock.py")

pytestmark = pytest.mark.slow


def _holder(processes: Processes, db_url: str, var_dir: Path) -> Child:
    child = processes.start("holder", [str(HOLD_LOCK_SCRIPT), db_url, str(var_dir)], {}, piped=True)
    assert child.proc.stdout is not None
    assert child.proc.stdout.readline().strip() == "acquired", child.log()
    return child


@pytest.fixture
def mine(db: Database, tmp_path: Path) -> Iterator[LeaderLock]:
    lock = LeaderLock.for_url(db.url, tmp_path / "var")
    yield lock
    lock.release()


def test_a_second_process_cannot_take_a_held_lock(
    db: Database,
    tmp_path: Path,
    processes: Processes,
    mine: LeaderLock,
    wait: Callable[..., object],
) -> None:
    _holder(processes, db.url, tmp_path / "var")

    assert mine.try_acquire() is False
    assert mine.still_held() is False


def test_release_hands_the_lock_to_the_other_process(
    db: Database,
    tmp_path: Path,
    processes: Processes,
    mine: LeaderLock,
    wait: Callable[..., object],
) -> None:
    holder = _holder(processes, db.url, tmp_path / "var")
    assert mine.try_acquire() is False
    assert holder.proc.stdin is not None and holder.proc.stdout is not None

    holder.proc.stdin.write("release\n")
    holder.proc.stdin.flush()
    assert holder.proc.stdout.readline().strip() == "released"

    assert mine.try_acquire() is True
    assert mine.still_held() is True


def test_the_lock_is_freed_when_its_holder_process_is_killed(
    db: Database,
    tmp_path: Path,
    processes: Processes,
    mine: LeaderLock,
    wait: Callable[..., object],
) -> None:
    holder = _holder(processes, db.url, tmp_path / "var")
    assert mine.try_acquire() is False

    holder.signal(signal.SIGKILL)

    wait(mine.try_acquire, TAKEOVER_SECONDS, "lock taken over after its holder died")


@pytest.mark.postgres
@POSTGRES_ONLY
def test_the_server_drops_a_silent_leaders_session_within_seconds_not_hours(db: Database) -> None:
    """The server's end of the lock's session probes a peer that went quiet (a dead machine or
    network) every few seconds, so the lock is freed for a standby in about 11 s, not 2 h."""
    lock = PostgresLeaderLock(db.url)
    try:
        assert lock.try_acquire() is True
        assert lock._conn is not None
        server_side = {
            name: lock._conn.execute(sa.text(f"SHOW {name}")).scalar_one()
            for name in (
                "tcp_keepalives_idle",
                "tcp_keepalives_interval",
                "tcp_keepalives_count",
                "tcp_user_timeout",
            )
        }
    finally:
        lock.release()
    assert server_side == {
        "tcp_keepalives_idle": "5",
        "tcp_keepalives_interval": "2",
        "tcp_keepalives_count": "3",
        "tcp_user_timeout": "10000",  # milliseconds
    }


@POSTGRES_ONLY
def test_a_leader_whose_connection_dies_knows_it_lost_the_lock(
    db: Database, wait: Callable[..., object]
) -> None:
    first, second = PostgresLeaderLock(db.url), PostgresLeaderLock(db.url)
    try:
        assert first.try_acquire() is True
        assert second.try_acquire() is False

        with db.engine.connect() as conn:
            killed = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks JOIN pg_stat_activity"
                    " USING (pid) WHERE locktype = 'advisory' AND granted"
                    " AND datname = current_database() AND application_name = :name"
                ),
                {"name": LOCK_NAME},
            ).scalar_one()
        assert killed == 1

        assert first.still_held() is False
        assert wait(second.try_acquire, TAKEOVER_SECONDS, "lock free after the session died")
    finally:
        first.release()
        second.release()
