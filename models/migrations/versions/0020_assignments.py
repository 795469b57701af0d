"""assignments: who gave a filing to whom, and when

Assigning a filing used to overwrite ``filings.assignee`` and leave no trace, so nobody could
tell who had moved a case manager's work, or whose it was last week. Each assignment is now
a row. The filings assigned before keep their assignee with no row: when and by whom is not
known.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from config import bounds

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("assignee", sqlmodel.sql.sqltypes.AutoString(length=bounds.PERSON)),
        sa.Column("previous", sqlmodel.sql.sqltypes.AutoString(length=bounds.PERSON)),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=bounds.ACTOR), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["filing_id"], ["filings.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assignments_filing_id", "assignments", ["filing_id"])


def downgrade() -> None:
    op.drop_table("assignments")
