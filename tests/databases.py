"""Databases the tests run on: a migrated SQLite file and a private PostgreSQL database.

Tests that take ``db`` (or anything built on it) run once per backend. A backend that is not
reachable skips with its reason, except under CI (``CI`` set), where it fails: CI must never
pass by skipping what it exists to check.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from filelock import FileLock
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import models  # noqa: F401  (registers every table on the metadata)
from models.engine import create_db_engine, forget_engines
from models.migrate import upgrade
from workflow.domain.errors import IcpflowError

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = bool(os.environ.get("CI"))
# Every table, children first: what a PostgreSQL test empties before it runs.
TABLES = tuple(table.name for table in reversed(SQLModel.metadata.sorted_tables))
_SEQUENCES = sa.text(
    "SELECT sequence_name FROM information_schema.sequences"
    " WHERE sequence_schema = current_schema()"
)


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"required service unavailable in CI: {reason}")
    pytest.skip(reason)


@dataclass
class Database:
    backend: str
    url: str
    engine: Engine


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once, copy per test: a fresh SQLite file costs a file copy, not a migration."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@contextmanager
def private_postgres(prefix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        unavailable(f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {exc.orig}")
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        forget_engines()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Absent:
    """A URL of the test server naming a role or database (``what``) it does not have."""

    what: str
    name: str
    url: str
    server: str  # host:port, as a refusal names it


ABSENT_PASSWORD = "not-to-be-shown"


@pytest.fixture(params=["database", "role"])
def absent(request: pytest.FixtureRequest) -> Absent:
    """The test server's URL with a database, or a role (with a password), of a name unique to
    the test, which the server is checked to answer first: refused for lacking it, not for
    being down."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        unavailable(f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {exc.orig}")
    finally:
        admin.dispose()
    name = f"icpflow_absent_{uuid.uuid4().hex[:10]}"
    url = sa.make_url(POSTGRES_ADMIN_URL)
    if request.param == "database":
        url = url.set(database=name, password=ABSENT_PASSWORD)
    else:
        url = url.set(username=name, password=ABSENT_PASSWORD)
    server = f"{url.host}:{url.port or 5432}"
    return Absent(request.param, name, url.render_as_string(hide_password=False), server)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private database for this test session, migrated once, dropped at the end."""
    with private_postgres("icpflow_test") as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def emptying_postgres(postgres_url: str) -> str:
    """What empties the session's database before a test: every table's rows deleted,
    children first, and every sequence back to 1, as a fresh database numbers rows. A
    ``TRUNCATE`` does the same in about 40 ms however empty the tables are (it gives each
    table new files), this in about 2, and a thousand tests empty it."""
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            sequences = conn.execute(_SEQUENCES).scalars().all()
    finally:
        engine.dispose()
    deletes = "; ".join(f"DELETE FROM {table}" for table in TABLES)
    restarts = ", ".join(f"setval('{sequence}', 1, false)" for sequence in sequences)
    return f"{deletes}; SELECT {restarts}"


@contextmanager
def one_at_a_time(tmp_path_factory: pytest.TempPathFactory, resource: str) -> Iterator[None]:
    """Held while a test uses ``resource`` in a way no test of another of the suite's parallel
    workers may meet; the lock lives where the workers' temporary directories meet."""
    with FileLock(tmp_path_factory.getbasetemp().parent / f"{resource}.lock"):
        yield


@pytest.fixture
def many_connections(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """For a test holding dozens of PostgreSQL connections at once: two such tests in parallel
    would pass the server's 100 (``pytest.mark.usefixtures`` sets it up first, so it is held
    until the test's pools are gone)."""
    with one_at_a_time(tmp_path_factory, "postgres-connections"):
        yield


ON_POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)
# For a behaviour only PostgreSQL has (row locks, concurrent writers): ``indirect`` params
# replace the fixture's own, so the marker must come with the param or `-m "not postgres"`
# would still collect the test.
POSTGRES_ONLY = pytest.mark.parametrize("db", [ON_POSTGRES], indirect=True)


