"""``icpflow db backup`` and ``db restore``: the whole database to one file and back.

SQLite is copied with its online backup API, a consistent snapshot taken while web, workers
and scheduler keep writing; the copy is switched out of WAL mode so the backup is one
self-contained file. PostgreSQL goes through its own tools: ``pg_dump -Fc`` (custom format)
and ``pg_restore --clean --if-exists`` in a single transaction, so a restore that fails
leaves the database as it was. Either way a backup is written beside its name and renamed
into place only when complete, so a half-written file never looks like a backup.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from cli.errors import CliError
from config.keys import KeysDoNotOpen
from models import create_db_engine
from models.sealed import STORED_SAMPLE, check_keys_open
from workflow.domain.errors import Reason


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def backup(url: str, file: Path) -> None:
    if not _tables(url):
        raise CliError(
            f"{shown(url)} holds no tables: nothing to back up",
            [Reason("empty", "check DATABASE_URL")],
        )
    if file.exists():
        raise CliError(
            f"{file} already exists",
            [Reason("file_exists", "choose a new file name; a backup never overwrites one")],
        )
    if not file.parent.is_dir():
        raise CliError(
            f"{file.parent} is not a directory",
            [Reason("no_directory", "create it first, or name a file in a directory that exists")],
        )
    with _written_in_full(file) as partial:
        if _backend(url) == "sqlite":
            with closing(_sqlite(url)) as source, closing(sqlite3.connect(partial)) as copy:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")
        else:
            _run("pg_dump", "--format=custom", f"--file={partial}", url=url)


def restore(url: str, file: Path, *, replace: bool) -> None:
    """Replace the database's contents with the backup's; a database that holds any table is
    replaced only when ``replace`` says so."""
    backend = _backend(url)
    tables = _tables(url)
    if tables and not replace:
        raise CliError(
            f"{shown(url)} holds {len(tables)} tables that the restore would replace",
            [Reason("not_empty", "pass --yes to replace them, or restore into an empty database")],
        )
    if backend == "sqlite":
        with closing(_sqlite_backup(file)) as source, closing(_sqlite(url)) as target:
            _check_keys_open(
                _sample(lambda sql: source.execute(sql).fetchone()), file, restored=False
            )
            source.backup(target)
    else:
        _run("pg_restore", "--list", str(file), url=None)
        _run(
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            str(file),
            url=url,
        )
        # pg_restore alone reads its format: the data is checked once in place.
        engine = create_db_engine(url)
        try:
            with engine.connect() as connection:
                _check_keys_open(_sample(lambda sql: connection.exec_driver_sql(sql).first()), file)
        finally:
            engine.dispose()


def _sample(first_row: Callable[[str], Any]) -> tuple[str, str] | None:
    """The stored sample, read by ``first_row``; ``None`` where there is none (a backup from
    before sealing has no hash column: it holds plain text)."""
    try:
        row = first_row(STORED_SAMPLE)
    except (sqlite3.OperationalError, sa_exc.DBAPIError):
        return None
    return (str(row[0]), str(row[1])) if row else None


def _check_keys_open(sample: tuple[str, str] | None, file: Path, *, restored: bool = True) -> None:
    """Refuse a backup whose personal data this install's keys cannot open; a PostgreSQL
    one is checked once restored, and then said to be restored but unreadable."""
    if sample is None:
        return
    try:
        check_keys_open(*sample)
    except KeysDoNotOpen as exc:
        what = f"restored from {file}, but" if restored else "not restored:"
        raise CliError(
            f"{what} this install's keys cannot read the personal data it holds",
            [
                Reason("keys_do_not_open", str(exc), field="DATA_KEYS"),
                Reason(
                    "keys_travel_with_backups",
                    "a backup needs the keys of the install that wrote it (in development, "
                    "its VAR_DIR's personal-data-keys.json)",
                ),
            ],
        ) from None


def _backend(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise CliError(f"backups cover SQLite and PostgreSQL, not {backend}")
    return backend


def _tables(url: str) -> list[str]:
    engine = create_db_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _sqlite(url: str) -> sqlite3.Connection:
    path = make_url(url).database
    if not path:
        raise CliError("an in-memory SQLite database has nothing to back up or restore into")
    return sqlite3.connect(path)


def _sqlite_backup(file: Path) -> sqlite3.Connection:
    """Open a backup read-only, refusing anything that is not a backup of an icpflow database."""
    connection = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    try:
        connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise CliError(
            f"{file} is not an icpflow SQLite backup",
            [Reason("not_a_backup", str(exc))],
        ) from exc
    return connection


@contextmanager
def _written_in_full(file: Path) -> Iterator[Path]:
    partial = file.with_name(file.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        yield partial
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)


def _run(program: str, *args: str, url: str | None) -> None:
    """Run a PostgreSQL client program on ``url``; its password goes in the environment,
    not on the command line where every user's ``ps`` would show it."""
    path = shutil.which(program)
    if path is None:
        raise CliError(
            f"{program} is not on PATH",
            [Reason("missing_program", "install the PostgreSQL client tools (postgresql-client)")],
        )
    env = dict(os.environ)
    command = [path, *args]
    if url is not None:
        target: URL = make_url(url)
        if target.password is not None:
            env["PGPASSWORD"] = str(target.password)
        libpq = target.set(drivername="postgresql", password=None)
        command.append(f"--dbname={libpq.render_as_string(hide_password=False)}")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise CliError(
            f"{program} failed (exit {done.returncode})",
            [Reason(program, line) for line in done.stderr.strip().splitlines()[-5:]],
        )
