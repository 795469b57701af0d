"""Migration 0017 gives the orders stored before it the number of the record they concern."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from models.migrate import alembic_config, upgrade
from tests.databases import Database
from tests.factories import ENTITY_NUMBER, order_on
from workflow.schemas import FilingOut

if TYPE_CHECKING:
    from tests.conftest import Open


def _numbers(db: Database) -> dict[int, str | None]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, icp_number FROM filings"))
        return {filing_id: number for filing_id, number in rows}


@pytest.mark.parametrize("kind", ["change", "cancel_access"])
def test_an_order_stored_without_its_records_number_gets_it(
    db: Database, session: Session, open_order: Open, on_file: FilingOut, kind: str
) -> None:
    order = open_order(**order_on(kind, on_file.entity_id, on_file.service_id or 0))
    expected = _numbers(db)
    session.close()
    with db.engine.begin() as conn:  # as an order opened before 0017 was stored
        conn.execute(
            sa.text("UPDATE filings SET icp_number = NULL WHERE id = :id"), {"id": order.id}
        )
    try:
        command.downgrade(alembic_config(db.url), "0016")
        upgrade(db.url, "0017")
    finally:
        upgrade(db.url)  # later tests share the database

    assert _numbers(db) == expected
    assert expected[order.id] in (ENTITY_NUMBER, f"{ENTITY_NUMBER}-1")
