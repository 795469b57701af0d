"""Who hears of what, and in which words.

A notice becomes one ``Notification`` row per recipient plus one outbox row asking a worker
to deliver it, all in the caller's transaction. The idempotency key (filing, kind, deadline
row and due time or version, channel, recipient) is unique, so the same reminder can never be owed twice.
Text is bilingual and identity/phone numbers are masked before they leave the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import insert
from sqlmodel import Session, col, select

from config.clock import as_utc, beijing_text
from config.masking import mask_phone, mask_text
from config.settings import Settings
from models import (
    Deadline,
    Entity,
    Filing,
    Notification,
    NotificationStatus,
    Service,
    SmsVerifier,
    table,
)
from workflow import outbox
from workflow.deadlines import armed_figures, open_deadlines
from workflow.domain.definition import (
    DEADLINES_BY_KIND,
    EVENTS_BY_NAME,
    STATES_BY_NAME,
    Audience,
    DeadlineSpec,
    Event,
    EventSpec,
    State,
)
from workflow.domain.obligations import OBLIGATIONS, ObligationKind
from workflow.domain.orders import VerifierResult
from workflow.domain.wording import worded
from workflow.records import service_named

_NOTIFICATIONS = table(Notification)

# Built once: notifying events run it. Which id is whose does not matter (each is owed the same
# delivery job), so the rows need not come back in order.
_INSERT = insert(_NOTIFICATIONS).returning(_NOTIFICATIONS.c.id)


def duty_notice(kind: ObligationKind) -> str:
    """The kind a duty's notice is stored under: its key, prefixed so that no event's or
    deadline's notice can ever share it."""
    return f"obligation_{kind}"


# A live site's footer check failing twice in a row: told once, not as a duty falling due.
FOOTER_FAILING = "footer_check_failed"

# What pages call each kind of notice: the event, deadline or duty it tells of.
_NOTICE_LABELS: dict[str, str] = {
    **{spec.name: spec.label for spec in EVENTS_BY_NAME.values()},
    **{spec.kind: spec.label for spec in DEADLINES_BY_KIND.values()},
    **{duty_notice(spec.kind): spec.label for spec in OBLIGATIONS},
    FOOTER_FAILING: "Footer check failed 底部备案号检查未通过",
}


def notice_label(kind: str) -> str:
    """A notification's kind as pages name it; one stored under a kind no longer declared by
    its key, which is all it has."""
    return _NOTICE_LABELS.get(kind, kind)


def recipients(filing: Filing, audience: Audience, settings: Settings) -> list[tuple[str, str]]:
    """(channel, recipient) pairs: the team's routes, plus the filing's own for case managers."""
    routes = list(settings.notify_routes.get(audience, []))
    if audience is Audience.CASE_MANAGER:
        routes += filing.notify
    unique = dict.fromkeys((r["channel"], r["recipient"]) for r in routes)
    return list(unique)


def _about(filing: Filing) -> str:
    """What a notice is about: the order's domain, or for an order on the entity alone (a
    change of its name, its cancellation) the entity and its number."""
    if filing.domain:
        return filing.domain
    return f"{filing.applicant_name} {filing.icp_number or ''}".strip()


def _header(filing: Filing, entity: Entity | None = None) -> str:
    """Which filing, and whose; ``entity``, when given, names the applicant as it stands
    now, not as the order knew it (a change order approved since renamed it)."""
    state = STATES_BY_NAME[filing.state]
    name = entity.name if entity else filing.applicant_name
    phone = entity.responsible_mobile if entity else filing.applicant_phone
    return (
        f"备案 #{filing.id} {_about(filing)}（{filing.province}）状态：{state.label_zh}\n"
        f"Filing #{filing.id} {_about(filing)} ({filing.province}) state: {filing.state}\n"
        f"申请人 Applicant: {name}, 手机 phone {mask_phone(phone)}"
    )


