"""canonical domains: every stored domain in the one spelling new input is stored in

Domains used to be stored as typed, so ``ｅｘａｍｐｌｅ.cn``, ``example。cn``, ``example.cn.`` and
an IDN's punycode each passed the "one entity per domain" check as a new domain, and a search
in one spelling missed the others. New input is folded by ``config.domains.canonical_domain``;
this folds the services' and the orders' domains stored before. Nothing is unique on these
columns, so two rows folding into one domain are both kept (the checks now see them as one).
The folding cannot be undone: downgrading keeps the canonical spelling.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 06:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from config.domains import canonical_domain

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_BATCH = 10_000


def upgrade() -> None:
    connection = op.get_bind()
    for table in ("services", "filings"):
        after = 0
        while True:  # a batch at a time: a million orders' domains need not sit in memory
            rows = connection.execute(
                sa.text(f"SELECT id, domain FROM {table} WHERE id > :after ORDER BY id LIMIT :n"),
                {"after": after, "n": _BATCH},
            ).all()
            folded = [
                {"id": row_id, "domain": canonical_domain(domain)}
                for row_id, domain in rows
                if canonical_domain(domain) != domain
            ]
            if folded:
                connection.execute(
                    sa.text(f"UPDATE {table} SET domain = :domain WHERE id = :id"), folded
                )
            if len(rows) < _BATCH:
                break
            after = rows[-1][0]


def downgrade() -> None:
    """Nothing to undo: the canonical spelling is a spelling the code before read as well."""
