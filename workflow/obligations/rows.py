"""The shared pieces of a service's obligations: the order its duties are filed under, finding
its rows, opening and closing them, and the figures a duty is armed with.

Every concern of the package (recording, approval, the sweep, the footer checks, the reads)
finds, opens, closes and words obligations the same way, so they all do it here, once. This
module imports no other of the package, so each can import it without a cycle; its names keep
their leading underscore: they are the package's own, for no other package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from config.clock import CHINA, as_utc
from config.settings import Settings
from models import DeadlineStatus, Filing, Obligation, Service
from workflow.domain.definition import Figure, State
from workflow.domain.errors import GuardFailed, NotFound, Reason, summarise
from workflow.domain.obligations import OBLIGATIONS_BY_KIND, ObligationKind
from workflow.domain.orders import KINDS, Effect
from workflow.domain.wording import worded
from workflow.records import service_named

# Effects after which a service is filed with this host, and its domain must stay registered.
FILED = (Effect.ISSUE_NUMBERS, Effect.ADD_SERVICE, Effect.ADD_ACCESS)
_FILING_KINDS = tuple(spec.kind.value for spec in KINDS if spec.effect in FILED)
# The order that filed a service here sorts before any other approved order of it.
FILED_HERE_FIRST = col(Filing.kind).in_(_FILING_KINDS).desc()


def get_service(session: Session, service_id: int, *, lock: bool = False) -> Service:
    service = session.get(Service, service_id, with_for_update=lock)
    if service is None:
        raise NotFound(f"service {service_id} does not exist")
    return service


def approving_order(session: Session, service: Service) -> Filing:
    """The order a service's duties are filed under, whose routes their notices take: the one
    that filed it with this host (a first filing, a new service, a new access), not a change
    approved since, whose own routes (often none) would leave the customer's behind; the
    latest approved order stands in for a record without one."""
    filing = session.exec(
        select(Filing)
        .where(Filing.service_id == service.id, Filing.state == State.APPROVED)
        .order_by(FILED_HERE_FIRST, col(Filing.id).desc())
    ).first()
    if filing is None:
        raise refused(
            "not recorded",
            Reason("not_on_record", f"{service_named(service)} has no approved order"),
        )
    return filing


def approval_day(approving: Filing) -> date:
    """The Beijing day the order that filed the service with this host was approved
    (``approving_order``'s): a day about the service before it is refused."""
    return as_utc(approving.state_entered_at).astimezone(CHINA).date()


def left_host_on(session: Session, service_id: int | None) -> date | None:
    """The day the site left this host: what the cancel-access order it owed was opened for,
    open still or met (the access removed), for a service row leaves once (back through a new
    access, the site is another row); none once the leaving was taken back."""
    owed = latest_obligation(session, service_id, ObligationKind.CANCEL_ACCESS)
    return None if owed is None or owed.data.get("retracted") else day_left(owed)


def day_left(owed: Obligation | None) -> date | None:
    """The day of leaving a cancel-access order owed (if any) was opened for."""
    return date.fromisoformat(owed.data["left_on"]) if owed else None


def refused(headline: str, *reasons: Reason) -> GuardFailed:
    return GuardFailed(summarise(headline, list(reasons)), list(reasons))


def _figure(kind: ObligationKind, settings: Settings) -> Figure:
    """The kind's figure, read through its declaration in ``OBLIGATIONS`` (which setting it
    is lives there, once)."""
    figure = OBLIGATIONS_BY_KIND[kind].figure
    assert figure is not None
    return figure(settings)


def figure_value(kind: ObligationKind, settings: Settings) -> float:
    value = _figure(kind, settings)
    assert isinstance(value, int | float)
    return float(value)


def figures_to_arm(
    kind: ObligationKind, settings: Settings, opened: Obligation | None = None
) -> dict[str, float]:
    """The kind's figure by its setting's name, as a duty of it is armed with: as ``opened``
    was, or as ``settings`` have it for one opened now. Kept in the row's data, it is what its
    texts name (``worded_as_armed``) and what a corrected start day counts from: a setting changed
    since moves no due day already counted, and must not change what the duty says either."""
    setting = OBLIGATIONS_BY_KIND[kind].setting
    assert setting is not None
    kept = opened.data.get(setting) if opened is not None else None
    figure = kept if isinstance(kept, int | float) else figure_value(kind, settings)
    return {setting: int(figure) if float(figure).is_integer() else figure}  # 30 reads as 30


def within(day: date, armed: Mapping[str, float]) -> date:
    """The Beijing day the ``armed`` figure in days after ``day``: a duty "within N days"."""
    (days,) = armed.values()
    return day + timedelta(days=days)


def worded_as_armed(text: str, row: Obligation, settings: Settings) -> str:
    """``text`` with the figures ``row`` was armed with (``figures_to_arm``), the others as set now."""
    return worded(text, settings, row_figures(row))


def row_figures(row: Obligation) -> dict[str, float]:
    """The settings' figures an obligation was armed with, kept in its data so its words do
    not change when ops change the settings later."""
    return {
        key: value
        for key, value in row.data.items()
        if key in Settings.model_fields and isinstance(value, int | float)
    }


def _open_where(service_id: int | None, kind: ObligationKind) -> tuple[ColumnElement[bool], ...]:
    """The service's obligations of ``kind`` still open."""
    return (
        col(Obligation.service_id) == service_id,
        col(Obligation.kind) == kind,
        col(Obligation.closed_at).is_(None),
    )


def open_row_ids(session: Session, service_id: int | None, kind: ObligationKind) -> list[int]:
    ids = session.exec(select(Obligation.id).where(*_open_where(service_id, kind)))
    return [i for i in ids if i is not None]


def latest_obligation(
    session: Session, service_id: int | None, kind: ObligationKind
) -> Obligation | None:
    """The service's latest obligation of ``kind``, open or closed."""
    return session.exec(
        select(Obligation)
        .where(Obligation.service_id == service_id, Obligation.kind == kind)
        .order_by(col(Obligation.id).desc())
    ).first()


def open_row(session: Session, service_id: int | None, kind: ObligationKind) -> Obligation | None:
    """The one open obligation of a kind a service owes once (its PSB filing, its
    cancel-access order)."""
    return session.exec(select(Obligation).where(*_open_where(service_id, kind))).first()


def open_obligation(
    session: Session,
    service: Service,
    filing: Filing,
    kind: ObligationKind,
    due_at: datetime,
    now: datetime,
    data: Mapping[str, object] | None = None,
    estimated: bool = False,
) -> None:
    assert service.id is not None and filing.id is not None
    session.add(
        Obligation(
            service_id=service.id,
            filing_id=filing.id,
            kind=kind,
            due_at=due_at,
            estimated=estimated,
            data=dict(data or {}),
            opened_at=now,
        )
    )


def close_obligations(
    session: Session,
    service_id: int | None,
    kinds: Sequence[ObligationKind],
    now: datetime,
    data: dict[str, object] | None = None,
) -> None:
    """Close the service's open obligations of ``kinds`` (pending ones become ``disarmed``),
    noting ``data`` (what closed them) on each."""
    rows = session.exec(
        select(Obligation).where(
            Obligation.service_id == service_id,
            col(Obligation.kind).in_([k.value for k in kinds]),
            col(Obligation.closed_at).is_(None),
        )
    ).all()
    for row in rows:
        close_row(row, now, data)
        session.add(row)


def close_row(row: Obligation, now: datetime, data: dict[str, object] | None) -> None:
    row.closed_at = now
    if row.status == DeadlineStatus.PENDING:
        row.status = DeadlineStatus.DISARMED
    if data:
        row.data = {**row.data, **data}


# What each reminder's notice says of the day it reminds of.
REMINDS_OF = {
    ObligationKind.DOMAIN_EXPIRY: "expires_on",
    ObligationKind.SERVER_EXPIRY: "expires_on",
    ObligationKind.PSB_FILING_REMINDER: "due_on",
}


def remind_before(
    session: Session,
    service: Service,
    filing: Filing,
    kind: ObligationKind,
    day: date,
    now: datetime,
    settings: Settings,
    armed: Mapping[str, float] | None = None,
) -> None:
    """One reminder of ``kind`` per figure of its setting, that many days before ``day`` at
    09:00 in Beijing; those already past are skipped (the nearest one still ahead says it
    all, and a date recorded late must not bring a burst of stale ones). ``armed``: the
    figures of the duty reminded of, which the reminder's text names."""
    every = _figure(kind, settings)
    assert isinstance(every, Sequence)
    for days in sorted({int(d) for d in every}, reverse=True):
        due = datetime.combine(day - timedelta(days=days), time(9), tzinfo=CHINA).astimezone(UTC)
        if due > now:
            data: dict[str, object] = {
                REMINDS_OF[kind]: str(day),
                "days_before": days,
                **(armed or {}),
            }
            open_obligation(session, service, filing, kind, due, now, data)
