"""a delivery being retried keeps its run: its attempts, since when it fails, its next try

Ops saw a delivery's attempts and last error but not how many it gets, since when it has been
failing or when it is tried next (the delay Dramatiq schedules, which the database did not
see). Notifications now keep the attempts of their run (one job and its retries),
``failing_since`` and ``next_attempt_at``. Those stored before take their attempts as their
run's, and a pending one that failed is failing since it was queued, the nearest there is;
one whose failed job ops sent back for another try has begun a new run, whose attempts and
failures were not kept apart from the old run's: it starts counting at its next attempt.
Downgrading drops them.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(
            sa.Column("run_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text("UPDATE notifications SET run_attempts = attempts"))
    op.execute(
        sa.text(
            "UPDATE notifications SET failing_since = queued_at"
            " WHERE status = 'pending' AND last_error IS NOT NULL"
        )
    )
    op.execute(
        sa.text(
            "UPDATE notifications SET run_attempts = 0, failing_since = NULL"
            " WHERE status = 'pending' AND id IN"
            " (SELECT notification_id FROM failed_jobs WHERE retried_at IS NOT NULL)"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("failing_since")
        batch.drop_column("run_attempts")
