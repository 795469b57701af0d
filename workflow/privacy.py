"""Personal data beyond the masks: reading it in full (recorded), and removing it when kept
long enough.

Every view masks identity and phone numbers (``workflow.views``). Ops may need a number in
full, to answer the bureau or call the applicant: ``reveal`` gives it and writes who saw
which filing's fields, and when, in the same transaction. ``purge`` honours the retention
period: orders that ended without a record (withdrawn, rejected, lapsed) keep their history,
as the audit trail, but lose the applicant's and verifiers' personal data.

A service's audit (``models.ServiceAudit``) is not purged: it is written only of a service on
record, which a purge never reaches (an entity holding a number stays, and a service it
withdraws with its order was never on record), and it holds days, numbers, notices and the
staff who recorded them, not the applicant's, verifiers' or responsible people's data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, not_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from config.masking import mask_text
from config.settings import Settings
from models import (
    CreationKey,
    Disclosure,
    Entity,
    Filing,
    HistoryEntry,
    IdempotencyRecord,
    Notification,
    NotificationStatus,
    Service,
    SmsVerifier,
)
from workflow import service
from workflow.domain.commands import ApplicantKind
from workflow.domain.definition import State
from workflow.domain.event_data import VerifierRole
from workflow.domain.orders import ServiceStatus
from workflow.schemas import ApplicantOut, PersonalDataOut, VerifierContactOut
from workflow.views.describing import get_filing

REVEALED_FIELDS = (
    "applicant.id_number",
    "applicant.phone",
    "applicant.email",
    "verifiers.mobile",
)
# Orders that ended with nothing on record: no licence depends on their data.
PURGEABLE_STATES = (State.WITHDRAWN, State.REJECTED, State.LAPSED)
PURGED = ""


def reveal(session: Session, filing_id: int, actor: str, now: datetime) -> PersonalDataOut:
    """The filing's personal data in full, and a ``Disclosure`` row saying ``actor`` saw it."""
    filing = get_filing(session, filing_id)
    assert filing.id is not None
    verifiers = session.exec(
        select(SmsVerifier).where(SmsVerifier.filing_id == filing.id).order_by(col(SmsVerifier.id))
    ).all()
    session.add(Disclosure(filing_id=filing.id, actor=actor, fields=list(REVEALED_FIELDS), at=now))
    session.commit()
    return PersonalDataOut(
        filing_id=filing.id,
        applicant=ApplicantOut(
            type=ApplicantKind(filing.applicant_type),
            name=filing.applicant_name,
            id_type=filing.applicant_id_type,
            id_number=filing.applicant_id_number,
            phone=filing.applicant_phone,
            email=filing.applicant_email,
        ),
        verifiers=[
            VerifierContactOut(role=VerifierRole(v.role), name=v.name, mobile=v.mobile)
            for v in verifiers
        ],
        purged=filing.personal_data_purged_at is not None,
    )


@dataclass(frozen=True)
class Purge:
    """What a purge removes the personal data of, ids in order: orders, and the entities that
    lose theirs with their last order's."""

    filings: list[int]
    entities: list[int]


def to_purge(session: Session, older_than: timedelta, now: datetime) -> Purge:
    """What ``purge`` would do now, read and never written: its dry run. The orders are those
    it selects, and the entities those its last step (``_purge_record``) would clear once
    the orders are purged."""
    ended_before = now - older_than
    due = session.exec(
        select(Filing.id, Filing.entity_id)
        .where(*_purgeable_where(ended_before))
        .order_by(col(Filing.id))
    ).all()
    entities = {entity for _, entity in due if _entity_goes(session, entity, ended_before)}
    return Purge([filing_id or 0 for filing_id, _ in due], sorted(entities))


def purge(
    session: Session, older_than: timedelta, now: datetime, settings: Settings, batch: int = 200
) -> Purge:
    """Remove the personal data of every purgeable order that ended more than ``older_than``
    ago; returns what it purged, for the record of who asked it. One transaction per
    ``batch`` orders, so a run stopped halfway keeps what it did and the next carries on. A
    rejected or lapsed order is withdrawn first under the caller's ``settings``."""
    purged: list[int] = []
    entities: set[int] = set()
    while due := _due(session, now - older_than, batch):
        for filing in due:
            if (entity := _purge_order(session, filing, now, settings)) is not None:
                entities.add(entity)
        session.commit()
        purged += [filing.id or 0 for filing in due]
    return Purge(purged, sorted(entities))


def _purgeable_where(ended_before: datetime) -> tuple[ColumnElement[bool], ...]:
    """What makes an order one a purge takes: ended without a record before ``ended_before``
    and not purged yet."""
    return (
        col(Filing.state).in_([s.value for s in PURGEABLE_STATES]),
        col(Filing.state_entered_at) < ended_before,
        col(Filing.personal_data_purged_at).is_(None),
    )


def _purgeable(ended_before: datetime) -> SelectOfScalar[Filing]:
    """The orders a purge takes, in id order."""
    return select(Filing).where(*_purgeable_where(ended_before)).order_by(col(Filing.id))


