"""responsible persons' identity documents: each person's document type and sealed number

The entity's and each service's responsible person were kept by name, mobile and email
only, so two people who share a name passed for one and could share a mobile. Each may now
give their identity document (the bureau asks every person for their ID's last 6 digits),
its number sealed as the mobile is. The people stored before keep none: they are told apart
by name, as before. Downgrading drops the columns.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-02 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from config import bounds

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("entities", "services")


def upgrade() -> None:
    for name in _TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(
                sa.Column(
                    "responsible_id_type",
                    sqlmodel.sql.sqltypes.AutoString(length=bounds.DOCUMENT_TYPE),
                    nullable=True,
                )
            )
            batch.add_column(
                sa.Column(
                    "responsible_id_number",
                    sqlmodel.sql.sqltypes.AutoString(length=bounds.sealed(bounds.ID_NUMBER)),
                    nullable=True,
                )
            )


def downgrade() -> None:
    for name in _TABLES:
        with op.batch_alter_table(name) as batch:
            batch.drop_column("responsible_id_number")
            batch.drop_column("responsible_id_type")
