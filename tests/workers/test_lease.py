"""The delivery lease: while one worker sends a notification, no other process sends it too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from config.clock import FrozenClock
from config.settings import Settings
from models import Notification, create_db_engine
from tests.databases import Database
from tests.delivery_kit import logged_keys, owe_notifications
from workers.actors import DeliveryInProgress, deliver


def lease(db: Database, notification_id: int, until: datetime) -> None:
    with Session(db.engine) as s:
        s.exec(
            update(Notification)
            .where(col(Notification.id) == notification_id)
            .values(claimed_until=until)
        )
        s.commit()


@pytest.fixture
def log_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"notify_log_file": tmp_path / "lease.log"})


def test_a_notification_leased_by_another_worker_is_not_sent_and_is_retried_later(
    db: Database, session: Session, clock: FrozenClock, log_settings: Settings
) -> None:
    first = owe_notifications(session, 1)[0]
    lease(db, first, clock.now() + timedelta(seconds=30))
    with pytest.raises(DeliveryInProgress) as waiting:
        deliver(db.engine, first, log_settings)
    assert waiting.value.delay is not None and waiting.value.delay >= 30_000
    assert not logged_keys(log_settings.notify_log_file)


@pytest.fixture(params=["transactional", "autocommit"])
def claims(request: pytest.FixtureRequest, db: Database) -> Iterator[Engine]:
    """Both engines a delivery may claim through: the worker hands it an autocommit one."""
    if request.param == "transactional":
        yield db.engine
        return
    engine = create_db_engine(db.url, autocommit=True)
    yield engine
    engine.dispose()


def test_an_expired_lease_is_taken_over_and_the_notification_sent_once(
    db: Database, session: Session, clock: FrozenClock, log_settings: Settings, claims: Engine
) -> None:
    first = owe_notifications(session, 1)[0]
    lease(db, first, clock.now() - timedelta(seconds=1))
    assert deliver(claims, first, log_settings) is True
    assert deliver(claims, first, log_settings) is False
    assert list(logged_keys(log_settings.notify_log_file).values()) == [1]
    with Session(db.engine) as s:
        row = s.get(Notification, first)
        assert row is not None and (row.status, row.claimed_until) == ("delivered", None)
