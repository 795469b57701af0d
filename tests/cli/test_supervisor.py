"""``icpflow up`` keeps the embedded Redis it owns up, and goes on when a restart fails."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import redis

from cli.supervisor import _RedisKeeper
from tests.delivery_kit import wait_for
from workers.embedded_redis import EmbeddedServer, data_dir_of, pid_file

pytestmark = pytest.mark.redis


def _kill(var_dir: Path) -> None:
    """SIGKILL, as the OOM killer would."""
    os.kill(int(pid_file(data_dir_of(var_dir)).read_text()), signal.SIGKILL)


def test_a_restart_that_fails_is_tried_again_after_a_pause(tmp_path: Path) -> None:
    """Its log file turned into a directory, the server cannot start until someone repairs it."""
    var_dir = tmp_path / "var"
    server = EmbeddedServer(var_dir)
    keeper = _RedisKeeper(server)
    log_file = data_dir_of(var_dir) / "redis.log"
    try:
        log_file.unlink()
        log_file.mkdir()
        _kill(var_dir)

        def tried_once() -> bool:  # the supervisor's loop, until it sees the server gone
            keeper.keep_up()
            return keeper.failures == 1

        before = time.monotonic()
        wait_for(tried_once, 10, "a failed restart")
        assert keeper.next_try >= before + 2  # a pause of 2 s after the first failure
        log_file.rmdir()  # repaired
        keeper.next_try = 0.0
        keeper.keep_up()
        assert keeper.failures == 0
        assert redis.Redis.from_url(server.url).ping()
    finally:
        server.stop()
