"""A transition fired through the service is delivered once by a separate worker process."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.delivery_kit import System, logged_keys, owe_notifications, statuses, wait_for
from tests.http_peer import HTTPPeer

pytestmark = pytest.mark.slow


def assert_delivered_once_each(system: System, session: Session, peer: HTTPPeer) -> None:
    owe_notifications(session, 1, routes=[{"channel": "webhook", "recipient": peer.url()}])
    wait_for(lambda: statuses(system.db.engine) == {"delivered": 2}, 30, "both deliveries")
    [logged] = logged_keys(system.log_file).values()
    assert logged == 1
    assert list(peer.delivered.values()) == [1]
    assert len(peer.received) == 1


@pytest.mark.redis
def test_over_redis(system: System, session: Session, http_peer: HTTPPeer) -> None:
    system.worker.start()
    assert_delivered_once_each(system, session, http_peer)


@pytest.mark.rabbitmq
def test_over_rabbitmq(rabbitmq_system: System, session: Session, http_peer: HTTPPeer) -> None:
    rabbitmq_system.worker.start()
    assert_delivered_once_each(rabbitmq_system, session, http_peer)
