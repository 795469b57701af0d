"""The embedded Redis: one server per ``var_dir``, shared by attaching, persistent across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from config.settings import Settings
from workers.embedded_redis import serving, socket_path, start_embedded_redis

pytestmark = pytest.mark.redis


def test_processes_share_one_server_whose_data_survives_a_restart(tmp_path: Path) -> None:
    var_dir = tmp_path / "a-var-dir-deep-enough" / ("x" * 60)
    assert len(str(socket_path(var_dir))) <= 100  # still a valid socket address
    url, stop = start_embedded_redis(var_dir)
    try:
        client = redis.Redis.from_url(url)
        client.set("kept", "yes")
        attached_url, detach = start_embedded_redis(var_dir)  # what a second process does
        assert attached_url == url
        detach()
        assert client.ping()  # attaching and detaching left the owner's server running
    finally:
        stop()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()

    url, stop = start_embedded_redis(var_dir)
    try:
        assert redis.Redis.from_url(url).get("kept") == b"yes"
    finally:
        stop()


def test_serving_stops_only_the_server_it_started(settings: Settings) -> None:
    with serving(settings) as owner:
        with serving(settings) as attached:  # a second process attaching meanwhile
            assert attached.redis_url == owner.redis_url
        assert redis.Redis.from_url(owner.redis_url).ping()  # still the owner's
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(owner.redis_url, socket_connect_timeout=0.5).ping()
