"""Migration 0019 gives the service numbers stored before it their capitals."""

from __future__ import annotations

import pytest
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


def test_a_number_bound_twice_in_two_spellings_is_named_in_a_warning(
    db: Database, session: Session, new_filing: MakeFiling, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = new_filing("service_number_bound"), new_filing("service_number_bound")
    session.close()
    with db.engine.begin() as conn:  # as two binds before 0019 could leave them
        number = conn.execute(
            sa.text("SELECT service_number FROM filings WHERE id = :id"), {"id": first.id}
        ).scalar_one()
        conn.execute(
            sa.text("UPDATE filings SET service_number = :lower WHERE id = :id"),
            {"lower": number.lower(), "id": second.id},
        )
    try:
        command.downgrade(alembic_config(db.url), "0018")
        with caplog.at_level("WARNING"):
            upgrade(db.url, "0019")
    finally:
        upgrade(db.url)  # later tests share the database

    assert f"service number {number} is bound to 2 orders in two spellings" in caplog.text
