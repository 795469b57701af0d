"""Migration 0032 gives an existing database the responsible persons' documents."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from models import Entity, Service
from models.migrate import alembic_config, upgrade
from tests.databases import Database
from workflow.schemas import FilingOut


def test_people_stored_before_are_kept_without_a_document(
    db: Database, session: Session, on_file: FilingOut
) -> None:
    session.close()
    try:
        command.downgrade(alembic_config(db.url), "0031")
        with db.engine.connect() as conn:
            before = {c["name"] for c in sa.inspect(conn).get_columns("entities")}
        upgrade(db.url, "0032")
        with Session(db.engine) as later:
            entity = later.get(Entity, on_file.entity_id)
            site = later.get(Service, on_file.service_id)
            assert entity is not None and site is not None
            kept = (entity.responsible_name, entity.responsible_mobile, site.responsible_name)
            documents = (entity.responsible_id_number, site.responsible_id_number)
    finally:
        upgrade(db.url)  # later tests share the database

    assert "responsible_id_number" not in before  # the downgrade dropped it
    assert kept == ("Li Lei", "13800138000", "Han Meimei")
    assert documents == (None, None)
