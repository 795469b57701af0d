"""What clients receive (and the API's event envelope); the API and the CLI's ``--json`` share these.

The inputs themselves are the typed commands in ``workflow.domain.commands``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from config.clock import as_utc
from models import DeadlineStatus, Job, NotificationStatus
from workflow.domain.bounded import EventName
from workflow.domain.commands import ApplicantKind, EventCommand, EventDataIn, LicenceKind
from workflow.domain.definition import (
    EVENTS_BY_NAME,
    MANUAL_EVENTS,
    Channel,
    Flag,
    State,
)
from workflow.domain.event_data import VerifierRole
from workflow.domain.orders import (
    SMS_NOT_SENT_LABEL,
    EntityStatus,
    OrderKind,
    ServiceKind,
    ServiceStatus,
    VerifierResult,
)

# Stored times are UTC; SQLite hands them back naive, so rows validate through this type.
UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]


def _event_data_docs() -> dict[str, Any]:
    """Each manual event's data schema, taken from the declaration, for /openapi.json. Any of
    them, not one: events share shapes (``submit`` and ``resubmit`` both carry materials), and
    ``event`` says which applies."""
    return {
        "anyOf": [
            {**_inlined(EVENTS_BY_NAME[name].data.model_json_schema()), "title": f"data of {name}"}
            for name in MANUAL_EVENTS
            if EVENTS_BY_NAME[name].data_keys
        ]
        + [{"type": "object", "maxProperties": 0, "title": "no data (the other events)"}]
        + [{"type": "null", "title": "no data, as {} or left out"}]
    }


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$defs`` written where they are referred to: nested in another
    document (the OpenAPI one), a ``#/$defs/...`` reference would point nowhere."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        rest = {key: walk(value) for key, value in node.items() if key != "$ref"}
        if "$ref" not in node:
            return rest
        return {**walk(defs[node["$ref"].rsplit("/", 1)[-1]]), **rest}

    inlined: dict[str, Any] = walk(schema)
    return inlined


class EventIn(EventCommand):
    """The API's event body: the command plus the version the client last saw."""

    event: EventName = Field(description="one of: " + ", ".join(MANUAL_EVENTS))
    data: EventDataIn = Field(
        default_factory=dict,
        description="what the event carries (null, {} and left out alike mean nothing): "
        + "; ".join(
            f"{name}: {', '.join(EVENTS_BY_NAME[name].data_keys) or 'nothing'}"
            for name in MANUAL_EVENTS
        ),
        json_schema_extra=_event_data_docs(),
    )
    expected_version: int | None = Field(
        default=None,
        ge=1,  # versions start at 1: a smaller one is a mistake, not a race
        strict=True,  # a version is a number: true or "2" is a client's bug, not a version
        description="the version you last saw; a newer one means someone else moved it",
    )


class DeadlineOut(BaseModel):
    id: int
    kind: str
    description: str
    description_zh: str = Field(description="the description in Chinese")
    source: str = Field(
        "",
        description="the public source of the rule it keeps (a decree's article, a host's page "
        "by its title); empty for a deadline this install sets of its own",
    )
    due_at: datetime
    status: DeadlineStatus
    estimated: bool
    flag: Flag | None = Field(
        description=f"what its passing made of the filing, now that it is past due: "
        f"{Flag.STUCK} ({Flag.STUCK.meaning}) or {Flag.OVERDUE} (a limit of its own broken); "
        "null while it is not yet due, and for a reminder past its time (it was only sent)"
    )
    overdue: bool = Field(
        description="deprecated, read flag: true when flag is not null, so for a stuck "
        "deadline passed as for an overdue one; kept as it was for clients written before flag",
        deprecated=True,
    )


class ApplicantOut(BaseModel):
    type: ApplicantKind
    name: str
    id_type: str
    id_number: str
    phone: str
    email: str


class WebsiteOut(BaseModel):
    name: str
    sector: str


class PersonOut(BaseModel):
    """A responsible person as every route but the personal-data one shows them."""

    name: str
    mobile: str = Field(description="masked")
    email: str | None = None
    id_type: str | None = None
    id_number: str | None = Field(None, description="masked, as the mobile is")


