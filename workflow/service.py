"""The one way filings change: create them and fire events on them.

Each public function is one database transaction. Firing an event loads the filing, checks
the expected version, runs every guard through the shared machine, then writes the new
state (conditionally on the version it read), the history row, the deadline changes, the
notifications and their outbox rows, and commits all of it or none of it. One exception, the
sweep's own work: a deadline the order owes and the sweep has not fired yet (the scheduler
behind) is fired first, in a transaction of its own (``_catch_up``), as the sweep would have.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from config.clock import CHINA, as_utc, get_clock, in_beijing
from config.settings import Settings, get_settings
from models import (
    Assignment,
    CreationKey,
    Deadline,
    DeadlineStatus,
    Filing,
    HistoryEntry,
    IdempotencyRecord,
    table,
)
from models.sealed import keyed_digest
from workflow import deadlines, notices, obligations, outbox, outcomes, records, verifiers
from workflow.deadlines import OpenDeadline
from workflow.domain.commands import (
    AssignCommand,
    EventCommand,
    FilingCreate,
    OrderCreate,
    judged_with,
    parse_known,
    unknown_keys,
)
from workflow.domain.definition import (
    DEADLINES_BY_KIND,
    EVENT_DEADLINE_KINDS,
    EVENTS_BY_NAME,
    OPENING,
    STATES,
    Event,
    EventSpec,
    State,
)
from workflow.domain.errors import (
    GuardFailed,
    IcpflowError,
    IdempotencyKeyReused,
    Reason,
    TransitionNotAllowed,
    ValidationError,
    VersionConflict,
)
from workflow.domain.event_data import EventData
from workflow.domain.machine import apply_event, event_spec
from workflow.domain.rules import rules_for
from workflow.notices import DeadlineLike
from workflow.order_facts import DUE_MOVING_IDS, load_order, order_facts
from workflow.schemas import FilingOut
from workflow.views.describing import describe, describe_open, get_filing
from workflow.views.history import entered_at

SYSTEM_ACTOR = "system"
log = logging.getLogger(__name__)

# Built once, executed on the connection: these run on every event (see bench/transitions.py).
# The version condition makes the write optimistic: a concurrent change matches no row.
_FILINGS, _DEADLINES = table(Filing), table(Deadline)
_ADVANCE_IF_UNCHANGED = update(_FILINGS).where(
    _FILINGS.c.id == bindparam("b_id"), _FILINGS.c.version == bindparam("b_version")
)
_ADD_HISTORY = insert(table(HistoryEntry))
# Due at the claim, not only when listed: a recount (a corrected holiday schedule) may have
# moved it later since the sweep read its batch.
_CLAIM_PENDING_DEADLINE = (
    update(_DEADLINES)
    .where(
        _DEADLINES.c.id == bindparam("b_id"),
        _DEADLINES.c.status == DeadlineStatus.PENDING,
        _DEADLINES.c.due_at <= bindparam("b_now"),
    )
    .values(status=DeadlineStatus.FIRED, fired_at=bindparam("b_now"))
)


# A deadline armed already due fires inside the event that armed it, and its event may arm
# more deadlines already due. Each link enters a new state, so a chain longer than the
# number of states must be a loop of zero-length windows; past this, links wait for the sweep.
MAX_CHAIN = len(STATES)


@dataclass(frozen=True)
class Applied:
    """An applied event: the filing in its new state and the deadlines that state armed."""

    filing: Filing
    deadlines: list[OpenDeadline]


@dataclass(frozen=True)
class Opening:
    """An order opened, or the one its idempotency key opened before (``replayed``)."""

    view: FilingOut
    replayed: bool


def create_filing(
    session: Session,
    command: FilingCreate,
    actor: str,
    *,
    idempotency_key: str | None = None,
    settings: Settings | None = None,
) -> FilingOut:
    """Today's filing body: a first-filing order of a new entity and its website, refused
    with today's field names."""
    order = records.order_from_filing(command)
    unknown = unknown_keys(command)
    try:
        return _open(
            session, order, actor, settings, idempotency_key, fields=False, unknown=unknown
        ).view
    except ValidationError as refused:
        raise records.unnamed_responsible(command, refused) from None


