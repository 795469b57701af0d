"""domain_expired: the escalation once a filed service's domain has expired unrenewed

Services filed before this revision were watched by their expiry reminders only, so a domain
that expired unrenewed was never escalated. Each service filed and active with this host (one
gone from it owes nothing more, as approving its cancellation closes all it owed) gets its
``domain_expired`` obligation, due at the end of its expiry day in Beijing, under the order
that filed it, as approval opens it from now on. A domain that expired long ago is escalated
at the first sweep.

Apps and mini programs no longer get footer checks (their number is shown inside them): the
open ones are closed, as a chain of checks would otherwise go on.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 20:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEIJING = timezone(timedelta(hours=8))

_WATCHED = sa.text(
    "SELECT s.id, s.domain_expires_on, max(f.id) FROM services s"
    " JOIN filings f ON f.service_id = s.id AND f.state = 'approved'"
    " AND f.kind IN ('first_filing', 'new_service', 'new_access')"
    " WHERE s.status = 'active'"
    " AND NOT EXISTS (SELECT 1 FROM obligations o"
    " WHERE o.service_id = s.id AND o.kind = 'domain_expired')"
    " GROUP BY s.id, s.domain_expires_on"
)
_OPEN = sa.text(
    "INSERT INTO obligations (service_id, filing_id, kind, due_at, status, estimated, data,"
    " opened_at) VALUES (:service_id, :filing_id, 'domain_expired', :due_at, 'pending', false,"
    " :data, :now)"
).bindparams(
    sa.bindparam("due_at", type_=sa.DateTime(timezone=True)),
    sa.bindparam("now", type_=sa.DateTime(timezone=True)),
    sa.bindparam("data", type_=sa.JSON()),
)


_CLOSE_APP_FOOTER_CHECKS = sa.text(
    "UPDATE obligations SET closed_at = :now,"
    " status = CASE WHEN status = 'pending' THEN 'disarmed' ELSE status END"
    " WHERE kind = 'footer_check' AND closed_at IS NULL"
    " AND service_id IN (SELECT id FROM services WHERE kind <> 'website')"
).bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True)))


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def upgrade() -> None:
    connection = op.get_bind()
    now = datetime.now(UTC)
    rows = [
        {
            "service_id": service_id,
            "filing_id": filing_id,
            # The end of the expiry day in Beijing: the domain may be renewed all that day.
            "due_at": datetime.combine(
                _day(expires_on) + timedelta(days=1), time(0), tzinfo=_BEIJING
            ).astimezone(UTC),
            "data": {"expires_on": str(_day(expires_on))},
            "now": now,
        }
        for service_id, expires_on, filing_id in connection.execute(_WATCHED)
    ]
    if rows:
        connection.execute(_OPEN, rows)
    connection.execute(_CLOSE_APP_FOOTER_CHECKS, {"now": now})


def downgrade() -> None:
    op.execute("DELETE FROM obligations WHERE kind = 'domain_expired'")
