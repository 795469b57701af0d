"""A process run on its own without ``REDIS_URL`` starts the embedded Redis when it needs it and
stops it when stopped: SIGTERM leaves no ``redis-server`` behind for its ``VAR_DIR``.

The server is found through its own pid file and socket under ``VAR_DIR``, never by scanning
every process (other tests run servers of their own).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import redis
from sqlmodel import Session, col, func, select

from auth.tokens import Role, create_token
from config.clock import get_clock
from models import OutboxMessage, create_db_engine
from models.migrate import upgrade
from tests.delivery_kit import free_port, wait_for
from tests.factories import expiry_on_the_real_clock, make_payload
from workers.embedded_redis import data_dir_of, embedded_redis_url, pid_file
from workflow import outbox

pytestmark = [pytest.mark.slow, pytest.mark.redis]


class Standalone:
    """One ``icpflow`` process on SQLite under its own ``VAR_DIR``, with no broker configured."""

    def __init__(self, tmp_path: Path, argv: list[str], **env: str) -> None:
        self.var_dir = tmp_path / "var"
        self.database_url = f"sqlite:///{self.var_dir / 'icpflow.db'}"
        upgrade(self.database_url)
        self.engine = create_db_engine(self.database_url)
        self.log = tmp_path / "process.log"
        foreign = {"DATABASE_URL", "REDIS_URL", "BROKER_URL", "VAR_DIR"}
        self.env = {k: v for k, v in os.environ.items() if k not in foreign}
        self.env.update(VAR_DIR=str(self.var_dir), PYTHONUNBUFFERED="1", **env)
        self.argv = [sys.executable, *argv]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def stop(self, signum: int) -> int:
        assert self.process is not None
        self.process.send_signal(signum)
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def unpublished(self) -> int:
        with Session(self.engine) as session:
            query = select(func.count()).where(col(OutboxMessage.published_at).is_(None))
            return int(session.exec(query).one())

    def owe_deliveries(self) -> None:
        with Session(self.engine) as session:
            outbox.owe_deliveries(session, [1, 2], get_clock().now())
            session.commit()


def redis_pid(var_dir: Path) -> int | None:
    try:
        return int(pid_file(data_dir_of(var_dir)).read_text())
    except (FileNotFoundError, ValueError):
        return None


def answers(var_dir: Path) -> bool:
    client = redis.Redis.from_url(embedded_redis_url(var_dir), socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, OSError):
        return False
    finally:
        client.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def web_publishes(process: Standalone) -> None:
    base = f"http://127.0.0.1:{process.env['PORT']}"
    wait_for(lambda: _ready(base), 30, "the API to answer")
    with Session(process.engine) as session:
        token = create_token(session, "test", Role.ADMIN)
    headers = {"Authorization": f"Bearer {token}"}
    filing = httpx.post(
        f"{base}/api/v1/filings",
        json=make_payload(domain_expires_on=expiry_on_the_real_clock()),
        headers=headers,
        timeout=30,
    ).json()
    event = {"event": "withdraw", "data": {"reason": "done"}, "expected_version": 1}
    httpx.post(
        f"{base}/api/v1/filings/{filing['id']}/events", json=event, headers=headers, timeout=30
    )
    wait_for(lambda: process.unpublished() == 0, 60, "the web process to publish")


def worker_consumes(process: Standalone) -> None:
    wait_for(lambda: "ready for action" in process.output(), 30, "the worker to consume")


def scheduler_relays(process: Standalone) -> None:
    process.owe_deliveries()
    wait_for(lambda: process.unpublished() == 0, 30, "the scheduler's relay sweep to publish")


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


PROCESSES: dict[str, tuple[list[str], dict[str, str], Callable[[Standalone], None]]] = {
    "web": (["-m", "cli", "web"], {}, web_publishes),
    "worker": (
        ["-m", "cli", "worker"],
        {"WORKER_PROCESSES": "1", "WORKER_THREADS": "1"},
        worker_consumes,
    ),
    "scheduler": (["-m", "cli", "scheduler"], {"RELAY_INTERVAL_SECONDS": "0.2"}, scheduler_relays),
}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("name", list(PROCESSES))
def test_a_standalone_process_stops_the_embedded_redis_it_started(
    name: str, signum: int, tmp_path: Path
) -> None:
    argv, env, use = PROCESSES[name]
    process = Standalone(tmp_path, argv, PORT=str(free_port()), **env)
    process.start()
    try:
        use(process)
        pid = redis_pid(process.var_dir)
        assert pid is not None and alive(pid), "the process did not start the embedded Redis"
        # uvicorn re-raises the signal once shut down; the others exit 0
        assert process.stop(signum) in (0, -signum), process.output()
    finally:
        process.kill()
    assert not answers(process.var_dir)
    assert not alive(pid), process.output()
    assert redis_pid(process.var_dir) is None  # removed by the server at a clean shutdown
