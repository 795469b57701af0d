"""The database out of reach while a delivery runs: the job waits for it to come back, using up
none of its retries, and is never marked failed for it.

Only a server can be out of reach, so these run on PostgreSQL alone. The worker claims through
an engine whose connections go, while the outage lasts, to a closed port (a real refused
connection) and to the server again once it is over; its final failures, as the worker's do,
go through an engine of their own, which reaches the server throughout (the database back just
as the last attempt failed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.settings import Settings
from models import NotificationStatus, create_db_engine
from tests.databases import Database
from tests.delivery_kit import (
    failed_jobs,
    logged_keys,
    notification,
    owe_notifications,
    wait_for,
)
from tests.http_peer import HTTPPeer
from workers.actors import declare_actors
from workers.broker import QUEUE, middleware
from workers.relay import relay_pending

pytestmark = pytest.mark.parametrize(
    "db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

RETRIES = 2


@dataclass
class Outage:
    closed_port: int
    lasting: bool = True
    refused: int = 0  # connections the worker attempted meanwhile: one an attempt

    def outlasted_every_attempt(self, jobs: int) -> bool:
        """More attempts than ``jobs`` jobs have in all: at least one ran out of retries."""
        return self.refused > jobs * (RETRIES + 1)


@pytest.fixture
def outage(unused_port: int) -> Outage:
    return Outage(unused_port)


@pytest.fixture
def claims(db: Database, settings: Settings, outage: Outage) -> Iterator[Engine]:
    """The worker's autocommit engine, its connections sent to the closed port meanwhile."""
    engine = create_db_engine(db.url, autocommit=True)

    def route(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        if outage.lasting:
            outage.refused += 1
            params["port"] = outage.closed_port

    event.listen(engine, "do_connect", route)
    yield engine
    engine.dispose()


@pytest.fixture
def worker(
    db: Database, settings: Settings, claims: Engine, tmp_path: Path
) -> Iterator[tuple[StubBroker, Settings]]:
    """The delivery actor on a ``StubBroker`` run by a real worker, retrying fast and waiting
    the shortest ``unavailable_retry_after_seconds`` for the database."""
    fast = settings.model_copy(
        update={
            "notify_log_file": tmp_path / "notify.log",
            "delivery_max_retries": RETRIES,
            "delivery_min_backoff_ms": 10,
            "delivery_max_backoff_ms": 20,
            "unavailable_retry_after_seconds": 1,
        }
    )
    broker = StubBroker(middleware=middleware())
    broker.emit_after("process_boot")
    declare_actors(broker, fast, db.engine, claims)
    running = dramatiq.Worker(broker, worker_timeout=20, worker_threads=1)
    running.start()
    yield broker, fast
    running.stop()
    broker.close()


def test_a_delivery_waits_out_the_outage_and_is_delivered_once_the_database_is_back(
    db: Database, session: Session, worker: tuple[StubBroker, Settings], outage: Outage
) -> None:
    broker, settings = worker
    [owed] = owe_notifications(session, 1)
    relay_pending(db.engine, broker)
    wait_for(lambda: outage.outlasted_every_attempt(1), 20, "the outage to outlast the retries")

    outage.lasting = False
    wait_for(
        lambda: notification(db.engine, owed).status == NotificationStatus.DELIVERED, 20, "delivery"
    )
    broker.join(QUEUE, timeout=20_000)
    assert (notification(db.engine, owed).attempts, failed_jobs(db.engine)) == (1, [])
    assert list(logged_keys(settings.notify_log_file).values()) == [1]


def test_after_waiting_out_the_outage_a_failing_delivery_still_gets_all_its_retries(
    db: Database,
    session: Session,
    worker: tuple[StubBroker, Settings],
    outage: Outage,
    http_peer: HTTPPeer,
) -> None:
    broker, _ = worker
    http_peer.status = 503
    route = {"channel": "webhook", "recipient": http_peer.url()}
    owed = owe_notifications(session, 1, routes=[route])
    relay_pending(db.engine, broker)
    wait_for(lambda: outage.outlasted_every_attempt(len(owed)), 20, "the outage to outlast them")

    outage.lasting = False
    wait_for(lambda: len(failed_jobs(db.engine)) == 1, 20, "the retries to be exhausted")
    [job] = failed_jobs(db.engine)
    assert len(http_peer.received) == notification(db.engine, job.notification_id or 0).attempts
    assert len(http_peer.received) == RETRIES + 1
