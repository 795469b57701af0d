"""failed_jobs.payload: what a failed job other than a delivery was asked to do

A footer check that exhausted its retries used to leave no trace but a log line, and the
scheduled check it answered was never made. It is now kept as a failed job like a delivery;
with no notification to name, the row keeps the job's outbox payload (the service and the
scheduled check), so a retry can owe the same job again.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("failed_jobs", sa.Column("payload", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("failed_jobs") as batch:
        batch.drop_column("payload")
