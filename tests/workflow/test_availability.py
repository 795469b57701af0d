"""Which database errors are an outage that passes by itself, which a job may wait out."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.databases import Absent
from workflow.availability import passes_by_itself


def sqlite_error(path: Path, *statements: str, timeout: float = 5) -> DBAPIError:
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": timeout})
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    except DBAPIError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("the statements raised nothing")


def test_a_server_that_refuses_connections_is_an_outage_that_passes() -> None:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(DBAPIError) as refused:
        engine.connect()
    assert passes_by_itself(refused.value)


@pytest.mark.postgres
def test_a_role_or_database_the_server_lacks_is_not_waited_out(absent: Absent) -> None:
    """Someone must create it: a job waiting for it would hide that from ops."""
    engine = create_engine(absent.url)
    with pytest.raises(DBAPIError) as refused:
        engine.connect()
    assert not passes_by_itself(refused.value)


def test_an_sqlite_file_locked_by_another_writer_is_an_outage_that_passes(tmp_path: Path) -> None:
    holder = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        locked = sqlite_error(tmp_path / "db.sqlite", "CREATE TABLE t (x)", timeout=0.1)
    finally:
        holder.close()
    assert passes_by_itself(locked)


def test_an_sqlite_database_never_upgraded_is_not_waited_out(tmp_path: Path) -> None:
    missing = sqlite_error(tmp_path / "db.sqlite", "SELECT * FROM notifications")
    assert not passes_by_itself(missing)


def test_an_error_that_is_no_database_error_is_not_an_outage() -> None:
    assert not passes_by_itself(ValueError("bad payload"))
