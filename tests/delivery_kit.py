"""Real things the delivery tests stop, kill and count: a private Redis, worker processes and
filings that owe notifications.

A plugin (declared in tests/conftest.py) because both ``tests/workers`` and ``tests/e2e`` need it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from config.clock import FrozenClock
from config.settings import Settings, get_settings
from models import FailedJob, FooterCheck, Notification, OutboxMessage, Service
from tests.factories import make_command
from workers.actors import deliver, note_next_attempt
from workers.broker import QUEUE, middleware
from workers.channels import DeliveryFailed
from workers.embedded_redis import spawn_redis_server, stop_process, wait_until_up
from workers.relay import ImmediateRelay
from workers.setup import build_worker_broker
from workflow import failures, obligations, outbox, service
from workflow.domain.commands import EventCommand
from workflow.domain.obligations import GoLive
from workflow.schemas import FilingOut

if TYPE_CHECKING:  # a plugin too: importing it first would skip its asserts' rewriting
    from tests.databases import Database
    from tests.http_peer import HTTPPeer

REDIS_NAMESPACE = "dramatiq"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
) -> None:
    """Poll with short sleeps; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@dataclass
class RedisServer:
    """A private redis-server on its own port, so a test may stop and restart it at will;
    without ``persistent`` it restarts empty, as a Redis run without AOF does."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    persistent: bool = True

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = spawn_redis_server(self.data_dir, port=self.port, appendonly=self.persistent)
        wait_until_up(self.url, self.process)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def kill(self) -> None:
        """SIGKILL: no chance to write anything it holds in memory."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def freeze(self) -> None:
        """SIGSTOP: connections are still accepted, but nothing is answered (a hung broker)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@dataclass
class WorkerProcess:
    """``icpflow worker`` (or another ``command``, such as ``scheduler``) in its own process
    group (Dramatiq forks its workers)."""

    env: dict[str, str]
    cwd: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    command: str = "worker"

    def start(self) -> None:
        self.starts += 1
        log = (self.cwd / f"{self.command}-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", self.command],
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def kill(self) -> None:
        """SIGKILL the whole group: the supervisor and the process running the job."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.cwd.glob(f"{self.command}-*.log"))
        )


@dataclass
class System:
    """What an end-to-end test drives: its database, this process's broker and immediate relay,
    a worker process, and the log channel's file."""

    db: Any
    broker: dramatiq.Broker
    relay: ImmediateRelay
    worker: WorkerProcess
    log_file: Path


def worker_env(database_url: str, var_dir: Path, **overrides: str) -> dict[str, str]:
    """What a worker process needs to share the test's database, broker and peers."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "BROKER_URL"}}
    env.update(
        DATABASE_URL=database_url,
        VAR_DIR=str(var_dir),
        WORKER_PROCESSES="1",
        WORKER_THREADS="4",
        DELIVERY_MAX_RETRIES="20",
        DELIVERY_MIN_BACKOFF_MS="100",
        DELIVERY_MAX_BACKOFF_MS="1000",
        WEBHOOK_TIMEOUT_SECONDS="20",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def relay_through(session: Session, relay: ImmediateRelay) -> None:
    """Make ``session``'s commits relayed at once, as the web app's request sessions are."""
    session.info.update(outbox.session_info(relay.submit))


@pytest.fixture
def retrying_delivery(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, http_peer: HTTPPeer
) -> Notification:
    """A filing's webhook notice whose peer answered 501 to its first four attempts: pending,
    its retries still to come, the next 40 s on, as the worker leaves it between two of them
    (``clock`` stopped, as the notice was queued)."""
    hook = _failed_four_times(db, session, settings, http_peer)
    note_next_attempt(db.engine, hook, 40_000)
    return notification(db.engine, hook)


@pytest.fixture
def unscheduled_retry(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, http_peer: HTTPPeer
) -> Notification:
    """The delivery being retried with no next try written down: as it reads while an
    attempt runs, when the worker could not write it, or stored before migration 0029."""
    return notification(db.engine, _failed_four_times(db, session, settings, http_peer))


def _failed_four_times(
    db: Database, session: Session, settings: Settings, http_peer: HTTPPeer
) -> int:
    """A filing's webhook notice whose peer answered 501 to its first four attempts; its id."""
    url = http_peer.url("/status/501")
    owe_notifications(session, 1, routes=[{"channel": "webhook", "recipient": url}])
    with Session(db.engine) as reading:
        hook = reading.exec(select(Notification).where(Notification.recipient == url)).one()
    assert hook.id is not None
    for _ in range(4):
        with pytest.raises(DeliveryFailed):
            deliver(db.engine, hook.id, settings)
    return hook.id


@pytest.fixture
def retried_delivery(
    db: Database, session: Session, clock: FrozenClock, retrying_delivery: Notification
) -> Notification:
    """The delivery being retried, failed for good once its retries ran out, then retried by
    ops: pending again, on a new run whose job no worker has started yet."""
    assert retrying_delivery.id is not None
    error = "webhook answered HTTP 501"
    job = failures.record_final_failure(session, retrying_delivery.id, error, clock.now())
    session.commit()
    assert job.id is not None
    failures.retry_failed(session, job.id)
    return notification(db.engine, retrying_delivery.id)


