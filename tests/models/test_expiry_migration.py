"""Migration 0012 escalates the expiry of services filed before it, as approval does now."""

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


@pytest.fixture
def migrated(blank_url: str) -> Iterator[sa.Engine]:
    """An approved filing and one waiting on its SMS at 0005, taken through 0011 to 0012."""
    upgrade(blank_url, "0005")
    engine = sa.create_engine(blank_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(FILING),
            [
                {"id": 1, "domain": "done.cn", "name": "Done Ltd", "phone": "13800138000",
                 "state": "approved", "icp": "京ICP备2026000123号-1"},
                {"id": 2, "domain": "waiting.cn", "name": "Waiting Ltd", "phone": "13900139000",
                 "state": "host_pre_approved", "icp": None},
            ],
        )  # fmt: skip
    upgrade(blank_url, "0011")
    upgrade(blank_url, "0012")
    yield engine
    engine.dispose()


def test_a_filed_service_is_escalated_at_the_end_of_its_expiry_day(migrated: sa.Engine) -> None:
    query = (
        select(Service.domain, Obligation.due_at, Obligation.status)
        .join(Service, col(Service.id) == col(Obligation.service_id))
        .where(Obligation.kind == "domain_expired")
    )
    with Session(migrated) as session:
        rows = [(domain, as_utc(due), status) for domain, due, status in session.exec(query)]
    assert rows == [("done.cn", datetime(2028, 6, 30, 16, tzinfo=UTC), "pending")]


def test_upgrading_twice_escalates_once(migrated: sa.Engine, blank_url: str) -> None:
    with migrated.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0011'"))
    upgrade(blank_url, "0012")
    count = "SELECT count(*) FROM obligations WHERE kind = 'domain_expired'"
    with migrated.connect() as conn:
        assert conn.execute(sa.text(count)).scalar_one() == 1
