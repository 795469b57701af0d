"""Bei'an service numbers stored in capitals, one spelling however they were typed

A number bound as "ba2026000003" was not found by a bind of "BA2026000003", so one number
could be bound to two orders. Numbers are now taken in capitals; this gives the ones stored
before the same spelling. Downgrading keeps the capitals.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("filings", "services"):
        op.execute(
            sa.text(
                f"UPDATE {table} SET service_number = UPPER(service_number)"
                " WHERE service_number <> UPPER(service_number)"
            )
        )


def downgrade() -> None:
    """The capitals stay: they are the same numbers, and nothing relies on the lower case."""
