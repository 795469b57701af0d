"""Private databases, settings and a frozen clock, so a benchmark never touches real data
and its figures do not depend on what time it is run."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from config import clock
from config.settings import Settings
from models.engine import create_db_engine
from models.migrate import upgrade

BACKENDS = ("sqlite", "postgres")
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# A Monday 10:00 in Beijing, away from holidays: working-day deadlines land where expected.
BENCH_NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Scratch:
    backend: str
    url: str
    engine: Engine
    settings: Settings


def postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be used, or ``None`` when it can."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL)
    try:
        with admin.connect():
            return None
    except sa.exc.OperationalError as exc:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {exc.orig}"
    finally:
        admin.dispose()


@contextmanager
def scratch(backend: str) -> Iterator[Scratch]:
    """A migrated database of its own (a temp SQLite file or a private PostgreSQL database),
    dropped afterwards, with settings pointing at it and the clock frozen at ``BENCH_NOW``."""
    with (
        tempfile.TemporaryDirectory(prefix="icpflow-bench-") as tmp,
        _database_url(backend, Path(tmp)) as url,
        _frozen_clock(),
    ):
        upgrade(url)
        engine = create_db_engine(url)
        try:
            yield Scratch(backend, url, engine, Settings(database_url=url, var_dir=Path(tmp)))
        finally:
            engine.dispose()


@contextmanager
def _database_url(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"icpflow_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _frozen_clock() -> Iterator[None]:
    previous = clock.get_clock()
    clock.set_clock(clock.FrozenClock(BENCH_NOW))
    try:
        yield
    finally:
        clock.set_clock(previous)
