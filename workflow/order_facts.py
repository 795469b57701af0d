"""The machine's view of an order: the order an event fires on, loaded with its entity's
record, and what that event's order guards read of the record and the verifiers (only what
they read: this runs on every event)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, bindparam, exists, func
from sqlmodel import Session, col, select

from config.clock import as_utc
from config.settings import Settings
from models import (
    Deadline,
    DeadlineStatus,
    Entity,
    Filing,
    HistoryEntry,
    Service,
    SmsVerifier,
    table,
)
from workflow.domain.definition import EVENT_DEADLINE_KINDS, EVENTS, EVENTS_BY_NAME, Event, State
from workflow.domain.errors import FilingNotFound
from workflow.domain.event_data import EventData, IcpNumberData, ServiceNumberData, VerifierRole
from workflow.domain.orders import (
    SUFFIX_LETTER,
    Departure,
    NumberAsked,
    OrderFacts,
    OrderKind,
    Record,
    ServiceKind,
    ServiceStatus,
    VerifierFacts,
    VerifierResult,
    kind_spec,
    split_number,
)
from workflow.domain.rules import rules_for
from workflow.turns import take_turns

# Which events' order guards (and ``until`` conditions) read the verifiers, and which the
# record: read off the events' declarations, so a guard given to another event gets its facts.
_READS_VERIFIERS = frozenset(
    e.name for e in EVENTS if {"sms_verifier", "sms_sent_at"} & set(e.guards) or e.until
)
_READS_RECORD = frozenset(
    e.name for e in EVENTS if {"authorisation", "record_number"} & set(e.guards)
)
_CHECKS_NUMBER = frozenset(e.name for e in EVENTS if "record_number" in e.guards)
_CHECKS_SERVICE_NUMBER = frozenset(e.name for e in EVENTS if "service_number_free" in e.guards)
# Read only for an SMS recorded late (``sent_at`` given): one sent now came after anything.
_READS_ROUND_ENDED = frozenset(e.name for e in EVENTS if "sms_sent_at" in e.guards)
_AUTOMATIC = frozenset(e.name for e in EVENTS if e.automatic)


class OnFile(NamedTuple):
    """What the entity's record says, read with the order (submissions' guards compare it)."""

    icp_number: str | None
    responsible_is_legal_rep: bool


def _moving_due(filing_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """The filing's deadlines that move the order on (the SMS window's end, the idle lapse),
    due by ``b_now`` and not fired: the sweep has not come round to them yet."""
    return and_(
        col(Deadline.filing_id) == filing_id,
        col(Deadline.disarmed_at).is_(None),
        col(Deadline.status) == DeadlineStatus.PENDING,
        col(Deadline.kind).in_(EVENT_DEADLINE_KINDS),
        col(Deadline.due_at) <= bindparam("b_now"),
    )


# What the sweep would have fired already, by id (``service`` fires them before an event).
DUE_MOVING_IDS = select(col(Deadline.id)).where(_moving_due(bindparam("b_id")))
# Built once: every event loads its order this way (see bench/transitions.py). The entity's
# two facts, and whether the sweep is behind on the order, come in the same statement, saving
# every event a round trip.
_ORDER_AND_ENTITY_BY_ID = (
    select(
        Filing,
        col(Entity.icp_number),
        col(Entity.responsible_is_legal_rep),
        exists().where(_moving_due(table(Filing).c.id)).label("behind"),
    )
    .join(Entity, col(Entity.id) == col(Filing.entity_id))
    .where(col(Filing.id) == bindparam("b_id"))
)


class Loaded(NamedTuple):
    """An order to fire an event on: the filing, its entity's record, and whether a deadline
    that moves it on is due unfired (``DUE_MOVING_IDS``)."""

    filing: Filing
    on_file: OnFile
    behind: bool


def load_order(session: Session, filing_id: int, now: datetime) -> Loaded:
    """The order to fire an event on at ``now``; ``FilingNotFound`` if none."""
    row = session.execute(_ORDER_AND_ENTITY_BY_ID, {"b_id": filing_id, "b_now": now}).one_or_none()
    if row is None:
        raise FilingNotFound(f"filing {filing_id} does not exist")
    filing, number, legal_rep, behind = row
    return Loaded(filing, OnFile(number, legal_rep), bool(behind))


def order_facts(
    session: Session,
    filing: Filing,
    on_file: OnFile,
    event: Event,
    data: EventData,
    settings: Settings,
) -> OrderFacts:
    """What the order guards of ``event`` (with its ``data``) read; nothing more is queried for
    events that read none."""
    kind = OrderKind(filing.kind)
    verifiers: tuple[VerifierFacts, ...] = ()
    if event in _READS_VERIFIERS:
        verifiers = tuple(
            VerifierFacts(
                VerifierRole(v.role),
                VerifierResult(v.result),
                v.wrong_entries,
                as_utc(v.window_started_at) if v.window_started_at else None,
            )
            for v in session.exec(select(SmsVerifier).where(SmsVerifier.filing_id == filing.id))
        )
    record = Record()
    if event in _CHECKS_SERVICE_NUMBER:
        record = Record(service_number_held_by=_service_number_holder(session, filing, data))
    if event in _READS_ROUND_ENDED and getattr(data, "sent_at", None) is not None:
        record = dataclasses.replace(record, round_ended_at=_round_ended_at(session, filing))
    if event in _READS_RECORD:
        record = dataclasses.replace(
            record,
            entity_number=on_file.icp_number,
            responsible_is_legal_rep=_legal_rep_after(filing, on_file),
            # Two queries, so only for the approval that checks the number issued.
            next_suffix=next_suffix(session, filing)
            if event in _CHECKS_NUMBER and kind_spec(kind).number_asked is not NumberAsked.NONE
            else None,
            number_held_by=_holder_of(session, filing, data, settings),
        )
    left = None
    if filing.state not in EVENTS_BY_NAME[event].sources:  # refused: say why, if a deadline
        left = _left_by_deadline(session, filing)
    return OrderFacts(kind, verifiers, record, left)


def _left_by_deadline(session: Session, filing: Filing) -> Departure | None:
    """The automatic event that moved the order into its state, if its last event was one.
    Its clocks start when its deadline fell due (``FellDueData``): so does the state."""
    last = session.exec(
        select(HistoryEntry).where(
            HistoryEntry.filing_id == filing.id, HistoryEntry.version == filing.version
        )
    ).one_or_none()
    if last is None or last.event not in _AUTOMATIC or last.from_state is None:
        return None
    return Departure(Event(last.event), State(last.from_state), as_utc(filing.state_entered_at))


def _round_ended_at(session: Session, filing: Filing) -> datetime | None:
    """When an earlier round ended by itself, its SMS window closed unanswered or the order
    lapsed: the due time of the deadline that ended it, not when that was recorded (a sweep
    behind, or an event catching it up, records it later). An SMS of a later round came after
    it. A return by hand bounds nothing: it too may be recorded late."""
    at = session.exec(
        select(func.max(Deadline.due_at)).where(
            Deadline.filing_id == filing.id,
            col(Deadline.kind).in_(EVENT_DEADLINE_KINDS),
            Deadline.status == DeadlineStatus.FIRED,
        )
    ).one()
    return as_utc(at) if at is not None else None


def _legal_rep_after(filing: Filing, on_file: OnFile) -> bool:
    """Whether the entity's responsible person, as the order leaves it, is the legal
    representative: a change naming a new person asks about that person."""
    person = filing.changes.get("entity_responsible") if filing.changes else None
    if person is None:
        return on_file.responsible_is_legal_rep
    return bool(person.get("legal_representative", True))


def _service_number_holder(session: Session, filing: Filing, data: EventData) -> int | None:
    """Another order that bound the service number given and was not withdrawn: a withdrawn
    order never used it up. Binds of one number take turns, so of two at once the later sees
    the earlier's order."""
    assert isinstance(data, ServiceNumberData)
    take_turns(session, [f"service_number:{data.service_number}"])
    return session.exec(
        select(Filing.id).where(
            Filing.service_number == data.service_number,
            Filing.id != filing.id,
            Filing.state != State.WITHDRAWN,
        )
    ).first()


def _holder_of(session: Session, filing: Filing, data: EventData, settings: Settings) -> int | None:
    """The other entity whose number a first filing's approval names, however its province is
    written: MIIT issues an entity number once, so this is a mistyped number."""
    if not isinstance(data, IcpNumberData) or data.icp_number is None:
        return None
    if filing.kind != OrderKind.FIRST_FILING:
        return None
    spellings = rules_for(settings).number_spellings(split_number(data.icp_number)[0])
    return session.exec(
        select(Entity.id).where(
            col(Entity.icp_number).in_(spellings), Entity.id != filing.entity_id
        )
    ).first()


def next_suffix(session: Session, filing: Filing) -> str:
    """The number after the entity's highest: a withdrawn new access's number (mistyped, say)
    was never the entity's, and must not move the next one."""
    highest = session.exec(
        select(func.max(Service.suffix)).where(
            Service.entity_id == filing.entity_id, Service.status != ServiceStatus.WITHDRAWN
        )
    ).one()
    service = session.get(Service, filing.service_id) if filing.service_id else None
    letter = SUFFIX_LETTER[ServiceKind(service.kind)] if service is not None else ""
    return f"-{(highest or 0) + 1}{letter}"
