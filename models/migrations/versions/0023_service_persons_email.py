"""a service's responsible person keeps their email

An order naming a service's person with an email (a new site, a change of its person) took
it and threw it away: services had no column for it. Services stored before keep none.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 20:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from config import bounds

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column(
                "responsible_email",
                sqlmodel.sql.sqltypes.AutoString(length=bounds.EMAIL),
                nullable=True,
            ))


def downgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.drop_column("responsible_email")
