"""The embedded Redis: one server per ``var_dir``, shared by attaching, persistent across restarts."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import redis

from config.settings import Settings
from tests.delivery_kit import wait_for
from workers.embedded_redis import EmbeddedServer, serving, socket_path

pytestmark = pytest.mark.redis


def test_processes_share_one_server_whose_data_survives_a_restart(tmp_path: Path) -> None:
    var_dir = tmp_path / "a-var-dir-deep-enough" / ("x" * 60)
    assert len(str(socket_path(var_dir))) <= 100  # still a valid socket address
    owner = EmbeddedServer(var_dir)
    try:
        client = redis.Redis.from_url(owner.url)
        client.set("kept", "yes")
        attached = EmbeddedServer(var_dir)  # what a second process does
        assert attached.url == owner.url
        attached.stop()
        assert client.ping()  # attaching and detaching left the owner's server running
    finally:
        owner.stop()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(owner.url, socket_connect_timeout=0.5).ping()

    again = EmbeddedServer(var_dir)
    try:
        assert redis.Redis.from_url(again.url).get("kept") == b"yes"
    finally:
        again.stop()


def test_serving_stops_only_the_server_it_started(settings: Settings) -> None:
    with serving(settings) as owner:
        with serving(settings) as attached:  # a second process attaching meanwhile
            assert attached.redis_url == owner.redis_url
        assert redis.Redis.from_url(owner.redis_url).ping()  # still the owner's
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(owner.redis_url, socket_connect_timeout=0.5).ping()


def test_a_server_that_died_is_started_again_by_its_owner_with_its_jobs(tmp_path: Path) -> None:
    owner = EmbeddedServer(tmp_path / "var")
    try:
        redis.Redis.from_url(owner.url).rpush("queue", "job")
        assert not owner.keep_up()  # alive: nothing to do
        pid = int((tmp_path / "var" / "redis" / "redis.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: owner.keep_up(), 10, "the owner to see its server gone")
        assert redis.Redis.from_url(owner.url).lrange("queue", 0, -1) == [b"job"]
    finally:
        owner.stop()


def test_a_server_only_attached_to_is_not_started_again_by_who_attached(tmp_path: Path) -> None:
    owner = EmbeddedServer(tmp_path / "var")
    attached = EmbeddedServer(tmp_path / "var")
    owner.stop()  # as its owner exits

    assert not attached.keep_up()
    with pytest.raises(redis.ConnectionError):  # nothing started it again
        redis.Redis.from_url(attached.url, socket_connect_timeout=0.5).ping()
