"""Exactly one scheduler leads: the leader lock on both backends, held by separate processes."""

from __future__ import annotations

import logging
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from config.settings import Settings
from scheduler.leader import (
    ADVISORY_KEY,
    LOCK_NAME,
    Contest,
    LeaderLock,
    PostgresLeaderLock,
    takes_over_on,
)
from tests.databases import POSTGRES_ONLY, Database

if TYPE_CHECKING:
    from tests.scheduler.conftest import Child, Processes

TAKEOVER_SECONDS = 10  # "within seconds", on two busy cores
HOLD_LOCK_SCRIPT = Path(__file__).with_name("hold_lock.py")
# A standby's takeover threshold here: short for a fast test, yet ten checks of a live holder.
SILENT_HOLDER_SECONDS = 2.0
HOLDER_CHECKS_EVERY = 0.2
# A standby's takeover threshold that any holder which has finished its statement is past:
# for tests of what a standby does with a silent holder, without waiting for it to be silent.
ANY_SILENCE = 0.0

pytestmark = pytest.mark.slow


def _holder(
    processes: Processes, db_url: str, var_dir: Path, checks_every: float | None = None
) -> Child:
    """A process holding the lock; with ``checks_every``, checking it that often as a leader."""
    checks = [] if checks_every is None else [str(checks_every)]
    argv = [str(HOLD_LOCK_SCRIPT), db_url, str(var_dir), *checks]
    child = processes.start("holder", argv, {}, piped=True)
    assert child.proc.stdout is not None
    assert child.proc.stdout.readline().strip() == "acquired", child.log()
    return child


@contextmanager
def _holding(url: str, *setup: str) -> Iterator[sa.Connection]:
    """The scheduler lock held by a session at ``url``, after its ``setup`` statements."""
    engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in setup:
                conn.exec_driver_sql(statement)
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_KEY})
            yield conn
    finally:
        engine.dispose()


@contextmanager
def _holding_until_let_go(db: Database) -> Iterator[Callable[[], None]]:
    """The scheduler lock held by a session that, once asked to end, cannot until the test
    calls the ``let_go`` it is given: a session drops its temporary tables on its way out, and
    another session keeps its one locked meanwhile."""
    with (
        _holding(db.url, "CREATE TEMP TABLE dropped_on_the_way_out ()"),
        db.engine.connect() as reader,
    ):
        table = reader.execute(
            sa.text(
                "SELECT oid::regclass::text FROM pg_class"
                " WHERE relname = 'dropped_on_the_way_out' AND relpersistence = 't'"
            )
        ).scalar_one()
        reader.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS SHARE MODE")
        yield reader.rollback


def _ask(child: Child, command: str) -> str:
    assert child.proc.stdin is not None and child.proc.stdout is not None
    child.proc.stdin.write(f"{command}\n")
    child.proc.stdin.flush()
    return child.proc.stdout.readline().strip()


@pytest.fixture
def mine(db: Database, settings: Settings, tmp_path: Path) -> Iterator[LeaderLock]:
    lock = LeaderLock.for_url(db.url, tmp_path / "var", settings.leader_takeover_seconds)
    yield lock
    lock.release()


@pytest.fixture
def as_new_role(db: Database) -> Iterator[Callable[..., str]]:
    """The test database's URL for a new login role granted the given roles and nothing else.
    Roles are the server's, not the database's: they are dropped after the test."""
    made: list[str] = []

    def make(*granted: str) -> str:
        role = f"icpflow_test_{uuid.uuid4().hex[:10]}"
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
            made.append(role)
            for membership in granted:
                conn.exec_driver_sql(f'GRANT "{membership}" TO "{role}"')
        return sa.make_url(db.url).set(username=role).render_as_string(hide_password=False)

    yield make
    with db.engine.begin() as conn:
        for role in made:
            conn.exec_driver_sql(f'DROP ROLE "{role}"')