class EntityPersonOut(PersonOut):
    """The entity's person, who alone may or may not be its legal representative (as
    ``EntityPersonIn``)."""

    legal_representative: bool = True


class AppPlatformOut(BaseModel):
    """An app on one platform, as filed: an app filed before public keys were kept has none."""

    package: str | None = Field(
        None, description="its package name or Bundle ID here, when not the app's identifier"
    )
    public_key: str | None = None
    fingerprint: str


class ChangesOut(BaseModel):
    """What a change order makes of the record: the parts it leaves out stay as they are."""

    entity_name: str | None = None
    entity_responsible: EntityPersonOut | None = None
    service_name: str | None = None
    service_responsible: PersonOut | None = None
    app_platforms: dict[str, AppPlatformOut] | None = None


class FilingOut(BaseModel):
    """An order (a filing of one kind) with the entity and service it concerns."""

    id: int
    kind: OrderKind
    entity_id: int
    service_id: int | None
    service_kind: ServiceKind | None = Field(
        description="what the service is: website, app, mini_program or quick_app (its "
        "submission's materials depend on it); null for an order on the entity alone"
    )
    domain: str
    domain_expires_on: date | None = Field(
        description="null for an order on the entity alone (no service: its domain is empty)"
    )
    province: str
    licence: LicenceKind
    applicant: ApplicantOut
    website: WebsiteOut
    state: State
    state_label: str
    version: int
    state_entered_at: datetime
    created_at: datetime
    service_number: str | None
    server_ip: str | None
    materials: list[str]
    changing: list[str] = Field(
        default_factory=list,
        description="the parts of the record a change order changes (entity_name, ...); "
        "empty for other kinds",
    )
    changes: ChangesOut | None = Field(
        default=None,
        description="a change order's new values, mobiles masked (the applicant and website "
        "show the record as it is until approval); null for other kinds",
    )
    pre_approval_document: str | None
    icp_number: str | None = Field(
        description="the record's number: issued at approval for a first filing or a new "
        "service; for an order on a record already filed (new access, change, cancellations) "
        "that record's number from the start, so a search by number finds its orders"
    )
    assignee: str | None = None
    personal_data_purged_at: datetime | None = Field(
        default=None,
        description="when privacy purge removed the applicant's personal data (the retention "
        "period passed); purge withdraws a rejected or lapsed order (one purged before it did "
        "can only be withdrawn)",
    )
    allowed_events: list[str]
    deadlines: list[DeadlineOut]
    stuck: bool = Field(description=Flag.STUCK.meaning)
    overdue: bool = Field(description=Flag.OVERDUE.meaning)

    @property
    def next_deadline(self) -> DeadlineOut | None:
        """What the filing waits on next: its first deadline that is late or not yet told (the
        deadlines come in due order); a reminder already sent is behind it."""
        return next(
            (d for d in self.deadlines if d.flag is not None or d.status != DeadlineStatus.FIRED),
            None,
        )


class SentBackOut(BaseModel):
    """What sent a filing back where it stands (host returned, rejected, its SMS round
    failed), as the console's /mine says it: the event, and its reason masked as history's
    are."""

    event: str = Field(description="the event that sent it back (host_return, miit_reject, ...)")
    reason: str | None = Field(
        description="why, as the event gave it, identity and phone numbers masked; null for an "
        "event that gives none (the SMS window passing)"
    )