def _answering(session: Session, filing: Filing) -> str:
    """While the order waits on the bureau's SMS, who must still answer it: a change order's
    new person, a new site's own, not the applicant the header names, whose phone may never
    get the SMS."""
    if filing.state != State.SMS_PENDING:
        return ""
    people = session.exec(
        select(SmsVerifier.role, SmsVerifier.name, SmsVerifier.mobile)
        .where(SmsVerifier.filing_id == filing.id, SmsVerifier.result == VerifierResult.PENDING)
        .order_by(col(SmsVerifier.id))
    ).all()
    named = "; ".join(f"{role} {name} {mask_phone(mobile)}" for role, name, mobile in people)
    return f"\n待回复短信 To answer the SMS: {named}" if named else ""


class DeadlineLike(Protocol):
    """A stored ``Deadline`` or one just armed (``deadlines.OpenDeadline``)."""

    @property
    def id(self) -> int | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def figure(self) -> float: ...
    @property
    def due_at(self) -> datetime: ...


@dataclass(frozen=True)
class Notice:
    """What to say, to whom (an audience), under which idempotency key prefix."""

    kind: str
    audience: Audience
    key: str
    subject: str
    body: str
    deadline_id: int | None = None


def due_line(due_at: datetime) -> str:
    """When something is due, as its reader keeps time: case managers and ops work in Beijing,
    and a due time in UTC reads a day early or late around midnight."""
    return f"到期 Due: {beijing_text(due_at, due=True)} 北京时间 (UTC+8)"


def due_day_line(day: object) -> str:
    """When something is due on a day, not at a time (a PSB filing, a domain's expiry)."""
    return f"到期 Due: {day} 北京时间全天 (the whole day, UTC+8)"


def for_deadline(
    session: Session, filing: Filing, deadline: DeadlineLike, now: datetime, settings: Settings
) -> list[int]:
    spec = DEADLINES_BY_KIND[deadline.kind]
    due_at = as_utc(deadline.due_at)
    # A reminder is sent at its own time; what its reader must meet is the deadline it
    # reminds of (the window's end) while the state keeps it armed, passed already or not.
    # Its text names that deadline's figure as armed (the lapse's days), as its own.
    meet = _open(session, filing, spec.reminds_of) if spec.reminds_of else None
    zh, description = _said(spec, settings, [d for d in (deadline, meet) if d])
    # A deadline that moved the order on (the window's end) tells when the state it left the
    # order in ends by itself, as an event's notice does.
    after = _ends(open_deadlines(session, filing.id or 0), now, settings) if spec.event else []
    notice = Notice(
        kind=deadline.kind,
        audience=spec.audience,
        # The row's id: an SMS sent again 12 h after the last arms a reminder due when one
        # of the last window's was, and the two are told apart only by the rows they are.
        key=f"{filing.id}:{deadline.kind}:{deadline.id}:{due_at.isoformat()}",
        subject=f"[icpflow] {zh} / {description} — {_about(filing)}",
        body="\n".join([zh, description, due_line(as_utc(meet.due_at) if meet else due_at), *after])
        + f"\n\n{_header(filing)}"
        + _answering(session, filing),
        deadline_id=deadline.id,
    )
    return _owe(session, filing, notice, now, settings)


def _open(session: Session, filing: Filing, kind: str) -> Deadline | None:
    """The filing's deadline of ``kind`` its state keeps armed, passed already or not."""
    return session.exec(
        select(Deadline).where(
            Deadline.filing_id == filing.id,
            Deadline.kind == kind,
            col(Deadline.disarmed_at).is_(None),
        )
    ).first()


