"""outbox rows and failed jobs name their job; outbox payloads are JSON objects

An outbox row said ``actor`` plus positional ``args``; it now says ``job`` (``models.Job``)
plus a typed ``payload``. A failed job keeps ``job`` and its ``notification_id`` only: its
arguments repeated that id.

Revision ID: 0002
Revises: 0001
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def _rows(table: str, columns: str) -> list[Any]:
    return list(op.get_bind().execute(sa.text(f"SELECT {columns} FROM {table}")))


def _set(table: str, assignments: str, rows: list[dict[str, Any]], *json: str) -> None:
    if not rows:
        return
    statement = sa.text(f"UPDATE {table} SET {assignments} WHERE id = :id")
    statement = statement.bindparams(*(sa.bindparam(name, type_=sa.JSON()) for name in json))
    op.get_bind().execute(statement, rows)


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("job", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
    outbox = _rows("outbox", "id, actor, args")
    _set(
        "outbox",
        "job = :job, payload = :payload",
        [
            {"id": id_, "job": actor, "payload": {"notification_id": _first(args)}}
            for id_, actor, args in outbox
        ],
        "payload",
    )
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("job", existing_type=sa.String(length=40), nullable=False)
        batch.alter_column("payload", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("actor")
        batch.drop_column("args")

    with op.batch_alter_table("failed_jobs") as batch:
        batch.add_column(sa.Column("job", sa.String(length=40), nullable=True))
    op.execute("UPDATE failed_jobs SET job = actor")
    with op.batch_alter_table("failed_jobs") as batch:
        batch.alter_column("job", existing_type=sa.String(length=40), nullable=False)
        batch.drop_column("actor")
        batch.drop_column("args")


def downgrade() -> None:
    with op.batch_alter_table("failed_jobs") as batch:
        batch.add_column(sa.Column("actor", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("args", sa.JSON(), nullable=True))
    failed = _rows("failed_jobs", "id, job, notification_id")
    _set(
        "failed_jobs",
        "actor = :actor, args = :args",
        [
            {"id": id_, "actor": job, "args": [] if nid is None else [nid]}
            for id_, job, nid in failed
        ],
        "args",
    )
    with op.batch_alter_table("failed_jobs") as batch:
        batch.alter_column("actor", existing_type=sa.String(length=80), nullable=False)
        batch.alter_column("args", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("job")

    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("actor", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("args", sa.JSON(), nullable=True))
    outbox = _rows("outbox", "id, job, payload")
    _set(
        "outbox",
        "actor = :actor, args = :args",
        [
            {"id": id_, "actor": job, "args": [_loaded(payload)["notification_id"]]}
            for id_, job, payload in outbox
        ],
        "args",
    )
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("actor", existing_type=sa.String(length=80), nullable=False)
        batch.alter_column("args", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("job")
        batch.drop_column("payload")


def _first(args: Any) -> Any:
    """The notification id a ``deliver_notification`` row carried as its only argument."""
    loaded = _loaded(args)
    return loaded[0] if loaded else None


def _loaded(value: Any) -> Any:
    """JSON read through ``text()`` comes back as a string on SQLite, decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value
