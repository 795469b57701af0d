"""Loading filings by the million: one row of each kind goes in through SQLAlchemy, so it is
encoded exactly as the ORM encodes it (SQLite keeps datetimes as text, and queries compare
that text); the database then copies it for every other filing, which is as fast as loading
gets (going through the service would take hours at this size)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from bench.environment import BENCH_NOW
from bench.inputs import make_payload
from models import Entity, Filing, table
from models.sealed import lookup


def load_filings(conn: Connection, count: int, varying: Mapping[str, str]) -> None:
    """Filings 1..``count`` of one entity, all submitted alike except for ``varying`` (SQL over
    the filing number ``n.i``, as for ``replicate``)."""
    conn.execute(insert(table(Entity)).values(_entity_template()))
    conn.execute(insert(table(Filing)).values(_filing_template()))
    replicate(conn, "filings", 1, count, {"id": "n.i", **varying})


def replicate(
    conn: Connection, table: str, template_id: int, count: int, varying: Mapping[str, str]
) -> None:
    """Copy row ``template_id`` for filings 2..``count``, ``varying`` giving SQL (over the
    filing number ``n.i``) for the columns that differ; ids not given are generated."""
    columns = [
        c.name for c in SQLModel.metadata.tables[table].c if c.name != "id" or "id" in varying
    ]
    values = ", ".join(varying.get(column, f"t.{column}") for column in columns)
    if conn.dialect.name == "postgresql":
        # A million rows copied in one statement can outlast the time limit the engine sets
        # for the product's own statements; lifted for this transaction only.
        conn.execute(text("SET LOCAL statement_timeout = 0"))
    conn.execute(
        text(
            "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < :count)"
            f" INSERT INTO {table} ({', '.join(columns)}) SELECT {values}"
            f" FROM n CROSS JOIN {table} t WHERE t.id = :template AND n.i <= :count"
        ),
        {"count": count, "template": template_id},
    )


def _entity_template() -> dict[str, Any]:
    """The one entity every loaded filing is an order of (no bar reads it)."""
    applicant: Any = make_payload()["applicant"]
    return {
        "id": 1,
        "type": applicant["type"],
        "name": applicant["name"],
        "id_type": applicant["id_type"],
        "id_number": applicant["id_number"],
        "id_number_hash": lookup(applicant["id_number"]),
        "province": "京",
        "responsible_name": applicant["name"],
        "responsible_mobile": applicant["phone"],
        "responsible_mobile_hash": lookup(applicant["phone"]),
        "responsible_email": applicant["email"],
        "responsible_is_legal_rep": True,
        "status": "pending",
        "version": 1,
        "created_at": BENCH_NOW - timedelta(days=2),
    }


def _filing_template() -> dict[str, Any]:
    payload: Any = make_payload()
    applicant = payload["applicant"]
    return {
        "id": 1,
        "kind": "first_filing",
        "entity_id": 1,
        "changes": {},
        "domain": "site1.cn",
        "domain_expires_on": BENCH_NOW.date() + timedelta(days=800),
        "province": payload["province"],
        "licence": payload["licence"],
        "applicant_type": applicant["type"],
        "applicant_name": applicant["name"],
        "applicant_id_type": applicant["id_type"],
        "applicant_id_number": applicant["id_number"],
        "applicant_phone": applicant["phone"],
        "applicant_email": applicant["email"],
        "website_name": payload["website"]["name"],
        "sector": payload["website"]["sector"],
        "notify": [],
        "state": "submitted",
        "version": 3,
        "state_entered_at": BENCH_NOW - timedelta(days=1),
        "created_at": BENCH_NOW - timedelta(days=2),
        "created_by": "bench",
        "service_number": "BA2026000123",
        "server_ip": "8.8.8.8",
        "materials": [],
    }
