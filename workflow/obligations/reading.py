"""What clients read of a service's life after approval: its duties and footer checks, the
overdue duties and the failing footers ops list, and how lists name each service.

One read side, so the API, the console, the CLI and ``workflow.outlook`` show duties alike;
each recording function answers with ``duties`` too.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from config.clock import as_utc
from config.masking import mask_text
from config.settings import Settings
from models import DeadlineStatus, Filing, FooterCheck, Obligation, Service, ServiceAudit, table
from workflow.domain.definition import State
from workflow.domain.errors import Reason, ValidationError
from workflow.domain.guards import province_named
from workflow.domain.obligations import (
    OBLIGATIONS_BY_KIND,
    OVERDUE_OBLIGATIONS,
    ObligationKind,
    Recorded,
)
from workflow.domain.orders import ServiceKind, ServiceStatus
from workflow.domain.rules import rules_for
from workflow.obligations.rows import FILED_HERE_FIRST, get_service, left_host_on, worded_as_armed
from workflow.schemas import Page, UtcDateTime

# The audit rows a service's view lists: enough for "who changed this lately?"; the whole
# trail is read a page at a time (``audit_trail``).
AUDIT_SHOWN = 20
# Orders refused or withdrawn: they put nothing on record, so make no site their assignee's.
_REFUSED_OR_WITHDRAWN = (State.REJECTED, State.WITHDRAWN)


class ObligationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    service_id: int
    filing_id: int
    kind: ObligationKind
    description: str
    description_zh: str = Field(description="the description in Chinese")
    due_at: UtcDateTime
    status: DeadlineStatus
    estimated: bool
    overdue: bool
    data: dict[str, object]
    opened_at: UtcDateTime
    fired_at: UtcDateTime | None
    closed_at: UtcDateTime | None


class FooterCheckOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    checked_at: UtcDateTime
    url: str
    ok: bool
    status_code: int | None
    problems: list[str]


class ServiceAuditOut(BaseModel):
    """One write to the service's facts: what was recorded, by whom and when."""

    id: int
    what: Recorded
    data: dict[str, object] = Field(
        description="what was sent, a field left to its default as the value used (a "
        "rectification's received_on, the day it was recorded)"
    )
    replaced: dict[str, object] | None = Field(
        description="the facts on file it replaced (a correction's, a renewal's), as this "
        "view names them"
    )
    actor: str
    at: UtcDateTime


class FailingFooterOut(BaseModel):
    """A live site whose latest footer check failed: since when, how many checks in a row."""

    service_id: int
    domain: str
    filing_id: int
    url: str
    failing_since: UtcDateTime
    failures: int = Field(description="checks in a row that failed, the latest included")
    last_checked_at: UtcDateTime
    problems: list[str]
    next_check_at: UtcDateTime | None = Field(
        description="when the site is checked again (none while its next check is being made)"
    )


class ServiceAuditPage(Page[ServiceAuditOut]):
    """A service's audit trail, newest first."""


class ObligationPage(Page[ObligationOut]):
    """Duties past their time, the most late first."""


class FailingFooterPage(Page[FailingFooterOut]):
    """Live sites whose footer fails, failing longest first."""


class ServiceDutiesOut(BaseModel):
    """A service's life after approval: its dates, numbers, obligations and footer checks."""

    service_id: int
    kind: ServiceKind
    domain: str
    app_identifier: str | None = Field(description="an app's or mini program's identifier")
    record_number: str | None
    status: ServiceStatus
    live_on: date | None
    left_on: date | None = Field(
        description="the day it left this host, as recorded (its cancel-access order owed or made)"
    )
    home_url: str | None
    psb_number: str | None
    domain_expires_on: date
    server_expires_on: date | None = Field(
        description="the day the server it is accessed on expires, once recorded"
    )
    obligations: list[ObligationOut]
    footer_checks: list[FooterCheckOut]
    recorded: list[ServiceAuditOut] = Field(
        description=f"who recorded what about it, newest first (the latest {AUDIT_SHOWN}); the "
        "footer checks, the worker's, are in footer_checks"
    )
    recorded_total: int = Field(
        description="how many records there are in all: the whole trail, a page at a time, at "
        "GET /api/v1/services/{service_id}/recorded"
    )