def import_filing(
    session: Session, command: FilingCreate, actor: str, *, settings: Settings | None = None
) -> Opening:
    """``create_filing`` for a row of an import, under a key its content gives: the same row
    imported again (a run stopped halfway, started over) names the filing it opened as it is
    now (withdrawn since, say), and says so, where it would be refused as its entity's order
    in flight. The key is keyed, as a fingerprint is: the row holds identity and phone
    numbers. No caller sent it, so it is no one's: whoever runs the import again (a colleague,
    a cron job under its own ``--actor``) carries it on."""
    order = records.order_from_filing(command)
    content = json.dumps(order.model_dump(mode="json"), sort_keys=True)
    key = f"import:{keyed_digest(content)}"
    try:
        opening = _open(
            session,
            order,
            actor,
            settings,
            key,
            fields=False,
            key_from_content=True,
            unknown=unknown_keys(command),
        )
    except ValidationError as refused:
        raise records.unnamed_responsible(command, refused) from None
    if not opening.replayed:
        return opening
    now_shown = describe(
        session,
        get_filing(session, opening.view.id),
        get_clock().now(),
        settings or get_settings(),
    )
    return Opening(now_shown, replayed=True)


def create_order(
    session: Session,
    command: OrderCreate,
    actor: str,
    *,
    idempotency_key: str | None = None,
    settings: Settings | None = None,
) -> FilingOut:
    """Open an order of any kind; every reason it cannot be opened is listed at once."""
    unknown = unknown_keys(command)
    return _open(
        session, command, actor, settings, idempotency_key, fields=True, unknown=unknown
    ).view


def _open(
    session: Session,
    command: OrderCreate,
    actor: str,
    settings: Settings | None,
    idempotency_key: str | None,
    *,
    fields: bool,
    key_from_content: bool = False,
    unknown: list[Reason] | None = None,
) -> Opening:
    """Open the order; with an ``idempotency_key`` a repeat of the same request replays the
    first answer instead of opening a second filing. A key a caller sent is theirs (its
    fingerprint names them); one derived from the content (``key_from_content``) is anyone's.
    With ``unknown`` keys the body sent is refused, listing them with every rule it breaks,
    and replays nothing: the body without them is not the request sent."""
    settings = settings or get_settings()
    unknown = unknown or []
    idempotency_key = None if unknown else idempotency_key
    fingerprint = ""
    if idempotency_key:
        sender = _ANYONE if key_from_content else actor
        fingerprint = _fingerprint(sender, "open", command.model_dump(mode="json"), None)
        if replay := _replay_opening(session, idempotency_key, fingerprint):
            return Opening(replay, replayed=True)
    now = get_clock().now()
    try:
        parties, people = judged_with(
            unknown,
            f"{command.kind} order refused",
            lambda: records.check_order(
                session, command, now.astimezone(CHINA).date(), settings, fields=fields
            ),
        )
        filing = records.write_order(session, command, parties, people, actor, now, settings)
        assert filing.id is not None
        session.add(
            HistoryEntry(
                filing_id=filing.id,
                version=1,
                event=OPENING,
                from_state=None,
                to_state=filing.state,
                actor=actor,
                at=now,
                data={},
            )
        )
        armed = deadlines.arm(session, filing, filing.state, now, settings)
        view = describe_open(filing, armed, now, settings)
        if idempotency_key:
            session.add(
                CreationKey(
                    key=idempotency_key,
                    fingerprint=fingerprint,
                    filing_id=filing.id,
                    response=view.model_dump(mode="json"),
                    created_at=now,
                )
            )
        session.commit()
    except Exception as failure:
        read_first_answer = (
            functools.partial(_replay_opening, key=idempotency_key, fingerprint=fingerprint)
            if idempotency_key
            else None
        )
        answer = _replay_or_reraise(session, failure, read_first_answer, _lost_opening_race)
        return Opening(answer, replayed=True)
    return Opening(view, replayed=False)


