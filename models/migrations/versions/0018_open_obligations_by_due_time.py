"""obligations indexed by (closed_at, due_at): the overdue duties are found without a scan

The console's pipeline and the metrics now count the overdue duties on every load. The
table only grows (each footer check closes its row and opens the next), and its indexes
served the sweep (status, due_at) and one service's rows, so the count read every row.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 09:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_obligations_open_due", "obligations", ["closed_at", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_obligations_open_due", table_name="obligations")
