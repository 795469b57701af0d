"""a service keeps an app's signing certificate on each platform

MIIT files an app by the fingerprint of the certificate it is signed with on each platform it
is published on (Android's MD5, iOS's SHA-1, HarmonyOS's MD5). Services stored before have
none.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("app_signatures", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.drop_column("app_signatures")
