"""an app keeps, on each platform, its package name and its certificate's public key too

MIIT files an app on each platform with its package name there (an iOS Bundle ID may differ
from the Android package), and the public key and fingerprint of the certificate it is signed
with. ``services.app_signatures`` (a fingerprint by platform) becomes ``app_platforms`` (an
object by platform); the apps stored before keep their fingerprints, with no public key. A
change order's ``changes`` keep the same shape, so orders opened before read as new ones.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01 12:00:00.000000
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from models.sealed import SealedJSON

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Convert = Callable[[Mapping[str, Any]], dict[str, Any]]


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.alter_column("app_signatures", new_column_name="app_platforms")
    _rewrite("services", "app_platforms", _as_platforms)
    _rewrite_changes("app_signatures", "app_platforms", _as_platforms)


def downgrade() -> None:
    _rewrite_changes("app_platforms", "app_signatures", _as_fingerprints)
    _rewrite("services", "app_platforms", _as_fingerprints)
    with op.batch_alter_table("services") as batch:
        batch.alter_column("app_platforms", new_column_name="app_signatures")


def _as_platforms(fingerprints: Mapping[str, Any]) -> dict[str, Any]:
    return {platform: {"fingerprint": value} for platform, value in fingerprints.items()}


def _as_fingerprints(platforms: Mapping[str, Any]) -> dict[str, Any]:
    return {platform: said["fingerprint"] for platform, said in platforms.items()}


def _rewrite(table: str, column: str, convert: _Convert) -> None:
    rows = sa.table(table, sa.column("id", sa.Integer), sa.column(column, sa.JSON))
    bind = op.get_bind()
    for row_id, value in list(bind.execute(sa.select(rows.c.id, rows.c[column]))):
        if value is not None:  # SQL's NULL or JSON's null: a website's
            changed = {column: convert(value)}
            bind.execute(rows.update().where(rows.c.id == row_id).values(changed))


def _rewrite_changes(old: str, new: str, convert: _Convert) -> None:
    """A change order's ``changes`` (sealed: ``models.sealed``) naming the old key name the
    new one, converted."""
    filings = sa.table("filings", sa.column("id", sa.Integer), sa.column("changes", SealedJSON()))
    bind = op.get_bind()
    for row_id, changes in list(bind.execute(sa.select(filings.c.id, filings.c.changes))):
        if old in changes:
            rest = {key: value for key, value in changes.items() if key != old}
            changed = {**rest, new: convert(changes[old])}
            bind.execute(filings.update().where(filings.c.id == row_id).values(changes=changed))
