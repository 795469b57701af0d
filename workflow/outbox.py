"""The transactional outbox: background work is written with the change that causes it.

A transition never talks to the broker inside its transaction. It owes jobs as outbox rows,
each a named ``Job`` with its typed payload; once the transaction commits, the session's own
publisher (if whoever made the session gave it one) relays them at once, and the scheduler's
relay sweep publishes whatever that missed (no publisher, broker down, process killed between
commit and publish).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import event, insert
from sqlmodel import Session

from models import Job, OutboxMessage, table

log = logging.getLogger(__name__)

Publisher = Callable[[Sequence[int]], None]
_PUBLISHER = "icpflow.outbox_publisher"
_IDS = "icpflow.outbox_ids"
_OUTBOX = table(OutboxMessage)
# The ids are handed to the publisher as a set: no order needs keeping.
_INSERT = insert(_OUTBOX).returning(_OUTBOX.c.id)


class Delivery(BaseModel):
    """``Job.DELIVER_NOTIFICATION``: send one notification (its row says what and to whom)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    notification_id: int


class FooterCheck(BaseModel):
    """``Job.CHECK_FOOTER``: fetch a live service's home page and record whether its footer
    shows the record number; ``obligation_id`` is the scheduled check it answers."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    service_id: int
    obligation_id: int


# What each job's payload is; the worker's actor for a job takes exactly these fields.
PAYLOADS: dict[Job, type[BaseModel]] = {
    Job.DELIVER_NOTIFICATION: Delivery,
    Job.CHECK_FOOTER: FooterCheck,
}


def owe_deliveries(session: Session, notification_ids: Collection[int], now: datetime) -> list[int]:
    """Owe one delivery job per notification in the caller's transaction; returns the row ids."""
    payloads = [Delivery(notification_id=i) for i in notification_ids]
    return _owe(session, Job.DELIVER_NOTIFICATION, payloads, now)


def owe(session: Session, job: Job, payload: BaseModel, now: datetime) -> list[int]:
    """Owe one job in the caller's transaction; returns the row's id."""
    assert isinstance(payload, PAYLOADS[job]), f"{job} takes a {PAYLOADS[job].__name__}"
    return _owe(session, job, [payload], now)


def payload(job: str, data: Any) -> BaseModel:
    """A row's payload as its job's type; ``ValueError`` (pydantic's included) when the row
    names no known job or its payload does not fit."""
    return PAYLOADS[Job(job)].model_validate(data)


def session_info(publisher: Publisher | None) -> dict[str, Any]:
    """``Session(..., info=session_info(p))``: the session's commits are relayed through ``p``.

    Asking for a publisher is what has sessions listened to (``_listen``), once in a process:
    a process that relays nothing at once (worker, scheduler, CLI: their rows wait for the
    relay sweep) runs no outbox code at its commits, and importing this module changes no
    session. Tied to the publisher so no process that has one can miss it."""
    if publisher is None:
        return {}
    if not _listening.is_set():
        _listen()
    return {_PUBLISHER: publisher}


def relayed_as(session: Session) -> dict[str, Any]:
    """The ``info`` of another session whose commits are relayed as ``session``'s are: the web's
    own work done in a session of its own still reaches the broker at once."""
    return session_info(session.info.get(_PUBLISHER))


def _owe(session: Session, job: Job, payloads: Sequence[BaseModel], now: datetime) -> list[int]:
    if not payloads:
        return []
    rows = [
        {"job": job, "payload": p.model_dump(mode="json"), "created_at": now, "attempts": 0}
        for p in payloads
    ]
    ids = list(session.connection().execute(_INSERT, rows).scalars())
    if _PUBLISHER in session.info:  # else nobody collects them, and a long session would hoard them
        session.info.setdefault(_IDS, []).extend(ids)
    return ids


_listening = threading.Event()
_listening_lock = threading.Lock()


def _listen() -> None:
    """Listen to every session's commits and rollbacks: on the class, since a listener put on
    one session gives it a copy of the class's listeners, a cost each request would pay."""
    with _listening_lock:
        if _listening.is_set():
            return
        event.listen(Session, "after_commit", _relay_committed)
        event.listen(Session, "after_rollback", _forget_rolled_back)
        _listening.set()


# SQLAlchemy tells of a savepoint's end (``begin_nested``: a deadline's event fired inside
# another event) as of a transaction's. Only the transaction's own end counts: rows a savepoint
# released are not committed yet, and rows it rolled back simply find nothing to publish.


def _relay_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return
    ids = session.info.pop(_IDS, [])
    publisher: Publisher | None = session.info.get(_PUBLISHER)
    if not ids or publisher is None:
        return
    try:
        publisher(ids)
    except Exception:
        log.warning(
            "immediate relay of outbox rows %s failed; the relay sweep will retry",
            ids,
            exc_info=True,
        )


def _forget_rolled_back(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_IDS, None)