def _due(session: Session, ended_before: datetime, batch: int) -> Sequence[Filing]:
    return session.exec(
        _purgeable(ended_before)
        .limit(batch)
        # Locked as an event locks it, filing before its deadlines, and read again once free:
        # an order resubmitted meanwhile has left the purgeable states and is skipped.
        .with_for_update()
    ).all()


def _purge_order(session: Session, filing: Filing, now: datetime, settings: Settings) -> int | None:
    """History keeps event, actor and time, and the order's notices what they said of it; both
    lose the numbers, names and addresses of the people it was for, and its own routes go. A
    rejected or lapsed order is withdrawn first (``service.withdraw_purged``). Returns the
    entity purged with it, if any."""
    assert filing.id is not None
    if filing.state != State.WITHDRAWN:
        service.withdraw_purged(session, filing.id, now, settings)
    verifiers = session.exec(select(SmsVerifier).where(SmsVerifier.filing_id == filing.id)).all()
    names = [filing.applicant_name, *(v.name for v in verifiers)]
    secrets = [
        filing.applicant_id_number,
        filing.applicant_phone,
        filing.applicant_email,
        *(v.mobile for v in verifiers),
        *(name for name in names if len(name) > 1),  # one character would go everywhere
    ]
    for entry in session.exec(select(HistoryEntry).where(HistoryEntry.filing_id == filing.id)):
        entry.reason = mask_text(entry.reason, secrets) if entry.reason else entry.reason
        entry.data = {
            key: mask_text(value, secrets) if isinstance(value, str) else value
            for key, value in entry.data.items()
        }
        session.add(entry)
    for notice in session.exec(select(Notification).where(Notification.filing_id == filing.id)):
        notice.subject = mask_text(notice.subject, secrets)
        notice.body = mask_text(notice.body, secrets)
        _purge_recipient(notice, secrets)
        session.add(notice)
    for verifier in verifiers:
        verifier.name, verifier.mobile = PURGED, PURGED
        session.add(verifier)
    filing.applicant_name = PURGED
    filing.applicant_id_number = PURGED
    filing.applicant_phone = PURGED
    filing.applicant_email = PURGED
    filing.changes = {}
    filing.notify = []
    filing.personal_data_purged_at = now
    session.add(filing)
    # The answers its keys replay hold the applicant as they were: they go. The same opening
    # (an import's row) then opens a new filing rather than replay a purged one.
    session.execute(delete(CreationKey).where(col(CreationKey.filing_id) == filing.id))
    session.execute(delete(IdempotencyRecord).where(col(IdempotencyRecord.filing_id) == filing.id))
    session.flush()
    return _purge_record(session, filing)


def _purge_recipient(notice: Notification, secrets: list[str]) -> None:
    """A recipient that is one of the order's people (the applicant's own address on a route)
    is masked, and in the idempotency key that ends with it too, where another notice's masked
    key could be the same: the notice's id keeps the key unique. One still being sent keeps
    both, or it could not be delivered."""
    masked = mask_text(notice.recipient, secrets)
    if masked == notice.recipient or notice.status == NotificationStatus.PENDING:
        return
    if notice.idempotency_key.endswith(notice.recipient):
        kept = notice.idempotency_key[: -len(notice.recipient)]
        notice.idempotency_key = f"{kept}purged-{notice.id}"
    notice.recipient = masked


def _purge_record(session: Session, filing: Filing) -> int | None:
    """The entity (and its services) the order brought, once no other order refers to it
    and it holds no number: an entity on record stays, it is the record. A service the order
    brought to one (a new site or access), withdrawn with it, was never on record: its person
    goes with the order's, and their mobile is free again. Returns the entity's id if it went."""
    brought = session.get(Service, filing.service_id) if filing.service_id else None
    if brought is not None and brought.status == ServiceStatus.WITHDRAWN:
        _forget_person(session, brought)
    if not _entity_goes(session, filing.entity_id, None):
        return None
    for site in session.exec(select(Service).where(Service.entity_id == filing.entity_id)):
        _forget_person(session, site)
    entity = session.get(Entity, filing.entity_id)
    assert entity is not None
    entity.name = entity.responsible_name = PURGED
    entity.id_number = entity.responsible_mobile = entity.responsible_email = PURGED
    entity.responsible_id_type = entity.responsible_id_number = None
    session.add(entity)
    return entity.id


def _entity_goes(session: Session, entity_id: int, purging_before: datetime | None) -> bool:
    """Whether the entity's personal data goes with its orders': it holds no number, and no
    order of it keeps its personal data, but those a purge of orders ended before
    ``purging_before`` takes (a dry run's, not purged yet). Said in SQL, not as a list of ids:
    a first purge's backlog may hold more than a statement takes parameters."""
    entity = session.get(Entity, entity_id)
    if entity is None or entity.icp_number is not None:
        return False
    kept = select(Filing.id).where(
        Filing.entity_id == entity_id, col(Filing.personal_data_purged_at).is_(None)
    )
    if purging_before is not None:
        kept = kept.where(not_(and_(*_purgeable_where(purging_before))))
    return session.exec(kept).first() is None


def _forget_person(session: Session, site: Service) -> None:
    site.responsible_name = site.responsible_mobile = site.responsible_email = None
    site.responsible_id_type = site.responsible_id_number = None
    session.add(site)
