"""The read side: filings as clients see them, and the queries behind lists and filters.

"Stuck" and "overdue" are not stored flags: a filing is overdue while one of its open
deadlines (those of its current state) of an overdue kind is past due, and stuck likewise
for the stuck deadline. Both filters are EXISTS subqueries on the deadlines index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Exists, exists, func
from sqlmodel import Session, col, select

from config.clock import as_utc
from models import Deadline, Entity, Filing, HistoryEntry, Notification, Service, SmsVerifier
from workflow.deadlines import OpenDeadline
from workflow.domain.definition import (
    DEADLINES_BY_KIND,
    OVERDUE_KINDS,
    STATES_BY_NAME,
    STUCK_KINDS,
    TERMINAL_STATES,
)
from workflow.domain.errors import FilingNotFound, NotFound
from workflow.domain.machine import allowed_events
from workflow.domain.masking import mask_id_number, mask_phone
from workflow.schemas import (
    ApplicantOut,
    DeadlineOut,
    EntityOut,
    EntityPage,
    FilingOut,
    FilingPage,
    HistoryOut,
    NotificationOut,
    ServiceOut,
    VerifierOut,
    WebsiteOut,
)


def describe(session: Session, filing: Filing, now: datetime, *, mask: bool = False) -> FilingOut:
    return describe_many(session, [filing], now, mask=mask)[0]


def describe_open(
    filing: Filing, open_deadlines: Sequence[OpenDeadline], now: datetime
) -> FilingOut:
    """Describe a filing whose open deadlines are in hand (just armed): no query needed."""
    return _describe(filing, open_deadlines, now, mask=False)


def describe_many(
    session: Session, filings: Sequence[Filing], now: datetime, *, mask: bool = False
) -> list[FilingOut]:
    """Describe a page of filings with one query for all their open deadlines."""
    ids = [f.id for f in filings]
    open_deadlines: dict[int, list[Deadline]] = defaultdict(list)
    if ids:
        rows = session.exec(
            select(Deadline).where(
                col(Deadline.filing_id).in_(ids), col(Deadline.disarmed_at).is_(None)
            )
        )
        for row in rows:
            open_deadlines[row.filing_id].append(row)
    return [_describe(f, open_deadlines[f.id or 0], now, mask) for f in filings]


def _describe(
    filing: Filing, deadlines: Sequence[Deadline | OpenDeadline], now: datetime, mask: bool
) -> FilingOut:
    assert filing.id is not None
    shown = sorted((_deadline_out(d, now) for d in deadlines), key=lambda d: (d.due_at, d.id))
    return FilingOut(
        id=filing.id,
        kind=filing.kind,
        entity_id=filing.entity_id,
        service_id=filing.service_id,
        domain=filing.domain,
        domain_expires_on=filing.domain_expires_on,
        province=filing.province,
        licence=filing.licence,
        applicant=ApplicantOut(
            type=filing.applicant_type,
            name=filing.applicant_name,
            id_type=filing.applicant_id_type,
            id_number=mask_id_number(filing.applicant_id_number)
            if mask
            else filing.applicant_id_number,
            phone=mask_phone(filing.applicant_phone) if mask else filing.applicant_phone,
            email=filing.applicant_email,
        ),
        website=WebsiteOut(name=filing.website_name, sector=filing.sector),
        state=filing.state,
        state_label=STATES_BY_NAME[filing.state].label_zh,
        version=filing.version,
        state_entered_at=as_utc(filing.state_entered_at),
        created_at=as_utc(filing.created_at),
        service_number=filing.service_number,
        server_ip=filing.server_ip,
        materials=list(filing.materials),
        pre_approval_document=filing.pre_approval_document,
        icp_number=filing.icp_number,
        allowed_events=allowed_events(filing.state, filing.kind),
        deadlines=shown,
        stuck=any(d.overdue for d in shown if d.kind in STUCK_KINDS),
        overdue=any(d.overdue for d in shown if d.kind in OVERDUE_KINDS),
    )


def _deadline_out(deadline: Deadline | OpenDeadline, now: datetime) -> DeadlineOut:
    assert deadline.id is not None
    due = as_utc(deadline.due_at)
    return DeadlineOut(
        id=deadline.id,
        kind=deadline.kind,
        description=DEADLINES_BY_KIND[deadline.kind].description,
        due_at=due,
        status=deadline.status,
        estimated=deadline.estimated,
        overdue=due <= now,
    )


def _past_due(kinds: Sequence[str], now: datetime) -> Exists:
    return exists().where(
        col(Deadline.filing_id) == col(Filing.id),
        col(Deadline.disarmed_at).is_(None),
        col(Deadline.kind).in_(kinds),
        col(Deadline.due_at) <= now,
    )


def filing_page(
    session: Session,
    now: datetime,
    *,
    state: str | None = None,
    province: str | None = None,
    stuck: bool | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> FilingPage:
    """A page of filings (masked, as lists are) with the total matching the filters: what the
    API's lists, ``icpflow filings list|ops`` and the stuck/overdue pages all show."""
    conditions = []
    if state:
        conditions.append(col(Filing.state) == state)
    if province:
        conditions.append(col(Filing.province) == province)
    for flag, kinds in ((stuck, STUCK_KINDS), (overdue, OVERDUE_KINDS)):
        if flag is not None:
            test = _past_due(kinds, now)
            conditions.append(test if flag else ~test)
    total = session.exec(select(func.count()).select_from(Filing).where(*conditions)).one()
    page = session.exec(
        select(Filing).where(*conditions).order_by(col(Filing.id)).limit(limit).offset(offset)
    ).all()
    items = describe_many(session, page, now, mask=True)
    return FilingPage(items=items, total=int(total), limit=limit, offset=offset)