def describe(row: Obligation, now: datetime, settings: Settings) -> ObligationOut:
    spec = OBLIGATIONS_BY_KIND[ObligationKind(row.kind)]
    assert row.id is not None
    due = as_utc(row.due_at)
    return ObligationOut(
        id=row.id,
        service_id=row.service_id,
        filing_id=row.filing_id,
        kind=spec.kind,
        description=worded_as_armed(spec.description, row, settings),
        description_zh=worded_as_armed(spec.zh, row, settings),
        due_at=due,
        status=DeadlineStatus(row.status),
        estimated=row.estimated,
        overdue=spec.overdue and row.closed_at is None and due <= now,
        data=_masked(row.data),
        opened_at=row.opened_at,
        fired_at=row.fired_at,
        closed_at=row.closed_at,
    )


def duties(
    session: Session, service_id: int, now: datetime, settings: Settings, *, open_only: bool = False
) -> ServiceDutiesOut:
    service = get_service(session, service_id)
    query = select(Obligation).where(Obligation.service_id == service_id)
    if open_only:
        query = query.where(col(Obligation.closed_at).is_(None))
    rows = session.exec(query.order_by(col(Obligation.due_at), col(Obligation.id))).all()
    latest = _recorded(session, service_id)
    checks = session.exec(
        select(FooterCheck)
        .where(FooterCheck.service_id == service_id)
        .order_by(col(FooterCheck.checked_at).desc(), col(FooterCheck.id).desc())
        .limit(10)
    ).all()
    return ServiceDutiesOut(
        service_id=service_id,
        kind=ServiceKind(service.kind),
        domain=service.domain,
        app_identifier=service.app_identifier,
        record_number=service.record_number,
        status=ServiceStatus(service.status),
        live_on=service.live_on,
        left_on=left_host_on(session, service_id),
        home_url=service.home_url,
        psb_number=service.psb_number,
        domain_expires_on=service.domain_expires_on,
        server_expires_on=service.server_expires_on,
        obligations=[describe(row, now, settings) for row in rows],
        footer_checks=[FooterCheckOut.model_validate(c) for c in checks],
        recorded=latest.items,
        recorded_total=latest.total,
    )


def _recorded(session: Session, service_id: int) -> ServiceAuditPage:
    """The latest ``AUDIT_SHOWN`` records of the service a view lists, and how many in all."""
    return audit_trail(session, service_id, AUDIT_SHOWN)


