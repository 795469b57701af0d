"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, settings, a frozen clock.

Tests that take ``db`` (or anything built on it) run once per backend. A backend that is not
reachable skips with its reason, except under CI (``CI`` set), where it fails: CI must never
pass by skipping what it exists to check.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from factories import commands_to, make_command, make_payload
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config import clock as clock_module
from config.settings import Settings, get_settings
from models.engine import _engine_for, create_db_engine
from models.migrate import upgrade

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = bool(os.environ.get("CI"))
TABLES = (
    "failed_jobs",
    "notifications",
    "outbox",
    "idempotency_keys",
    "deadlines",
    "history",
    "filings",
    "page_sessions",
    "api_tokens",
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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private database for this test session, migrated once, dropped at the end."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"icpflow_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        unavailable(f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {exc.orig}")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    _engine_for.cache_clear()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "icpflow.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
        with create_db_engine(url).begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    engine = create_db_engine(url)
    yield Database(request.param, url, engine)
    engine.dispose()


@pytest.fixture
def settings(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings pointing at the test database; also what ``get_settings()`` returns meanwhile."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    _engine_for.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
    _engine_for.cache_clear()


@pytest.fixture
def session(db: Database, settings: Settings) -> Iterator[Session]:
    with Session(db.engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def clock() -> Iterator[clock_module.FrozenClock]:
    """Frozen at a Monday 10:00 in Beijing, away from holidays; tests move it explicitly."""
    frozen = clock_module.FrozenClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    previous = clock_module.get_clock()
    clock_module.set_clock(frozen)
    yield frozen
    clock_module.set_clock(previous)


@pytest.fixture
def payload() -> dict[str, object]:
    return make_payload()


@pytest.fixture
def new_filing(session: Session, clock: clock_module.FrozenClock):  # type: ignore[no-untyped-def]
    """Factory: a filing created and driven to ``state`` through the service, as a user would."""
    from workflow import service

    def make(state: str = "domain_registered", **overrides: object):  # type: ignore[no-untyped-def]
        view = service.create_filing(session, make_command(**overrides), actor="test")
        for command in commands_to(state):
            view = service.fire_event(session, view.id, command, actor="test")
        assert view.state == state
        return view

    return make
