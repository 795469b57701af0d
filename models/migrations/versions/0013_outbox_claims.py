"""outbox.claimed_until: a relay claims the rows it publishes for a while, instead of holding
its transaction open while it talks to the broker

A relay used to read its rows, enqueue them and mark them published in one transaction. On
SQLite that transaction holds the database's write lock, so a broker that hung stopped every
writer until its socket timed out. Rows now are claimed in one short transaction and marked in
another; the broker is called between the two, holding nothing.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column is added in place on both databases (no copy of the table).
    op.add_column("outbox", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_until")
