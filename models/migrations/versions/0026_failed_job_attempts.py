"""a failed job keeps the attempts it had made when it failed

Ops read a failed job's attempts as how hard it was tried. Read from its notification, the
figure went on growing as the notification was retried and failed anew, so an earlier row
showed the later failure's attempts. Rows recorded before take their notification's figure
now, the nearest there is.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("failed_jobs") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE failed_jobs SET attempts = (SELECT n.attempts FROM notifications n"
        " WHERE n.id = failed_jobs.notification_id) WHERE notification_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("failed_jobs") as batch:
        batch.drop_column("attempts")