@pytest.fixture
def standby(db: Database) -> Iterator[PostgresLeaderLock]:
    """A standby that ends a holder silent for ``SILENT_HOLDER_SECONDS``."""
    lock = PostgresLeaderLock(db.url, SILENT_HOLDER_SECONDS)
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

    assert _ask(holder, "release") == "released"

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
def test_the_server_drops_a_silent_leaders_session_within_seconds_not_hours(
    db: Database, settings: Settings
) -> None:
    """The server's end of the lock's session probes a peer that went quiet (a dead machine or
    network) every few seconds, so the lock is freed for a standby in about 11 s, not 2 h."""
    lock = PostgresLeaderLock(db.url, settings.leader_takeover_seconds)
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
    db: Database, settings: Settings, wait: Callable[..., object]
) -> None:
    first = PostgresLeaderLock(db.url, settings.leader_takeover_seconds)
    second = PostgresLeaderLock(db.url, settings.leader_takeover_seconds)
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


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_standby_ends_a_paused_holders_session_once_silent_past_the_threshold_not_before(
    db: Database,
    tmp_path: Path,
    processes: Processes,
    standby: PostgresLeaderLock,
    wait: Callable[..., object],
) -> None:
    """A paused process keeps its connection, and so its lock, alive: the kernel answers for it.
    A standby ends its session once it has said nothing for the threshold.

    The holder's last word falls somewhere within its ``check``: a try that returns less than
    the threshold after the check began must be refused, and the takeover comes at least the
    threshold after the check returned. A try held up past the threshold (a loaded host) proves
    nothing either way, so it is not judged."""
    holder = _holder(processes, db.url, tmp_path / "var")
    check_sent = time.monotonic()
    assert _ask(holder, "check") == "held"
    check_answered = time.monotonic()

    holder.signal(signal.SIGSTOP)

    taken_at_once = standby.try_acquire()
    if time.monotonic() - check_sent < SILENT_HOLDER_SECONDS:
        assert taken_at_once is False
    wait(standby.try_acquire, SILENT_HOLDER_SECONDS + TAKEOVER_SECONDS, "the paused lock taken")
    assert time.monotonic() - check_answered >= SILENT_HOLDER_SECONDS


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_standby_never_ends_a_holder_that_keeps_checking_its_lock(
    db: Database, tmp_path: Path, processes: Processes, standby: PostgresLeaderLock
) -> None:
    holder = _holder(processes, db.url, tmp_path / "var", checks_every=HOLDER_CHECKS_EVERY)

    watched_until = time.monotonic() + 2.5 * SILENT_HOLDER_SECONDS
    while time.monotonic() < watched_until:
        assert standby.try_acquire() is False
        time.sleep(HOLDER_CHECKS_EVERY)

    assert _ask(holder, "check") == "held"


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_paused_holder_taken_over_finds_it_lost_the_lock_when_it_resumes(
    db: Database,
    tmp_path: Path,
    processes: Processes,
    standby: PostgresLeaderLock,
    wait: Callable[..., object],
) -> None:
    holder = _holder(processes, db.url, tmp_path / "var")
    holder.signal(signal.SIGSTOP)
    wait(standby.try_acquire, SILENT_HOLDER_SECONDS + TAKEOVER_SECONDS, "the paused lock taken")

    holder.signal(signal.SIGCONT)

    assert _ask(holder, "check") == "lost"


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_standby_of_another_role_with_only_pg_signal_backend_cannot_tell_the_holder_is_alive(
    as_new_role: Callable[..., str],
) -> None:
    """Another role's session shows no activity without ``pg_read_all_stats``: a paused leader
    could not be told from a live one, and is not ended."""
    standby = PostgresLeaderLock(as_new_role("pg_signal_backend"), SILENT_HOLDER_SECONDS)
    try:
        with _holding(as_new_role()):
            assert standby.contend() is Contest.HOLDER_HIDDEN
    finally:
        standby.release()


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_standby_of_another_role_granted_stats_and_signals_ends_a_silent_holder(
    as_new_role: Callable[..., str],
) -> None:
    standby = PostgresLeaderLock(as_new_role("pg_read_all_stats", "pg_signal_backend"), ANY_SILENCE)
    try:
        with _holding(as_new_role()):
            assert standby.contend() is Contest.TOOK_OVER
    finally:
        standby.release()


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_standby_of_another_role_with_only_pg_read_all_stats_never_tries_to_end_the_holder(
    as_new_role: Callable[..., str],
) -> None:
    """It sees the holder silent, but the server would refuse to end another role's session
    for it: it knows so beforehand and stands by, its connection kept."""
    standby = PostgresLeaderLock(as_new_role("pg_read_all_stats"), ANY_SILENCE)
    try:
        with _holding(as_new_role()):
            assert standby.contend() is Contest.HOLDER_PROTECTED
            assert standby.contend() is Contest.HOLDER_PROTECTED
    finally:
        standby.release()


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_standby_that_may_not_end_a_silent_holder_names_the_grant_once_a_threshold(
    as_new_role: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    """A leader silent past the threshold that this standby may not end is when deadlines stop
    being swept: it says so, and what to grant, until the leader speaks or is gone."""
    threshold = 0.5
    viewer = as_new_role("pg_read_all_stats")
    standby = PostgresLeaderLock(viewer, threshold)
    try:
        with _holding(as_new_role()), caplog.at_level(logging.WARNING, "scheduler.leader"):
            time.sleep(threshold)
            contests = [standby.contend(), standby.contend()]
            said_within_a_threshold = len(caplog.messages)
            time.sleep(threshold)
            contests.append(standby.contend())
    finally:
        standby.release()

    assert contests == [Contest.HOLDER_PROTECTED] * 3
    assert said_within_a_threshold == 1
    assert len(caplog.messages) == 2
    assert f"grant {sa.make_url(viewer).username} pg_signal_backend" in caplog.messages[0]


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_standby_that_may_not_end_a_leader_checking_its_lock_sees_it_held_and_says_nothing(
    as_new_role: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    """A leader that keeps checking its lock needs no takeover, so that this standby could not
    make one is nothing to warn about."""
    standby = PostgresLeaderLock(as_new_role("pg_read_all_stats"), SILENT_HOLDER_SECONDS)
    contests = []
    try:
        with (
            _holding(as_new_role()) as leader,
            caplog.at_level(logging.WARNING, "scheduler.leader"),
        ):
            watched_until = time.monotonic() + 1.5 * SILENT_HOLDER_SECONDS
            while time.monotonic() < watched_until:
                leader.execute(sa.text("SELECT 1"))
                contests.append(standby.contend())
                time.sleep(HOLDER_CHECKS_EVERY)
    finally:
        standby.release()

    assert set(contests) == {Contest.HELD}
    assert caplog.messages == []


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_standby_that_is_not_a_superuser_never_tries_to_end_a_superusers_session(
    db: Database, as_new_role: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    """``pg_signal_backend`` ends any session but a superuser's; the test database's own role,
    which holds the lock here, is a superuser."""
    standby = PostgresLeaderLock(as_new_role("pg_read_all_stats", "pg_signal_backend"), ANY_SILENCE)
    try:
        with _holding(db.url), caplog.at_level(logging.WARNING, "scheduler.leader"):
            assert standby.contend() is Contest.HOLDER_PROTECTED
    finally:
        standby.release()

    assert "connect every scheduler as one role" in caplog.messages[0]


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_standby_that_cannot_see_the_holder_names_the_grants_once_a_threshold(
    as_new_role: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    threshold = 0.5
    standby = PostgresLeaderLock(as_new_role(), threshold)
    try:
        with _holding(as_new_role()), caplog.at_level(logging.WARNING, "scheduler.leader"):
            standby.contend()
            standby.contend()
            said_within_a_threshold = len(caplog.messages)
            time.sleep(threshold)
            standby.contend()
    finally:
        standby.release()

    assert said_within_a_threshold == 1
    assert len(caplog.messages) == 2
    assert "both pg_read_all_stats and pg_signal_backend" in caplog.messages[0]


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_standby_cannot_tell_a_holder_whose_activity_is_not_tracked_is_alive(
    db: Database, standby: PostgresLeaderLock
) -> None:
    with _holding(db.url, "SET track_activities = off"):
        assert standby.contend() is Contest.HOLDER_UNTRACKED


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_holder_gone_between_the_try_and_the_look_is_left_to_the_next_poll(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The standby tries the lock, then looks up its holder: one that lets go in between is
    not there to look at. Nothing is wrong, so nothing is said; the lock is free to take."""
    standby = PostgresLeaderLock(db.url, settings.leader_takeover_seconds)
    try:
        with _holding(db.url) as holder, caplog.at_level(logging.WARNING, "scheduler.leader"):
            assert standby.contend() is Contest.HELD
            holder.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            assert standby._conn is not None
            looked = standby._end_silent_holder(standby._conn)
            taken_at_the_next_poll = standby.contend()
    finally:
        standby.release()

    assert looked is Contest.HOLDER_GONE
    assert caplog.messages == []
    assert taken_at_the_next_poll is Contest.WON


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_standby_whose_silent_holder_outlives_the_wait_takes_the_lock_once_it_is_gone(
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    wait: Callable[..., object],
) -> None:
    """The server is asked to end the silent holder's session and waits for it; one still there
    at the end of the wait is asked again at the next poll, and its lock taken once it is gone."""
    monkeypatch.setattr("scheduler.leader._TERMINATE_WAIT_MS", 100)
    standby = PostgresLeaderLock(db.url, ANY_SILENCE)
    try:
        with _holding_until_let_go(db) as let_go:
            assert standby.contend() is Contest.STILL_ENDING
            assert standby.contend() is Contest.STILL_ENDING
            let_go()
            wait(standby.try_acquire, TAKEOVER_SECONDS, "the lock of the ended holder taken")
    finally:
        standby.release()


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_standby_says_its_silent_holders_session_was_not_gone_within_the_wait(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Not that it is ending it, poll after poll, as if it led after each: it does not."""
    monkeypatch.setattr("scheduler.leader._TERMINATE_WAIT_MS", 100)
    standby = PostgresLeaderLock(db.url, ANY_SILENCE)
    try:
        with _holding_until_let_go(db), caplog.at_level(logging.WARNING, "scheduler.leader"):
            standby.contend()
    finally:
        standby.release()

    assert len(caplog.messages) == 1
    assert "was asked to end but was not gone within 0.1 s" in caplog.messages[0]


def test_a_standby_takes_over_only_on_postgresql_14_or_later() -> None:
    """``pg_terminate_backend(pid, timeout)`` is PostgreSQL 14's: older servers have none."""
    assert takes_over_on(130_016) is False
    assert takes_over_on(140_000) is True
