"""The expiries a record lapses with, its domain's and its server's: watched alike (reminders
before the day, an escalation from its end), and renewed or corrected by what is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, bindparam, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from config.clock import CHINA, end_of_day
from config.settings import Settings
from models import DeadlineStatus, Filing, Service, table
from workflow.domain.errors import Reason
from workflow.domain.obligations import (
    ObligationKind,
    Recorded,
    Renewal,
    ServerRenewal,
    check_renewal,
)
from workflow.domain.orders import ServiceStatus
from workflow.obligations.reading import ServiceDutiesOut
from workflow.obligations.recording import Written, record_write
from workflow.obligations.rows import (
    approving_order,
    close_obligations,
    left_host_on,
    open_obligation,
    open_row,
    refused,
    remind_before,
)
from workflow.records import service_named

_FILINGS = table(Filing)
_RENEW_ORDERS = (
    update(_FILINGS)
    .where(_FILINGS.c.service_id == bindparam("b_service"))
    .values(domain_expires_on=bindparam("b_expires_on"))
)


@dataclass(frozen=True)
class _Expiry:
    """Something a record lapses with when it expires, watched alike: reminders of ``reminder``
    before the day on the service's ``column``, then ``escalated`` from the end of it."""

    reminder: ObligationKind
    escalated: ObligationKind
    column: str

    @property
    def kinds(self) -> tuple[ObligationKind, ObligationKind]:
        return (self.reminder, self.escalated)


DOMAIN = _Expiry(ObligationKind.DOMAIN_EXPIRY, ObligationKind.DOMAIN_EXPIRED, "domain_expires_on")
SERVER = _Expiry(ObligationKind.SERVER_EXPIRY, ObligationKind.SERVER_EXPIRED, "server_expires_on")


def renewal(
    session: Session, service_id: int, command: Renewal, settings: Settings, actor: str
) -> ServiceDutiesOut:
    """A new expiry date, or one on file corrected (``replaces``): the reminders for the old
    one close and new ones open, and the service's orders show it (their pages and a search
    by domain would give the old one). An expiry is the domain's: the entity's other services
    on it (an app or mini program on its site's domain) with the same expiry on file are
    renewed with it, or they would be escalated as expired with the domain renewed."""

    def write(service: Service, filing: Filing, now: datetime) -> Written | None:
        today = now.astimezone(CHINA).date()
        current = service.domain_expires_on
        if _expiry_sent_again(command, current, today):
            return None  # the expiry on file sent again (a retry): nothing to renew
        if reasons := check_renewal(command.expires_on, current, today, command.replaces):
            raise refused("renewal not recorded", *reasons)
        sharing = session.exec(
            select(Service)
            .where(
                _on_the_domain(service.entity_id, service.domain),
                Service.id != service.id,
                Service.domain_expires_on == current,
            )
            .order_by(col(Service.id))  # locked already, with the service, before ``write``
        ).all()
        _renew(session, service, filing, command.expires_on, now, settings)
        for other in sharing:
            approving = approving_order(session, other)
            _renew(session, other, approving, command.expires_on, now, settings)
        # The services sharing the domain had the same expiry on file: it was theirs too.
        also = [other.id for other in sharing if other.id is not None]
        return Written({"domain_expires_on": str(current)}, also)

    # An approving event locks its order, then the services it writes, in id order; here too
    # the orders of the services on the domain are locked first, then those services in id
    # order, so the two take turns instead of deadlocking on PostgreSQL.
    # Read as values, not as the service: loaded before its lock, it would keep what it held.
    entity_id, domain = session.exec(
        select(Service.entity_id, Service.domain).where(Service.id == service_id)
    ).first() or (None, None)
    on_the_domain = select(Service.id).where(
        or_(col(Service.id) == service_id, _on_the_domain(entity_id, domain))
    )
    session.exec(
        select(Filing.id)
        .where(col(Filing.service_id).in_(on_the_domain))
        .order_by(col(Filing.id))
        .with_for_update()
    ).all()
    session.exec(
        select(Service.id)
        .where(col(Service.id).in_(on_the_domain))
        .order_by(col(Service.id))
        .with_for_update()
    ).all()
    said = command.model_dump(mode="json")
    return record_write(
        session, service_id, write, settings, what=Recorded.RENEWAL, said=said, actor=actor
    )


