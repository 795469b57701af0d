"""filings.domain_ascii: an internationalised domain's ASCII spelling, searched from its start

Domains are stored in Unicode (例子.中国), and a search typed in punycode was decoded to match
them; the start of a punycode label (``xn--fsqu``) decodes to nothing, or to another name, so
such a search found nothing, or the wrong filings. Orders now keep the ASCII spelling of an
internationalised domain beside it (``config.domains.ascii_spelling``; null for an ASCII one),
indexed as the domain is, byte by byte; this gives it to the orders stored before. Downgrading
drops it.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-02 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from config.domains import ascii_spelling

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 10_000


def upgrade() -> None:
    ascii_text = sa.String(length=253).with_variant(
        sa.String(length=253, collation="C"), "postgresql"
    )
    with op.batch_alter_table("filings") as batch:
        batch.add_column(sa.Column("domain_ascii", ascii_text, nullable=True))
        batch.create_index("ix_filings_domain_ascii", ["domain_ascii"], unique=False)
    connection = op.get_bind()
    after = 0
    while True:  # a batch at a time: a million orders' domains need not sit in memory
        rows = connection.execute(
            sa.text("SELECT id, domain FROM filings WHERE id > :after ORDER BY id LIMIT :n"),
            {"after": after, "n": _BATCH},
        ).all()
        spelt = [
            {"id": row_id, "ascii": ascii_spelling(domain)}
            for row_id, domain in rows
            if not domain.isascii()
        ]
        if spelt:
            connection.execute(
                sa.text("UPDATE filings SET domain_ascii = :ascii WHERE id = :id"), spelt
            )
        if len(rows) < _BATCH:
            break
        after = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("filings") as batch:
        batch.drop_index("ix_filings_domain_ascii")
        batch.drop_column("domain_ascii")
