"""orders and entities: each filing becomes a first-filing order of an entity and its service

Every existing filing gets its own entity (the applicant, who is also its responsible
person), one website service and the order kind ``first_filing``; its history, deadlines
and notifications keep pointing at the same row. An approved filing's number is split into
the entity number and the site's suffix. The person who answers the SMS is recorded per
order; a filing waiting on the SMS is moved to ``sms_pending`` with its window (and its
armed deadlines) running from host approval, as before.

Revision ID: 0006
Revises: 0005
"""

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUFFIX = re.compile(r"^(?P<entity>.+号)-(?P<suffix>[0-9]+)$")
# States after the SMS was answered, and the (then) state of waiting for it.
_SMS_ANSWERED = ("miit_pending", "approved")
_OLD_SMS_STATE, _NEW_SMS_STATE = "host_pre_approved", "sms_pending"


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _create_tables() -> None:
    op.create_table(
        "entities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", _text(20), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("id_type", _text(40), nullable=False),
        sa.Column("id_number", _text(64), nullable=False),
        sa.Column("province", _text(2), nullable=False),
        sa.Column("responsible_name", _text(200), nullable=False),
        sa.Column("responsible_mobile", _text(32), nullable=False),
        sa.Column("responsible_email", _text(254), nullable=False),
        sa.Column("responsible_is_legal_rep", sa.Boolean(), nullable=False),
        sa.Column("icp_number", _text(64), nullable=True),
        sa.Column("status", _text(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("icp_number"),
    )
    with op.batch_alter_table("entities") as batch:
        batch.create_index("ix_entities_name", ["name"])
        batch.create_index("ix_entities_id_number", ["id_number"])
        batch.create_index("ix_entities_responsible_mobile", ["responsible_mobile"])
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("kind", _text(20), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("domain", _text(253), nullable=False),
        sa.Column("domain_expires_on", sa.Date(), nullable=False),
        sa.Column("domain_registrant", _text(200), nullable=True),
        sa.Column("domain_real_name_verified", sa.Boolean(), nullable=True),
        sa.Column("app_identifier", _text(200), nullable=True),
        sa.Column("sector", _text(40), nullable=False),
        sa.Column("responsible_name", _text(200), nullable=True),
        sa.Column("responsible_mobile", _text(32), nullable=True),
        sa.Column("service_number", _text(64), nullable=True),
        sa.Column("server_ip", _text(45), nullable=True),
        sa.Column("record_number", _text(64), nullable=True),
        sa.Column("suffix", sa.Integer(), nullable=True),
        sa.Column("status", _text(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_number"),
    )
    with op.batch_alter_table("services") as batch:
        batch.create_index("ix_services_entity_id", ["entity_id"])
        batch.create_index("ix_services_domain", ["domain"])
        batch.create_index("ix_services_responsible_mobile", ["responsible_mobile"])
    op.create_table(
        "sms_verifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("role", _text(20), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("mobile", _text(32), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wrong_entries", sa.Integer(), nullable=False),
        sa.Column("result", _text(20), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["filing_id"], ["filings.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("filing_id", "role", name="uq_sms_verifiers_filing_role"),
    )
    with op.batch_alter_table("sms_verifiers") as batch:
        batch.create_index("ix_sms_verifiers_filing_id", ["filing_id"])


def _split(number: str | None) -> tuple[str | None, int | None]:
    """京ICP备12345678号-1 -> (京ICP备12345678号, 1); other numbers are the entity's as they are."""
    if number is None:
        return None, None
    match = _SUFFIX.match(number)
    return (match["entity"], int(match["suffix"])) if match else (number, None)


def _insert(table: str, row: dict[str, Any]) -> int:
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    result = op.get_bind().execute(
        sa.text(f"INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING id"), row
    )
    return int(result.scalar_one())


def _move_filings() -> None:
    bind = op.get_bind()
    filings = bind.execute(
        sa.text(
            "SELECT id, domain, domain_expires_on, province, applicant_type, applicant_name, "
            "applicant_id_type, applicant_id_number, applicant_phone, applicant_email, "
            "website_name, sector, state, state_entered_at, created_at, service_number, "
            "server_ip, icp_number FROM filings ORDER BY id"
        )
    ).mappings()
    for filing in list(filings):
        approved = filing["state"] == "approved"
        entity_number, suffix = _split(filing["icp_number"] if approved else None)
        entity_id = _insert(
            "entities",
            {
                "type": filing["applicant_type"],
                "name": filing["applicant_name"],
                "id_type": filing["applicant_id_type"],
                "id_number": filing["applicant_id_number"],
                "province": filing["province"],
                "responsible_name": filing["applicant_name"],
                "responsible_mobile": filing["applicant_phone"],
                "responsible_email": filing["applicant_email"],
                "responsible_is_legal_rep": True,
                "icp_number": entity_number,
                "status": "active" if approved else "pending",
                "version": 1,
                "created_at": filing["created_at"],
            },
        )
        service_id = _insert(
            "services",
            {
                "entity_id": entity_id,
                "kind": "website",
                "name": filing["website_name"],
                "domain": filing["domain"],
                "domain_expires_on": filing["domain_expires_on"],
                "sector": filing["sector"],
                "service_number": filing["service_number"],
                "server_ip": filing["server_ip"],
                "record_number": filing["icp_number"] if approved else None,
                "suffix": suffix,
                "status": "active" if approved else "pending",
                "created_at": filing["created_at"],
            },
        )
        waiting = filing["state"] == _OLD_SMS_STATE
        _insert(
            "sms_verifiers",
            {
                "filing_id": filing["id"],
                "role": "entity",
                "name": filing["applicant_name"],
                "mobile": filing["applicant_phone"],
                "window_started_at": filing["state_entered_at"] if waiting else None,
                "wrong_entries": 0,
                "result": "verified" if filing["state"] in _SMS_ANSWERED else "pending",
            },
        )
        bind.execute(
            sa.text(
                "UPDATE filings SET kind = 'first_filing', entity_id = :entity, "
                "service_id = :service, changes = '{}' WHERE id = :id"
            ),
            {"entity": entity_id, "service": service_id, "id": filing["id"]},
        )
    # The old state of waiting for the SMS is now two: the window was running, so it is sent.
    for table in ("filings", "deadlines"):
        bind.execute(
            sa.text(f"UPDATE {table} SET state = :new WHERE state = :old"),
            {"new": _NEW_SMS_STATE, "old": _OLD_SMS_STATE},
        )


def upgrade() -> None:
    _create_tables()
    with op.batch_alter_table("filings") as batch:
        batch.add_column(sa.Column("kind", _text(20), nullable=True))
        batch.add_column(sa.Column("entity_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("service_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("changes", sa.JSON(), nullable=True))
    _move_filings()
    with op.batch_alter_table("filings") as batch:
        batch.alter_column("kind", existing_type=_text(20), nullable=False)
        batch.alter_column("entity_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("changes", existing_type=sa.JSON(), nullable=False)
        batch.create_foreign_key("fk_filings_entity_id", "entities", ["entity_id"], ["id"])
        batch.create_foreign_key("fk_filings_service_id", "services", ["service_id"], ["id"])
        batch.create_index("ix_filings_kind", ["kind"])
        batch.create_index("ix_filings_service_id", ["service_id"])
        batch.create_index("ix_filings_entity_state", ["entity_id", "state"])


def downgrade() -> None:
    op.execute(
        sa.text("UPDATE deadlines SET state = :old WHERE state = :new").bindparams(
            old=_OLD_SMS_STATE, new=_NEW_SMS_STATE
        )
    )
    op.execute(
        sa.text("UPDATE filings SET state = :old WHERE state = :new").bindparams(
            old=_OLD_SMS_STATE, new=_NEW_SMS_STATE
        )
    )
    with op.batch_alter_table("filings") as batch:
        batch.drop_index("ix_filings_entity_state")
        batch.drop_index("ix_filings_service_id")
        batch.drop_index("ix_filings_kind")
        batch.drop_constraint("fk_filings_service_id", type_="foreignkey")
        batch.drop_constraint("fk_filings_entity_id", type_="foreignkey")
        batch.drop_column("changes")
        batch.drop_column("service_id")
        batch.drop_column("entity_id")
        batch.drop_column("kind")
    op.drop_table("sms_verifiers")
    op.drop_table("services")
    op.drop_table("entities")
