"""Migration 0030 gives the orders stored before it their domain's ASCII spelling."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from config.clock import FrozenClock
from config.settings import get_settings
from models.migrate import alembic_config, upgrade
from tests.databases import Database
from tests.factories import MakeFiling
from workflow.views import search


def test_an_order_stored_before_is_found_by_the_start_of_its_domain_s_punycode(
    db: Database, session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    beijing, ascii_one = new_filing(domain="北京.cn"), new_filing(domain="site1.cn")
    session.close()
    try:
        command.downgrade(alembic_config(db.url), "0029")
        upgrade(db.url, "0030")
        with db.engine.connect() as conn:
            spelt = conn.execute(sa.text("SELECT id, domain_ascii FROM filings ORDER BY id")).all()
        found = search.filing_page(
            session, clock.now(), search.FilingFilters(domain="xn--1lq9"), settings=get_settings()
        ).items
        session.close()
    finally:
        upgrade(db.url)  # later tests share the database

    assert [tuple(row) for row in spelt] == [(beijing.id, "xn--1lq90i.cn"), (ascii_one.id, None)]
    assert [f.id for f in found] == [beijing.id]
