"""``icpflow keys rotate`` and ``icpflow privacy purge``."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlmodel import Session, SQLModel

from config.clock import FrozenClock
from config.settings import get_settings
from models import Entity, Filing, Service, get_engine
from models.rotation import sealed_columns, sealed_rows
from tests.cli.conftest import Cli
from tests.conftest import TEST_DATA_KEY, Open
from tests.factories import (
    ENTITY_MOBILE,
    PERSON_ID,
    SITE_MOBILE,
    MakeFiling,
    entity_in,
    first_filing_order,
    service_in,
)
from workflow.schemas import FilingOut


def _use_keys(monkeypatch: pytest.MonkeyPatch, *keys: str) -> None:
    monkeypatch.setenv("DATA_KEYS", ",".join(keys))
    get_settings.cache_clear()


def _run(cli: Cli, *args: str) -> dict[str, Any]:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


def test_rotation_re_encrypts_every_value_under_the_new_key(
    cli: Cli, created: dict[str, Any], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_key = Fernet.generate_key().decode()
    _use_keys(monkeypatch, new_key, TEST_DATA_KEY)

    rewritten = _run(cli, "keys", "rotate", "--batch", "1")["rewritten"]
    _use_keys(monkeypatch, new_key)  # the old key is gone

    tokens = _sealed_tokens()
    assert rewritten == len(tokens) >= 6  # entity 2, service 1, filing 3 (changes included)
    new = Fernet(new_key.encode())
    assert all(new.decrypt(token.encode()) for token in tokens)  # InvalidToken if one was left
    filing = session.get(Filing, created["id"])
    assert filing is not None and filing.applicant_phone == "13800138000"


def _sealed_tokens() -> list[str]:
    """Every sealed value as stored."""
    tokens: list[str] = []
    with get_engine().connect() as connection:
        for name, columns in sealed_columns().items():
            stored = sa.select(*(sa.column(c, sa.Text) for c in columns)).select_from(
                sa.table(name)
            )
            tokens += [token for row in connection.execute(stored) for token in row if token]
    return tokens


def test_rotation_re_encrypts_the_responsible_persons_documents(
    cli: Cli, open_order: Open, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entity's and the site's person's document numbers, sealed columns of their own
    (migration 0032), are rewritten under the new key and read back with it alone."""
    document = {"id_type": "resident_id", "id_number": PERSON_ID}
    entity = entity_in(responsible={"name": "Li Lei", "mobile": ENTITY_MOBILE, **document})
    person = {"name": "Han Meimei", "mobile": SITE_MOBILE, "id_type": "passport"}
    site = service_in(responsible={**person, "id_number": "E12345678"})
    order = open_order(**first_filing_order(entity=entity, service=site))
    session.commit()
    new_key = Fernet.generate_key().decode()
    _use_keys(monkeypatch, new_key, TEST_DATA_KEY)

    _run(cli, "keys", "rotate", "--batch", "1")
    _use_keys(monkeypatch, new_key)  # the old key is gone

    new = Fernet(new_key.encode())
    with get_engine().connect() as connection:
        for table in ("entities", "services"):
            stored = sa.select(sa.column("responsible_id_number", sa.Text)).select_from(
                sa.table(table)
            )
            [token] = connection.execute(stored).scalars()
            assert new.decrypt(token.encode())  # InvalidToken if it was left
    session.expire_all()
    on_file, service_on_file = (
        session.get(Entity, order.entity_id),
        session.get(Service, order.service_id),
    )
    assert on_file is not None and on_file.responsible_id_number == PERSON_ID
    assert service_on_file is not None and service_on_file.responsible_id_number == "E12345678"


def test_rotation_shows_its_progress_over_every_row_holding_personal_data(
    cli: Cli, created: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_keys(monkeypatch, Fernet.generate_key().decode(), TEST_DATA_KEY)

    result = cli("keys", "rotate", "--batch", "1")

    assert result.exit_code == 0, result.output
    [bar] = [line for line in result.stderr.splitlines() if "re-encrypting" in line]
    rows = sealed_rows(get_engine())
    assert f"{rows}/{rows}" in bar


def test_a_second_rotation_finds_nothing_left(
    cli: Cli, created: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_keys(monkeypatch, Fernet.generate_key().decode(), TEST_DATA_KEY)
    assert _run(cli, "keys", "rotate")["rewritten"] > 0

    assert _run(cli, "keys", "rotate")["rewritten"] == 0


def test_purge_names_the_orders_it_purged(
    cli: Cli, created: dict[str, Any], clock: FrozenClock
) -> None:
    withdrawn = cli(
        "filings", "fire", str(created["id"]), "withdraw", "--reason", "gave up", "--json"
    )
    assert withdrawn.exit_code == 0, withdrawn.output
    clock.advance(timedelta(days=91))

    assert _run(cli, "privacy", "purge", "--older-than", "90") == {
        "purged": 1,
        "filings": [created["id"]],
        "entities": [created["entity_id"]],
    }


def _table_rows() -> dict[str, list[tuple[Any, ...]]]:
    with get_engine().connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(sa.select(table))), key=repr)
            for table in SQLModel.metadata.sorted_tables
        }


@pytest.fixture
def ended_orders(new_filing: MakeFiling, clock: FrozenClock) -> list[FilingOut]:
    """Two orders ended long enough ago to be purged (one withdrawn, one rejected), and one
    ended too recently."""
    old = [new_filing("withdrawn"), new_filing("rejected")]
    clock.advance(timedelta(days=91))
    new_filing("withdrawn")
    return old


def test_a_dry_run_of_purge_names_exactly_what_the_purge_then_purges(
    cli: Cli, ended_orders: list[FilingOut]
) -> None:
    would = _run(cli, "privacy", "purge", "--older-than", "90", "--dry-run")

    purged = _run(cli, "privacy", "purge", "--older-than", "90")

    assert would["filings"] == purged["filings"] == [f.id for f in ended_orders]
    assert would["entities"] == purged["entities"] == [f.entity_id for f in ended_orders]
    assert would["would_purge"] == purged["purged"] == 2


def test_a_dry_run_of_purge_changes_nothing_in_the_database(
    cli: Cli, ended_orders: list[FilingOut]
) -> None:
    before = _table_rows()

    result = cli("privacy", "purge", "--older-than", "90", "--dry-run")

    assert result.exit_code == 0, result.output
    assert "would purge the personal data of 2 orders" in result.stdout
    assert _table_rows() == before


def test_purge_older_than_0_purges_an_order_ended_today(
    cli: Cli, created: dict[str, Any], clock: FrozenClock
) -> None:
    cli("filings", "fire", str(created["id"]), "withdraw", "--reason", "client asked erasure")
    clock.advance(timedelta(seconds=1))

    purged = cli("privacy", "purge", "--older-than", "0")

    assert purged.exit_code == 0, purged.output
    assert f"purged the personal data of 1 order: {created['id']}" in purged.stdout


@pytest.mark.parametrize("batch", ["10001", str(2**63)])
def test_rotation_refuses_a_batch_larger_than_one_transaction_should_hold(
    cli: Cli, batch: str
) -> None:
    result = cli("keys", "rotate", "--batch", batch)

    assert (result.exit_code, "10000" in result.stderr) == (2, True)
    assert "Traceback" not in result.output


def test_purge_refuses_more_days_than_dates_can_go_back(cli: Cli) -> None:
    result = cli("privacy", "purge", "--older-than", "99999999999999")

    assert (result.exit_code, "36500" in result.stderr) == (2, True)