def fire_event(
    session: Session,
    filing_id: int,
    command: EventCommand,
    *,
    actor: str,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
    system: bool = False,
    settings: Settings | None = None,
) -> FilingOut:
    """Fire the command's event; with an ``idempotency_key`` a repeat of the same request
    replays the first result. Anything ``session`` holds unwritten goes with the event, or is
    rolled back before a catch-up (``_catch_up``): a console session's ``last_seen_at``, the
    only such caller's write, is then recorded at its next request."""
    settings = settings or get_settings()
    spec = event_spec(command.event)
    headline = f"bad data for {spec.name.value!r}"
    data, unknown = parse_known(spec.data, command.data, headline, ("data",))
    idempotency_key = None if unknown else idempotency_key  # the request sent is refused
    # Only a keyed request is ever compared with an earlier one.
    # Of the data as read: one instant written two ways, or an optional field sent as null
    # or left out, is the same request.
    fingerprint = (
        _fingerprint(
            actor, command.event, data.model_dump(mode="json", exclude_none=True), expected_version
        )
        if idempotency_key
        else ""
    )
    if idempotency_key and (replay := _replay(session, filing_id, idempotency_key, fingerprint)):
        return replay
    now = get_clock().now()
    apply = functools.partial(
        _apply,
        session,
        filing_id,
        spec,
        data,
        actor,
        now,
        settings,
        expected_version,
        unknown=unknown,
        headline=headline,
    )
    try:
        try:
            applied = apply(system)
        except _SweepBehind:  # first what the sweep would have fired already, then this event
            session.rollback()
            _catch_up(session, filing_id, now, settings)
            applied = apply(caught_up=True)
        view = describe_open(applied.filing, applied.deadlines, now, settings)
        if idempotency_key:
            session.add(
                IdempotencyRecord(
                    filing_id=filing_id,
                    key=idempotency_key,
                    fingerprint=fingerprint,
                    response=view.model_dump(mode="json"),
                    created_at=now,
                )
            )
        session.commit()
    except Exception as failure:
        read_first_answer = (
            functools.partial(
                _replay, filing_id=filing_id, key=idempotency_key, fingerprint=fingerprint
            )
            if idempotency_key
            else None
        )
        return _replay_or_reraise(
            session, failure, read_first_answer, lambda _: _conflict(filing_id)
        )
    return view


def assign(
    session: Session,
    filing_id: int,
    command: AssignCommand,
    *,
    actor: str,
    now: datetime,
    settings: Settings | None = None,
) -> FilingOut:
    """Give a filing to a case manager (or to nobody), recorded in ``assignments``. Who works
    on a filing is not part of its process: the version and the history stay as they are, so
    nobody's open page goes stale. Giving it to whom it is with already records nothing."""
    # Locked, so that of two assignments at once the later names the earlier's as previous.
    filing = get_filing(session, filing_id, lock=True)
    previous = filing.assignee
    if command.assignee != previous:
        filing.assignee = command.assignee
        session.add(filing)
        session.add(
            Assignment(
                filing_id=filing_id,
                assignee=command.assignee,
                previous=previous,
                actor=actor,
                at=now,
            )
        )
        log.info("filing %s assigned to %s by %s", filing_id, command.assignee or "nobody", actor)
    session.commit()
    return describe(session, filing, now, settings or get_settings())


class _SweepBehind(Exception):
    """A deadline that moves the order on is due unfired (``_catch_up``); never leaves here."""


