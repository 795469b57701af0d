"""orders carry their service's kind, as they carry its name, domain and sector

An order kept what it was opened with of its service but not what the service is, so
nothing reading the order could tell an app's from a website's, which MIIT asks for other
materials; a page asked the services table for it. Orders now keep it
(``filings.service_kind``: website, app, mini_program, quick_app; null for an order on the
entity alone); this gives the orders stored before their service's kind. Downgrading drops it.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("filings") as batch:
        batch.add_column(sa.Column("service_kind", sa.String(length=20), nullable=True))
    op.execute(
        sa.text(
            "UPDATE filings SET service_kind = (SELECT services.kind FROM services"
            " WHERE services.id = filings.service_id) WHERE service_id IS NOT NULL"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("filings") as batch:
        batch.drop_column("service_kind")
