"""The Dramatiq actors, declared on the broker they are given: checking a site's footer
(``workers.footer``) and delivering one notification, at most once per idempotency key.

A message may arrive twice (the relay republishes a row whose acknowledgement was lost, Redis
requeues a dead worker's job), so the row, not the message, decides: only a ``pending``
notification is sent, and the send happens outside any transaction so a slow peer never holds
a database lock. The idempotency key travels with every attempt, so a peer that did receive a
message whose acknowledgement we never saw can drop the repeat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage, TimeLimitExceeded
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.expression import Executable
from sqlmodel import Session

from config.clock import as_utc, get_clock
from config.settings import Settings
from models import Job, Notification, NotificationStatus, table
from models.engine import ThreadConnections
from workers import footer
from workers.broker import QUEUE
from workers.channels import (
    DeliveryFailed,
    OutgoingMessage,
    PermanentDeliveryFailure,
    get_channel,
)
from workflow import failures
from workflow.availability import passes_by_itself
from workflow.outbox import FooterCheck

log = logging.getLogger(__name__)

# Where a delivery's single statements run: the connection each worker thread keeps, or (for
# callers outside a worker) an engine, each statement then checking out a connection.
Statements = Engine | ThreadConnections

# Built once: every delivery runs them (bench/notifications.py measures the worker's rate).
_NOTIFICATIONS = table(Notification)
_CLAIM = (
    update(_NOTIFICATIONS)
    .where(
        _NOTIFICATIONS.c.id == bindparam("b_id"),
        _NOTIFICATIONS.c.status == NotificationStatus.PENDING,
        or_(
            _NOTIFICATIONS.c.claimed_until.is_(None),
            _NOTIFICATIONS.c.claimed_until < bindparam("b_now"),
        ),
    )
    .values(
        attempts=_NOTIFICATIONS.c.attempts + 1,
        run_attempts=_NOTIFICATIONS.c.run_attempts + 1,
        claimed_until=bindparam("b_until"),
        next_attempt_at=None,
    )
    .returning(
        _NOTIFICATIONS.c.channel,
        _NOTIFICATIONS.c.idempotency_key,
        _NOTIFICATIONS.c.recipient,
        _NOTIFICATIONS.c.subject,
        _NOTIFICATIONS.c.body,
        _NOTIFICATIONS.c.filing_id,
        _NOTIFICATIONS.c.kind,
        _NOTIFICATIONS.c.deadline_id,
    )
)
_READ_STATE = select(_NOTIFICATIONS.c.status, _NOTIFICATIONS.c.claimed_until).where(
    _NOTIFICATIONS.c.id == bindparam("b_id")
)
_MARK_DELIVERED = (
    update(_NOTIFICATIONS)
    .where(
        _NOTIFICATIONS.c.id == bindparam("b_id"),
        _NOTIFICATIONS.c.status != NotificationStatus.DELIVERED,
    )
    .values(
        status=NotificationStatus.DELIVERED,
        delivered_at=bindparam("b_now"),
        last_error=None,
        claimed_until=None,
        failing_since=None,
        next_attempt_at=None,
    )
)
# Only while the lease is still this attempt's: one that outlived it (a send stuck past its
# time limit) must not give back the lease of the worker that took over, nor blame its error.
_NOTE_ERROR = (
    update(_NOTIFICATIONS)
    .where(
        _NOTIFICATIONS.c.id == bindparam("b_id"),
        _NOTIFICATIONS.c.status == NotificationStatus.PENDING,
        _NOTIFICATIONS.c.claimed_until == bindparam("b_until"),
    )
    .values(
        last_error=bindparam("b_error"),
        claimed_until=None,
        failing_since=func.coalesce(_NOTIFICATIONS.c.failing_since, bindparam("b_now")),
    )
)
# The retry Dramatiq scheduled, unless an attempt has started meanwhile.
_NOTE_NEXT_ATTEMPT = (
    update(_NOTIFICATIONS)
    .where(
        _NOTIFICATIONS.c.id == bindparam("b_id"),
        _NOTIFICATIONS.c.status == NotificationStatus.PENDING,
        _NOTIFICATIONS.c.claimed_until.is_(None),
    )
    .values(next_attempt_at=bindparam("b_at"))
)


# A footer check's own failures are results, recorded; what is retried is an unexpected error.
FOOTER_CHECK_RETRIES = 3


class DeliveryInProgress(dramatiq.Retry):
    """Another worker holds the lease on this notification: retry once it has expired."""


class DatabaseUnavailable(dramatiq.Retry):
    """The database is out of reach: no fault of the job's, so retry once it may be back, as
    long as it takes, and never record the job as failed for it."""


@dataclass(frozen=True)
class RetryPolicy:
    """Failures are retried ``max_retries`` times; an explicit ``dramatiq.Retry`` (a job
    waiting for another worker's lease or for the database) is waiting, not failing: never
    exhausted, and not counted (``workers.broker.PatientRetries``)."""

    max_retries: int

    def should_retry(self, retries: int, exception: BaseException) -> bool:
        return isinstance(exception, dramatiq.Retry) or retries < self.max_retries

    def is_final(self, exception: BaseException) -> bool:
        """Whether the running attempt, failing with ``exception``, is the job's last."""
        if isinstance(exception, PermanentDeliveryFailure):
            return True
        return not self.should_retry(_retries_so_far(), exception)


def _retries_so_far() -> int:
    """The running message's retries before this attempt (Dramatiq counts them in its
    options; waiting, ``dramatiq.Retry``, is not counted)."""
    message = CurrentMessage.get_current_message()
    return int(message.options.get("retries", 0)) if message is not None else 0


def declare_actors(
    broker: dramatiq.Broker,
    settings: Settings,
    engine: Engine,
    statements: Engine | None = None,
) -> dict[Job, dramatiq.Actor[Any, Any]]:
    """Declare one actor per job on ``broker``; they deliver with ``settings``, claiming and
    marking through ``statements`` (an autocommit engine on the same database, the cheap way
    to run single statements; ``engine`` when not given) on a connection each worker thread
    keeps, and recording final failures, which take a transaction, through ``engine``."""
    policy = RetryPolicy(settings.delivery_max_retries)
    claims = ThreadConnections(statements or engine)

    def deliver_notification(notification_id: int) -> None:
        def record(session: Session, error: str) -> object:
            return failures.record_final_failure(session, notification_id, error, get_clock().now())

        with _failing(f"notification {notification_id}", policy, settings, engine, record):
            deliver(claims, notification_id, settings)

    actor = dramatiq.actor(
        broker=broker,
        actor_name=Job.DELIVER_NOTIFICATION.value,
        queue_name=QUEUE,
        throws=(PermanentDeliveryFailure,),
        time_limit=int(settings.delivery_time_limit_seconds * 1000),
        retry_when=policy.should_retry,
        retry_scheduled=lambda message, delay_ms: note_next_attempt(
            claims, int(message.kwargs["notification_id"]), delay_ms
        ),
        min_backoff=settings.delivery_min_backoff_ms,
        max_backoff=settings.delivery_max_backoff_ms,
    )(deliver_notification)

    # A failed check is a result, recorded; only an unexpected error is retried, a few times.
    footer_policy = RetryPolicy(FOOTER_CHECK_RETRIES)

    def check_footer(service_id: int, obligation_id: int) -> None:
        job = FooterCheck(service_id=service_id, obligation_id=obligation_id)

        def record(session: Session, error: str) -> object:
            attempts = _retries_so_far() + 1
            now = get_clock().now()
            return failures.record_failed_job(session, Job.CHECK_FOOTER, job, error, attempts, now)

        with _failing(f"footer check {obligation_id}", footer_policy, settings, engine, record):
            footer.check_footer(engine, service_id, obligation_id, settings)

    footer_actor = dramatiq.actor(
        broker=broker,
        actor_name=Job.CHECK_FOOTER.value,
        queue_name=QUEUE,
        time_limit=int(footer.time_limit_seconds(settings) * 1000),
        retry_when=footer_policy.should_retry,
        min_backoff=settings.delivery_min_backoff_ms,
        max_backoff=settings.delivery_max_backoff_ms,
    )(check_footer)
    return {Job.DELIVER_NOTIFICATION: actor, Job.CHECK_FOOTER: footer_actor}


@contextmanager
def _failing(
    what: str,
    policy: RetryPolicy,
    settings: Settings,
    engine: Engine,
    record: Callable[[Session, str], object],
) -> Iterator[None]:
    """Run a job's attempt: the database out of reach is waited out, as long as it lasts, and
    the attempt's failure, when it is the job's last, is ``record``ed for ops to retry."""
    try:
        yield
    except BaseException as exc:  # TimeLimitExceeded is no Exception; it fails the attempt too
        if passes_by_itself(exc):
            wait = settings.unavailable_retry_after_seconds
            log.warning("database unavailable; %s waits %ss", what, wait)
            raise DatabaseUnavailable(type(exc).__name__, delay=wait * 1000) from exc
        if policy.is_final(exc):
            _record_final_failure(engine, what, record, exc)
        raise


def deliver(statements: Statements, notification_id: int, settings: Settings) -> bool:
    """Send a pending notification through its channel; True when this call delivered it.

    ``DeliveryFailed`` propagates so that Dramatiq retries with backoff.
    """
    claimed = _claim(statements, notification_id, settings)
    if claimed is None:
        return False
    channel_name, message, lease = claimed
    try:
        channel = get_channel(channel_name, settings)
    except ValueError as exc:  # a route naming a channel that does not exist
        _note_error(statements, notification_id, lease, str(exc))
        raise PermanentDeliveryFailure(str(exc)) from exc
    try:
        channel.send(message)
    except (DeliveryFailed, PermanentDeliveryFailure) as exc:
        _note_error(statements, notification_id, lease, str(exc))
        raise
    except TimeLimitExceeded as exc:
        # A peer answering too slowly to time out (a byte at a time): a failed attempt like
        # any other, retried and in the end recorded. Unnoted, its lease would run out as a
        # dead worker's does, and the lost-job sweep would start it over, retries and all.
        error = f"no answer within the {settings.delivery_time_limit_seconds:g} s time limit"
        _note_error(statements, notification_id, lease, error)
        raise DeliveryFailed(error) from exc
    _mark_delivered(statements, notification_id)
    return True


def _claim(
    statements: Statements, notification_id: int, settings: Settings
) -> tuple[str, OutgoingMessage, datetime] | None:
    """Take the lease and count the attempt (committed before the send, so a crash mid-send
    still shows it); the channel, the message and when the lease ends, or None when there is
    nothing left to deliver.

    Raises ``DeliveryInProgress`` while another worker's lease runs: the message is retried
    later and then finds the notification delivered, or the lease expired (that worker died).
    A lease given back since the claim found it taken (that worker's attempt failed) is tried
    again after the shortest wait.
    """
    now = get_clock().now()
    until = now + timedelta(seconds=settings.delivery_lease_seconds)
    row = _one(statements, _CLAIM, {"b_id": notification_id, "b_now": now, "b_until": until})
    if row is None:
        state = _one(statements, _READ_STATE, {"b_id": notification_id})
        if state is None or state.status != NotificationStatus.PENDING:
            log.info("notification %s is not pending; nothing to deliver", notification_id)
            return None
        wait_ms = 0
        if state.claimed_until is not None:
            wait_ms = int((as_utc(state.claimed_until) - now).total_seconds() * 1000) + 500
        raise DeliveryInProgress(
            f"notification {notification_id} is being sent by another worker",
            delay=max(1000, wait_ms),
        )
    payload: dict[str, Any] = {
        "notification_id": notification_id,
        "filing_id": row.filing_id,
        "kind": row.kind,
        "deadline_id": row.deadline_id,
    }
    message = OutgoingMessage(row.idempotency_key, row.recipient, row.subject, row.body, payload)
    return row.channel, message, until


def _mark_delivered(statements: Statements, notification_id: int) -> None:
    _one(statements, _MARK_DELIVERED, {"b_id": notification_id, "b_now": get_clock().now()})


def _note_error(statements: Statements, notification_id: int, lease: datetime, error: str) -> None:
    """Record the error (the run failing since now, if it was not already) and give up the
    lease, so the retry need not wait for it."""
    now = get_clock().now()
    params = {"b_id": notification_id, "b_until": lease, "b_error": error, "b_now": now}
    _one(statements, _NOTE_ERROR, params)


def note_next_attempt(statements: Statements, notification_id: int, delay_ms: int) -> None:
    """Record when the worker tries the notification again: the delay Dramatiq drew for its
    retry, counted on the app's clock (simulated in the demo). Only shown to ops, so a
    database out of reach loses it, with a warning, and nothing else."""
    at = get_clock().now() + timedelta(milliseconds=delay_ms)
    try:
        _one(statements, _NOTE_NEXT_ATTEMPT, {"b_id": notification_id, "b_at": at})
    except SQLAlchemyError:
        log.warning("could not record the next attempt of notification %s", notification_id)


def _record_final_failure(
    engine: Engine, what: str, record: Callable[[Session, str], object], exc: BaseException
) -> None:
    """A failure that cannot be recorded (the database gone in the meantime) is logged: a
    notification then stays pending, and the stranded sweep queues it again; a footer check
    is lost, and the service's next scheduled check comes as planned."""
    error = f"{type(exc).__name__}: {exc}"
    try:
        with Session(engine) as session:
            record(session, error)
            session.commit()
    except Exception:
        log.exception("could not record the final failure of %s", what)
        return
    log.warning("%s failed for good: %s", what, error)


def _one(statements: Statements, statement: Executable, params: dict[str, Any]) -> Row[Any] | None:
    """Run one statement committed on its own. Each may run twice, as ``ThreadConnections``
    requires: the marks are conditional, and a claim run again finds its own lease and waits
    it out (``DeliveryInProgress``) instead of sending twice."""
    if isinstance(statements, ThreadConnections):
        return statements.run(statement, params)
    with statements.begin() as connection:
        result = connection.execute(statement, params)
        return result.first() if result.returns_rows else None
