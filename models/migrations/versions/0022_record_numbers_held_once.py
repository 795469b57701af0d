"""a record number is held by one service pending or active here, not by every row for ever

``services.record_number`` was unique across all rows, so a number stayed taken by the
service of a new-access order that was withdrawn (never filed), and by a service whose access
was removed: that site could never be accessed here again, by any order. The number is now
unique among the services that hold it (pending or active) only, a partial unique index on
both databases. Downgrading restores the plain constraint, and fails where a number is then
on two rows (a site accessed again).

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What models.tables.Service declares.
_INDEX = "ux_services_record_number_held"
_HOLDING = sa.text("status IN ('pending', 'active')")
# SQLite's constraint has no name: reflected under this convention, it gets one to drop by.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _constraint() -> str:
    """The name the plain constraint has: PostgreSQL's own, or the convention's."""
    return (
        "services_record_number_key"
        if op.get_bind().dialect.name == "postgresql"
        else "uq_services_record_number"
    )


def upgrade() -> None:
    with op.batch_alter_table("services", naming_convention=_NAMING) as batch:
        batch.drop_constraint(_constraint(), type_="unique")
    op.create_index(
        _INDEX,
        "services",
        ["record_number"],
        unique=True,
        sqlite_where=_HOLDING,
        postgresql_where=_HOLDING,
    )


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="services")
    with op.batch_alter_table("services", naming_convention=_NAMING) as batch:
        batch.create_unique_constraint(_constraint(), ["record_number"])
