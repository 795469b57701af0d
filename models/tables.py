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

from sqlalchemy import JSON, Column, DateTime, Index, String, Table, UniqueConstraint, event, text
from sqlmodel import Field, SQLModel

from config import bounds
from models.sealed import UNFINDABLE, Sealed, SealedJSON, lookup


class DeadlineStatus(StrEnum):
    """A deadline waits (``pending``), comes due and is acted on (``fired``), or is closed
    unfired because the filing left the state that armed it (``disarmed``)."""

    PENDING = "pending"
    FIRED = "fired"
    DISARMED = "disarmed"

    @property
    def label(self) -> str:
        """What pages call it, in English and Chinese."""
        return _DEADLINE_STATUS_LABELS[self]


class NotificationStatus(StrEnum):
    """A notification is owed (``pending``) until a worker delivers it or gives up on it."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"

    @property
    def label(self) -> str:
        """What pages call it, in English and Chinese."""
        return _NOTIFICATION_STATUS_LABELS[self]


_DEADLINE_STATUS_LABELS = {
    DeadlineStatus.PENDING: "pending 待到期",
    DeadlineStatus.FIRED: "fired 已触发",
    DeadlineStatus.DISARMED: "disarmed 已解除",
}
_NOTIFICATION_STATUS_LABELS = {
    NotificationStatus.PENDING: "pending 待发送",
    NotificationStatus.DELIVERED: "delivered 已送达",
    NotificationStatus.FAILED: "failed 发送失败",
}


class Job(StrEnum):
    """The background jobs an outbox row can owe; each names the worker actor that runs it."""

    DELIVER_NOTIFICATION = "deliver_notification"
    CHECK_FOOTER = "check_footer"

    @property
    def label(self) -> str:
        """What pages call it: its key, which the CLI's failed jobs list, and its Chinese
        name."""
        return _JOB_LABELS[self]


_JOB_LABELS = {
    Job.DELIVER_NOTIFICATION: "deliver_notification 发送通知",
    Job.CHECK_FOOTER: "check_footer 底部备案号检查",
}


def table(model: type[SQLModel]) -> Table:
    """The Core table behind a model: hot paths write rows with it, without ORM objects."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


def _utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))


def _sealed(characters: int, *, nullable: bool = False) -> Any:
    """Personal data (an identity or phone number) of up to ``characters``, encrypted at rest."""
    return Field(
        default=None if nullable else ...,
        sa_column=Column(Sealed(bounds.sealed(characters)), nullable=nullable),
    )


def _lookup_column(*, nullable: bool = False) -> Any:
    """The keyed hash of a sealed value: what queries compare and indexes hold."""
    return Field(
        default=None if nullable else "",
        sa_column=Column(String(bounds.LOOKUP_HASH), nullable=nullable, index=True),
    )


class Entity(SQLModel, table=True):
    """An entity on file (主体): an organisation or individual, with the person responsible.

    ``icp_number`` is the entity number (京ICP备12345678号) issued once, when its first filing
    is approved; ``version`` is bumped by every order opened for it, so two orders racing to
    be the one in flight cannot both be created.
    """

    __tablename__ = "entities"

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=bounds.KIND)
    name: str = Field(max_length=bounds.NAME, index=True)
    id_type: str = Field(max_length=bounds.DOCUMENT_TYPE)
    id_number: str = _sealed(bounds.ID_NUMBER)
    id_number_hash: str = _lookup_column()
    province: str = Field(max_length=bounds.PROVINCE)
    responsible_name: str = Field(max_length=bounds.NAME)
    responsible_mobile: str = _sealed(bounds.PHONE)
    responsible_mobile_hash: str = _lookup_column()
    responsible_email: str = Field(max_length=bounds.EMAIL)
    # The person's identity document: optional (older clients send none), sealed as the mobile.
    responsible_id_type: str | None = Field(default=None, max_length=bounds.DOCUMENT_TYPE)
    responsible_id_number: str | None = _sealed(bounds.ID_NUMBER, nullable=True)
    responsible_is_legal_rep: bool = True
    icp_number: str | None = Field(default=None, max_length=bounds.ICP_NUMBER, unique=True)
    status: str = Field(max_length=bounds.KIND)
    version: int = 1
    created_at: datetime = _utc_column()


