"""Bei'an service numbers stored in capitals, one spelling however they were typed

A number bound as "ba2026000003" was not found by a bind of "BA2026000003", so one number
could be bound to two orders. Numbers are now taken in capitals; this gives the ones stored
before the same spelling. Downgrading keeps the capitals.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 12:00:00.000000
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)


def upgrade() -> None:
    _warn_of_numbers_bound_twice()
    for table in ("filings", "services"):
        op.execute(
            sa.text(
                f"UPDATE {table} SET service_number = UPPER(service_number)"
                " WHERE service_number <> UPPER(service_number)"
            )
        )


def _warn_of_numbers_bound_twice() -> None:
    """Capitals make one number of two spellings that orders in flight or approved may both
    have bound (the fault this fixes): named for someone to resolve, not merged in silence."""
    twice = op.get_bind().execute(
        sa.text(
            "SELECT UPPER(service_number), COUNT(*) FROM filings"
            " WHERE service_number IS NOT NULL AND state <> 'withdrawn'"
            " GROUP BY UPPER(service_number) HAVING COUNT(DISTINCT service_number) > 1"
        )
    )
    for number, orders in twice:
        log.warning("service number %s is bound to %d orders in two spellings", number, orders)


def downgrade() -> None:
    """The capitals stay: they are the same numbers, and nothing relies on the lower case."""
