"""``icpflow db backup`` and ``db restore``: a backup restored into a fresh database is the same."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlmodel import SQLModel
from typer.testing import Result

from config.settings import get_settings
from models.engine import create_db_engine, forget_engines
from tests.databases import POSTGRES_ADMIN_URL, Database
from tests.factories import MakeFiling

if TYPE_CHECKING:
    from tests.cli.conftest import Cli


@pytest.fixture
def fresh_url(db: Database, tmp_path: Path) -> Iterator[str]:
    """An empty database on the same backend as ``db``."""
    if db.backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"icpflow_restore_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    forget_engines()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def use_database(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Point DATABASE_URL, as the CLI reads it, at another database."""

    def switch(url: str) -> None:
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        forget_engines()

    return switch


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (and the schema revision), in primary-key order."""
    engine = create_db_engine(url)
    with engine.connect() as conn:
        tables = {
            name: [tuple(row) for row in conn.execute(t.select().order_by(*t.primary_key))]
            for name, t in SQLModel.metadata.tables.items()
        }
        tables["alembic_version"] = [tuple(conn.execute(sa.text("SELECT * FROM alembic_version")))]
    engine.dispose()
    return tables


def test_a_backup_restored_into_a_fresh_database_has_the_same_contents(
    cli: Cli,
    db: Database,
    new_filing: MakeFiling,
    tmp_path: Path,
    fresh_url: str,
    use_database: Callable[[str], None],
) -> None:
    new_filing("submitted")
    new_filing("withdrawn", domain="other.cn")
    backup = tmp_path / "icpflow.backup"

    assert cli("db", "backup", str(backup)).exit_code == 0
    use_database(fresh_url)
    result = cli("db", "restore", str(backup))

    assert result.exit_code == 0, result.output
    original = contents(db.url)
    assert original["filings"] and original["history"] and original["deadlines"]
    assert contents(fresh_url) == original


def test_restore_refuses_to_replace_a_database_without_yes(
    cli: Cli, db: Database, new_filing: MakeFiling, tmp_path: Path
) -> None:
    new_filing()
    backup = tmp_path / "icpflow.backup"
    cli("db", "backup", str(backup))

    result = cli("db", "restore", str(backup))

    assert (result.exit_code, "pass --yes" in result.stderr) == (1, True)


def test_restore_with_yes_brings_back_what_was_removed(
    cli: Cli, db: Database, new_filing: MakeFiling, tmp_path: Path
) -> None:
    new_filing()
    backup = tmp_path / "icpflow.backup"
    cli("db", "backup", str(backup))
    before = contents(db.url)
    new_filing(domain="other.cn")

    result = cli("db", "restore", "--yes", str(backup))

    assert result.exit_code == 0, result.output
    assert contents(db.url) == before


def test_backup_never_overwrites_a_file(cli: Cli, db: Database, tmp_path: Path) -> None:
    existing = tmp_path / "keep.me"
    existing.write_text("precious")

    result = cli("db", "backup", str(existing))

    assert (result.exit_code, existing.read_text()) == (1, "precious")


def test_backup_into_a_directory_that_does_not_exist_says_so_in_one_line(
    cli: Cli, db: Database, tmp_path: Path
) -> None:
    result = cli("db", "backup", str(tmp_path / "missing" / "x.db"))

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"error: {tmp_path / 'missing'} is not a directory"


def test_restore_refuses_a_file_that_is_not_a_backup(
    cli: Cli, db: Database, tmp_path: Path, fresh_url: str, use_database: Callable[[str], None]
) -> None:
    junk = tmp_path / "junk.backup"
    junk.write_text("not a backup")
    use_database(fresh_url)

    result = cli("db", "restore", str(junk))

    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")


@pytest.fixture
def other_keys(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Point the CLI at keys other than those the data was sealed under."""

    def switch(**keys: str) -> None:
        for name, value in keys.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    return switch


@pytest.fixture
def restore_under(
    cli: Cli,
    new_filing: MakeFiling,
    tmp_path: Path,
    fresh_url: str,
    use_database: Callable[[str], None],
    other_keys: Callable[..., None],
) -> Callable[..., Result]:
    """A backup of a filing restored into a fresh database by an install with other ``keys``."""

    def restore(**keys: str) -> Result:
        new_filing()
        backup = tmp_path / "icpflow.backup"
        assert cli("db", "backup", str(backup)).exit_code == 0
        use_database(fresh_url)
        other_keys(**keys)
        return cli("db", "restore", str(backup))

    return restore


def test_restore_refuses_a_backup_sealed_under_keys_this_install_lacks(
    db: Database, fresh_url: str, restore_under: Callable[..., Result]
) -> None:
    result = restore_under(DATA_KEYS=Fernet.generate_key().decode())

    assert result.exit_code == 1
    assert "keys cannot read the personal data" in result.stderr
    assert "DATA_KEYS" in result.stderr and "Traceback" not in result.output
    if db.backend == "sqlite":  # read before it is copied: nothing was replaced
        assert sa.inspect(create_db_engine(fresh_url)).get_table_names() == []


def test_restore_refuses_a_backup_whose_lookup_hashes_another_key_made(
    restore_under: Callable[..., Result],
) -> None:
    result = restore_under(LOOKUP_KEY="another-lookup-key")

    assert result.exit_code == 1
    assert "LOOKUP_KEY is not the key" in result.stderr


@pytest.mark.parametrize("command", [("filings", "list"), ("keys", "rotate")])
def test_a_command_reading_data_sealed_under_other_keys_fails_in_one_line(
    cli: Cli,
    db: Database,
    new_filing: MakeFiling,
    other_keys: Callable[..., None],
    command: tuple[str, ...],
) -> None:
    new_filing()
    other_keys(DATA_KEYS=Fernet.generate_key().decode())

    result = cli(*command)

    assert result.exit_code == 1
    assert "\nerror: personal data is sealed under a key DATA_KEYS" in f"\n{result.stderr}"
    assert "Traceback" not in result.output
