"""Migration 0028 gives the orders stored before it their service's kind."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from models.migrate import alembic_config, upgrade
from tests.databases import Database
from tests.factories import order_on
from workflow.schemas import FilingOut

if TYPE_CHECKING:
    from tests.conftest import Open


def test_orders_stored_before_it_take_their_services_kind(
    db: Database, session: Session, open_order: Open, on_file: FilingOut
) -> None:
    app = open_order(**order_on("new_service", on_file.entity_id, 0))
    session.close()
    try:
        command.downgrade(alembic_config(db.url), "0027")
        upgrade(db.url, "0028")
    finally:
        upgrade(db.url)  # later tests share the database

    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, service_kind FROM filings"))
        kinds: dict[int, str | None] = {row.id: row.service_kind for row in rows}
    assert kinds == {on_file.id: "website", app.id: "app"}
