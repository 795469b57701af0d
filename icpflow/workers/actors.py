"""The Dramatiq actors: delivering one notification, at most once per idempotency key.

A message may arrive twice (the relay republishes a row whose acknowledgement was lost, Redis
requeues a dead worker's job), so the row, not the message, decides: only a ``pending``
notification is sent, and the send happens outside any transaction so a slow peer never holds
a database lock. The idempotency key travels with every attempt, so a peer that did receive a
message whose acknowledgement we never saw can drop the repeat.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dramatiq
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from icpflow.clock import get_clock
from icpflow.models import Notification, get_engine
from icpflow.settings import Settings, get_settings
from icpflow.workers.broker import QUEUE, get_broker
from icpflow.workers.channels import (
    DeliveryFailed,
    OutgoingMessage,
    PermanentDeliveryFailure,
    get_channel,
)
from icpflow.workflow.notices import DELIVER_ACTOR

log = logging.getLogger(__name__)

# Notifications being sent by this process. A duplicate message for one of them is dropped:
# should that send fail, its own message is retried; should this process die, Redis requeues
# both. (Duplicates running in two processes at once would need a lease on the row.)
_sending: set[int] = set()
_sending_lock = threading.Lock()

get_broker()  # before any actor is declared, or Dramatiq would invent a default broker


@dramatiq.actor(actor_name=DELIVER_ACTOR, queue_name=QUEUE, throws=(PermanentDeliveryFailure,))
def deliver_notification(notification_id: int) -> None:
    deliver(get_engine(), notification_id, get_settings())


def deliver(engine: Engine, notification_id: int, settings: Settings) -> bool:
    """Send a pending notification through its channel; True when this call delivered it.

    ``DeliveryFailed`` propagates so that Dramatiq retries with backoff; a final failure is
    recorded by the broker's ``RecordFinalFailure`` middleware.
    """
    with _only_sender(notification_id) as alone:
        if not alone:
            log.info("notification %s is being sent by this process already", notification_id)
            return False
        return _deliver(engine, notification_id, settings)


@contextmanager
def _only_sender(notification_id: int) -> Iterator[bool]:
    with _sending_lock:
        alone = notification_id not in _sending
        _sending.add(notification_id)
    try:
        yield alone
    finally:
        if alone:
            with _sending_lock:
                _sending.discard(notification_id)


def _deliver(engine: Engine, notification_id: int, settings: Settings) -> bool:
    claimed = _start_attempt(engine, notification_id)
    if claimed is None:
        return False
    channel_name, message = claimed
    try:
        channel = get_channel(channel_name, settings)
    except ValueError as exc:  # a route naming a channel that does not exist
        _note_error(engine, notification_id, str(exc))
        raise PermanentDeliveryFailure(str(exc)) from exc
    try:
        channel.send(message)
    except (DeliveryFailed, PermanentDeliveryFailure) as exc:
        _note_error(engine, notification_id, str(exc))
        raise
    _mark_delivered(engine, notification_id)
    return True


def _start_attempt(engine: Engine, notification_id: int) -> tuple[str, OutgoingMessage] | None:
    """Count the attempt (committed before the send, so a crash mid-send still shows it) and
    read what to send; None when the notification is gone or no longer pending."""
    with Session(engine, expire_on_commit=False) as session:
        counted = session.exec(
            update(Notification)
            .where(col(Notification.id) == notification_id, col(Notification.status) == "pending")
            .values(attempts=col(Notification.attempts) + 1)
        )
        row = session.get(Notification, notification_id) if counted.rowcount else None
        session.commit()
    if row is None:
        log.info("notification %s is not pending; nothing to deliver", notification_id)
        return None
    payload: dict[str, Any] = {
        "notification_id": row.id,
        "filing_id": row.filing_id,
        "kind": row.kind,
        "deadline_id": row.deadline_id,
    }
    message = OutgoingMessage(row.idempotency_key, row.recipient, row.subject, row.body, payload)
    return row.channel, message


def _mark_delivered(engine: Engine, notification_id: int) -> None:
    _update(
        engine,
        notification_id,
        col(Notification.status) != "delivered",
        status="delivered",
        delivered_at=get_clock().now(),
        last_error=None,
    )


def _note_error(engine: Engine, notification_id: int, error: str) -> None:
    _update(engine, notification_id, col(Notification.status) == "pending", last_error=error)


def _update(engine: Engine, notification_id: int, condition: Any, **values: Any) -> None:
    with Session(engine) as session:
        session.exec(
            update(Notification)
            .where(col(Notification.id) == notification_id, condition)
            .values(**values)
        )
        session.commit()