def _expiry_sent_again(command: Renewal, current: date | None, today: date) -> bool:
    """An expiry write says what is on file: a renewal's retry (a day still to come: one past
    is refused as a renewal), or a correction's (the day it replaced is no longer on file, the
    one it asked for is, past or not)."""
    if current is None or command.expires_on != current:
        return False
    return command.replaces is not None or current > today


def _on_the_domain(entity_id: int | None, domain: str | None) -> ColumnElement[bool]:
    """The entity's services on record on ``domain``."""
    return and_(
        col(Service.entity_id) == entity_id,
        col(Service.domain) == domain,
        col(Service.status) == ServiceStatus.ACTIVE,
    )


def _renew(
    session: Session,
    service: Service,
    filing: Filing,
    expires_on: date,
    now: datetime,
    settings: Settings,
) -> None:
    """One service's expiry moved: its orders show it, its expiry watch starts again."""
    service.domain_expires_on = expires_on
    session.add(service)
    session.connection().execute(
        _RENEW_ORDERS, {"b_service": service.id, "b_expires_on": expires_on}
    )
    set_committed_value(filing, "domain_expires_on", expires_on)
    _expiry_moved(session, service, filing, now, settings, DOMAIN)


def server_renewal(
    session: Session, service_id: int, command: ServerRenewal, settings: Settings, actor: str
) -> ServiceDutiesOut:
    """The expiry of the server the service is accessed on: first recorded, renewed, or one
    on file corrected (``replaces``). Its reminders for the old day close and new ones open;
    once it passes unrenewed, ops are told (a lapsed server leaves the site dark and its record
    open to cancellation as invalid). A server is the service's own here: each order binds
    its own service number, so nothing else is renewed with it."""

    def write(service: Service, filing: Filing, now: datetime) -> Written | None:
        current = service.server_expires_on
        today = now.astimezone(CHINA).date()
        if _expiry_sent_again(command, current, today):
            return None  # the expiry on file sent again (a retry): nothing to renew
        escalated = ObligationKind.SERVER_EXPIRED
        reasons = check_renewal(command.expires_on, current, today, command.replaces, escalated)
        if (left_on := left_host_on(session, service.id)) is not None:
            reasons.append(
                Reason(
                    "left_host",
                    f"{service_named(service)} left this host on {left_on}: its server is no "
                    "longer this host's to watch",
                    field="expires_on",
                    details={"left_on": str(left_on)},
                )
            )
        if reasons:
            raise refused("server expiry not recorded", *reasons)
        service.server_expires_on = command.expires_on
        session.add(service)
        _expiry_moved(session, service, filing, now, settings, SERVER)
        return Written(None if current is None else {"server_expires_on": str(current)})

    said = command.model_dump(mode="json")
    what = Recorded.SERVER_RENEWAL
    return record_write(session, service_id, write, settings, what=what, said=said, actor=actor)


def watch_expiry(
    session: Session,
    service: Service,
    filing: Filing,
    now: datetime,
    settings: Settings,
    expiry: _Expiry,
) -> None:
    """The reminders before the day expires, and the escalation once it has: from the end of
    its last day, it is overdue for ops."""
    expires_on = getattr(service, expiry.column)
    assert isinstance(expires_on, date)
    remind_before(session, service, filing, expiry.reminder, expires_on, now, settings)
    expired: dict[str, object] = {"expires_on": str(expires_on)}
    open_obligation(
        session, service, filing, expiry.escalated, end_of_day(expires_on), now, expired
    )


def _expiry_moved(
    session: Session,
    service: Service,
    filing: Filing,
    now: datetime,
    settings: Settings,
    expiry: _Expiry,
) -> None:
    """The service's expiry moved (renewed, or corrected): the watch of the old day closes and
    one of the new day opens. A day past, already told to ops, corrected to another past day
    stays told: its escalation is moved in place, overdue still, not told again. The day it
    replaced is kept once, by the correction's audit row (``Written.replaced``)."""
    expires_on = getattr(service, expiry.column)
    assert isinstance(expires_on, date)
    told = open_row(session, service.id, expiry.escalated)
    if told is None or told.status != DeadlineStatus.FIRED or end_of_day(expires_on) > now:
        close_obligations(session, service.id, expiry.kinds, now, {"renewed_to": str(expires_on)})
        watch_expiry(session, service, filing, now, settings, expiry)
        return
    close_obligations(session, service.id, (expiry.reminder,), now, {"renewed_to": str(expires_on)})
    told.data = {**told.data, "expires_on": str(expires_on)}
    told.due_at = end_of_day(expires_on)
    session.add(told)
