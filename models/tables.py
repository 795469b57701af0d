"""The tables.

Times are stored as UTC. The filing's state is a plain column driven by the shared
state machine in ``workflow.domain.machine``; ``version`` makes every write conditional
(optimistic concurrency). Deadlines and outbox rows are rows, not timers, so a restart
loses nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import JSON, Column, DateTime, Index, String, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from config import bounds


class DeadlineStatus(StrEnum):
    """A deadline waits (``pending``), comes due and is acted on (``fired``), or is closed
    unfired because the filing left the state that armed it (``disarmed``)."""

    PENDING = "pending"
    FIRED = "fired"
    DISARMED = "disarmed"


class NotificationStatus(StrEnum):
    """A notification is owed (``pending``) until a worker delivers it or gives up on it."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Job(StrEnum):
    """The background jobs an outbox row can owe; each names the worker actor that runs it."""

    DELIVER_NOTIFICATION = "deliver_notification"


def table(model: type[SQLModel]) -> Table:
    """The Core table behind a model: hot paths write rows with it, without ORM objects."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


def _utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))


class Filing(SQLModel, table=True):
    __tablename__ = "filings"
    __table_args__ = (Index("ix_filings_state_province", "state", "province"),)

    id: int | None = Field(default=None, primary_key=True)
    domain: str = Field(max_length=bounds.DOMAIN, index=True)
    domain_expires_on: date
    province: str = Field(max_length=bounds.PROVINCE)
    licence: str = Field(max_length=bounds.CODE)
    applicant_type: str = Field(max_length=bounds.CODE)
    applicant_name: str = Field(max_length=bounds.NAME)
    applicant_id_type: str = Field(max_length=bounds.DOCUMENT_TYPE)
    applicant_id_number: str = Field(max_length=bounds.ID_NUMBER)
    applicant_phone: str = Field(max_length=bounds.PHONE)
    applicant_email: str = Field(max_length=bounds.EMAIL)
    website_name: str = Field(max_length=bounds.NAME)
    sector: str = Field(max_length=bounds.SECTOR)
    notify: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )

    state: str = Field(max_length=bounds.STATE)
    version: int = 1
    state_entered_at: datetime = _utc_column()
    created_at: datetime = _utc_column()
    created_by: str = Field(max_length=bounds.ACTOR)

    service_number: str | None = Field(default=None, max_length=bounds.SERVICE_NUMBER)
    server_ip: str | None = Field(default=None, max_length=bounds.SERVER_IP)
    materials: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    pre_approval_document: str | None = Field(default=None, max_length=bounds.DOCUMENT)
    icp_number: str | None = Field(default=None, max_length=bounds.ICP_NUMBER)


class HistoryEntry(SQLModel, table=True):
    """One row per applied event (and one for creation): the audit trail replays to the state."""

    __tablename__ = "history"
    __table_args__ = (UniqueConstraint("filing_id", "version", name="uq_history_filing_version"),)

    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="filings.id", index=True)
    version: int
    event: str = Field(max_length=bounds.EVENT)
    from_state: str | None = Field(default=None, max_length=bounds.STATE)
    to_state: str = Field(max_length=bounds.STATE)
    actor: str = Field(max_length=bounds.ACTOR)
    at: datetime = _utc_column()
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str | None = None


class Deadline(SQLModel, table=True):
    """A due time armed on entering a state and disarmed on leaving it.

    The sweep reads ``(status, due_at)`` through its index, so its cost follows what is due,
    not how many filings exist.
    """

    __tablename__ = "deadlines"
    __table_args__ = (
        Index("ix_deadlines_status_due", "status", "due_at"),
        Index("ix_deadlines_filing_open", "filing_id", "disarmed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="filings.id")
    kind: str = Field(max_length=bounds.DEADLINE_KIND)
    state: str = Field(max_length=bounds.STATE)
    figure: float
    due_at: datetime = _utc_column()
    status: DeadlineStatus = Field(default=DeadlineStatus.PENDING, sa_type=String(16))
    estimated: bool = False
    armed_at: datetime = _utc_column()
    fired_at: datetime | None = _utc_column(nullable=True)
    disarmed_at: datetime | None = _utc_column(nullable=True)


class OutboxMessage(SQLModel, table=True):
    """Work a transaction owes the broker, relayed after commit (transactional outbox).

    ``payload`` holds the job's typed payload (``workflow.outbox``) as a JSON object.
    """

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    job: Job = Field(sa_type=String(40))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc_column()
    published_at: datetime | None = _utc_column(nullable=True, index=True)
    attempts: int = 0
    last_error: str | None = None


class Notification(SQLModel, table=True):
    """A message owed to one recipient; ``idempotency_key`` makes delivery at most once per key.

    ``claimed_until`` is the lease of the worker sending it: a duplicate message arriving
    meanwhile, in any process, waits for the lease instead of sending again. ``queued_at`` is
    when a delivery job was last owed for it, so a stranded one is queued again only once a while.
    """

    __tablename__ = "notifications"

    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="filings.id", index=True)
    deadline_id: int | None = Field(default=None, foreign_key="deadlines.id")
    kind: str = Field(max_length=bounds.DEADLINE_KIND)
    channel: str = Field(max_length=bounds.CHANNEL)
    recipient: str = Field(max_length=bounds.STORED_RECIPIENT)
    subject: str
    body: str
    idempotency_key: str = Field(max_length=bounds.NOTIFICATION_KEY, unique=True)
    status: NotificationStatus = Field(
        default=NotificationStatus.PENDING, sa_type=String(16), index=True
    )
    attempts: int = 0
    claimed_until: datetime | None = _utc_column(nullable=True)
    created_at: datetime = _utc_column()
    queued_at: datetime = _utc_column()
    delivered_at: datetime | None = _utc_column(nullable=True)
    last_error: str | None = None


class FailedJob(SQLModel, table=True):
    """A delivery that failed for good (retries exhausted, or refused); kept until ops retry it."""

    __tablename__ = "failed_jobs"

    id: int | None = Field(default=None, primary_key=True)
    job: Job = Field(sa_type=String(40))
    notification_id: int | None = Field(default=None, foreign_key="notifications.id", index=True)
    error: str
    failed_at: datetime = _utc_column()
    retried_at: datetime | None = _utc_column(nullable=True)


class ApiToken(SQLModel, table=True):
    """A bearer token, stored as its SHA-256; usable until revoked or past ``expires_at``."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    role: str = Field(max_length=20)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _utc_column()
    revoked_at: datetime | None = _utc_column(nullable=True)
    expires_at: datetime | None = _utc_column(nullable=True)
    last_used_at: datetime | None = _utc_column(nullable=True)


class PageSession(SQLModel, table=True):
    """A browser signed in to the pages: its cookie holds a random id, stored here hashed.

    The session stands for its token: it ends at its own expiry or when the token is revoked
    or expires, whichever comes first.
    """

    __tablename__ = "page_sessions"

    id: int | None = Field(default=None, primary_key=True)
    session_hash: str = Field(max_length=64, unique=True)
    token_id: int = Field(foreign_key="api_tokens.id", index=True)
    created_at: datetime = _utc_column()
    expires_at: datetime = _utc_column()
    last_seen_at: datetime = _utc_column()


class IdempotencyRecord(SQLModel, table=True):
    """The first response to an ``Idempotency-Key``, written in the same transaction as its event."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("filing_id", "key", name="uq_idempotency_filing_key"),)

    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="filings.id")
    key: str = Field(max_length=bounds.IDEMPOTENCY_KEY)
    fingerprint: str = Field(max_length=64)
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc_column()
