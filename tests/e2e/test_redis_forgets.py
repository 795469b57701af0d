"""A Redis without persistence killed mid-burst: it comes back empty, and the jobs it held are
gone. The scheduler's relay sweep owes them again once they went unstarted for its window, and
the claim keeps every notification delivered once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from models import Notification, NotificationStatus
from tests.delivery_kit import (
    RedisServer,
    System,
    WorkerProcess,
    logged_keys,
    owe_notifications,
    queued_message_ids,
    statuses,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis]

BURST = 200
ROUTES = [{"channel": "log", "recipient": "ops-desk"}]  # with the case managers': two a transition
DELIVERED_WITHIN_SECONDS = 120


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """The kit's private Redis, with persistence off (the ``system`` fixture runs on it)."""
    server = RedisServer(tmp_path / "redis", persistent=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def scheduler(system: System) -> Iterator[WorkerProcess]:
    """``icpflow scheduler`` on the system's database and Redis, its relay sweep every second
    and the unstarted window short."""
    env = system.worker.env | {
        "UNSTARTED_AFTER_SECONDS": "5",
        "RELAY_INTERVAL_SECONDS": "1",
        "LEADER_POLL_SECONDS": "0.5",
    }
    process = replace(system.worker, env=env, command="scheduler", process=None, starts=0)
    yield process
    process.kill()
    print(process.logs())  # shown by pytest when the test failed


def delivered_rows_per_key(system: System) -> set[int]:
    with Session(system.db.engine) as session:
        query = (
            select(func.count())
            .where(col(Notification.status) == NotificationStatus.DELIVERED)
            .group_by(col(Notification.idempotency_key))
        )
        return set(session.exec(query).all())


def test_jobs_a_redis_without_persistence_forgot_are_delivered_once_soon_after_its_restart(
    system: System, session: Session, redis_server: RedisServer, scheduler: WorkerProcess
) -> None:
    restarted = 0.0
    for i in range(BURST):
        if i == BURST // 2:
            assert system.relay.drain(30)  # the first half is in Redis, and nowhere else
            redis_server.kill()
            redis_server.start()
            restarted = time.monotonic()
        owe_notifications(session, 1, routes=ROUTES, start=i)
    assert system.relay.drain(30)
    owed = 2 * BURST
    forgotten = owed - len(queued_message_ids(system.broker))
    assert forgotten >= owed // 2, "Redis kept jobs it should have lost"

    system.worker.start()
    scheduler.start()
    left = DELIVERED_WITHIN_SECONDS - (time.monotonic() - restarted)
    wait_for(lambda: statuses(system.db.engine) == {"delivered": owed}, left, "every delivery")

    assert delivered_rows_per_key(system) == {1}
    logged = logged_keys(system.log_file)
    assert len(logged) == owed and set(logged.values()) == {1}
