"""Fixtures for the scheduler tests: child processes that are always killed, a shared clock
file, and bounded polling instead of fixed sleeps (``wait_until``).

Tests import nothing from here (the suite runs in importlib mode); they take fixtures.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll until ``predicate`` returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(interval)


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        os.kill(self.proc.pid, signum)


class Processes:
    """Starts children with their output in files; ``stop_all`` kills whatever is left."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.children: list[Child] = []

    def start(self, name: str, argv: list[str], env: dict[str, str], piped: bool = False) -> Child:
        """Run ``python argv``; ``piped`` gives the test its stdin and stdout to talk to it."""
        log_path = self.directory / f"{name}.log"
        with log_path.open("w") as log_file:
            proc = subprocess.Popen(
                [sys.executable, *argv],
                cwd=REPO,
                env={**os.environ, **env},
                stdin=subprocess.PIPE if piped else subprocess.DEVNULL,
                stdout=subprocess.PIPE if piped else log_file,
                stderr=log_file,
                text=True,
            )
        child = Child(name, proc, log_path)
        self.children.append(child)
        return child

    def stop_all(self) -> None:
        for child in self.children:
            if child.proc.poll() is None:
                child.proc.send_signal(signal.SIGKILL)
            child.proc.wait(timeout=10)
            for stream in (child.proc.stdin, child.proc.stdout):
                if stream is not None:
                    stream.close()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.stop_all()


@pytest.fixture
def wait() -> Callable[..., object]:
    return wait_until


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    """The offset file every scheduler process reads its simulated time from (starts at 0)."""
    path = tmp_path / "clock-offset"
    path.write_text("0")
    return path
