"""obligations: what an approved service owes (PSB filing, footer, expiry, access, rectification)

Adds the ``obligations`` and ``footer_checks`` tables and the service's go-live date, home
page and PSB number. ``approved`` no longer arms ``psb_filing_due`` (nothing could close it:
every approved filing showed overdue 30 days later); the open ones are closed here, as the
order leaving its state would have closed them, and the PSB filing is now an obligation
opened when the go-live date is recorded.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("live_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("home_url", _text(2000), nullable=True))
        batch.add_column(sa.Column("psb_number", _text(32), nullable=True))
    op.create_table(
        "obligations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("kind", _text(40), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"]),
        sa.ForeignKeyConstraint(["filing_id"], ["filings.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("obligations") as batch:
        batch.create_index("ix_obligations_status_due", ["status", "due_at"])
        batch.create_index("ix_obligations_service_open", ["service_id", "closed_at"])
    op.create_table(
        "footer_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.Integer(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("url", _text(2000), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"]),
        sa.ForeignKeyConstraint(["obligation_id"], ["obligations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("obligation_id"),
    )
    with op.batch_alter_table("footer_checks") as batch:
        batch.create_index("ix_footer_checks_service_at", ["service_id", "checked_at"])
    op.get_bind().execute(
        sa.text(
            "UPDATE deadlines SET disarmed_at = :now, "
            "status = CASE WHEN status = 'pending' THEN 'disarmed' ELSE status END "
            "WHERE kind = 'psb_filing_due' AND disarmed_at IS NULL"
        ),
        {"now": datetime.now(UTC)},
    )


def downgrade() -> None:
    with op.batch_alter_table("footer_checks") as batch:
        batch.drop_index("ix_footer_checks_service_at")
    op.drop_table("footer_checks")
    with op.batch_alter_table("obligations") as batch:
        batch.drop_index("ix_obligations_service_open")
        batch.drop_index("ix_obligations_status_due")
    op.drop_table("obligations")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("psb_number")
        batch.drop_column("home_url")
        batch.drop_column("live_on")
