"""sealed personal data: identity and phone numbers encrypted at rest, keyed hashes to find them

Identity and mobile numbers (and a change order's ``changes``, which name new responsible
persons) are encrypted in place with the data keys from the settings (``DATA_KEYS``, or the
development pair under ``VAR_DIR``): the columns widen to hold the tokens and every existing
value is encrypted here, so no clear number outlives the upgrade. The indexes on the clear
numbers give way to ``*_hash`` columns (HMAC-SHA256 under ``LOOKUP_KEY``). Adds the
``disclosures`` audit table and ``filings.personal_data_purged_at``.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

from config import bounds
from models.sealed import cipher, lookup

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> {sealed column: its characters before sealing}
_SEALED = {
    "entities": {"id_number": bounds.ID_NUMBER, "responsible_mobile": bounds.PHONE},
    "services": {"responsible_mobile": bounds.PHONE},
    "filings": {"applicant_id_number": bounds.ID_NUMBER, "applicant_phone": bounds.PHONE},
    "sms_verifiers": {"mobile": bounds.PHONE},
}
# table -> {hash column: the sealed column it hashes}
_HASHED = {
    "entities": {"id_number_hash": "id_number", "responsible_mobile_hash": "responsible_mobile"},
    "services": {"responsible_mobile_hash": "responsible_mobile"},
}
_BATCH = 500


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _seal(value: str) -> str:
    return cipher().encrypt(value.encode()).decode("ascii")


def _open(value: str) -> str:
    return cipher().decrypt(value.encode("ascii")).decode()


def _rewrite(table: str, columns: Sequence[str], change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Rewrite ``columns`` of every row through ``change``, a batch of rows at a time."""
    bind = op.get_bind()
    listed = ", ".join(columns)
    last = 0
    while rows := bind.execute(
        sa.text(f"SELECT id, {listed} FROM {table} WHERE id > :last ORDER BY id LIMIT :n"),
        {"last": last, "n": _BATCH},
    ).mappings().all():
        assignments = ", ".join(f"{c} = :{c}" for c in change(dict(rows[0])))
        bind.execute(
            sa.text(f"UPDATE {table} SET {assignments} WHERE id = :id"),
            [{**change(dict(row)), "id": row["id"]} for row in rows],
        )
        last = rows[-1]["id"]


def _sealed_row(table: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    sealed, hashed = _SEALED[table], _HASHED.get(table, {})

    def change(row: dict[str, Any]) -> dict[str, Any]:
        values = {c: None if row[c] is None else _seal(row[c]) for c in sealed}
        values |= {h: None if row[c] is None else lookup(row[c]) for h, c in hashed.items()}
        return values

    return change


def _seal_changes(row: dict[str, Any]) -> dict[str, Any]:
    return {"changes": _seal(row["changes"])}


def upgrade() -> None:
    with op.batch_alter_table("entities") as batch:
        batch.drop_index("ix_entities_id_number")
        batch.drop_index("ix_entities_responsible_mobile")
        batch.add_column(sa.Column("id_number_hash", _text(bounds.LOOKUP_HASH), nullable=True))
        batch.add_column(
            sa.Column("responsible_mobile_hash", _text(bounds.LOOKUP_HASH), nullable=True)
        )
    with op.batch_alter_table("services") as batch:
        batch.drop_index("ix_services_responsible_mobile")
        batch.add_column(
            sa.Column("responsible_mobile_hash", _text(bounds.LOOKUP_HASH), nullable=True)
        )
    for table, columns in _SEALED.items():
        with op.batch_alter_table(table) as batch:
            for column, characters in columns.items():
                batch.alter_column(
                    column,
                    type_=_text(bounds.sealed(characters)),
                    existing_nullable=table == "services",
                )
    with op.batch_alter_table("filings") as batch:
        batch.alter_column(
            "changes",
            type_=sa.Text(),
            existing_type=sa.JSON(),
            existing_nullable=False,
            postgresql_using="changes::text",
        )
        batch.add_column(
            sa.Column("personal_data_purged_at", sa.DateTime(timezone=True), nullable=True)
        )

    for table in _SEALED:
        _rewrite(table, list(_SEALED[table]), _sealed_row(table))
    _rewrite("filings", ["changes"], _seal_changes)

    with op.batch_alter_table("entities") as batch:
        for column in _HASHED["entities"]:
            batch.alter_column(column, existing_type=_text(bounds.LOOKUP_HASH), nullable=False)
            batch.create_index(f"ix_entities_{column}", [column])
    with op.batch_alter_table("services") as batch:
        batch.create_index("ix_services_responsible_mobile_hash", ["responsible_mobile_hash"])

    op.create_table(
        "disclosures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("actor", _text(bounds.ACTOR), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["filing_id"], ["filings.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("disclosures") as batch:
        batch.create_index("ix_disclosures_filing_id", ["filing_id"])


def downgrade() -> None:
    op.drop_table("disclosures")
    for table, columns in _SEALED.items():
        _rewrite(
            table,
            list(columns),
            lambda row, columns=columns: {
                c: None if row[c] is None else _open(row[c]) for c in columns
            },
        )
    _rewrite("filings", ["changes"], lambda row: {"changes": _open(row["changes"])})
    with op.batch_alter_table("filings") as batch:
        batch.drop_column("personal_data_purged_at")
        batch.alter_column(
            "changes",
            type_=sa.JSON(),
            existing_type=sa.Text(),
            existing_nullable=False,
            postgresql_using="changes::json",
        )
    with op.batch_alter_table("services") as batch:
        batch.drop_index("ix_services_responsible_mobile_hash")
        batch.drop_column("responsible_mobile_hash")
        batch.create_index("ix_services_responsible_mobile", ["responsible_mobile"])
    with op.batch_alter_table("entities") as batch:
        for column in _HASHED["entities"]:
            batch.drop_index(f"ix_entities_{column}")
            batch.drop_column(column)
        batch.create_index("ix_entities_id_number", ["id_number"])
        batch.create_index("ix_entities_responsible_mobile", ["responsible_mobile"])
