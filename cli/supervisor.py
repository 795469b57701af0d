"""``icpflow up``: the whole system in one command, on the embedded default.

Starts the embedded Redis (unless ``REDIS_URL``/``BROKER_URL`` name a broker) and owns it,
then runs web, worker and scheduler as child processes with the same environment and its URL
as ``REDIS_URL``, restarts any that dies (with a growing pause, so a crash loop does not spin)
and the embedded Redis if it dies, and on Ctrl-C or SIGTERM stops all of them, then the
embedded Redis.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from rich.console import Console

from auth.tokens import UP_TOKEN_NAME, Role, replace_tokens_named
from cli.errors import CliError
from config.settings import Settings
from models import session_scope
from models.migrate import upgrade
from workers.embedded_redis import EmbeddedServer
from workflow.domain.errors import Reason
from workflow.startup import check_settings

console = Console(stderr=True)


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = field(default=0.0)

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(self.argv, env=env)
        console.print(f"[green]started[/] {self.name} (pid {self.process.pid})")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()


def children(settings: Settings, host: str) -> list[Child]:
    python = sys.executable
    return [
        Child("web", [python, "-m", "cli", "web", "--host", host, "--port", str(settings.port)]),
        Child("worker", [python, "-m", "cli", "worker"]),
        Child("scheduler", [python, "-m", "cli", "scheduler"]),
    ]


def run_up(settings: Settings, host: str) -> None:
    check_settings(settings)  # before any child starts, or each would die and be restarted
    _check_port_free(host, settings.port)  # likewise: web would die on it for ever
    upgrade(settings.effective_database_url)
    embedded = (
        None if settings.redis_url or settings.broker_url else EmbeddedServer(settings.var_dir)
    )
    try:
        env = dict(os.environ)
        if embedded is not None:
            env["REDIS_URL"] = embedded.url
            console.print(f"embedded Redis at {embedded.url}")
        _supervise(settings, host, env, embedded)
    finally:
        if embedded is not None:
            embedded.stop()
    console.print("stopped")


def _check_port_free(host: str, port: int) -> None:
    """Bind as uvicorn will (``SO_REUSEADDR``), and let go at once."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CliError(
                f"cannot serve on {host}:{port}: {exc.strerror}",
                [Reason("port_in_use", "stop what holds the port, or set PORT to another")],
            ) from None


def _supervise(
    settings: Settings, host: str, env: dict[str, str], embedded: EmbeddedServer | None
) -> None:
    """Run the children (and keep the embedded Redis up) until SIGTERM or SIGINT, then stop
    them and wait for them to exit."""
    with session_scope() as session:
        token = replace_tokens_named(session, UP_TOKEN_NAME, Role.ADMIN)
    console.print(f"[bold]API[/]      http://{host}:{settings.port}/api/v1  (docs: /docs)")
    console.print(f"[bold]Pages[/]    http://{host}:{settings.port}/")
    console.print(
        f"[bold]Token[/]    {token}  (admin, until the next `up`; "
        "create lasting ones with `icpflow tokens create`)"
    )
    procs = children(settings, host)
    redis = _RedisKeeper(embedded)
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        for child in procs:
            child.start(env)
        while not stopping:
            _restart_dead(procs, env)
            redis.keep_up()
            time.sleep(0.5)
    finally:
        console.print("stopping…")
        for child in procs:
            child.stop()
        for child in procs:
            if child.process is not None:
                try:
                    child.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.process.kill()


@dataclass
class _RedisKeeper:
    """Starts the embedded Redis again when it dies; a start that fails (a damaged append-only
    file, a lock held too long) is tried again after a growing pause, as a child's restart
    is, while web, worker and scheduler go on (events are taken; jobs wait in the outbox)."""

    server: EmbeddedServer | None
    failures: int = 0
    next_try: float = 0.0

    def keep_up(self) -> None:
        if self.server is None or time.monotonic() < self.next_try:
            return
        try:
            if self.server.keep_up():
                console.print("[red]the embedded Redis exited[/]; started it again")
            self.failures = 0
        except Exception as exc:  # whatever stopped the start; the next try may succeed
            self.failures += 1
            pause = _pause(self.failures)
            self.next_try = time.monotonic() + pause
            console.print(
                f"[red]could not start the embedded Redis again[/] ({exc}); "
                f"trying again in {pause:.0f}s"
            )


def _pause(attempts: int) -> float:
    """Seconds before the next start after ``attempts`` failed ones: growing, so a crash loop
    does not spin, and at most half a minute."""
    return min(30.0, 2.0**attempts)


def _restart_dead(procs: list[Child], env: dict[str, str]) -> None:
    now = time.monotonic()
    for child in procs:
        if child.process is None or child.process.poll() is None:
            continue
        if child.next_start == 0.0:
            pause = _pause(child.restarts)
            child.next_start = now + pause
            console.print(
                f"[red]{child.name} exited with {child.process.returncode}[/]; restarting in {pause:.0f}s"
            )
        elif now >= child.next_start:
            child.restarts += 1
            child.next_start = 0.0
            child.start(env)