@pytest.fixture(params=["sqlite", ON_POSTGRES])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "icpflow.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        engine = create_db_engine(url)
    else:
        url = request.getfixturevalue("postgres_url")
        engine = request.getfixturevalue("postgres_engine")
        with engine.begin() as conn:
            conn.exec_driver_sql(request.getfixturevalue("emptying_postgres"))
    yield Database(request.param, url, engine)
    # Its pool closed after the test: an engine left to the garbage collector kept its pooled
    # connection open meanwhile, and the leftovers of earlier tests filled PostgreSQL's 100
    # connections under a test racing 50 clients.
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """One engine for the session's database, its pool closed after each test (``db``): an
    engine keeps the SQL it compiled, which a new engine per test compiled again, a third of
    an orders test's time on PostgreSQL. (SQLite's tests each get a file, so an engine, of
    their own: a process an earlier test left behind cannot write into the next one's.)"""
    engine = create_db_engine(postgres_url)
    yield engine
    engine.dispose()


def wait_for_a_lock_wait(db: Database) -> None:
    """Until a session of the test's PostgreSQL database waits on a row lock: a racing writer
    has reached the row another transaction holds."""
    waiting = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 10
    with db.engine.connect() as conn:
        while not conn.execute(waiting).scalar_one():
            assert time.monotonic() < deadline, "no session ever waited on the held row's lock"
            time.sleep(0.02)
            conn.rollback()  # a fresh snapshot of pg_stat_activity


@contextmanager
def writes_held(db: Database) -> Iterator[Callable[[int], None]]:
    """Hold the database's writes (SQLite's write lock, PostgreSQL's ``filings`` table) until
    the block ends, and give a wait for a process to reach them: on PostgreSQL, until some
    session waits on the lock; on SQLite, until the process has the database file open, which
    a command does first inside its first transaction (and then waits out the busy timeout)."""
    with db.engine.connect() as conn:
        conn.begin()  # on SQLite, BEGIN IMMEDIATE (models/engine.py): the write lock is taken
        if db.backend != "sqlite":
            conn.exec_driver_sql("LOCK TABLE filings IN EXCLUSIVE MODE")

        def reached(pid: int) -> None:
            if db.backend != "sqlite":
                wait_for_a_lock_wait(db)
                return
            database = Path(db.url.split("///", 1)[-1]).resolve()
            deadline = time.monotonic() + 30
            while database not in _open_files(pid):
                assert time.monotonic() < deadline, f"process {pid} never opened {database}"
                time.sleep(0.02)

        try:
            yield reached
        finally:
            conn.rollback()


def _open_files(pid: int) -> set[Path]:
    """The files a (Linux) process has open, from ``/proc``; none once it has ended."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        return {Path(os.readlink(fd)) for fd in fds.iterdir()}
    except (FileNotFoundError, ProcessLookupError):
        return set()


def second_of_two_at_once(
    db: Database, first: Callable[[Session], object], second: Callable[[Session], object]
) -> object:
    """What ``second`` answers (its return value, or the domain error it raised) when it runs
    in its own session just as ``first``'s is about to commit, having reached a row lock
    ``first`` holds: the race a lock or a unique index must settle."""
    outcome: list[object] = []

    def run_second() -> None:
        with Session(db.engine, expire_on_commit=False) as own:
            try:
                outcome.append(second(own))
            except IcpflowError as refused:
                outcome.append(refused)

    racing = threading.Thread(target=run_second)

    def second_runs_before_this_commits(_: Session) -> None:
        racing.start()
        wait_for_a_lock_wait(db)

    with Session(db.engine, expire_on_commit=False) as own:
        sa.event.listen(own, "before_commit", second_runs_before_this_commits, once=True)
        first(own)
    racing.join(30)
    [answer] = outcome
    return answer
