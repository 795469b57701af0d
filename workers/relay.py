"""Relay committed outbox rows to the broker: at once after commit, and by the scheduler's sweep.

A row names its job and holds that job's payload; the relay turns it into the Dramatiq message
for that job's actor, the payload's fields as keyword arguments. It publishes through the
broker it is handed, on which no actor need be declared.

A relay claims its rows for a while (``CLAIM``) in one short transaction (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, SQLite's ``BEGIN IMMEDIATE`` serialises relays anyway), enqueues them
holding no transaction, and marks them published in another. So two relays do not publish one
row at once, a row whose enqueue failed stays for the next sweep, and one whose relay died is
taken up when its claim ends. A relay stops enqueueing halfway through its claim and leaves
the rest to the next; its closing marks touch only rows still under its own claim. A row is
published twice only when an acknowledgement is lost (broker accepted, marking failed) or a
broker call outlasts half the claim; the idempotent actors absorb both.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import dramatiq
from sqlalchemy import Select, bindparam, or_, select, update
from sqlalchemy.engine import Engine

from config.clock import get_clock
from models import OutboxMessage, table
from workers.broker import QUEUE
from workflow import outbox

log = logging.getLogger(__name__)

_MESSAGE_NAMESPACE = uuid.UUID("5d1f0c8e-7a5b-4f43-9d0e-3f6f1b2a9c41")
_MAX_ERROR_LENGTH = 2000

# How long a relay's claim on the rows it publishes lasts. It enqueues for half of it at most
# (a Redis call gives up within seconds, workers/broker.py), so only a relay that died, or hangs
# on the broker, loses its rows to another; they wait this long at most for the sweep.
CLAIM = timedelta(minutes=2)

# Built once: the immediate relay runs them after every commit that owes work.
_OUTBOX = table(OutboxMessage)
# Rows that already failed go last, so a few unusable ones cannot starve the rest. SQLite has
# no FOR UPDATE (its BEGIN IMMEDIATE serialises relays anyway) and renders none.
_UNPUBLISHED = (
    select(_OUTBOX.c.id, _OUTBOX.c.job, _OUTBOX.c.payload)
    .where(
        _OUTBOX.c.published_at.is_(None),
        or_(_OUTBOX.c.claimed_until.is_(None), _OUTBOX.c.claimed_until <= bindparam("b_now")),
    )
    .order_by(_OUTBOX.c.attempts, _OUTBOX.c.id)
    .with_for_update(skip_locked=True)
)
_UNPUBLISHED_OF_IDS = _UNPUBLISHED.where(_OUTBOX.c.id.in_(bindparam("b_ids", expanding=True)))
_UNPUBLISHED_OLDEST = _UNPUBLISHED.limit(bindparam("b_limit"))
_CLAIM = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(claimed_until=bindparam("b_until"))
)
# Published is true whoever holds the row now; the first time it was is kept.
_MARK_PUBLISHED = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("b_ids", expanding=True)), _OUTBOX.c.published_at.is_(None))
    .values(published_at=bindparam("b_now"), claimed_until=None)
)
# A failure is noted, and a row given back, only while this relay's claim on it stands: once
# it ran out the row is another relay's.
_STILL_MINE = _OUTBOX.c.claimed_until == bindparam("b_until")
_NOTE_FAILURE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("b_id"), _STILL_MINE)
    .values(attempts=_OUTBOX.c.attempts + 1, last_error=bindparam("b_error"), claimed_until=None)
)
_RELEASE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("b_ids", expanding=True)), _STILL_MINE)
    .values(claimed_until=None)
)


def message_id(outbox_id: int) -> str:
    """The same outbox row always becomes the same Dramatiq message id (traceable in logs)."""
    return str(uuid.uuid5(_MESSAGE_NAMESPACE, f"outbox:{outbox_id}"))


def publish(ids: Sequence[int], engine: Engine, broker: dramatiq.Broker) -> int:
    """Relay these committed rows, unless already published; returns how many were published."""
    if not ids:
        return 0
    return _relay(engine, broker, _UNPUBLISHED_OF_IDS, {"b_ids": list(ids)})


def relay_pending(engine: Engine, broker: dramatiq.Broker, limit: int = 500) -> int:
    """Relay the oldest unpublished rows, up to ``limit``; returns how many were published."""
    return _relay(engine, broker, _UNPUBLISHED_OLDEST, {"b_limit": limit})


def _relay(
    engine: Engine, broker: dramatiq.Broker, query: Select[Any], params: Mapping[str, Any]
) -> int:
    """Claim, publish holding nothing, mark. A transaction left open across the broker calls
    held SQLite's write lock: a broker that hung stopped every writer until it timed out."""
    with engine.begin() as connection:
        now = get_clock().now()  # once the transaction has begun: SQLite's may have waited
        rows = connection.execute(query, {**params, "b_now": now}).all()
        if not rows:
            return 0
        until = now + CLAIM
        connection.execute(_CLAIM, {"b_ids": [row_id for row_id, _, _ in rows], "b_until": until})
    published: list[int] = []
    failed: dict[int, str] = {}
    try:
        for row_id, job, data in rows:
            if get_clock().now() >= now + CLAIM / 2:
                break  # the rest go to the next relay before this claim can run out
            try:
                message = job_message(row_id, job, data)
            except ValueError as exc:  # no such job, or a payload that does not fit
                failed[row_id] = _error(exc)  # unusable; the others may be fine
                continue
            try:
                broker.enqueue(message)
            except Exception as exc:  # the clients raise many types; all mean "not accepted"
                failed[row_id] = _error(exc)
                log.warning("broker refused outbox row %s; the relay sweep retries it", row_id)
                break  # the broker is down: do not wait for each remaining row to time out
            published.append(row_id)
    finally:
        _close(engine, until, [row_id for row_id, _, _ in rows], published, failed)
    return len(published)