def for_event(
    session: Session,
    filing: Filing,
    event: Event,
    reason: str | None,
    now: datetime,
    settings: Settings,
    state_deadlines: Sequence[DeadlineLike],
) -> list[int]:
    """``state_deadlines``: the state's, as the event left them (in hand: no query)."""
    spec = EVENTS_BY_NAME[event]
    lines = [*_said(spec, settings)]
    if reason:
        secrets = [filing.applicant_id_number, filing.applicant_phone]
        lines.append(f"原因 Reason: {mask_text(reason, secrets)}")
    if filing.icp_number and spec.tells_icp_number:
        lines.append(f"备案号 ICP number: {filing.icp_number}")
    lines += _ends(state_deadlines, now, settings)
    notice = Notice(
        kind=event,
        audience=spec.audience,
        key=f"{filing.id}:{event}:v{filing.version}",
        subject=f"[icpflow] {_about(filing)}: {event} → {filing.state}",
        body="\n".join(lines) + f"\n\n{_header(filing)}" + _answering(session, filing),
    )
    return _owe(session, filing, notice, now, settings)


def _said(
    spec: EventSpec | DeadlineSpec, settings: Settings, armed: Sequence[DeadlineLike] = ()
) -> tuple[str, str]:
    """What a declared event or deadline says, in Chinese and English, its figures as the
    ``armed`` deadlines were armed with (else as the settings are)."""
    figures = armed_figures([(d.kind, d.figure) for d in armed], settings)
    said = worded(spec.description, settings, figures)
    if isinstance(spec, DeadlineSpec) and spec.source:  # a notice cites its rule's source
        said = f"{said} ({spec.source})"
    return worded(spec.zh, settings, figures), said


def _ends(state_deadlines: Sequence[DeadlineLike], now: datetime, settings: Settings) -> list[str]:
    """When the state the order is in ends by itself unless someone acts (the SMS window, the
    idle lapse), as armed: an SMS recorded late has hours left, not the whole window. One
    past already (an SMS recorded after its window) fires next, and tells for itself."""
    told = []
    for deadline in state_deadlines:
        spec = DEADLINES_BY_KIND[deadline.kind]
        if spec.event is not None and as_utc(deadline.due_at) > now:
            told += [" ".join(_said(spec, settings, [deadline])), due_line(as_utc(deadline.due_at))]
    return told


def for_service(
    session: Session,
    filing: Filing,
    service_id: int,
    *,
    kind: str,
    audience: Audience,
    key: str,
    title: tuple[str, str],
    lines: Sequence[str],
    now: datetime,
    settings: Settings,
) -> list[int]:
    """A notice about an approved service's obligation (``workflow.obligations``), filed under
    ``filing``, the order that approved it; ``title`` is (Chinese, English). Sent months after
    that order, it names the entity as it is on record now, and the service by what it is and
    its own number: an app and the site on its domain share the domain, not their duties."""
    zh, en = title
    entity = session.get(Entity, filing.entity_id)
    service = session.get(Service, service_id)
    assert service is not None
    which = service_named(service)
    notice = Notice(
        kind=kind,
        audience=audience,
        key=key,
        subject=f"[icpflow] {zh} / {en} — {which}",
        body="\n".join([zh, en, f"服务 Service: {which}", *lines])
        + f"\n\n{_header(filing, entity)}",
    )
    return _owe(session, filing, notice, now, settings)


def _owe(
    session: Session, filing: Filing, notice: Notice, now: datetime, settings: Settings
) -> list[int]:
    """Write one notification per recipient and owe their deliveries; returns their ids."""
    rows = [
        {
            "filing_id": filing.id,
            "deadline_id": notice.deadline_id,
            "kind": notice.kind,
            "channel": channel,
            "recipient": recipient,
            "subject": notice.subject,
            "body": notice.body,
            "idempotency_key": f"{notice.key}:{channel}:{recipient}",
            "status": NotificationStatus.PENDING,
            "attempts": 0,
            "created_at": now,
            "queued_at": now,
        }
        for channel, recipient in recipients(filing, notice.audience, settings)
    ]
    if not rows:
        return []
    ids = list(session.connection().execute(_INSERT, rows).scalars())
    outbox.owe_deliveries(session, ids, now)
    return ids