class Service(SQLModel, table=True):
    """A website, app or mini program of an entity, with its own responsible person.

    ``record_number`` is the entity number plus this service's suffix (-1, -2A, ...) once
    approved; ``suffix`` keeps the suffix's number so the next one is one query away. One
    service holds a number at a time, pending or active (``workflow.records.services._HOLDING``):
    a new-access order withdrawn, or a site whose access was removed, leaves it free to file
    again, its row kept as history.
    """

    __tablename__ = "services"
    __table_args__ = (
        Index(
            "ux_services_record_number_held",
            "record_number",
            unique=True,
            sqlite_where=text("status IN ('pending', 'active')"),
            postgresql_where=text("status IN ('pending', 'active')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entities.id", index=True)
    kind: str = Field(max_length=bounds.KIND)
    name: str = Field(max_length=bounds.NAME)
    domain: str = Field(max_length=bounds.DOMAIN, index=True)
    domain_expires_on: date
    domain_registrant: str | None = Field(default=None, max_length=bounds.NAME)
    domain_real_name_verified: bool | None = None
    app_identifier: str | None = Field(default=None, max_length=bounds.NAME)
    # An app on each platform (android, ios, harmonyos): its ``package`` there when not the
    # app's identifier, its certificate's ``public_key`` and ``fingerprint``.
    app_platforms: dict[str, dict[str, str]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    sector: str = Field(max_length=bounds.SECTOR)
    responsible_name: str | None = Field(default=None, max_length=bounds.NAME)
    responsible_mobile: str | None = _sealed(bounds.PHONE, nullable=True)
    responsible_mobile_hash: str | None = _lookup_column(nullable=True)
    responsible_email: str | None = Field(default=None, max_length=bounds.EMAIL)
    responsible_id_type: str | None = Field(default=None, max_length=bounds.DOCUMENT_TYPE)
    responsible_id_number: str | None = _sealed(bounds.ID_NUMBER, nullable=True)
    service_number: str | None = Field(default=None, max_length=bounds.SERVICE_NUMBER)
    server_ip: str | None = Field(default=None, max_length=bounds.SERVER_IP)
    # The server it is accessed on expires (recorded after approval, watched as the domain is).
    server_expires_on: date | None = None
    record_number: str | None = Field(default=None, max_length=bounds.ICP_NUMBER)
    suffix: int | None = None
    status: str = Field(max_length=bounds.KIND)
    created_at: datetime = _utc_column()
    # After approval (``workflow.obligations``): when it went live, the page whose footer is
    # checked, and the police (PSB) filing number once recorded.
    live_on: date | None = None
    home_url: str | None = Field(default=None, max_length=bounds.URL)
    psb_number: str | None = Field(default=None, max_length=bounds.PSB_NUMBER)


# Domains (in one spelling: lower case, an IDN in Unicode; ``config.domains``) compare byte by
# byte on both databases, SQLite's default: a domain search lists its matches in that order,
# read off the column's plain btree, which on PostgreSQL serves ``LIKE 'prefix%'`` only under
# the "C" collation.
DOMAIN_TEXT = String(bounds.DOMAIN).with_variant(String(bounds.DOMAIN, collation="C"), "postgresql")


class Filing(SQLModel, table=True):
    """One filing order (备案订单) of one ``kind`` for an entity and, most kinds, one service.

    The name stays ``filings`` so the audit trail, deadlines, notifications and idempotency
    keys keep their ``filing_id``; the columns below ``kind`` are the order's snapshot of the
    entity and service it was opened with (what the guards and notices read).
    """

    __tablename__ = "filings"
    # The console's list sorts and searches by these; ``assignee`` answers "my filings". A page
    # of a state's or a province's filings comes off (state, id) or (province, id) in id order,
    # however many match. The ICP number's prefix search uses the btree on PostgreSQL only with
    # ``text_pattern_ops`` whatever the database's collation; the domain's column is compared
    # bytewise instead (``DOMAIN_TEXT``), so its plain btree serves both its prefix search and
    # its order. SQLite searches a range of either.
    __table_args__ = (
        Index("ix_filings_state_id", "state", "id"),
        Index("ix_filings_province_id", "province", "id"),
        Index("ix_filings_entity_state", "entity_id", "state"),
        Index("ix_filings_state_entered_at", "state_entered_at"),
        Index(
            "ix_filings_icp_number", "icp_number", postgresql_ops={"icp_number": "text_pattern_ops"}
        ),
        Index("ix_filings_assignee", "assignee"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=bounds.KIND, index=True)
    entity_id: int = Field(foreign_key="entities.id")
    service_id: int | None = Field(default=None, foreign_key="services.id", index=True)
    # A change order's new names and responsible persons (their mobiles): sealed whole.
    changes: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(SealedJSON(), nullable=False)
    )
    domain: str = Field(max_length=bounds.DOMAIN, index=True, sa_type=DOMAIN_TEXT)
    # An internationalised domain's ASCII spelling (``config.domains.ascii_spelling``), which a
    # search typed in punycode is matched against from its start; None for an ASCII domain.
    domain_ascii: str | None = Field(
        default=None, max_length=bounds.DOMAIN, index=True, sa_type=DOMAIN_TEXT
    )
    domain_expires_on: date
    province: str = Field(max_length=bounds.PROVINCE)
    licence: str = Field(max_length=bounds.CODE)
    applicant_type: str = Field(max_length=bounds.CODE)
    applicant_name: str = Field(max_length=bounds.NAME)
    applicant_id_type: str = Field(max_length=bounds.DOCUMENT_TYPE)
    applicant_id_number: str = _sealed(bounds.ID_NUMBER)
    applicant_phone: str = _sealed(bounds.PHONE)
    applicant_email: str = Field(max_length=bounds.EMAIL)
    website_name: str = Field(max_length=bounds.NAME)
    # What the service is (website, app, ...): what its submission's materials depend on. None
    # for an order on the entity alone.
    service_kind: str | None = Field(default=None, max_length=bounds.KIND)
    sector: str = Field(max_length=bounds.SECTOR)
    notify: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )

    state: str = Field(max_length=bounds.STATE)
    version: int = 1
    state_entered_at: datetime = _utc_column()
    created_at: datetime = _utc_column()
    created_by: str = Field(max_length=bounds.ACTOR)

    # Indexed: binding one looks for another order holding it (a number is used once).
    service_number: str | None = Field(default=None, max_length=bounds.SERVICE_NUMBER, index=True)
    server_ip: str | None = Field(default=None, max_length=bounds.SERVER_IP)
    materials: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    pre_approval_document: str | None = Field(default=None, max_length=bounds.DOCUMENT)
    icp_number: str | None = Field(default=None, max_length=bounds.ICP_NUMBER)
    # When ``icpflow privacy purge`` removed the applicant's personal data (history kept).
    personal_data_purged_at: datetime | None = _utc_column(nullable=True)
    # The case manager (a token's name) working on it; who works on what, not a permission.
    assignee: str | None = Field(default=None, max_length=bounds.PERSON)


class SmsVerifier(SQLModel, table=True):
    """A person who must answer MIIT's SMS for one order, and how far they got.

    ``window_started_at`` is when the SMS was sent (the 24 h window runs from it);
    ``wrong_entries`` counts wrong codes since then; ``result`` is pending, verified or failed.
    """

    __tablename__ = "sms_verifiers"
    __table_args__ = (UniqueConstraint("filing_id", "role", name="uq_sms_verifiers_filing_role"),)

    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="filings.id", index=True)
    role: str = Field(max_length=bounds.KIND)
    name: str = Field(max_length=bounds.NAME)
    mobile: str = _sealed(bounds.PHONE)
    window_started_at: datetime | None = _utc_column(nullable=True)
    wrong_entries: int = 0
    result: str = Field(max_length=bounds.KIND)
    answered_at: datetime | None = _utc_column(nullable=True)


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


class Assignment(SQLModel, table=True):
    """A filing given to someone (or to nobody): who gave it, when, and whom it was with.
    Not part of the filing's process, so it has no version of its own (see ``HistoryEntry``)."""

    __tablename__ = "assignments"

    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="filings.id", index=True)
    assignee: str | None = Field(default=None, max_length=bounds.PERSON)
    previous: str | None = Field(default=None, max_length=bounds.PERSON)
    actor: str = Field(max_length=bounds.ACTOR)
    at: datetime = _utc_column()


