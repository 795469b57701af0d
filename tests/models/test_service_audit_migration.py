"""Migration 0031 gives an existing database the audit of what is recorded about services."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session, select

from config.settings import Settings
from models import ServiceAudit
from models.migrate import alembic_config, upgrade
from tests.databases import Database
from workflow import obligations
from workflow.domain.obligations import GoLive, PsbNumberIn
from workflow.schemas import FilingOut


def test_a_service_recorded_before_keeps_its_facts_and_is_audited_from_then_on(
    db: Database, session: Session, on_file: FilingOut, settings: Settings
) -> None:
    assert on_file.service_id is not None
    site = on_file.service_id
    obligations.go_live(session, site, GoLive(live_on=date(2026, 3, 2)), settings, actor="alice")
    session.close()
    try:
        command.downgrade(alembic_config(db.url), "0030")
        with db.engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
        upgrade(db.url)  # through 0031 to the head: the models read the head's columns
        with Session(db.engine) as later:
            number = PsbNumberIn(psb_number="京公网安备11010502030143号")
            view = obligations.psb_number(later, site, number, settings, actor="bob")
            kept = later.exec(select(ServiceAudit.what, ServiceAudit.actor)).all()
    finally:
        upgrade(db.url)  # later tests share the database, whatever failed

    assert "service_audit" not in tables  # the downgrade dropped it, and the go-live's row
    assert str(view.live_on) == "2026-03-02"
    assert [tuple(row) for row in kept] == [("psb_number", "bob")]
