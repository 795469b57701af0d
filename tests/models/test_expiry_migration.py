"""Migration 0012 escalates the expiry of services filed before it, as approval does now, and
ends the footer checks of apps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from config.clock import as_utc
from models import Obligation, Service
from models.migrate import upgrade
from tests.models.test_orders_migration import FILING

_FOOTER_CHECK = (
    "INSERT INTO obligations (service_id, filing_id, kind, due_at, status, estimated, data,"
    " opened_at) SELECT s.id, f.id, 'footer_check', '2026-03-03 02:00:00+00', 'pending', false,"
    " '{}', '2026-03-02 02:00:00+00' FROM services s JOIN filings f ON f.service_id = s.id"
    " WHERE s.domain = :domain"
)


def _approved(n: int, domain: str) -> dict[str, object]:
    return {
        "id": n, "domain": domain, "name": f"{domain} Ltd", "phone": f"1380013800{n}",
        "state": "approved", "icp": f"京ICP备202600012{n}号-1",
    }  # fmt: skip


@pytest.fixture
def migrated(blank_url: str) -> Iterator[sa.Engine]:
    """At 0011: a site active here, one served by another host now, an app whose footer is
    checked, and an order waiting on its SMS; then upgraded to 0012."""
    upgrade(blank_url, "0005")
    engine = sa.create_engine(blank_url)
    waiting = _approved(4, "waiting.cn") | {"state": "host_pre_approved", "icp": None}
    with engine.begin() as conn:
        rows = [_approved(1, "done.cn"), _approved(2, "gone.cn"), _approved(3, "app.cn"), waiting]
        conn.execute(sa.text(FILING), rows)
    upgrade(blank_url, "0011")
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE services SET status = 'access_removed' WHERE domain = 'gone.cn'")
        )
        conn.execute(sa.text("UPDATE services SET kind = 'app' WHERE domain = 'app.cn'"))
        conn.execute(sa.text(_FOOTER_CHECK), [{"domain": "app.cn"}, {"domain": "done.cn"}])
    upgrade(blank_url, "0012")
    yield engine
    engine.dispose()


def _open(engine: sa.Engine, kind: str) -> list[tuple[str, datetime]]:
    query = (
        select(Service.domain, Obligation.due_at)
        .join(Service, col(Service.id) == col(Obligation.service_id))
        .where(Obligation.kind == kind, col(Obligation.closed_at).is_(None))
        .order_by(col(Service.domain))
    )
    with Session(engine) as session:
        return [(domain, as_utc(due)) for domain, due in session.exec(query)]


def test_a_service_active_here_is_escalated_at_the_end_of_its_expiry_day(
    migrated: sa.Engine,
) -> None:
    end_of_day = datetime(2028, 6, 30, 16, tzinfo=UTC)  # 2028-07-01 00:00 in Beijing
    assert _open(migrated, "domain_expired") == [
        ("app.cn", end_of_day),
        ("done.cn", end_of_day),
    ]


def test_an_apps_footer_checks_end_and_a_websites_go_on(migrated: sa.Engine) -> None:
    assert [domain for domain, _ in _open(migrated, "footer_check")] == ["done.cn"]


def test_upgrading_twice_escalates_once(migrated: sa.Engine, blank_url: str) -> None:
    with migrated.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0011'"))
    upgrade(blank_url, "0012")
    assert len(_open(migrated, "domain_expired")) == 2