def _close(
    engine: Engine,
    until: datetime,
    claimed: list[int],
    published: list[int],
    failed: dict[int, str],
) -> None:
    """Mark what was published, note what failed, and give the rest back to the next sweep at
    once rather than when the claim ends."""
    untried = [row_id for row_id in claimed if row_id not in failed and row_id not in published]
    with engine.begin() as connection:
        if published:
            connection.execute(_MARK_PUBLISHED, {"b_ids": published, "b_now": get_clock().now()})
        for row_id, error in failed.items():
            connection.execute(_NOTE_FAILURE, {"b_id": row_id, "b_error": error, "b_until": until})
        if untried:
            connection.execute(_RELEASE, {"b_ids": untried, "b_until": until})


def job_message(outbox_id: int, job: str, data: Any) -> dramatiq.Message[object]:
    """The message for a row's job: its actor (named as the job), its payload as keywords."""
    payload = outbox.payload(job, data)
    return dramatiq.Message(
        queue_name=QUEUE,
        actor_name=str(job),
        args=(),
        kwargs=payload.model_dump(),
        options={},
        message_id=message_id(outbox_id),
    )


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_LENGTH]


class ImmediateRelay:
    """Publishes committed rows from one background thread, so a slow or dead broker delays
    nobody's HTTP response; whatever it fails to publish stays for the relay sweep.

    A session relays through it when made with ``info=outbox.session_info(relay.submit)``.
    """

    def __init__(self, engine: Engine, broker: dramatiq.Broker) -> None:
        self._engine = engine
        self._broker = broker
        self._ids: queue.Queue[Sequence[int] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()

    def submit(self, ids: Sequence[int]) -> None:
        self._ids.put(list(ids))

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted was handled (what a test waits for)."""
        done = threading.Event()

        def wait_for_queue() -> None:
            self._ids.join()
            done.set()

        threading.Thread(target=wait_for_queue, daemon=True).start()
        return done.wait(timeout)

    def stop(self) -> None:
        self._ids.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while (ids := self._ids.get()) is not None:
            batch = list(ids)
            while not self._ids.empty():  # coalesce a burst into one transaction
                more = self._ids.get_nowait()
                self._ids.task_done()
                if more is None:
                    self._ids.put(None)
                    break
                batch += more
            try:
                publish(batch, self._engine, self._broker)
            except Exception:
                log.warning("immediate relay of %d outbox rows failed", len(batch), exc_info=True)
            finally:
                self._ids.task_done()
        self._ids.task_done()
