"""Exactly one active scheduler: a lock that dies with the process holding it.

Schedulers may run on several machines; only the holder of this lock sweeps. The lock must
vanish the moment its holder dies, without a lease to expire, so a standby takes over within
one poll. On PostgreSQL that is a session-level advisory lock on a connection kept open for the
leader's whole life (the server drops it when the session ends; the connection must go straight
to the server, not through a transaction-pooling proxy). On SQLite, where every process shares
one file on one machine, it is an OS file lock beside the database (the kernel drops it when
the process exits).

A leader that is paused or hung (SIGSTOP, a frozen VM, a deadlocked process) does not die: its
kernel still answers the keepalives, so its session and the lock outlive it and nothing is
swept. So on PostgreSQL the lock's session also shows that its holder is alive: the leader
checks ``still_held`` (a query on that session) every poll, which the server records as the
session's ``pg_stat_activity.state_change``. A standby refused the lock looks up the session
holding it and, once that has been silent longer than the takeover threshold (several polls),
ends it with ``pg_terminate_backend`` and takes the lock; the old leader, if it ever resumes,
finds its connection dead at its next ``still_held`` and steps down. Leadership stays where it
was, in the lock's session alone: no lease or heartbeat row to disagree with it. A leader busy
in a long sweep is not silent, for the scheduler polls from a thread of its own
(``scheduler.main``). A paused SQLite scheduler is not taken over: its file lock is the
kernel's, on one machine, and no other process can tell a paused holder from a busy one.

A standby sees the holder's ``state_change`` only when it may read that session's activity
(the same role, or a superuser or ``pg_read_all_stats``) and the holder's server tracks it
(``track_activities``, on by default); otherwise it cannot tell a paused leader from a live one,
never takes over, and says so in a warning naming what is missing (``Contest``). Likewise when
it sees the holder but may not end its session (another role's, without ``pg_signal_backend``,
or a superuser's): it knows so before trying, never tries, and warns, but only once the holder
has been silent past the threshold; a leader that keeps checking its lock needs no takeover, so
a standby that could not make one has nothing to say about it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from abc import ABC, abstractmethod
from enum import Enum
from pathlib import Path
from typing import Any

import filelock
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Row, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

LOCK_NAME = "scheduler"

# One advisory-lock key per database, derived from a name so it cannot collide by accident
# with small integers other applications on the same server pick.
ADVISORY_KEY = int.from_bytes(hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big", signed=True)

# A dead network must not hang the leader in ``still_held``: fail the check within seconds.
# The server must notice as soon, or the lock outlives a leader whose machine or network died
# by the server's own defaults (two hours of keepalive silence) and no standby can take over:
# ``options`` sets the same keepalives on the server's end of the lock's session.
_KEEPALIVES = {"keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}
_USER_TIMEOUT_MS = 10_000
_PG_CONNECT_ARGS = {
    "connect_timeout": 5,
    "keepalives": 1,
    **_KEEPALIVES,
    "tcp_user_timeout": _USER_TIMEOUT_MS,
    "options": " ".join(
        [
            *(f"-c tcp_{name}={value}" for name, value in _KEEPALIVES.items()),
            f"-c tcp_user_timeout={_USER_TIMEOUT_MS}",
        ]
    ),
    "application_name": LOCK_NAME,
}


# How long a standby waits for the server to end a silent holder's session before trying the
# lock again; past it, its next poll tries again.
_TERMINATE_WAIT_MS = 5_000
# The first ``server_version_num`` with ``pg_terminate_backend(pid, timeout)``: PostgreSQL 14.
_TAKEOVER_SINCE_SERVER = 140_000
# The session holding the scheduler lock in this database, what this role sees of its
# activity, whether it has been silent (no query started or ended) for ``:silent_for``
# seconds, whether this role may end it, and, if both, whether it was ended: silence is judged
# once, so the standby acts on what it reports. A bigint advisory key appears in ``pg_locks``
# split in two: its high 32 bits as ``classid``, its low 32 as ``objid``, and ``objsubid`` 1
# (2 is for a pair of int keys). ``pg_locks`` shows every session's locks to
# every role, but ``pg_stat_activity`` leaves ``state`` and ``state_change`` NULL for a
# session this role may not read, and reads ``state`` 'disabled' with no ``state_change`` for
# one whose activity is not tracked. Needs PostgreSQL 14 for the wait. Whether this role may
# end the session is the server's own rule for ``pg_terminate_backend``, asked first so it is
# never refused: a superuser's session only a superuser may end; any other one a member of
# ``pg_signal_backend`` may, or of the session's role (``:superuser`` and ``:signals`` are
# this role's, read once a connection).
_END_SILENT_HOLDER = text(
    """
    SELECT held.pid, activity.usename AS role, activity.state, current_user AS viewer,
           holder.rolsuper AS superuser, may.end_it AS may_end,
           extract(epoch FROM quiet.silence)::float8 AS silent_for,
           quiet.silent,
           CASE WHEN may.end_it AND quiet.silent
                THEN pg_terminate_backend(held.pid, :wait_ms) END AS terminated
    FROM pg_locks AS held LEFT JOIN pg_stat_activity AS activity USING (pid)
    LEFT JOIN pg_roles AS holder ON holder.oid = activity.usesysid
    CROSS JOIN LATERAL (
        SELECT silence, silence > make_interval(secs => :silent_for) AS silent
        FROM (SELECT clock_timestamp() - activity.state_change AS silence) AS since
    ) AS quiet
    CROSS JOIN LATERAL (
        SELECT CASE WHEN :superuser THEN true
                    WHEN holder.rolsuper THEN false
                    ELSE :signals OR pg_has_role(activity.usesysid, 'USAGE') END AS end_it
    ) AS may
    WHERE held.locktype = 'advisory' AND held.granted AND held.objsubid = 1
      AND held.classid = CAST(:classid AS oid) AND held.objid = CAST(:objid AS oid)
      AND held.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    """
)
# What this connection's role may end: any session as a superuser, any but a superuser's with
# ``pg_signal_backend`` ('USAGE': its privileges, as the server checks them).
_MAY_END = text(
    "SELECT rolsuper AS superuser, pg_has_role(oid, 'pg_signal_backend', 'USAGE') AS signals"
    " FROM pg_roles WHERE rolname = current_user"
)


class Contest(Enum):
    """What one try for the PostgreSQL lock came to, and so what a standby has to say."""

    WON = "won"  # the lock was free, or already this instance's
    TOOK_OVER = "took over"  # the holder's session, silent past the threshold, ended; lock taken
    HELD = "held"  # the holder spoke within the threshold, or another standby took over first
    HOLDER_GONE = "holder gone"  # let go between the try and the look; the next poll takes it
    STILL_ENDING = "still ending"  # the silent holder's session was not gone within the wait
    HOLDER_HIDDEN = "holder hidden"  # another role's session, its activity unreadable to ours
    HOLDER_UNTRACKED = "holder untracked"  # track_activities off on the holder's session
    HOLDER_PROTECTED = "holder protected"  # silent past the threshold, but ours may not end it
    UNREACHABLE = "unreachable"  # the server could not be reached or failed a query
    SERVER_TOO_OLD = "server too old"  # before PostgreSQL 14: no holder is ever ended


_TAKEN = frozenset({Contest.WON, Contest.TOOK_OVER})


def takes_over_on(server_version_num: int) -> bool:
    """Whether a standby may end a silent holder on a server of this version: an older one has
    no ``pg_terminate_backend`` that waits, and the lookup would fail at every poll."""
    return server_version_num >= _TAKEOVER_SINCE_SERVER


class LeaderLock(ABC):
    """Non-blocking leadership: ``try_acquire`` wins or loses at once, never waits for the
    holder (ending a silent one waits a few seconds at most, for the server)."""

    @staticmethod
    def for_url(url: str, var_dir: Path, takeover_after: float) -> LeaderLock:
        """The lock that fits the database every scheduler of this deployment shares; on
        PostgreSQL one that ends a holder silent for ``takeover_after`` seconds."""
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        if backend == "postgresql":
            return PostgresLeaderLock(url, takeover_after)
        if backend == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                path = Path(database).resolve()
                return FileLeaderLock(path.with_name(f"{path.name}.scheduler.lock"))
            return FileLeaderLock(Path(var_dir).resolve() / "scheduler.lock")
        raise ValueError(f"no leader lock for {backend!r} databases; use PostgreSQL or SQLite")

    @abstractmethod
    def try_acquire(self) -> bool:
        """Take the lock if free; True also when this instance already holds it."""

    @abstractmethod
    def still_held(self) -> bool:
        """Whether this instance still holds the lock (checked before every leader job run)."""

    @abstractmethod
    def release(self) -> None:
        """Let a standby take over; harmless when not held."""


class PostgresLeaderLock(LeaderLock):
    def __init__(self, url: str, takeover_after: float, key: int = ADVISORY_KEY) -> None:
        self.key = key
        self.takeover_after = takeover_after
        self._engine = create_engine(
            url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args=_PG_CONNECT_ARGS
        )
        self._conn: Connection | None = None
        self._held = False
        # When this standby last said it could not take over a paused holder (it cannot tell
        # whether the holder is alive, or may not end it): once a threshold, not every poll.
        self._said_cannot_at: float | None = None
        # Read from the server each time the lock's connection opens; said once if it cannot.
        self._takes_over = False
        self._said_too_old = False
        # What this standby's role may end (``_MAY_END``), read with the server's version.
        self._superuser = False
        self._signals = False
        # The scheduler checks the lock from its worker threads; one connection, one user.
        self._mutex = threading.Lock()

    def try_acquire(self) -> bool:
        return self.contend() in _TAKEN

    def contend(self) -> Contest:
        """Try for the lock, ending a holder silent past the threshold; what came of it."""
        with self._mutex:
            if self._held:
                return Contest.WON
            try:
                if self._conn is None:
                    self._conn = self._connect()
                if self._try_lock(self._conn):
                    contest = Contest.WON
                elif self._takes_over:
                    contest = self._end_silent_holder(self._conn)
                else:
                    contest = Contest.SERVER_TOO_OLD
            except SQLAlchemyError as exc:
                log.warning("cannot take the scheduler lock on PostgreSQL: %s", exc)
                self._close()
                return Contest.UNREACHABLE
            self._held = contest in _TAKEN
            return contest

    def still_held(self) -> bool:
        """A session-level lock ends only with its session, so a live connection means held.
        The query is also what shows standbys this leader is alive (``_end_silent_holder``)."""
        with self._mutex:
            if not self._held or self._conn is None:
                return False
            try:
                self._conn.execute(text("SELECT 1"))
            except SQLAlchemyError as exc:
                log.warning("scheduler lock connection died: %s", exc)
                self._close()
                return False
            return True

    def release(self) -> None:
        """Unlock, then close. Closing the session alone would release the lock too, but only
        once the server's backend has noticed the disconnect, which under load lags; a standby
        polling right after a clean shutdown should find the lock free."""
        with self._mutex:
            if self._held and self._conn is not None:
                try:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                except SQLAlchemyError:
                    log.debug("unlocking before closing failed; closing releases it", exc_info=True)
            self._close()
        self._engine.dispose()

    def _connect(self) -> Connection:
        """Open the lock's connection and learn whether its server lets a standby take over,
        and whose sessions its role may end."""
        conn = self._engine.connect()
        version = int(conn.execute(text("SHOW server_version_num")).scalar_one())
        may_end = conn.execute(_MAY_END).one()
        self._superuser, self._signals = bool(may_end.superuser), bool(may_end.signals)
        self._takes_over = takes_over_on(version)
        if not self._takes_over and not self._said_too_old:
            self._said_too_old = True
            log.warning(
                "PostgreSQL server_version_num %s is older than 14: a paused or hung scheduler "
                "leader will not be taken over on this server",
                version,
            )
        return conn

    def _try_lock(self, conn: Connection) -> bool:
        return bool(
            conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar_one()
        )

    def _end_silent_holder(self, conn: Connection) -> Contest:
        """End the session holding the lock if it has been silent past the threshold, and take
        the lock. Found and ended in one statement, so the silence acted on is a moment old at
        most; a leader that spoke up in that moment is ended all the same and stands by at its
        next check, which costs a poll, never two leaders. The server waits for the session to
        be gone (up to ``_TERMINATE_WAIT_MS``), so the lock is free to try again.

        A standby must see the holder's activity and be let end its session. Its own role's
        sessions it may do both to; another role's only when granted ``pg_read_all_stats``
        (``pg_signal_backend`` does not show activity) and ``pg_signal_backend`` (which ends
        any but a superuser's): every scheduler must connect as one database role, or as roles
        granted both. Unseen, the holder is never ended and the standby warns; seen silent but
        not to be ended, it is not tried (the server would refuse it at every poll) and the
        standby warns likewise. A holder that spoke within the threshold is left alone, and
        nothing said, whether or not this role could end it."""
        holder = conn.execute(
            _END_SILENT_HOLDER,
            {
                "classid": (self.key >> 32) & 0xFFFFFFFF,
                "objid": self.key & 0xFFFFFFFF,
                "silent_for": self.takeover_after,
                "wait_ms": _TERMINATE_WAIT_MS,
                "superuser": self._superuser,
                "signals": self._signals,
            },
        ).first()
        if holder is None:
            return Contest.HOLDER_GONE
        if holder.silent_for is None:
            unseen = (
                Contest.HOLDER_UNTRACKED if holder.state == "disabled" else Contest.HOLDER_HIDDEN
            )
            self._say_cannot(unseen, holder)
            return unseen
        if not holder.silent:
            return Contest.HELD
        if not holder.may_end:
            self._say_cannot(Contest.HOLDER_PROTECTED, holder)
            return Contest.HOLDER_PROTECTED
        if not holder.terminated:
            log.warning(
                "the scheduler lock's session, backend %s, silent for %.1f s (more than %g s), "
                "was asked to end but was not gone within %g s; asking again at the next poll",
                holder.pid,
                holder.silent_for,
                self.takeover_after,
                _TERMINATE_WAIT_MS / 1000,
            )
            return Contest.STILL_ENDING
        log.warning(
            "ending the scheduler lock's session, backend %s: silent for %.1f s (more than %g s), "
            "its leader is paused or hung",
            holder.pid,
            holder.silent_for,
            self.takeover_after,
        )
        return Contest.TOOK_OVER if self._try_lock(conn) else Contest.HELD

    def _say_cannot(self, why: Contest, holder: Row[Any]) -> None:
        """Warn, once a threshold, that a paused leader would not be taken over, and why."""
        now = time.monotonic()
        if self._said_cannot_at is not None and now - self._said_cannot_at < self.takeover_after:
            return
        self._said_cannot_at = now
        if why is Contest.HOLDER_UNTRACKED:
            log.warning(
                "cannot tell whether the scheduler lock's holder, backend %s, is alive: "
                "track_activities is off for its session, so a paused or hung leader will not "
                "be taken over; turn track_activities on for the schedulers",
                holder.pid,
            )
        elif why is Contest.HOLDER_HIDDEN:
            log.warning(
                "cannot tell whether the scheduler lock's holder, backend %s of role %s, is "
                "alive: role %s may not read its activity, so a paused or hung leader will not "
                "be taken over; connect every scheduler as one role, or grant %s both "
                "pg_read_all_stats and pg_signal_backend",
                holder.pid,
                holder.role,
                holder.viewer,
                holder.viewer,
            )
        else:
            log.warning(
                "cannot end the scheduler lock's holder, backend %s of role %s: role %s may not "
                "end %s session, so a paused or hung leader will not be taken over; connect "
                "every scheduler as one role%s",
                holder.pid,
                holder.role,
                holder.viewer,
                "a superuser's" if holder.superuser else "another role's",
                "" if holder.superuser else f", or grant {holder.viewer} pg_signal_backend",
            )

    def _close(self) -> None:
        conn, self._conn, self._held = self._conn, None, False
        if conn is not None:
            try:
                conn.close()
            except SQLAlchemyError:
                log.debug("closing a dead lock connection failed", exc_info=True)


class FileLeaderLock(LeaderLock):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Not thread-local: the scheduler takes the lock in one worker thread and checks it
        # from others.
        self._lock = filelock.FileLock(path, thread_local=False, blocking=False)

    def try_acquire(self) -> bool:
        if self._lock.is_locked:
            return True
        try:
            self._lock.acquire()
        except filelock.Timeout:
            return False
        return True

    def still_held(self) -> bool:
        return self._lock.is_locked

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)
