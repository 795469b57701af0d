"""entities and services an order brought and withdrew: status "withdrawn", not "pending"

A withdrawn first filing left its entity and service pending for good, so the entity lists
showed them as filings in progress long after, beside the entity row the identity's next
order opened. Withdrawing an order now withdraws what it brought and never filed; this does
the same for the orders withdrawn before: a pending row none of whose orders is anything
but withdrawn. Downgrading makes them pending again.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = {"services": "service_id", "entities": "entity_id"}


def upgrade() -> None:
    for table, key in _TABLES.items():
        op.execute(
            sa.text(
                f"UPDATE {table} SET status = 'withdrawn' WHERE status = 'pending'"
                f" AND EXISTS (SELECT 1 FROM filings WHERE filings.{key} = {table}.id)"
                f" AND NOT EXISTS (SELECT 1 FROM filings WHERE filings.{key} = {table}.id"
                " AND filings.state <> 'withdrawn')"
            )
        )


def downgrade() -> None:
    for table in _TABLES:
        op.execute(sa.text(f"UPDATE {table} SET status = 'pending' WHERE status = 'withdrawn'"))
