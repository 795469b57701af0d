"""Migration 0022: a record number is held by one service pending or active at a time, the
database's own rule, not by every row that ever carried it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from models.migrate import alembic_config, upgrade
from tests.databases import Database

if TYPE_CHECKING:
    from workflow.schemas import FilingOut


def _statuses_of_its_number(db: Database, service_id: int) -> list[str]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT status FROM services WHERE record_number ="
                " (SELECT record_number FROM services WHERE id = :id) ORDER BY id"
            ),
            {"id": service_id},
        )
        return list(rows.scalars())


def _copy_with_status(db: Database, service_id: int, status: str) -> None:
    """Another row of the service, carrying its number, in ``status``."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO services (entity_id, kind, name, domain, domain_expires_on, sector,"
                " record_number, status, created_at)"
                " SELECT entity_id, kind, name, domain, domain_expires_on, sector, record_number,"
                " :status, created_at FROM services WHERE id = :id"
            ),
            {"id": service_id, "status": status},
        )


def test_a_number_on_a_row_that_no_longer_holds_it_may_be_on_another(
    db: Database, session: Session, on_file: FilingOut
) -> None:
    session.close()
    _copy_with_status(db, on_file.service_id or 0, "access_removed")
    _copy_with_status(db, on_file.service_id or 0, "withdrawn")

    assert _statuses_of_its_number(db, on_file.service_id or 0) == [
        "active",
        "access_removed",
        "withdrawn",
    ]


def test_the_database_refuses_a_number_on_two_services_holding_it(
    db: Database, session: Session, on_file: FilingOut
) -> None:
    session.close()
    with pytest.raises(sa.exc.IntegrityError):
        _copy_with_status(db, on_file.service_id or 0, "pending")


def test_upgrading_from_the_plain_constraint_keeps_the_numbers_and_frees_them(
    db: Database, session: Session, on_file: FilingOut
) -> None:
    session.close()
    try:
        command.downgrade(alembic_config(db.url), "0021")
        with pytest.raises(sa.exc.IntegrityError):  # the constraint it replaces
            _copy_with_status(db, on_file.service_id or 0, "withdrawn")
        upgrade(db.url, "0022")
        _copy_with_status(db, on_file.service_id or 0, "withdrawn")
    finally:
        upgrade(db.url)  # later tests share the database

    assert _statuses_of_its_number(db, on_file.service_id or 0) == ["active", "withdrawn"]
