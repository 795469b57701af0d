"""a delivery being retried keeps its run: its attempts, since when it fails, its next try

Ops saw a delivery's attempts and last error but not how many it gets, since when it has been
failing or when it is tried next (the delay Dramatiq schedules, which the database did not
see). Notifications now keep the attempts of their run (one job and its retries),
``failing_since`` and ``next_attempt_at``. Those stored before take their attempts as their
run's, and a pending one that failed is failing since it was queued, the nearest there is;
one whose failed job ops sent back for another try has begun a new run, counted from its
last failed job's attempts: if an attempt of the new run has failed already it is failing since
it was queued again, else it starts afresh. Downgrading drops them.

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
    # A delivery ops sent back: its new run's attempts are those made since its last failed
    # job (whose ``attempts`` are the notification's when it failed; both only grow). All of
    # them have ended but the one still holding a lease, if any, and an attempt of a pending
    # row that ended failed (success delivers it), so the new run has failed again: its
    # failing_since must be set, or the lost-delivery sweep would read its waiting Dramatiq
    # retry as a lost job after a minute and owe a duplicate on a new run. The failure's time
    # is not stored (no attempt's is), but it came after ``queued_at``, when the run's job was
    # owed (the retry's ``retried_at``, or later if the sweep owed it again): the earliest,
    # as for the rows above, and where the sweep's backstop counts from anyway. Failed jobs
    # recorded before 0026 took their notification's attempts at 0026, which may count some
    # of the new run's as the old: such a row reads as not failed again, and at worst gets
    # one duplicate job, which its claim and idempotency key make harmless.
    since = (
        "(notifications.attempts - (SELECT MAX(f.attempts) FROM failed_jobs f"
        " WHERE f.notification_id = notifications.id))"
    )
    op.execute(
        sa.text(
            f"UPDATE notifications SET run_attempts = CASE WHEN {since} > 0 THEN {since} ELSE 0"
            f" END, failing_since = CASE WHEN {since} >"
            " CASE WHEN claimed_until IS NULL THEN 0 ELSE 1 END THEN queued_at END"
            " WHERE status = 'pending' AND id IN"
            " (SELECT notification_id FROM failed_jobs WHERE retried_at IS NOT NULL)"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("failing_since")
        batch.drop_column("run_attempts")
