"""Engines and sessions for SQLite (embedded default) and PostgreSQL (``DATABASE_URL``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable
from sqlmodel import Session, create_engine

from config.settings import get_settings


def create_db_engine(
    url: str,
    *,
    statement_timeouts: bool = True,
    autocommit: bool = False,
    pool_size: int | None = None,
) -> Engine:
    """SQLite gets WAL and a busy timeout so web, worker and scheduler processes can share one file.

    PostgreSQL gets a connect timeout and (unless ``statement_timeouts`` is off, as for
    migrations) a statement timeout from the settings, so a database that is down, hangs or
    is overloaded fails a request within seconds (then answered 503) instead of holding it.

    An ``autocommit`` engine commits every statement on its own, for callers whose every write
    is one conditional statement (the worker's claim and delivered marks): no BEGIN/COMMIT, and
    no isolation level switched on each checkout and back on each return, which per statement
    cost more than SQLite's own work (bench/notifications.py). Its callers keep a connection per
    thread (``ThreadConnections``), so its pool has no cap: the thread count bounds it, and a
    thread past a cap would wait for a connection that nobody gives back.

    The pool keeps ``pool_size`` connections, by default one per web request thread (``_pool``);
    a caller running more threads of its own at once (a benchmark's clients) asks for as many.
    """
    isolation = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        in_file = bool(path) and path != ":memory:"
        if in_file:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            **isolation,
            # A database in memory lives on one connection (SQLAlchemy's own pool for it).
            **(_pool(autocommit, pool_size) if in_file else {}),
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if not autocommit:
            event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    settings = get_settings()
    connect_args: dict[str, Any] = {"connect_timeout": settings.database_connect_timeout_seconds}
    if statement_timeouts:
        milliseconds = round(settings.database_statement_timeout_seconds * 1000)
        connect_args["options"] = f"-c statement_timeout={milliseconds}"
    return create_engine(
        url,
        pool_pre_ping=True,
        **_pool(autocommit, pool_size),
        pool_timeout=settings.database_connect_timeout_seconds,
        connect_args=connect_args,
        **isolation,
    )


# A web process runs requests on ``WEB_THREADS`` threads, each of which may hold a connection
# at once; the relay's and the readiness ping's threads and any other caller overflow the pool.
# A pool keeping fewer closed every connection past its size on return and opened a new one for
# the next request (a PostgreSQL backend started per request); one capped below the threads made
# requests wait for each other.
def _pool(autocommit: bool, size: int | None) -> dict[str, int]:
    return {
        "pool_size": size or get_settings().web_threads,
        "max_overflow": -1 if autocommit else 10,
    }


class ThreadConnections:
    """Single statements, each committed on its own, on a connection each calling thread keeps.

    A delivery runs two one-row statements (the claim, then the delivered mark). Checking a
    connection out of the pool for each and back in, with a transaction begun and committed
    around it, took SQLite's claim and mark from about 95 to 160 µs a delivery, the largest
    cost the worker adds to a message (bench/notifications.py, the worker throughput bar).
    A kept connection holds nothing between statements: each is committed before ``run``
    returns, so no lock or snapshot outlives it. Meant for an autocommit engine
    (``create_db_engine(url, autocommit=True)``), whose pool lets every thread keep one; on
    any other engine each statement still gets its own transaction.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()

    def run(self, statement: Executable, params: Mapping[str, Any]) -> Row[Any] | None:
        """Run ``statement`` and commit; its first row, when it returns rows.

        A kept connection the database dropped meanwhile (a restart, an idle timeout) fails
        the statement as a disconnect: it is then run once more on a new connection, which is
        what the pool's pre-ping did for a connection checked out per statement. So hand only
        statements that may run twice (conditional updates that see their own effect).
        """
        try:
            return self._run(statement, params)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return self._run(statement, params)

    def _run(self, statement: Executable, params: Mapping[str, Any]) -> Row[Any] | None:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self.engine.connect()
        try:
            result = connection.execute(statement, params)
            row = result.first() if result.returns_rows else None
            connection.commit()
        except BaseException:
            # Whatever it was left in (a failed transaction, a time limit raised mid-call),
            # the pool resets it on return; this thread's next statement takes another.
            self._local.connection = None
            connection.close()
            raise
        return row


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    """Take the write lock at BEGIN: a deferred transaction that reads then writes can fail
    with 'database is locked' instead of waiting, which would turn a race into an error."""
    if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def get_engine() -> Engine:
    """The process's engine for the configured database, made on first use and then shared."""
    url = get_settings().effective_database_url
    with _engines_lock:
        if url not in _engines:
            _engines[url] = create_db_engine(url)
        return _engines[url]


def forget_engines() -> None:
    """Close the pools of the engines made so far and forget them, so that after the settings
    change (a test pointing them at another database) no pooled connection outlives its URL."""
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.dispose()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that rolls back whatever was not committed when the block ends."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
