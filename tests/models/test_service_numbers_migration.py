"""Migration 0019 gives the service numbers stored before it their capitals."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from models.migrate import alembic_config, upgrade
from tests.databases import Database
from tests.factories import MakeFiling


def _numbers(db: Database) -> set[str | None]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT service_number FROM filings"))
        return {number for (number,) in rows}


def test_a_service_number_stored_in_lower_case_gets_its_capitals(
    db: Database, session: Session, new_filing: MakeFiling
) -> None:
    filing = new_filing("service_number_bound")
    session.close()
    with db.engine.begin() as conn:  # as a number bound before 0019 was stored
        conn.execute(
            sa.text("UPDATE filings SET service_number = LOWER(service_number) WHERE id = :id"),
            {"id": filing.id},
        )
    assert any(n and n != n.upper() for n in _numbers(db))
    try:
        command.downgrade(alembic_config(db.url), "0018")
        upgrade(db.url, "0019")
    finally:
        upgrade(db.url)  # later tests share the database

    assert all(n is None or n == n.upper() for n in _numbers(db))