def _catch_up(session: Session, filing_id: int, now: datetime, settings: Settings) -> None:
    """Fire, and commit, what the sweep would have fired already: a deadline that moves the
    order on (the SMS window's end, the idle lapse), due and not swept yet (the scheduler
    behind, or down). An answer to an SMS whose window has closed is then judged on the order
    returned to the host, and refused, not taken because the sweep had not come round; and the
    return stays, as the sweep's would. It is the system's act, in a session of its own as
    the sweep's is: the caller's commits only its own event. Locked as the sweep locks: the
    filing, then its deadlines."""
    with Session(
        session.get_bind(), expire_on_commit=False, info=outbox.relayed_as(session)
    ) as own:
        filing = own.get(Filing, filing_id, with_for_update=True)
        assert filing is not None
        due_ids = own.execute(DUE_MOVING_IDS, {"b_id": filing_id, "b_now": now}).scalars()
        due = own.exec(select(Deadline).where(col(Deadline.id).in_(list(due_ids)))).all()
        for deadline in sorted(due, key=lambda d: d.due_at):
            fired = fire_deadline(own, filing, deadline, now, settings)
            if fired is not None and fired.applied is not None:
                break  # its event moved the order on: the state's other deadlines went with it
        own.commit()


def _apply(
    session: Session,
    filing_id: int,
    spec: EventSpec,
    parsed: EventData,
    actor: str,
    now: datetime,
    settings: Settings,
    expected_version: int | None = None,
    system: bool = False,
    *,
    chain: int = 0,
    caught_up: bool = False,
    tell: bool = True,
    then: Callable[[], None] | None = None,
    unknown: list[Reason] | None = None,
    headline: str = "",
) -> Applied:
    """Apply one event inside the caller's transaction, with the deadlines its state arms
    already due fired at once (see ``fire_deadline``); ``chain`` counts such nested events.
    ``caught_up``: the due deadlines were fired first (``_SweepBehind``); ``tell``: the event's
    notice, if it has one, is owed (not for housekeeping, ``withdraw_purged``); ``then`` runs
    once the event is applied, before the deadlines already due fire (a deadline's own notice,
    so a chain is told in the order it fell due). ``unknown``: data keys the event does not
    take, refused under ``headline`` with every reason the guards find (``judged_with``);
    an automatic event fired by hand and a stale ``expected_version`` are answered first,
    alone, as no key changes them (and the 409 stays a 409)."""
    filing, on_file, behind = load_order(session, filing_id, now)
    if behind and not (system or caught_up):
        raise _SweepBehind  # fire_event fires what is due first, then this again
    # What is left out is settled from the filing (a resubmission's materials carry over):
    # the guards judge, the filing keeps and the history records what was used.
    on_record = {key: getattr(filing, column) for key, column in parsed.stored.items()}
    parsed = parsed.settled(on_record, rules_for(settings))
    event, data = spec.name, parsed.model_dump(mode="json")
    if spec.automatic and not system:
        raise TransitionNotAllowed(
            f"event {event.value!r} is fired by the system only",
            [
                Reason(
                    "automatic_event",
                    f"{event.value!r} happens automatically at its deadline",
                    field="event",
                )
            ],
        )
    if expected_version is not None and expected_version != filing.version:
        raise _stale(session, filing, expected_version)
    from_state, version = filing.state, filing.version
    facts = order_facts(session, filing, on_file, event, parsed, settings)
    to_state = judged_with(
        unknown or [],
        headline,
        lambda: apply_event(filing, facts, from_state, event, parsed, settings),
    )
    moved_on = to_state != from_state
    changes: dict[str, Any] = {"state": to_state, "version": version + 1}
    started = parsed.clocks_start(now)  # earlier than now for an SMS recorded late
    if moved_on:  # an event that stays (one SMS answer of several) keeps the state's clocks
        changes["state_entered_at"] = started
    changes.update(
        {column: data[key] for key, column in parsed.stored.items() if data[key] is not None}
    )
    connection = session.connection()
    moved = connection.execute(
        _ADVANCE_IF_UNCHANGED, {"b_id": filing_id, "b_version": version, **changes}
    )
    if moved.rowcount != 1:
        raise _conflict(filing_id)
    for column, value in changes.items():
        set_committed_value(filing, column, value)
    reason = data.get("reason")
    connection.execute(
        _ADD_HISTORY,
        {
            "filing_id": filing_id,
            "version": version + 1,
            "event": event,
            "from_state": from_state,
            "to_state": to_state,
            "actor": actor,
            "at": now,
            "data": dict(data),
            "reason": str(reason) if reason is not None else None,
        },
    )
    verifiers.record_sms(session, filing_id, event, data, started)
    if event is Event.SMS_WRONG_ENTRY and moved_on:
        verifiers.fail_verifier(session, filing_id, data["verifier"])
    if to_state == State.APPROVED:
        _approve(session, filing)
        obligations.on_approval(session, filing, now, settings)
    elif to_state == State.WITHDRAWN:
        outcomes.withdraw_parties(session, filing)
    if not (moved_on or spec.reenters):
        still = deadlines.open_deadlines(session, filing_id)
        if spec.notify and tell:
            notices.for_event(session, filing, event, reason, now, settings, still)
        if then is not None:
            then()
        return Applied(filing, still)
    deadlines.disarm(session, filing_id, now)
    armed = deadlines.arm(session, filing, to_state, now, settings, since=started)
    armed = deadlines.skip_overtaken(session, filing_id, armed, now)
    if spec.notify and tell:
        notices.for_event(session, filing, event, reason, now, settings, armed)
    if then is not None:
        then()
    applied = Applied(filing, armed)
    if chain < MAX_CHAIN:
        # As the sweep does, those that fire an event go first: a window already closed
        # returns the order, and its reminders leave with the state, unsent.
        due = [d for d in armed if d.due_at <= now]
        for deadline in sorted(due, key=lambda d: d.kind not in EVENT_DEADLINE_KINDS):
            fired = fire_deadline(session, filing, deadline, now, settings, chain=chain + 1)
            if fired is not None and fired.applied is not None:
                return fired.applied  # the filing left to_state: the rest were disarmed
    return applied


