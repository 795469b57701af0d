"""filings: domains compare byte by byte on PostgreSQL too (collation "C"), so the column's
plain btree serves both the domain prefix search and the domain order a search is listed in;
the ``text_pattern_ops`` twin (a plain twin on SQLite) that served the search alone goes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-12 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgresql() -> bool:
    return op.get_context().dialect.name == 'postgresql'


def upgrade() -> None:
    op.drop_index('ix_filings_domain_prefix', table_name='filings')
    if _postgresql():  # rebuilds ix_filings_domain under the new collation
        op.alter_column(
            'filings',
            'domain',
            type_=sa.String(length=253, collation='C'),
            existing_type=sa.String(length=253),
            existing_nullable=False,
        )


def downgrade() -> None:
    if _postgresql():
        op.alter_column(
            'filings',
            'domain',
            type_=sa.String(length=253),
            existing_type=sa.String(length=253, collation='C'),
            existing_nullable=False,
        )
    op.create_index(
        'ix_filings_domain_prefix',
        'filings',
        ['domain'],
        postgresql_ops={'domain': 'text_pattern_ops'},
    )
