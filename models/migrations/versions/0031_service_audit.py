"""service_audit: who recorded each of a service's facts after approval, when, and what it was

A service's go-live, PSB number, expiries, leaving the host and rectification notices were
written over with no author and no time, so nobody could tell who had recorded a PSB number
or corrected a go-live day, nor what it was before. Each such write is now a row. The facts
recorded before keep no row: who recorded them and when is not known.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-02 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from config import bounds

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column(
            "what", sqlmodel.sql.sqltypes.AutoString(length=bounds.RECORDED), nullable=False
        ),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("replaced", sa.JSON(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=bounds.ACTOR), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_service_audit_service_at", "service_audit", ["service_id", "at"])


def downgrade() -> None:
    op.drop_table("service_audit")
