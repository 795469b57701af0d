"""filings: indexes that keep a page of the list as cheap among a million filings as among
ten thousand: (state, id) and (province, id) replace (state, province); on PostgreSQL the
domain and ICP number prefix searches get ``text_pattern_ops`` btrees (the domain's is a
plain twin on SQLite, so that both databases have one schema)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PATTERN = {'postgresql_ops': {'icp_number': 'text_pattern_ops'}}


def _postgresql() -> bool:
    return op.get_context().dialect.name == 'postgresql'


def upgrade() -> None:
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.create_index('ix_filings_state_id', ['state', 'id'], unique=False)
        batch_op.create_index('ix_filings_province_id', ['province', 'id'], unique=False)
        batch_op.drop_index('ix_filings_state_province')
    op.create_index(
        'ix_filings_domain_prefix',
        'filings',
        ['domain'],
        postgresql_ops={'domain': 'text_pattern_ops'},
    )
    if _postgresql():
        op.drop_index('ix_filings_icp_number', table_name='filings')
        op.create_index('ix_filings_icp_number', 'filings', ['icp_number'], **_PATTERN)


def downgrade() -> None:
    if _postgresql():
        op.drop_index('ix_filings_icp_number', table_name='filings')
        op.create_index('ix_filings_icp_number', 'filings', ['icp_number'])
    op.drop_index('ix_filings_domain_prefix', table_name='filings')
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.create_index('ix_filings_state_province', ['state', 'province'], unique=False)
        batch_op.drop_index('ix_filings_province_id')
        batch_op.drop_index('ix_filings_state_id')
