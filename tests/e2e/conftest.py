"""End-to-end delivery: this process fires transitions and relays them at once, as the web process
does; a separate ``icpflow worker`` process delivers over a real broker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from config.settings import Settings, get_settings
from tests.databases import Database, one_at_a_time, unavailable
from tests.delivery_kit import RedisServer, System, WorkerProcess, relay_through, worker_env
from workers.broker import QUEUE, build_broker
from workers.relay import ImmediateRelay

RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _system(
    db: Database,
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    broker_env: dict[str, str],
) -> Iterator[System]:
    log_file = tmp_path / "notify.log"
    env = {"NOTIFY_LOG_FILE": str(log_file), **broker_env}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    broker = build_broker(get_settings())
    relay = ImmediateRelay(db.engine, broker)
    relay_through(session, relay)  # the test's transitions are relayed as the web app's are
    worker = WorkerProcess(
        worker_env(
            db.url,
            tmp_path / "var",
            REDIS_HEARTBEAT_TIMEOUT_MS="2000",
            REDIS_MAINTENANCE_CHANCE="1000000",
            # Short enough that a killed worker's lease runs out within a test, long enough
            # that an attempt slowed by two busy cores keeps its lease (one lost sends twice).
            DELIVERY_TIME_LIMIT_SECONDS="5",
            DELIVERY_LEASE_SECONDS="8",
            **env,
        ),
        tmp_path,
    )
    yield System(db, broker, relay, worker, log_file)
    relay.stop()
    worker.kill()  # graceful shutdown is Dramatiq's, not under test here; killing is faster
    broker.close()
    print(worker.logs())  # shown by pytest when the test failed


@pytest.fixture
def system(
    db: Database,
    settings: Settings,
    session: Session,
    redis_server: RedisServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[System]:
    """On a private Redis the test may stop and restart."""
    yield from _system(db, session, tmp_path, monkeypatch, {"REDIS_URL": redis_server.url})


@pytest.fixture
def rabbitmq_alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The shared RabbitMQ's icpflow queue, which a test purges, to one test at a time."""
    with one_at_a_time(tmp_path_factory, "rabbitmq"):
        yield


@pytest.fixture
def rabbitmq_system(
    rabbitmq_alone: None,
    db: Database,
    settings: Settings,
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[System]:
    """On the shared RabbitMQ, its icpflow queues purged so stale messages cannot interfere."""
    import pika
    import pika.exceptions

    try:
        pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL)).close()
    except pika.exceptions.AMQPError as exc:
        unavailable(f"RabbitMQ at {RABBITMQ_URL} is unreachable: {exc!r}")
    for system in _system(db, session, tmp_path, monkeypatch, {"BROKER_URL": RABBITMQ_URL}):
        system.broker.declare_queue(QUEUE)
        system.broker.flush(QUEUE)
        yield system