def audit_trail(session: Session, service_id: int, limit: int, offset: int = 0) -> ServiceAuditPage:
    """Who recorded what about the service, newest first, a page at a time with how many
    records there are in all; an unknown service is ``NotFound``."""
    get_service(session, service_id)
    rows = session.exec(
        select(ServiceAudit)
        .where(ServiceAudit.service_id == service_id)
        .order_by(col(ServiceAudit.at).desc(), col(ServiceAudit.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    items = [
        ServiceAuditOut(
            id=row.id or 0,
            what=Recorded(row.what),
            data=_masked(row.data),
            replaced=_masked(row.replaced) if row.replaced is not None else None,
            actor=row.actor,
            at=row.at,
        )
        for row in rows
    ]
    total = session.exec(
        select(func.count()).select_from(ServiceAudit).where(ServiceAudit.service_id == service_id)
    ).one()
    return ServiceAuditPage(items=items, total=total, limit=limit, offset=offset)


def _masked(data: dict[str, object]) -> dict[str, object]:
    """A rectification's text may quote a mobile or an ID number: masked like reasons are."""
    return {k: mask_text(v) if isinstance(v, str) else v for k, v in data.items()}


@dataclass(frozen=True)
class OverdueFilter:
    """Which overdue duties a list shows. ``assignee``: of a service one of whose orders is
    theirs (the case manager who filed a site, or changed it, answers for what it owes after
    approval; an order of theirs refused or withdrawn put nothing on record, and makes
    nothing theirs). ``kind``: one kind of duty. ``province``: of entities filed there."""

    assignee: str | None = None
    kind: ObligationKind | None = None
    province: str | None = None


def _overdue_where(
    now: datetime, only: OverdueFilter, settings: Settings
) -> tuple[ColumnElement[bool], ...]:
    """The overdue duties ``only`` keeps. A kind that is never overdue is refused: it would
    pass for a list with nothing late. A province is named as the caller's ``settings``' rules
    name it."""
    if only.kind is not None and only.kind not in OVERDUE_OBLIGATIONS:
        listed = ", ".join(OVERDUE_OBLIGATIONS)
        reason = Reason("not_overdue_kind", f"kind must be one of {listed}", field="kind")
        raise ValidationError(f"{only.kind} duties are never overdue", [reason])
    where: tuple[ColumnElement[bool], ...] = (
        col(Obligation.kind).in_([k.value for k in OVERDUE_OBLIGATIONS]),
        col(Obligation.closed_at).is_(None),
        col(Obligation.due_at) <= now,
    )
    if only.assignee is not None:
        theirs = select(Filing.service_id).where(
            Filing.assignee == only.assignee, col(Filing.state).not_in(_REFUSED_OR_WITHDRAWN)
        )
        where += (col(Obligation.service_id).in_(theirs),)
    if only.kind is not None:
        where += (col(Obligation.kind) == only.kind,)
    if only.province is not None:
        filed_there = select(Filing.id).where(
            Filing.province == province_named(only.province, rules_for(settings))
        )
        where += (col(Obligation.filing_id).in_(filed_there),)
    return where


def overdue(
    session: Session,
    now: datetime,
    settings: Settings,
    limit: int,
    offset: int = 0,
    only: OverdueFilter = OverdueFilter(),
) -> ObligationPage:
    """Open obligations of an overdue kind past their due time, the most late first (ops;
    ``only`` those the filter keeps)."""
    where = _overdue_where(now, only, settings)
    rows = session.exec(
        select(Obligation)
        .where(*where)
        .order_by(col(Obligation.due_at), col(Obligation.id))
        .limit(limit)
        .offset(offset)
    ).all()
    items = [describe(row, now, settings) for row in rows]
    total = count_overdue(session, now, settings, only)
    return ObligationPage(items=items, total=total, limit=limit, offset=offset)


def count_overdue(
    session: Session, now: datetime, settings: Settings, only: OverdueFilter = OverdueFilter()
) -> int:
    """How many ``overdue`` lists in all: the console's and the metrics' total."""
    return session.exec(
        select(func.count()).select_from(Obligation).where(*_overdue_where(now, only, settings))
    ).one()


def failing_footers(session: Session, limit: int, offset: int = 0) -> FailingFooterPage:
    """Live sites whose latest footer check failed, failing longest first: ops watching
    hundreds of sites look here; the case managers hear of a site at its second failure.

    A site's run of failures is every check after its last that passed (all of them if none
    did); one that passed at the same time as a failure counts as passing. A site is live
    while its footer is still to be checked: one that left the host is not."""
    checks = table(FooterCheck).c
    still_checked = (
        select(Obligation.id)
        .where(
            Obligation.service_id == checks.service_id,
            Obligation.kind == ObligationKind.FOOTER_CHECK,
            col(Obligation.closed_at).is_(None),
        )
        .exists()
    )
    passed = (
        select(checks.service_id, func.max(checks.checked_at).label("at"))
        .where(checks.ok.is_(True))
        .group_by(checks.service_id)
        .subquery()
    )
    runs = (
        select(
            checks.service_id,
            func.min(checks.checked_at).label("since"),
            func.max(checks.checked_at).label("last"),
            func.count().label("failures"),
        )
        .join(Service, col(Service.id) == checks.service_id)
        .outerjoin(passed, passed.c.service_id == checks.service_id)
        .where(
            checks.ok.is_(False),
            Service.status == ServiceStatus.ACTIVE,
            still_checked,
            or_(passed.c.at.is_(None), checks.checked_at > passed.c.at),
        )
        .group_by(checks.service_id)
        .subquery()
    )
    # One row per site, so a page holds ``limit`` sites, however many checks share a time.
    page = (
        select(runs.c.service_id, runs.c.since, runs.c.last, runs.c.failures)
        .order_by(runs.c.since, runs.c.service_id)
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    rows = session.exec(
        select(FooterCheck, page.c.since, page.c.failures)
        .join(
            page,
            and_(
                col(FooterCheck.service_id) == page.c.service_id,
                col(FooterCheck.checked_at) == page.c.last,
            ),
        )
        .order_by(page.c.since, col(FooterCheck.service_id), col(FooterCheck.id).desc())
    ).all()
    latest: dict[int, tuple[FooterCheck, datetime, int]] = {}
    for check, since, failures in rows:  # two checks at one time: the later recorded
        latest.setdefault(check.service_id, (check, since, failures))
    domains = services_named(session, latest)
    orders = _approving_orders(session, latest)
    next_checks = _next_checks(session, latest)
    items = [
        FailingFooterOut(
            service_id=service_id,
            domain=domains.get(service_id, ""),
            filing_id=orders[service_id],
            url=check.url,
            failing_since=since,
            failures=failures,
            last_checked_at=check.checked_at,
            problems=check.problems,
            next_check_at=next_checks.get(service_id),
        )
        for service_id, (check, since, failures) in latest.items()
    ]
    total = session.exec(select(func.count()).select_from(runs)).one()
    return FailingFooterPage(items=items, total=total, limit=limit, offset=offset)


def _next_checks(session: Session, service_ids: Collection[int]) -> dict[int, datetime]:
    """When each site's footer is checked again: its open check's due time. A check whose
    job is owed has closed and opened the next, so a site has one at most, and none only
    between a redelivered job and its result; ops fixing a footer want to know when the
    list will see it."""
    rows = session.exec(
        select(Obligation.service_id, func.min(Obligation.due_at))
        .where(
            col(Obligation.service_id).in_(service_ids),
            Obligation.kind == ObligationKind.FOOTER_CHECK,
            col(Obligation.closed_at).is_(None),
        )
        .group_by(col(Obligation.service_id))
    )
    return {service_id: as_utc(due) for service_id, due in rows}


def _approving_orders(session: Session, service_ids: Collection[int]) -> dict[int, int]:
    """Each service's order its duties are filed under, for lists of many (``approving_order``
    says which)."""
    rows = session.exec(
        select(Filing.service_id, Filing.id)
        .where(col(Filing.service_id).in_(service_ids), Filing.state == State.APPROVED)
        .order_by(FILED_HERE_FIRST, col(Filing.id).desc())
    )
    orders: dict[int, int] = {}
    for service_id, filing_id in rows:
        if service_id is not None and filing_id is not None:
            orders.setdefault(service_id, filing_id)
    return orders


def services_named(session: Session, service_ids: Collection[int]) -> dict[int, str]:
    """How lists of duties name each service: a website by its domain, an app (a mini program,
    a quick app) by its identifier, as its record knows it; several apps may share a domain."""
    if not service_ids:
        return {}
    rows = session.exec(
        select(Service.id, Service.kind, Service.domain, Service.app_identifier).where(
            col(Service.id).in_(service_ids)
        )
    )
    return {
        service_id: domain if kind == ServiceKind.WEBSITE else f"{kind} {identifier}"
        for service_id, kind, domain, identifier in rows
        if service_id
    }
