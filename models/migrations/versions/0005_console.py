"""console: filing assignee, indexes for the filings list

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.create_index('ix_filings_assignee', ['assignee'], unique=False)
        batch_op.create_index('ix_filings_icp_number', ['icp_number'], unique=False)
        batch_op.create_index('ix_filings_state_entered_at', ['state_entered_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.drop_index('ix_filings_state_entered_at')
        batch_op.drop_index('ix_filings_icp_number')
        batch_op.drop_index('ix_filings_assignee')
        batch_op.drop_column('assignee')