def owe_notifications(
    session: Session, count: int, routes: list[dict[str, str]] | None = None, start: int = 0
) -> list[int]:
    """Create ``count`` filings and withdraw each (an event that notifies its case managers)."""
    for i in range(start, start + count):
        command = make_command(domain=f"site{i}.cn", notify=routes or [])
        view = service.create_filing(session, command, actor="test")
        withdraw = EventCommand(event="withdraw", data={"reason": "test burst"})
        service.fire_event(session, view.id, withdraw, actor="test")
    return notification_ids(session.get_bind())


@contextmanager
def worker_on(
    declare: Callable[[StubBroker], object], *, fail_fast: bool = True
) -> Iterator[StubBroker]:
    """A ``StubBroker`` with the actors ``declare`` puts on it, run by a real worker thread;
    without ``fail_fast`` a job that ends dead-lettered is for the test to find, not for
    ``join`` to raise."""
    broker = StubBroker(middleware=middleware(), fail_fast_default=fail_fast)
    broker.emit_after("process_boot")
    declare(broker)
    running = dramatiq.Worker(broker, worker_timeout=20, worker_threads=1)
    running.start()
    try:
        yield broker
    finally:
        running.stop()
        broker.close()


def site_live_at(session: Session, on_file: FilingOut, url: str, settings: Settings) -> int:
    """The filed site live, its home page answered at ``url`` (what DNS would do: go-live
    itself takes only pages on the filed domain); its service's id. Its first footer check is
    due at once."""
    assert on_file.service_id is not None
    command = GoLive(live_on=on_file.created_at.date())
    obligations.go_live(session, on_file.service_id, command, settings, actor="alice")
    service_row = session.get_one(Service, on_file.service_id)
    service_row.home_url = url
    session.add(service_row)
    session.commit()
    return on_file.service_id


def footer_checks(engine: Engine) -> list[FooterCheck]:
    with Session(engine) as session:
        return list(session.exec(select(FooterCheck).order_by(col(FooterCheck.id))))


def notification_ids(engine: Any) -> list[int]:
    """In a session of its own: on SQLite an open transaction, even a read, holds the write lock."""
    with Session(engine) as session:
        return [
            n for n in session.exec(select(Notification.id).order_by(col(Notification.id))) if n
        ]


def notification(engine: Engine, notification_id: int) -> Notification:
    with Session(engine) as session:
        row = session.get(Notification, notification_id)
        assert row is not None
        return row


def failed_jobs(engine: Engine) -> list[FailedJob]:
    with Session(engine) as session:
        return list(session.exec(select(FailedJob)))


def statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(Notification.status, func.count()).group_by(col(Notification.status))
        )
        return Counter(dict(rows.all()))


def unpublished(engine: Engine) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(col(OutboxMessage.published_at).is_(None))
        return int(session.exec(query).one())


def logged_keys(path: Path | None) -> Counter[str]:
    """Deliveries the log channel wrote, per idempotency key."""
    if path is None or not path.exists():
        return Counter()
    lines = path.read_text().splitlines()
    return Counter(json.loads(line)["idempotency_key"] for line in lines if line.strip())


def keys_by_id(engine: Engine) -> Mapping[int, str]:
    with Session(engine) as session:
        rows = session.exec(select(Notification.id, Notification.idempotency_key))
        return {i: k for i, k in rows.all() if i is not None}


@pytest.fixture
def redis_broker(
    settings: Settings,
    redis_server: RedisServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dramatiq.Broker]:
    """The worker's broker (actors declared) on the private Redis, with retries fast enough for
    a test; the tests' relays publish through it too."""
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("NOTIFY_LOG_FILE", str(tmp_path / "notify.log"))
    monkeypatch.setenv("DELIVERY_MAX_RETRIES", "2")
    monkeypatch.setenv("DELIVERY_MIN_BACKOFF_MS", "50")
    monkeypatch.setenv("DELIVERY_MAX_BACKOFF_MS", "200")
    get_settings.cache_clear()
    broker = build_worker_broker(get_settings())
    yield broker
    broker.close()


def _redis(broker: dramatiq.Broker) -> Any:
    return broker.client  # type: ignore[attr-defined]


def queued_message_ids(broker: dramatiq.Broker, queue: str = QUEUE) -> list[str]:
    """Ids of the messages waiting in a Redis queue."""
    raw = _redis(broker).hvals(f"{REDIS_NAMESPACE}:{queue}.msgs")
    return [dramatiq.Message.decode(data).message_id for data in raw]


def one_retry_taken_by_a_worker(broker: dramatiq.Broker) -> bool:
    """A single delayed message, fetched (out of the list) but not acknowledged (still stored)."""
    delayed = f"{REDIS_NAMESPACE}:{QUEUE}.DQ"
    client = _redis(broker)
    return bool(client.llen(delayed) == 0 and client.hlen(f"{delayed}.msgs") == 1)