PURGED_REASON = "personal data purged after the retention period: nothing can move it on"


def withdraw_purged(session: Session, filing_id: int, now: datetime, settings: Settings) -> None:
    """End a rejected or lapsed order whose personal data is being purged, as the system,
    telling no one (the purge names it): with no applicant left it can go no further, and in
    flight it kept its domain, its service number and its entity from the applicant filing
    again. Inside the purge's transaction, which holds the order."""
    withdraw = EVENTS_BY_NAME[Event.WITHDRAW]
    reason = withdraw.data.model_validate({"reason": PURGED_REASON})
    _apply(
        session, filing_id, withdraw, reason, SYSTEM_ACTOR, now, settings, system=True, tell=False
    )


def _approve(session: Session, filing: Filing) -> None:
    """The record changes as the kind's approval says; a number icpflow derived (a new
    service's next suffix) is kept on the order too."""
    issued = outcomes.apply_effect(session, filing)
    if issued is not None and issued != filing.icp_number:
        session.connection().execute(
            update(_FILINGS).where(_FILINGS.c.id == filing.id).values(icp_number=issued)
        )
        set_committed_value(filing, "icp_number", issued)


@dataclass(frozen=True)
class Fired:
    """A deadline this call claimed; ``applied`` is its event's outcome when one was applied."""

    applied: Applied | None