def get_filing(session: Session, filing_id: int) -> Filing:
    filing = session.get(Filing, filing_id)
    if filing is None:
        raise FilingNotFound(f"filing {filing_id} does not exist")
    return filing


def filing(session: Session, filing_id: int, now: datetime, *, mask: bool = False) -> FilingOut:
    """One filing with its allowed events and open deadlines; ``FilingNotFound`` if none."""
    return describe(session, get_filing(session, filing_id), now, mask=mask)


def history(session: Session, filing_id: int) -> list[HistoryOut]:
    """Every applied event of an existing filing, oldest first."""
    get_filing(session, filing_id)
    rows = session.exec(
        select(HistoryEntry)
        .where(HistoryEntry.filing_id == filing_id)
        .order_by(col(HistoryEntry.version))
    )
    return [HistoryOut.model_validate(r) for r in rows]


def notifications(session: Session, filing_id: int) -> list[NotificationOut]:
    """What an existing filing owed whom, oldest first."""
    get_filing(session, filing_id)
    rows = session.exec(
        select(Notification)
        .where(Notification.filing_id == filing_id)
        .order_by(col(Notification.id))
    )
    return [NotificationOut.model_validate(r) for r in rows]


@dataclass(frozen=True)
class Timeline:
    """A filing's page: the filing (masked), its history and its notifications."""

    filing: FilingOut
    history: list[HistoryOut]
    notifications: list[NotificationOut]


def timeline(session: Session, filing_id: int, now: datetime) -> Timeline:
    return Timeline(
        filing(session, filing_id, now, mask=True),
        history(session, filing_id),
        notifications(session, filing_id),
    )


def _service_out(service: Service, mask: bool) -> ServiceOut:
    assert service.id is not None
    mobile = service.responsible_mobile
    return ServiceOut(
        id=service.id,
        entity_id=service.entity_id,
        kind=service.kind,
        name=service.name,
        domain=service.domain,
        app_identifier=service.app_identifier,
        responsible_name=service.responsible_name,
        responsible_mobile=mask_phone(mobile) if mask and mobile else mobile,
        service_number=service.service_number,
        record_number=service.record_number,
        status=service.status,
    )


def _entity_out(session: Session, entity: Entity, mask: bool) -> EntityOut:
    assert entity.id is not None
    services = session.exec(
        select(Service).where(Service.entity_id == entity.id).order_by(col(Service.id))
    ).all()
    open_order = session.exec(
        select(Filing.id).where(
            Filing.entity_id == entity.id, col(Filing.state).not_in(list(TERMINAL_STATES))
        )
    ).first()
    return EntityOut(
        id=entity.id,
        type=entity.type,
        name=entity.name,
        id_type=entity.id_type,
        id_number=mask_id_number(entity.id_number) if mask else entity.id_number,
        province=entity.province,
        responsible_name=entity.responsible_name,
        responsible_mobile=mask_phone(entity.responsible_mobile)
        if mask
        else entity.responsible_mobile,
        responsible_is_legal_rep=entity.responsible_is_legal_rep,
        icp_number=entity.icp_number,
        status=entity.status,
        open_order_id=open_order,
        services=[_service_out(s, mask) for s in services],
    )


def entity(session: Session, entity_id: int, *, mask: bool = False) -> EntityOut:
    """One entity with its services and its order in flight; ``NotFound`` if none."""
    found = session.get(Entity, entity_id)
    if found is None:
        raise NotFound(f"entity {entity_id} does not exist")
    return _entity_out(session, found, mask)


def entity_page(
    session: Session, *, name: str | None = None, limit: int = 50, offset: int = 0
) -> EntityPage:
    """A page of entities (masked, as lists are), by name fragment."""
    conditions = [col(Entity.name).contains(name)] if name else []
    total = session.exec(select(func.count()).select_from(Entity).where(*conditions)).one()
    rows = session.exec(
        select(Entity).where(*conditions).order_by(col(Entity.id)).limit(limit).offset(offset)
    ).all()
    items = [_entity_out(session, e, mask=True) for e in rows]
    return EntityPage(items=items, total=int(total), limit=limit, offset=offset)


def services(session: Session, entity_id: int) -> list[ServiceOut]:
    return entity(session, entity_id).services


def verifiers(session: Session, filing_id: int) -> list[VerifierOut]:
    """Who must answer the order's SMS, and how far each got."""
    get_filing(session, filing_id)
    rows = session.exec(
        select(SmsVerifier).where(SmsVerifier.filing_id == filing_id).order_by(col(SmsVerifier.id))
    )
    return [VerifierOut.model_validate(r) for r in rows]
