"""orders on a record already filed carry its number, so a search by number finds them

A new access, change or cancellation order used to have no ICP number of its own (only the
orders that issue one got it, at approval), so searching by a record's number missed every
change and cancellation of it. New orders now take the number of the record they concern
from the start; this gives the orders stored before the same: their service's number, or
their entity's for an order on the entity alone. Downgrading keeps the numbers.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 09:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The kinds whose approval issues the number (a first filing, a new service): theirs comes then.
_ISSUING = "('first_filing', 'new_service')"


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE filings SET icp_number = (SELECT services.record_number FROM services"
            " WHERE services.id = filings.service_id)"
            f" WHERE icp_number IS NULL AND service_id IS NOT NULL AND kind NOT IN {_ISSUING}"
        )
    )
    op.execute(
        sa.text(
            "UPDATE filings SET icp_number = (SELECT entities.icp_number FROM entities"
            " WHERE entities.id = filings.entity_id)"
            f" WHERE icp_number IS NULL AND kind NOT IN {_ISSUING}"
        )
    )


def downgrade() -> None:
    """The numbers stay: they are the records' own, and nothing relies on their absence."""