def fire_deadline(
    session: Session,
    filing: Filing,
    deadline: DeadlineLike,
    now: datetime,
    settings: Settings,
    *,
    chain: int = 0,
) -> Fired | None:
    """The one way a deadline fires, inside the caller's transaction: the sweep's for those that
    came due, an event's catch-up (``_catch_up``) for those due the sweep has not fired yet,
    ``_apply``'s for those armed already due (the 0 h SMS reminder must not wait).

    The deadline is claimed by a conditional update (``pending`` -> ``fired``), so two sweepers
    never fire it twice and one disarmed meanwhile is left alone (``None``). Its event is
    applied as the system actor in a savepoint, its notices owed inside it as soon as it is
    applied (before a chain it starts): a refused event (not allowed from the state, a guard)
    is logged and rolled back alone, the deadline stays fired and its notices are owed after.
    Any other failure is not a refusal, and goes with the claim in the caller's transaction,
    the deadline pending for another fire: a version conflict (the filing changed under the
    caller: fired again on the filing as it is), or a fault (a holiday schedule unreadable,
    the database), which must not cost the order its expiry.
    """
    claimed = session.connection().execute(
        _CLAIM_PENDING_DEADLINE, {"b_id": deadline.id, "b_now": now}
    )
    if claimed.rowcount != 1:
        return None
    if isinstance(deadline, OpenDeadline):
        deadline.status = DeadlineStatus.FIRED  # described as armed, without reading it back
    event = DEADLINES_BY_KIND[deadline.kind].event

    def tell() -> None:
        """Told once its event is applied, so the notice gives the state it left the filing
        in, and before the deadlines that state armed already due fire (theirs come after)."""
        notices.for_deadline(session, filing, deadline, now, settings)

    fired = (
        Fired(None)
        if event is None
        else _fire_its_event(session, filing, event, deadline, now, settings, chain, tell)
    )
    if fired.applied is None:  # no event, or one refused: its savepoint undid what it told
        tell()
    return fired


def _fire_its_event(
    session: Session,
    filing: Filing,
    event: Event,
    deadline: DeadlineLike,
    now: datetime,
    settings: Settings,
    chain: int,
    then: Callable[[], None],
) -> Fired:
    spec = EVENTS_BY_NAME[event]
    assert filing.id is not None
    try:
        with session.begin_nested():
            return Fired(
                _apply(
                    session,
                    filing.id,
                    spec,
                    spec.data.model_validate({"fell_due_at": as_utc(deadline.due_at)}),
                    SYSTEM_ACTOR,
                    now,
                    settings,
                    system=True,
                    chain=chain,
                    then=then,
                )
            )
    except (TransitionNotAllowed, GuardFailed) as exc:
        log.error(
            "deadline %s could not fire %s on filing %s: %s",
            deadline.id,
            event,
            filing.id,
            exc.message,
        )
        return Fired(None)


def _replay_or_reraise(
    session: Session,
    failure: Exception,
    replay: Callable[[Session], FilingOut | None] | None,
    lost_race: Callable[[IntegrityError], VersionConflict | None],
) -> FilingOut:
    """After a write that failed: roll it back at once (SQLite's write lock must not wait for
    the caller to close the session), then answer as its first copy was answered when it is a
    keyed repeat (``replay``) that lost the race to that copy: it met the copy's key row, or a
    refusal or conflict the copy caused (the filing it moved on, one order in flight per
    entity). Else ``failure`` is raised again; an integrity error as the race ``lost_race``
    says it lost, when it says so."""
    session.rollback()
    if isinstance(failure, IcpflowError | IntegrityError):
        if replay is not None:
            try:
                answer = replay(session)
            finally:
                session.rollback()  # the read's own transaction, ended as the write's was
            if answer is not None:
                return answer
        if isinstance(failure, IntegrityError) and (conflict := lost_race(failure)):
            raise conflict from None
    raise failure


def _lost_opening_race(failure: IntegrityError) -> VersionConflict | None:
    """A unique index refused the row: another opening took a number this one names."""
    return _record_changed() if _is_unique_violation(failure) else None