class FilingDetailOut(FilingOut):
    """One filing as ``GET /filings/{id}`` shows it: the filing and, sent back, why."""

    sent_back: SentBackOut | None = Field(
        description="while the filing stands sent back, waiting on the case manager's answer, "
        "what sent it there; null otherwise"
    )


Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list and how many the list holds in all, so a client knows whether to
    ask for the next (``offset + limit < total``)."""

    items: list[Item]
    total: int
    limit: int
    offset: int


class CountedPage(Page[Item], Generic[Item]):
    """A page of filings, whose total is counted only so far (``views.search.COUNTED_UP_TO``)."""

    total: int = Field(description="the filings that match, counted up to a limit")
    total_is_exact: bool = Field(
        default=True, description="false when more filings match than were counted"
    )


class FilingPage(CountedPage[FilingOut]):
    """Filings as lists show them."""


class FlaggedFilingOut(FilingOut):
    """A filing on an ops list (stuck, overdue) with the deadline that put it there."""

    listed_for: DeadlineOut = Field(
        description="the latest deadline of the list's kind the filing is past (its kind; "
        "due_at: when it fell due), as the overdue list (GET /api/v1/overdue) picks it"
    )


class FlaggedPage(CountedPage[FlaggedFilingOut]):
    """Stuck or overdue filings, each with why it is listed and since when."""


class FilingSort(StrEnum):
    """What a filings list can be ordered by (then by id, so pages never overlap)."""

    ID = "id"
    DOMAIN = "domain"
    PROVINCE = "province"
    STATE = "state"
    STATE_ENTERED_AT = "state_entered_at"
    CREATED_AT = "created_at"
    # The deadline each filing shows next (``FilingOut.next_deadline``): the soonest first,
    # those without one after them. No index serves it: every match is sorted, as suits one
    # person's worklist, not a search among all filings.
    NEXT_DEADLINE = "next_deadline"


class OverdueItem(BaseModel):
    """A filing on the overdue list with the latest open deadline it is past (else its next)."""

    filing: FilingOut
    deadline: DeadlineOut


class OverduePage(Page[OverdueItem]):
    """Overdue filings (and with a horizon those falling due), the longest overdue first."""


class StateCount(BaseModel):
    """A state on the pipeline: how many filings are in it, how many of those are overdue, and
    how many of each order kind (only kinds present): an approved cancellation is no site
    gone live."""

    state: State
    count: int
    overdue: int
    by_kind: dict[OrderKind, int]


class FailedJobOut(BaseModel):
    """A job that failed for good (a delivery, a footer check), with what it was, why it
    failed and whether it was sent back for another try: the one shape the API, the CLI and
    the console show."""

    id: int
    job: Job
    filing_id: int | None
    notification_id: int | None
    payload: dict[str, Any] | None = Field(
        description="what a job other than a delivery was asked to do (a footer check's "
        "service_id and obligation_id)"
    )
    kind: str | None
    channel: Channel | None
    recipient: str | None
    attempts: int
    error: str
    failed_at: UtcDateTime
    retried_at: UtcDateTime | None

    @property
    def arguments(self) -> str:
        """The payload on one line for a table: ``service_id 4 · obligation_id 9``."""
        return " · ".join(f"{name} {value}" for name, value in (self.payload or {}).items())


class FailedJobPage(Page[FailedJobOut]):
    """Jobs that failed for good, awaiting a retry."""


class DeliveryRunOut(BaseModel):
    """How far a notification's run (its delivery job and the job's retries) has gone: declared
    once for every answer that shows it, a filing's notifications and the deliveries being
    retried (``workflow.views.history.delivery_run`` derives it from the row)."""

    run_attempts: int = Field(
        description="attempts of this run (its job and the job's retries), the one running "
        "included: attempt run_attempts of max_attempts"
    )
    max_attempts: int = Field(
        description="the attempts a run gets before it fails for good (DELIVERY_MAX_RETRIES + 1)"
    )
    failing_since: UtcDateTime | None = Field(
        description="this run's first failed attempt; null while none of its attempts failed"
    )
    next_attempt_at: UtcDateTime | None = Field(
        description="when its worker tries it again, as Dramatiq scheduled the retry; null when "
        "not known: while an attempt runs, when the worker could not write it down, or for a "
        "delivery stored before it was kept, and once it is delivered or failed for good"
    )

    @property
    def attempt_of(self) -> str:
        """The run's attempt for people: ``4 of 11``."""
        return f"{self.run_attempts} of {self.max_attempts}"


