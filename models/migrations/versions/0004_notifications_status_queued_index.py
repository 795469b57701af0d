"""notifications: one (status, queued_at) index for the relay sweep, replacing the status index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_status_queued', ['status', 'queued_at'], unique=False)
        batch_op.drop_index(batch_op.f('ix_notifications_status'))


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_status'), ['status'], unique=False)
        batch_op.drop_index('ix_notifications_status_queued')
