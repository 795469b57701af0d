"""filings.service_number indexed: binding a service number looks for another order holding it

A service number serves one order; the guard that says so looks the number up among every
order on each bind, which without an index reads them all.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 06:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_filings_service_number", "filings", ["service_number"])


def downgrade() -> None:
    op.drop_index("ix_filings_service_number", table_name="filings")