class RetryingDeliveryOut(DeliveryRunOut):
    """A notification still pending after at least one failed attempt: its worker retries it
    until it is delivered or its retries run out (it is then a failed job). The one shape the
    API, the CLI and the console show."""

    notification_id: int
    filing_id: int
    kind: str
    channel: Channel
    recipient: str
    attempts: int = Field(description="attempts made so far, the one running included")
    last_error: str
    waiting_since: UtcDateTime = Field(
        description="when its delivery was last queued: when it was owed, or when ops retried "
        "it after it failed for good"
    )
    # Listed because its run failed: never null here.
    failing_since: UtcDateTime = Field(description="this run's first failed attempt")


class RetryingDeliveryPage(Page[RetryingDeliveryOut]):
    """Deliveries failing now, their retries not run out yet, waiting longest first."""


class AssignmentOut(BaseModel):
    """A filing given to someone: ``assignee`` null gave it to nobody, ``previous`` null took
    it from nobody."""

    model_config = ConfigDict(from_attributes=True)

    assignee: str | None
    previous: str | None
    actor: str
    at: UtcDateTime


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    event: str
    from_state: State | None
    to_state: State
    actor: str
    at: UtcDateTime
    data: dict[str, Any]
    reason: str | None


class NotificationOut(DeliveryRunOut):
    """What a filing owed whom, and how far its delivery's run has gone."""

    id: int
    kind: str
    channel: Channel
    recipient: str
    subject: str
    status: NotificationStatus
    attempts: int
    created_at: UtcDateTime
    delivered_at: UtcDateTime | None
    last_error: str | None


class ServiceOut(BaseModel):
    id: int
    entity_id: int
    kind: ServiceKind
    name: str
    domain: str
    app_identifier: str | None
    app_platforms: dict[str, AppPlatformOut] | None = Field(
        None, description="an app on each platform it is published on (android, ios, harmonyos)"
    )
    responsible_name: str | None
    responsible_mobile: str | None
    responsible_email: str | None
    responsible_id_type: str | None = None
    responsible_id_number: str | None = Field(None, description="masked, as the mobile is")
    service_number: str | None
    record_number: str | None
    status: ServiceStatus


class EntityOut(BaseModel):
    """An entity on file with its services and the order in flight, if any."""

    id: int
    type: ApplicantKind
    name: str
    id_type: str
    id_number: str
    province: str
    responsible_name: str
    responsible_mobile: str
    responsible_id_type: str | None = None
    responsible_id_number: str | None = Field(None, description="masked, as the mobile is")
    responsible_is_legal_rep: bool
    icp_number: str | None
    status: EntityStatus
    open_order_id: int | None = Field(
        description="the order in flight of this entity's identity, as one-in-flight counts it"
    )
    open_order_entity_id: int | None = Field(
        description="the entity row that order belongs to: another row of the same identity "
        "when this one was cancelled (or withdrawn) and the identity filed again"
    )
    services: list[ServiceOut]

    @property
    def on_file(self) -> int:
        """How many of its services are on record with this host: what lists count."""
        return sum(1 for s in self.services if s.status is ServiceStatus.ACTIVE)


class EntityPage(Page[EntityOut]):
    """Entities (主体) that match a search."""


class VerifierOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    role: VerifierRole
    name: str
    mobile: str
    window_started_at: UtcDateTime | None
    wrong_entries: int
    result: VerifierResult

    @property
    def result_label(self) -> str:
        """Its result as a page says it: "not sent" until MIIT's SMS starts its window (the
        row waits as ``pending`` from the order's opening, as if a window were running)."""
        if self.window_started_at is None and self.result is VerifierResult.PENDING:
            return SMS_NOT_SENT_LABEL
        return self.result.label


class VerifierContactOut(BaseModel):
    role: VerifierRole
    name: str
    mobile: str


class PersonalDataOut(BaseModel):
    """A filing's personal data in full: only ops and above read it, and each read is recorded
    (``disclosures``). ``purged`` says the retention period removed it."""

    filing_id: int
    applicant: ApplicantOut
    verifiers: list[VerifierContactOut]
    purged: bool
