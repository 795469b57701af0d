"""Migration 0021 withdraws the entities and services of the orders withdrawn before it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from models.migrate import alembic_config, upgrade
from tests.databases import Database
from tests.factories import MakeFiling


def _statuses(db: Database, entity_id: int) -> tuple[str, list[str]]:
    with db.engine.connect() as conn:
        entity = conn.execute(
            sa.text("SELECT status FROM entities WHERE id = :id"), {"id": entity_id}
        ).scalar_one()
        services = conn.execute(
            sa.text("SELECT status FROM services WHERE entity_id = :id"), {"id": entity_id}
        ).scalars()
        return entity, list(services)


def test_a_pending_entity_and_service_of_a_withdrawn_order_are_withdrawn(
    db: Database, session: Session, new_filing: MakeFiling
) -> None:
    withdrawn = new_filing("withdrawn")
    in_flight = new_filing("submitted", domain="other.cn")
    session.close()
    with db.engine.begin() as conn:  # as a withdrawal before 0021 left them
        for table in ("entities", "services"):
            conn.execute(sa.text(f"UPDATE {table} SET status = 'pending'"))
    try:
        command.downgrade(alembic_config(db.url), "0020")
        upgrade(db.url, "0021")
    finally:
        upgrade(db.url)  # later tests share the database

    assert _statuses(db, withdrawn.entity_id) == ("withdrawn", ["withdrawn"])
    assert _statuses(db, in_flight.entity_id) == ("pending", ["pending"])
