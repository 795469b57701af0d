"""The delivery lease: while one worker sends a notification, no other process sends it too."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pydantic
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import update
from sqlalchemy.engine import Engine, Row
from sqlalchemy.sql.expression import Executable
from sqlmodel import Session, col

from config.clock import FrozenClock
from config.settings import Settings
from models import Job, Notification, create_db_engine
from models.engine import ThreadConnections
from tests.databases import Database
from tests.delivery_kit import logged_keys, owe_notifications
from workers.actors import DeliveryInProgress, declare_actors, deliver
from workers.broker import middleware


def lease(db: Database, notification_id: int, until: datetime | None) -> None:
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


class LeaseGivenBackAfterTheClaim(ThreadConnections):
    """The worker holding the lease fails and gives it back (its ``_note_error``) just after
    our claim, the first statement, found the lease taken."""

    def __init__(self, db: Database, notification_id: int) -> None:
        super().__init__(db.engine)
        self.db, self.notification_id, self.claimed = db, notification_id, False

    def run(self, statement: Executable, params: Mapping[str, Any]) -> Row[Any] | None:
        row = super().run(statement, params)
        if not self.claimed:
            self.claimed = True
            lease(self.db, self.notification_id, None)
        return row


def test_a_lease_given_back_just_after_the_claim_found_it_taken_is_claimed_again_soon(
    db: Database, session: Session, clock: FrozenClock, log_settings: Settings
) -> None:
    first = owe_notifications(session, 1)[0]
    lease(db, first, clock.now() + timedelta(seconds=30))
    with pytest.raises(DeliveryInProgress) as waiting:
        deliver(LeaseGivenBackAfterTheClaim(db, first), first, log_settings)
    assert waiting.value.delay is not None and waiting.value.delay <= 1000
    assert not logged_keys(log_settings.notify_log_file)

    assert deliver(db.engine, first, log_settings) is True
    assert list(logged_keys(log_settings.notify_log_file).values()) == [1]


def test_a_delivery_may_run_for_the_time_limit_the_settings_give(
    db: Database, settings: Settings
) -> None:
    broker = StubBroker(middleware=middleware())
    deliver_notification = declare_actors(broker, settings, db.engine)[Job.DELIVER_NOTIFICATION]
    broker.close()
    assert deliver_notification.options["time_limit"] == settings.delivery_time_limit_seconds * 1000


@pytest.mark.parametrize("lease", ["45", "30"])
def test_a_lease_no_longer_than_a_delivery_may_run_is_refused(
    monkeypatch: pytest.MonkeyPatch, lease: str
) -> None:
    """Past its lease a worker still sending could see another take the notification over and
    send it too: the time limit must stop the attempt before."""
    monkeypatch.setenv("DELIVERY_LEASE_SECONDS", lease)
    with pytest.raises(pydantic.ValidationError, match="must be longer than"):
        Settings()