class Disclosure(SQLModel, table=True):
    """Someone was shown a filing's personal data in full: who, when, which filing, which fields."""

    __tablename__ = "disclosures"

    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="filings.id", index=True)
    actor: str = Field(max_length=bounds.ACTOR)
    fields: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    at: datetime = _utc_column()


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
    armed_at: datetime = _utc_column()  # when its clock starts: a state entered late, earlier
    fired_at: datetime | None = _utc_column(nullable=True)
    disarmed_at: datetime | None = _utc_column(nullable=True)


class Obligation(SQLModel, table=True):
    """A duty of an approved service with its due time (``workflow.domain.obligations``).

    Not a ``Deadline``: those belong to an order's state and close when it leaves it, while an
    obligation outlives its order and is closed by what is recorded about the service. It
    reuses the deadline's statuses: ``pending`` until due, ``fired`` once its notice (or job)
    was owed, ``disarmed`` when closed before that; ``closed_at`` marks it met or moot.
    ``filing_id`` is the order that approved the record: its notices are filed under it.
    The sweep finds due rows through ``(status, due_at)``, like the deadlines'; the overdue
    lists and their counts find the open ones past due through ``(closed_at, due_at)``.
    """

    __tablename__ = "obligations"
    __table_args__ = (
        Index("ix_obligations_status_due", "status", "due_at"),
        Index("ix_obligations_service_open", "service_id", "closed_at"),
        Index("ix_obligations_open_due", "closed_at", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="services.id")
    filing_id: int = Field(foreign_key="filings.id")
    kind: str = Field(max_length=bounds.DEADLINE_KIND)
    due_at: datetime = _utc_column()
    status: DeadlineStatus = Field(default=DeadlineStatus.PENDING, sa_type=String(16))
    estimated: bool = False
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    opened_at: datetime = _utc_column()
    fired_at: datetime | None = _utc_column(nullable=True)
    closed_at: datetime | None = _utc_column(nullable=True)


class FooterCheck(SQLModel, table=True):
    """One look at a live site's home page: whether its footer was right, and what was wrong.

    ``obligation_id`` is the scheduled check it answers (unique: a job delivered twice
    records one result); a check run by hand has none.
    """

    __tablename__ = "footer_checks"
    __table_args__ = (Index("ix_footer_checks_service_at", "service_id", "checked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="services.id")
    obligation_id: int | None = Field(default=None, foreign_key="obligations.id", unique=True)
    checked_at: datetime = _utc_column()
    url: str = Field(max_length=bounds.URL)
    ok: bool
    status_code: int | None = None
    problems: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ServiceAudit(SQLModel, table=True):
    """One write to an approved service's facts (``workflow.obligations``): what was recorded
    (``what``, a ``workflow.domain.obligations.Recorded``), the data sent, what a correction
    or renewal replaced on file, who recorded it and when; as ``HistoryEntry`` is an order's.
    Listed per service, newest first, through ``(service_id, at)``."""

    __tablename__ = "service_audit"
    __table_args__ = (Index("ix_service_audit_service_at", "service_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="services.id")
    what: str = Field(max_length=bounds.RECORDED)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    replaced: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    actor: str = Field(max_length=bounds.ACTOR)
    at: datetime = _utc_column()


class OutboxMessage(SQLModel, table=True):
    """Work a transaction owes the broker, relayed after commit (transactional outbox).

    ``payload`` holds the job's typed payload (``workflow.outbox``) as a JSON object.
    ``claimed_until`` is the lease of the relay publishing it: other relays leave it alone
    meanwhile, and take it up once the lease ends if that relay died before marking it.
    """

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    job: Job = Field(sa_type=String(40))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc_column()
    published_at: datetime | None = _utc_column(nullable=True, index=True)
    attempts: int = 0
    last_error: str | None = None
    claimed_until: datetime | None = _utc_column(nullable=True)


class Notification(SQLModel, table=True):
    """A message owed to one recipient; ``idempotency_key`` makes delivery at most once per key.

    ``claimed_until`` is the lease of the worker sending it: a duplicate message arriving
    meanwhile, in any process, waits for the lease instead of sending again. ``queued_at`` is
    when a delivery job was last owed for it: the relay sweep finds the pending ones whose job
    the broker lost through the ``(status, queued_at)`` index (which serves lookups by status too).

    A run is the attempts of one job and its retries: ``run_attempts`` of them so far,
    ``failing_since`` its first failed attempt, ``next_attempt_at`` when its worker retries it
    (the delay Dramatiq scheduled, which the database could not see otherwise). ``attempts``
    counts every run's.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status_queued", "status", "queued_at"),)

    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="filings.id", index=True)
    deadline_id: int | None = Field(default=None, foreign_key="deadlines.id")
    kind: str = Field(max_length=bounds.DEADLINE_KIND)
    channel: str = Field(max_length=bounds.CHANNEL)
    recipient: str = Field(max_length=bounds.STORED_RECIPIENT)
    subject: str
    body: str
    idempotency_key: str = Field(max_length=bounds.NOTIFICATION_KEY, unique=True)
    status: NotificationStatus = Field(default=NotificationStatus.PENDING, sa_type=String(16))
    attempts: int = 0
    claimed_until: datetime | None = _utc_column(nullable=True)
    created_at: datetime = _utc_column()
    queued_at: datetime = _utc_column()
    delivered_at: datetime | None = _utc_column(nullable=True)
    last_error: str | None = None
    run_attempts: int = 0
    failing_since: datetime | None = _utc_column(nullable=True)
    next_attempt_at: datetime | None = _utc_column(nullable=True)


# What a notification owed a new delivery job (ops retried it, the sweep found its job lost)
# starts from: a run of its own, whose retries Dramatiq counts afresh. Its ``last_error``
# stays, the previous run's, until this run fails.
NEW_RUN: dict[str, Any] = {"run_attempts": 0, "failing_since": None, "next_attempt_at": None}


class FailedJob(SQLModel, table=True):
    """A job that failed for good (retries exhausted, or refused); kept until ops retry it.

    A delivery names its notification; any other job keeps its outbox ``payload``, so that a
    retry owes the same job again. ``attempts`` are those made when it failed: a notification
    retried goes on counting, and fails anew as another row.
    """

    __tablename__ = "failed_jobs"

    id: int | None = Field(default=None, primary_key=True)
    job: Job = Field(sa_type=String(40))
    notification_id: int | None = Field(default=None, foreign_key="notifications.id", index=True)
    payload: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    error: str
    attempts: int = 0
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


class CreationKey(SQLModel, table=True):
    """The first response to an ``Idempotency-Key`` sent with an opening request, written with
    the filing it opened. The key stands alone: there is no filing yet to scope it to."""

    __tablename__ = "creation_keys"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=bounds.IDEMPOTENCY_KEY, unique=True)
    fingerprint: str = Field(max_length=64)
    filing_id: int = Field(foreign_key="filings.id")
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc_column()


@event.listens_for(Entity, "before_insert")
@event.listens_for(Entity, "before_update")
def _entity_lookups(_mapper: object, _connection: object, entity: Entity) -> None:
    """The hashes follow the sealed values on every ORM write: one place keeps them true. A
    number purged (blank) is found by nothing: every purged entity would otherwise share one
    identity, and each show another's order in flight."""
    purged = f"{UNFINDABLE}{entity.id}"
    entity.id_number_hash = lookup(entity.id_number) if entity.id_number else purged
    entity.responsible_mobile_hash = lookup(entity.responsible_mobile)


@event.listens_for(Service, "before_insert")
@event.listens_for(Service, "before_update")
def _service_lookups(_mapper: object, _connection: object, service: Service) -> None:
    mobile = service.responsible_mobile
    service.responsible_mobile_hash = lookup(mobile) if mobile else None
