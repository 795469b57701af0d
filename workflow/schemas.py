"""What clients send and receive; the API, the CLI's ``--json`` and the import share these."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from config.clock import as_utc
from workflow.domain.definition import MANUAL_EVENTS

# Stored times are UTC; SQLite hands them back naive, so rows validate through this type.
UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]


class ApplicantIn(BaseModel):
    type: str = Field(description="individual | organisation")
    name: str
    id_type: str = Field(description="identity document type matching the applicant type")
    id_number: str
    phone: str = Field(description="mainland mobile number that receives MIIT's SMS")
    email: str


class WebsiteIn(BaseModel):
    name: str
    sector: str = "general"


class Route(BaseModel):
    channel: str
    recipient: str


class FilingCreate(BaseModel):
    """Deliberately loose types: the creation guard checks every field and reports all problems."""

    model_config = ConfigDict(extra="forbid")

    domain: str
    domain_expires_on: str | date
    province: str = Field(
        description="one of the 31 province characters (aliases 蜀 黔 滇 陇 accepted)"
    )
    licence: str = Field(default="filing", description="filing (备案) | commercial (ICP 证)")
    applicant: ApplicantIn
    website: WebsiteIn
    notify: list[Route] = Field(
        default_factory=list, description="extra recipients for this filing"
    )


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: str = Field(description="one of: " + ", ".join(MANUAL_EVENTS))
    data: dict[str, Any] = Field(default_factory=dict)
    expected_version: int | None = Field(
        default=None,
        description="the version you last saw; a newer one means someone else moved it",
    )


class DeadlineOut(BaseModel):
    id: int
    kind: str
    description: str
    due_at: datetime
    status: str
    estimated: bool
    overdue: bool


class ApplicantOut(BaseModel):
    type: str
    name: str
    id_type: str
    id_number: str
    phone: str
    email: str


class FilingOut(BaseModel):
    id: int
    domain: str
    domain_expires_on: date
    province: str
    licence: str
    applicant: ApplicantOut
    website: WebsiteIn
    state: str
    state_label: str
    version: int
    state_entered_at: datetime
    created_at: datetime
    service_number: str | None
    server_ip: str | None
    materials: list[str]
    pre_approval_document: str | None
    icp_number: str | None
    allowed_events: list[str]
    deadlines: list[DeadlineOut]
    stuck: bool
    overdue: bool


class FilingPage(BaseModel):
    items: list[FilingOut]
    total: int
    limit: int
    offset: int


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    event: str
    from_state: str | None
    to_state: str
    actor: str
    at: UtcDateTime
    data: dict[str, Any]
    reason: str | None


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    channel: str
    recipient: str
    subject: str
    status: str
    attempts: int
    created_at: UtcDateTime
    delivered_at: UtcDateTime | None
    last_error: str | None