def _replay(session: Session, filing_id: int, key: str, fingerprint: str) -> FilingOut | None:
    record = session.exec(
        select(IdempotencyRecord).where(
            IdempotencyRecord.filing_id == filing_id, IdempotencyRecord.key == key
        )
    ).first()
    return _replayed(record, key, fingerprint, f"on filing {filing_id}")


def _replay_opening(session: Session, key: str, fingerprint: str) -> FilingOut | None:
    record = session.exec(select(CreationKey).where(CreationKey.key == key)).first()
    return _replayed(record, key, fingerprint, "to open a filing")


def _replayed(
    record: IdempotencyRecord | CreationKey | None, key: str, fingerprint: str, where: str
) -> FilingOut | None:
    """The first answer to ``key``; a key sent again with another request is refused."""
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was already used {where} by another caller or with "
            "a different request",
            [
                Reason(
                    "idempotency_key_reused",
                    "send a new key for a new request",
                    field="Idempotency-Key",
                )
            ],
        )
    return FilingOut.model_validate(record.response)


# Who a key derived from what it opens belongs to, in its fingerprint: no actor is named so.
_ANYONE = ""


def _fingerprint(
    actor: str, event: str, data: Mapping[str, Any], expected_version: int | None
) -> str:
    """Who sent a keyed request and what it said, to tell its repeat from another request: a
    key another caller sent is theirs, and replaying their answer would hand it to whoever
    guessed or copied the key. Keyed, since an opening's body holds identity and phone
    numbers, which a plain hash would let be guessed."""
    body = json.dumps([actor, event, data, expected_version], sort_keys=True, default=str)
    return keyed_digest(body)


def _is_unique_violation(exc: IntegrityError) -> bool:
    """A unique index refused the row (another request took the number first), not a broken
    constraint, which is a bug to surface, not a race to retry."""
    return getattr(exc.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(
        exc.orig
    )


def _record_changed() -> VersionConflict:
    """Another opening wrote a number this one names (a record number, say) after this one
    checked it: asked again, the checks name what is taken."""
    return VersionConflict(
        "the record changed while this order was opened; try again",
        [Reason("record_changed", "another order took a number this one names; retry")],
    )


def _stale(session: Session, filing: Filing, expected: int) -> VersionConflict:
    """A conflict naming what moved the filing past the version the caller saw (who, which
    event, when), so a person knows whether to redo their step or not: it may have been their
    own, sent twice."""
    assert filing.id is not None
    if expected > filing.version:
        return _conflict(filing.id, expected, filing.version, "that version does not exist yet")
    last = session.exec(
        select(HistoryEntry).where(
            HistoryEntry.filing_id == filing.id, HistoryEntry.version == filing.version
        )
    ).first()
    if last is None:
        return _conflict(filing.id, expected, filing.version)
    # Each time with its zone, as the CLI prints times: the message reaches it, and scripts.
    at = in_beijing(as_utc(last.at))
    moved = f"last {last.event} by {last.actor} at {at}"
    # Recorded late (a deadline a sweep caught up on, an SMS entered after it came): say the
    # time it took effect too, the one the filing's page and clocks go by.
    effective = in_beijing(entered_at(last.event, last.data, as_utc(last.at)))
    if effective != at:  # to the minute, as the message gives them
        moved += f", as of {effective}"
    return _conflict(filing.id, expected, filing.version, moved)


def _conflict(
    filing_id: int,
    expected: int | None = None,
    actual: int | None = None,
    moved: str = "",
) -> VersionConflict:
    detail = f" (expected version {expected}, current {actual})" if expected is not None else ""
    detail += f": {moved}" if moved else ""
    return VersionConflict(
        f"filing {filing_id} was changed by someone else{detail}; reload it and try again",
        [
            Reason(
                "version_conflict",
                "reload the filing and retry",
                field="expected_version",
                details={"current_version": actual} if actual is not None else {},
            )
        ],
    )
