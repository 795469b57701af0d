"""``icpflow up`` (what ``make run`` ends in): the whole system from one command.

Nothing installed but the package: SQLite under VAR_DIR and the embedded Redis. A filing
created and withdrawn over HTTP is notified by the worker process, even after the embedded
Redis was killed (up starts it again), and Ctrl-C stops every process, the embedded Redis
included.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.delivery_kit import free_port, wait_for
from tests.factories import expiry_on_the_real_clock, make_payload

pytestmark = [pytest.mark.slow, pytest.mark.redis]


def embedded(tmp_path: Path, port: int) -> dict[str, str]:
    """The environment of a machine with nothing installed: no database or broker named."""
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "BROKER_URL"}
    }
    env.update(
        VAR_DIR=str(tmp_path / "var"), PORT=str(port), NOTIFY_LOG_FILE=str(tmp_path / "notify.log")
    )
    return env


def test_up_on_a_port_in_use_exits_at_once_naming_it(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        refused = subprocess.run(
            [sys.executable, "-m", "cli", "up"],
            env=embedded(tmp_path, port),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert (refused.returncode, refused.stderr.splitlines()[0]) == (
        1,
        f"error: cannot serve on 127.0.0.1:{port}: Address already in use",
    )


def test_up_serves_the_api_delivers_notifications_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = embedded(tmp_path, port)
    output = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen(
        [sys.executable, "-m", "cli", "up"],
        env=env,
        cwd=tmp_path,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(base), timeout=30, what="the API to answer /readyz")
        token = re.search(r"icp_[A-Za-z0-9_-]+", (tmp_path / "up.log").read_text())
        assert token is not None
        headers = {"Authorization": f"Bearer {token.group(0)}"}
        filing = httpx.post(
            f"{base}/api/v1/filings",
            json=make_payload(domain_expires_on=expiry_on_the_real_clock()),
            headers=headers,
            timeout=30,
        ).json()
        fired = httpx.post(
            f"{base}/api/v1/filings/{filing['id']}/events",
            json={"event": "withdraw", "data": {"reason": "done"}, "expected_version": 1},
            headers=headers,
            timeout=30,
        )
        assert fired.json()["state"] == "withdrawn"

        def delivered() -> bool:
            notes = httpx.get(
                f"{base}/api/v1/filings/{filing['id']}/notifications", headers=headers, timeout=30
            ).json()
            return [n["status"] for n in notes] == ["delivered"]

        wait_for(delivered, timeout=60, what="the withdrawal notice to be delivered")
        assert "1:withdraw:v2" in (tmp_path / "notify.log").read_text()

        # The embedded Redis killed outright: up starts it again, and delivery goes on.
        os.kill(int((tmp_path / "var" / "redis" / "redis.pid").read_text()), signal.SIGKILL)
        wait_for(lambda: "started it again" in (tmp_path / "up.log").read_text(), 60, "a restart")
        second = httpx.post(
            f"{base}/api/v1/filings",
            json=make_payload(domain="second.cn", domain_expires_on=expiry_on_the_real_clock()),
            headers=headers,
            timeout=30,
        ).json()
        httpx.post(
            f"{base}/api/v1/filings/{second['id']}/events",
            json={"event": "withdraw", "data": {"reason": "done"}, "expected_version": 1},
            headers=headers,
            timeout=30,
        )
        wait_for(
            lambda: f"{second['id']}:withdraw:v2" in (tmp_path / "notify.log").read_text(),
            30,
            "the second withdrawal notice to be delivered after the restart",
        )
    finally:
        up.send_signal(signal.SIGINT)
        code = up.wait(timeout=30)
        output.close()
    assert code == 0, (tmp_path / "up.log").read_text()
    assert "stopped" in (tmp_path / "up.log").read_text()
    # A grandchild may still be flushing as ``up`` returns; one left after seconds was orphaned.
    wait_for(lambda: not _processes_under(tmp_path), 10, "every child of icpflow up to exit")


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _processes_under(directory: Path) -> list[str]:
    """Command lines of live processes working under ``directory`` (the children of ``up``)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if Path(proc / "cwd").resolve().is_relative_to(directory.resolve()):
                found.append((proc / "cmdline").read_text().replace("\0", " "))
        except OSError:
            continue
    return found
