"""a service keeps the expiry of the server it is accessed on

A host's server lapsing leaves the site dark and its record open to cancellation as invalid:
its expiry, once recorded, is watched as the domain's is. Services stored before have none.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("server_expires_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.drop_column("server_expires_on")
