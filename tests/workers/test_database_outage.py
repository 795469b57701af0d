"""The database out of reach while a job runs: the job waits for it to come back, using up
none of its retries, and is never marked failed for it.

Only a server can be out of reach, so these run on PostgreSQL alone. The worker claims through
an engine whose connections go, while the outage lasts, to a closed port (a real refused
connection) and to the server again once it is over; a delivery's final failures, as the
worker's do, go through an engine of their own, which reaches the server throughout (the
database back just as the last attempt failed). A footer check has one engine for all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.clock import FrozenClock
from config.settings import Settings
from models import NotificationStatus, create_db_engine
from tests.databases import Database
from tests.delivery_kit import (
    failed_jobs,
    footer_checks,
    logged_keys,
    notification,
    owe_notifications,
    site_live_at,
    wait_for,
    worker_on,
)
from tests.http_peer import HTTPPeer
from workers.actors import FOOTER_CHECK_RETRIES, declare_actors
from workers.broker import QUEUE
from workers.relay import relay_pending
from workflow.schemas import FilingOut
from workflow.sweeps import fire_due_obligations

pytestmark = pytest.mark.parametrize(
    "db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

RETRIES = 2


@dataclass
class Outage:
    closed_port: int
    lasting: bool = True
    refused: int = 0  # connections the worker attempted meanwhile: one an attempt

    def outlasted_every_attempt(self, jobs: int, retries: int = RETRIES) -> bool:
        """More attempts than ``jobs`` jobs of ``retries`` retries have in all: at least one
        ran out of retries."""
        return self.refused > jobs * (retries + 1)


@pytest.fixture
def outage(unused_port: int) -> Outage:
    return Outage(unused_port)


def _through(outage: Outage, engine: Engine) -> Engine:
    """``engine``, its connections sent to the closed port while the outage lasts."""

    def route(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        if outage.lasting:
            outage.refused += 1
            params["port"] = outage.closed_port

    event.listen(engine, "do_connect", route)
    return engine


@pytest.fixture
def claims(db: Database, outage: Outage) -> Iterator[Engine]:
    """The worker's autocommit engine, its connections sent to the closed port meanwhile."""
    engine = _through(outage, create_db_engine(db.url, autocommit=True))
    yield engine
    engine.dispose()


@pytest.fixture
def fast(settings: Settings, tmp_path: Path) -> Settings:
    """Retrying fast and waiting the shortest ``unavailable_retry_after_seconds``."""
    return settings.model_copy(
        update={
            "notify_log_file": tmp_path / "notify.log",
            "delivery_max_retries": RETRIES,
            "delivery_min_backoff_ms": 10,
            "delivery_max_backoff_ms": 20,
            "unavailable_retry_after_seconds": 1,
        }
    )


@pytest.fixture
def worker(db: Database, fast: Settings, claims: Engine) -> Iterator[tuple[StubBroker, Settings]]:
    """Deliveries claiming through the engine the outage cuts off."""
    with worker_on(lambda broker: declare_actors(broker, fast, db.engine, claims)) as broker:
        yield broker, fast


@pytest.fixture
def footer_worker(db: Database, fast: Settings, outage: Outage) -> Iterator[StubBroker]:
    """Every statement of the actors going through an engine the outage cuts off (the footer
    check uses no other)."""
    engine = _through(outage, create_db_engine(db.url))
    with worker_on(lambda broker: declare_actors(broker, fast, engine)) as broker:
        yield broker
    engine.dispose()


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


def test_a_footer_check_waits_out_the_outage_and_is_made_once_the_database_is_back(
    db: Database,
    session: Session,
    on_file: FilingOut,
    clock: FrozenClock,
    fast: Settings,
    footer_worker: StubBroker,
    outage: Outage,
) -> None:
    """Its home page is down too (the check records that); what matters is that the check is
    made, once, and not dropped after its retries."""
    site_live_at(session, on_file, f"http://127.0.0.1:{outage.closed_port}/", fast)
    elsewhere = StubBroker()
    elsewhere.declare_queue(QUEUE)
    relay_pending(db.engine, elsewhere)  # the approval's notices: only the check meets the outage
    assert fire_due_obligations(db.engine, clock.now(), fast) == 1
    relay_pending(db.engine, footer_worker)
    wait_for(
        lambda: outage.outlasted_every_attempt(1, FOOTER_CHECK_RETRIES),
        20,
        "the outage to outlast the retries",
    )

    outage.lasting = False
    wait_for(lambda: len(footer_checks(db.engine)) == 1, 20, "the footer check")
    footer_worker.join(QUEUE, timeout=20_000)
    [check] = footer_checks(db.engine)
    assert (check.ok, failed_jobs(db.engine)) == (False, [])
