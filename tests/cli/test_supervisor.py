"""``icpflow up`` keeps the embedded Redis it owns up, and goes on when a restart fails."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import redis

from cli.supervisor import _RedisKeeper
from tests.delivery_kit import wait_for
from workers.embedded_redis import EmbeddedServer, data_dir_of, pid_file

pytestmark = pytest.mark.redis


def _kill(var_dir: Path) -> None:
    """SIGKILL, as the OOM killer would; back once it is gone (a zombie until reaped)."""
    pid = int(pid_file(var_dir).read_text())
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _dead(pid), 10, "the server to die")


def _dead(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


def test_a_restart_that_fails_is_tried_again_after_a_pause(tmp_path: Path) -> None:
    """Its append-only file damaged, the server will not start until someone repairs it."""
    var_dir = tmp_path / "var"
    server = EmbeddedServer(var_dir)
    keeper = _RedisKeeper(server)
    try:
        redis.Redis.from_url(server.url).set("kept", "yes")
        _kill(var_dir)
        damaged = [p for p in data_dir_of(var_dir).rglob("appendonly*") if p.is_file()]
        for path in damaged:
            path.write_text("not an append-only file\n")

        keeper.keep_up()

        assert keeper.failures == 1 and keeper.next_try > 0
        for path in damaged:  # repaired: started again with nothing kept
            path.unlink()
        keeper.next_try = 0.0
        keeper.keep_up()
        assert keeper.failures == 0
        assert redis.Redis.from_url(server.url).ping()
    finally:
        server.stop()
