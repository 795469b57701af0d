"""Relay committed outbox rows to the broker: at once after commit, and by the scheduler's sweep.

A row names its job and holds that job's payload; the relay turns it into the Dramatiq message
for that job's actor, the payload's fields as keyword arguments. It publishes through the
broker it is handed, on which no actor need be declared.

A row is claimed inside a transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` serialises writers anyway), enqueued, and marked published in that same
transaction, so two relays never publish one row twice and a row whose enqueue failed stays
for the next sweep. Only a lost acknowledgement (broker accepted, commit failed) can publish a
row twice, which the idempotent actors absorb.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Sequence

import dramatiq
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from config.clock import get_clock
from models import OutboxMessage
from workers.broker import QUEUE
from workflow import outbox

log = logging.getLogger(__name__)

_MESSAGE_NAMESPACE = uuid.UUID("5d1f0c8e-7a5b-4f43-9d0e-3f6f1b2a9c41")
_MAX_ERROR_LENGTH = 2000


def message_id(outbox_id: int) -> str:
    """The same outbox row always becomes the same Dramatiq message id (traceable in logs)."""
    return str(uuid.uuid5(_MESSAGE_NAMESPACE, f"outbox:{outbox_id}"))


def publish(ids: Sequence[int], engine: Engine, broker: dramatiq.Broker) -> int:
    """Relay these committed rows, unless already published; returns how many were published."""
    if not ids:
        return 0
    query = select(OutboxMessage).where(col(OutboxMessage.id).in_(list(ids)))
    return _relay(engine, broker, query)


def relay_pending(engine: Engine, broker: dramatiq.Broker, limit: int = 500) -> int:
    """Relay the oldest unpublished rows, up to ``limit``; returns how many were published."""
    return _relay(engine, broker, select(OutboxMessage).limit(limit))


def _relay(engine: Engine, broker: dramatiq.Broker, query: SelectOfScalar[OutboxMessage]) -> int:
    # Rows that already failed go last, so a few unusable ones cannot starve the rest.
    query = query.where(col(OutboxMessage.published_at).is_(None)).order_by(
        col(OutboxMessage.attempts), col(OutboxMessage.id)
    )
    if engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    published = 0
    with Session(engine) as session:
        for row in session.exec(query).all():
            try:
                message = job_message(row)
            except ValueError as exc:  # no such job, or a payload that does not fit
                _note_failure(row, exc)  # this row is unusable; the others may be fine
                continue
            try:
                broker.enqueue(message)
            except Exception as exc:  # the clients raise many types; all mean "not accepted"
                _note_failure(row, exc)
                log.warning("broker refused outbox row %s; the relay sweep retries it", row.id)
                break  # the broker is down: do not wait for each remaining row to time out
            row.published_at = get_clock().now()
            published += 1
        session.commit()
    return published


def job_message(row: OutboxMessage) -> dramatiq.Message[object]:
    """The message for the row's job: its actor (named as the job), its payload as keywords."""
    assert row.id is not None
    payload = outbox.payload(row)
    return dramatiq.Message(
        queue_name=QUEUE,
        actor_name=str(row.job),
        args=(),
        kwargs=payload.model_dump(),
        options={},
        message_id=message_id(row.id),
    )


def _note_failure(row: OutboxMessage, exc: Exception) -> None:
    row.attempts += 1
    row.last_error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_LENGTH]


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
        """Wait until everything submitted was handled (tests, graceful shutdown)."""
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
