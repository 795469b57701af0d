"""A record's life after approval: obligations opened and closed by what is recorded.

Each public recording function is one transaction, like ``workflow.service``'s: it checks the
service is on record, lists every problem at once, then writes the service's new facts and
opens or closes its obligations. ``due_ids`` and ``fire`` are the scheduler's half: ``fire``
claims a due obligation (``pending`` -> ``fired``, so two schedulers never fire one twice), owes its notice
or its job, and opens the next footer check. ``on_approval`` is what an approved order does to
them (the service's expiry watch starts; a cancel-access order closes what it owed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, bindparam, func, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from config.clock import CHINA, as_utc, end_of_day, get_clock
from config.domains import to_ascii_domain
from config.masking import mask_text
from config.settings import Settings, get_settings
from models import (
    DeadlineStatus,
    Entity,
    Filing,
    FooterCheck,
    Job,
    Obligation,
    Service,
    table,
)
from workflow import notices, outbox
from workflow.deadlines import calendar_for
from workflow.domain.calendar import WorkingCalendar
from workflow.domain.definition import TERMINAL_STATES, Figure, State
from workflow.domain.errors import GuardFailed, NotFound, Reason, ValidationError, summarise
from workflow.domain.guards import canonical_province, number_spellings, province_named
from workflow.domain.obligations import (
    OBLIGATIONS_BY_KIND,
    OVERDUE_OBLIGATIONS,
    Action,
    ExtensionIn,
    GoLive,
    LeftHost,
    ObligationKind,
    PsbNumberIn,
    RectificationIn,
    Renewal,
    ServerRenewal,
    check_extension,
    check_live_before_leaving,
    check_notice_day,
    check_psb_number,
    check_renewal,
    check_service_day,
    has_home_page,
    psb_digits,
    same_psb_number,
)
from workflow.domain.orders import KINDS, Effect, OrderKind, ServiceKind, ServiceStatus, kind_spec
from workflow.domain.rules import rules_for
from workflow.domain.wording import worded
from workflow.schemas import Page, UtcDateTime
from workflow.turns import take_turns

_OBLIGATIONS = table(Obligation)
_CLAIM_DUE_OBLIGATION = (
    update(_OBLIGATIONS)
    .where(
        _OBLIGATIONS.c.id == bindparam("b_id"),
        _OBLIGATIONS.c.status == DeadlineStatus.PENDING,
        _OBLIGATIONS.c.closed_at.is_(None),
        _OBLIGATIONS.c.due_at <= bindparam("b_now"),  # not moved later since it was listed
    )
    .values(status=DeadlineStatus.FIRED, fired_at=bindparam("b_now"))
)
_FILINGS = table(Filing)
_RENEW_ORDERS = (
    update(_FILINGS)
    .where(_FILINGS.c.service_id == bindparam("b_service"))
    .values(domain_expires_on=bindparam("b_expires_on"))
)
# Effects after which a service is filed with this host, and its domain must stay registered.
_FILED = (Effect.ISSUE_NUMBERS, Effect.ADD_SERVICE, Effect.ADD_ACCESS)
_GONE = (Effect.CANCEL_SERVICE, Effect.CANCEL_ENTITY, Effect.REMOVE_ACCESS)
# Orders refused or withdrawn: they put nothing on record, so make no site their assignee's.
_REFUSED_OR_WITHDRAWN = (State.REJECTED, State.WITHDRAWN)
_FILING_KINDS = tuple(spec.kind.value for spec in KINDS if spec.effect in _FILED)
# The order that filed a service here sorts before any other approved order of it.
_FILED_HERE_FIRST = col(Filing.kind).in_(_FILING_KINDS).desc()

log = logging.getLogger(__name__)


# -- what clients read ----------------------------------------------------------------------


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


def describe(row: Obligation, now: datetime) -> ObligationOut:
    spec = OBLIGATIONS_BY_KIND[ObligationKind(row.kind)]
    assert row.id is not None
    due = as_utc(row.due_at)
    return ObligationOut(
        id=row.id,
        service_id=row.service_id,
        filing_id=row.filing_id,
        kind=spec.kind,
        description=_worded(spec.description, row, get_settings()),
        description_zh=_worded(spec.zh, row, get_settings()),
        due_at=due,
        status=DeadlineStatus(row.status),
        estimated=row.estimated,
        overdue=spec.overdue and row.closed_at is None and due <= now,
        # A rectification's text may quote a mobile or an ID number: masked like reasons are.
        data={k: mask_text(v) if isinstance(v, str) else v for k, v in row.data.items()},
        opened_at=row.opened_at,
        fired_at=row.fired_at,
        closed_at=row.closed_at,
    )


def duties(
    session: Session, service_id: int, now: datetime, *, open_only: bool = False
) -> ServiceDutiesOut:
    service = _service(session, service_id)
    query = select(Obligation).where(Obligation.service_id == service_id)
    if open_only:
        query = query.where(col(Obligation.closed_at).is_(None))
    rows = session.exec(query.order_by(col(Obligation.due_at), col(Obligation.id))).all()
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
        left_on=_left_on(session, service_id),
        home_url=service.home_url,
        psb_number=service.psb_number,
        domain_expires_on=service.domain_expires_on,
        server_expires_on=service.server_expires_on,
        obligations=[describe(row, now) for row in rows],
        footer_checks=[FooterCheckOut.model_validate(c) for c in checks],
    )


@dataclass(frozen=True)
class OverdueFilter:
    """Which overdue duties a list shows. ``assignee``: of a service one of whose orders is
    theirs (the case manager who filed a site, or changed it, answers for what it owes after
    approval; an order of theirs refused or withdrawn put nothing on record, and makes
    nothing theirs). ``kind``: one kind of duty. ``province``: of entities filed there."""

    assignee: str | None = None
    kind: ObligationKind | None = None
    province: str | None = None


def _overdue_where(now: datetime, only: OverdueFilter) -> tuple[ColumnElement[bool], ...]:
    """The overdue duties ``only`` keeps. A kind that is never overdue is refused: it would
    pass for a list with nothing late."""
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
        filed_there = select(Filing.id).where(Filing.province == province_named(only.province))
        where += (col(Obligation.filing_id).in_(filed_there),)
    return where


def overdue(
    session: Session,
    now: datetime,
    limit: int,
    offset: int = 0,
    only: OverdueFilter = OverdueFilter(),
) -> ObligationPage:
    """Open obligations of an overdue kind past their due time, the most late first (ops;
    ``only`` those the filter keeps)."""
    where = _overdue_where(now, only)
    rows = session.exec(
        select(Obligation)
        .where(*where)
        .order_by(col(Obligation.due_at), col(Obligation.id))
        .limit(limit)
        .offset(offset)
    ).all()
    items = [describe(row, now) for row in rows]
    total = count_overdue(session, now, only)
    return ObligationPage(items=items, total=total, limit=limit, offset=offset)


def count_overdue(session: Session, now: datetime, only: OverdueFilter = OverdueFilter()) -> int:
    """How many ``overdue`` lists in all: the console's and the metrics' total."""
    return session.exec(
        select(func.count()).select_from(Obligation).where(*_overdue_where(now, only))
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
        )
        for service_id, (check, since, failures) in latest.items()
    ]
    total = session.exec(select(func.count()).select_from(runs)).one()
    return FailingFooterPage(items=items, total=total, limit=limit, offset=offset)


def _approving_orders(session: Session, service_ids: Collection[int]) -> dict[int, int]:
    """Each service's order its duties are filed under, for lists of many (``_approving_order``
    says which)."""
    rows = session.exec(
        select(Filing.service_id, Filing.id)
        .where(col(Filing.service_id).in_(service_ids), Filing.state == State.APPROVED)
        .order_by(_FILED_HERE_FIRST, col(Filing.id).desc())
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


# -- recording what happened to a service ---------------------------------------------------


def go_live(
    session: Session, service_id: int, command: GoLive, settings: Settings
) -> ServiceDutiesOut:
    """The service went live: its PSB filing is due ``psb_filing_days`` later, with reminders
    before that day; a website's footer checks start. A day mistyped is corrected by naming
    it (``replaces``): the PSB filing, if still open, is then due from the corrected day."""

    def write(service: Service, filing: Filing, now: datetime) -> None:
        if _as_on_file(command, service):
            return  # sent again (a retry after a timeout): the same answer, nothing new
        if service.live_on != command.replaces:
            raise _refused("go-live not recorded", _correcting(service, command.replaces))
        approved_on, left_on = _approved_on(filing), _left_on(session, service.id)
        if reasons := _check_go_live(command, service, approved_on, left_on, now):
            raise _refused("go-live not recorded", *reasons)
        if service.live_on is not None:
            _correct_go_live(session, service, filing, command, left_on, now, settings)
            return
        service.live_on = command.live_on
        service.home_url = command.home_url or f"https://{service.domain}/"
        session.add(service)
        if service.psb_number is None:
            armed = _armed(ObligationKind.PSB_FILING, settings)
            due_on = _within(command.live_on, armed)
            kind = ObligationKind.PSB_FILING
            _open(session, service, filing, kind, end_of_day(due_on), now, armed)
            kind = ObligationKind.PSB_FILING_REMINDER
            _remind_before(session, service, filing, kind, due_on, now, settings, armed)
        if _footer_checked(service, left_on):
            _open(session, service, filing, ObligationKind.FOOTER_CHECK, now, now)

    return _record(session, service_id, write)


def _footer_checked(service: Service, left_on: date | None) -> bool:
    """Whether the service's home page is checked for its number: a website's still on this
    host. An app or mini program shows its number inside itself, where fetching a home page
    cannot look; a site gone from the host (recorded as left before its go-live was) has no
    page here to check, and would fail for the wrong reason."""
    return has_home_page(ServiceKind(service.kind)) and left_on is None


def _correct_go_live(
    session: Session,
    service: Service,
    filing: Filing,
    command: GoLive,
    left_on: date | None,
    now: datetime,
    settings: Settings,
) -> None:
    """The go-live day on file corrected (logged): the open PSB filing moves to the new due
    day in place, so one already told overdue is not told again while it still is, and its
    reminders open again for that day. A new home page is checked at once."""
    old = service.live_on
    log.info("service %s go-live %s corrected to %s", service.id, old, command.live_on)
    service.live_on = command.live_on
    if command.home_url and command.home_url != service.home_url:
        service.home_url = command.home_url
        if _footer_checked(service, left_on):
            _close(session, service.id, (ObligationKind.FOOTER_CHECK,), now)
            _open(session, service, filing, ObligationKind.FOOTER_CHECK, now, now)
    session.add(service)
    psb = _open_row(session, service.id, ObligationKind.PSB_FILING)
    if psb is None or old == command.live_on:
        return  # the PSB filing was made, or is due from the same day
    armed = _armed(ObligationKind.PSB_FILING, settings, psb)
    due_on = _within(command.live_on, armed)
    psb.due_at = end_of_day(due_on)
    if psb.due_at > now:
        psb.status, psb.fired_at = DeadlineStatus.PENDING, None  # told again if it passes
    replaced = [*psb.data.get("replaced_live_on", []), str(old)]
    psb.data = {**psb.data, **armed, "replaced_live_on": replaced}
    session.add(psb)
    kind = ObligationKind.PSB_FILING_REMINDER
    _close(session, service.id, (kind,), now, {"corrected_live_on": str(command.live_on)})
    _remind_before(session, service, filing, kind, due_on, now, settings, armed)


def _as_on_file(command: GoLive, service: Service) -> bool:
    """Whether a go-live says again what is on file: the day, and the home page if it names
    one; a correction sent again too (the day it replaced is no longer on file, the day it
    asked for is)."""
    return service.live_on == command.live_on and command.home_url in (None, service.home_url)


def _correcting(service: Service, replaces: date | None) -> Reason:
    """Why a go-live was not taken: it would replace a day on file it does not name."""
    if service.live_on is None:
        return Reason(
            "nothing_to_replace",
            f"service {service.id} has no go-live on file for {replaces} to replace",
            field="replaces",
        )
    return Reason(
        "already_live",
        f"service {service.id} went live on {service.live_on}; to correct the day or the home "
        "page, send that day as replaces",
        field="replaces",
        details={"live_on": str(service.live_on)},
    )


def _check_go_live(
    command: GoLive, service: Service, approved_on: date, left_on: date | None, now: datetime
) -> list[Reason]:
    """A go-live is recorded once it happened, not before approval (its PSB filing is due
    from that day) nor after the site left this host (``left_on``), and the page whose footer
    is checked is the service's own: another site's proves nothing."""
    today = now.astimezone(CHINA).date()
    reasons = check_service_day(
        command.live_on, "live_on", "the go-live", today=today, approved_on=approved_on
    )
    reasons += check_live_before_leaving(command.live_on, left_on, "live_on")
    if command.home_url and not has_home_page(ServiceKind(service.kind)):
        reasons.append(
            Reason(
                "no_home_page",
                f"{service.kind.replace('_', ' ')} services show their record number inside "
                "themselves: they have no home page whose footer is checked",
                field="home_url",
            )
        )
    host = urlsplit(command.home_url).hostname if command.home_url else None
    try:
        domain = to_ascii_domain(service.domain)
    except ValueError:  # stored before IDNA2008 was applied (an emoji domain): as stored
        domain = service.domain
    if host is not None and not _on_domain(host, domain):
        reasons.append(
            Reason(
                "home_url_off_the_domain",
                f"{command.home_url} is not on {service.domain}: the footer checked must be "
                "the filed site's",
                field="home_url",
            )
        )
    return reasons


def _left_on(session: Session, service_id: int | None) -> date | None:
    """The day the site left this host: what the cancel-access order it owed was opened for,
    open still or met (the access removed), for a service row leaves once (back through a new
    access, the site is another row); none once the leaving was taken back."""
    owed = _latest(session, service_id, ObligationKind.CANCEL_ACCESS)
    return None if owed is None or owed.data.get("retracted") else _day_left(owed)


def _day_left(owed: Obligation | None) -> date | None:
    """The day of leaving a cancel-access order owed (if any) was opened for."""
    return date.fromisoformat(owed.data["left_on"]) if owed else None


def _on_domain(host: str, domain: str) -> bool:
    try:
        name = to_ascii_domain(host)
    except ValueError:
        return False
    return name == domain or name.endswith(f".{domain}")


def psb_number(
    session: Session, service_id: int, command: PsbNumberIn, settings: Settings
) -> ServiceDutiesOut:
    """The PSB number, checked against its format and the entity's province, closes the PSB
    filing; the number is kept on the service. The same number again changes nothing; another
    replaces the one on file only if it names it (``replaces``); the PSB filing's row, once
    the site went live, keeps the numbers it replaced, and the log every correction."""

    rules = rules_for(settings)  # the configured rules' provinces, not the packaged ones

    def canonical(province: str) -> str | None:
        return canonical_province(province, rules) if province else None

    def write(service: Service, filing: Filing, now: datetime) -> None:
        on_file = service.psb_number
        entity = session.get(Entity, service.entity_id)
        assert entity is not None
        reasons = check_psb_number(command.psb_number, entity.province, canonical)
        if reasons:  # first: another province's prefix on the digits on file is no alias
            raise _refused("PSB number refused", *reasons)
        if on_file is not None and same_psb_number(command.psb_number, on_file, canonical):
            return  # the number on file, its province written as the alias or not
        if not same_psb_number(command.replaces, on_file, canonical):
            raise _refused("PSB number refused", _replacing(service.id, on_file, command.replaces))
        digits = psb_digits(command.psb_number)
        assert digits is not None  # a number of the format, as checked above
        take_turns(session, [f"psb_number:{digits}"])  # then see the other's
        if holder := _psb_number_holder(session, digits, service):
            raise _refused(
                "PSB number refused",
                Reason(
                    "psb_number_of_another_service",
                    f"{command.psb_number} is service {holder}'s PSB number: each site has its own",
                    field="psb_number",
                    details={"service_id": holder},
                ),
            )
        service.psb_number = command.psb_number
        session.add(service)
        if on_file is not None:
            log.info(
                "service %s PSB number %s corrected to %s", service.id, on_file, command.psb_number
            )
            _note_replaced(session, service.id, on_file, command.psb_number, now)
        _close(
            session,
            service.id,
            (ObligationKind.PSB_FILING, ObligationKind.PSB_FILING_REMINDER),
            now,
            {"psb_number": command.psb_number},
        )

    return _record(session, service_id, write)


def _psb_number_holder(session: Session, digits: str, service: Service) -> int | None:
    """Another service keeping the PSB number of these ``digits`` on file, its province
    written either way. A site's PSB filing is its own, and goes with it: one whose record was
    cancelled keeps it no more. One whose access was removed is still on record through
    another host, and keeps it from any other site, but its own: the same record (number)
    back through a new access is another service row, with the PSB number it had."""
    gone = [ServiceStatus.CANCELLED, ServiceStatus.WITHDRAWN]
    # Its own record under either character of its province (蜀ICP备… is 川ICP备…).
    own = number_spellings(service.record_number) if service.record_number else ()
    return session.exec(
        select(Service.id).where(
            col(Service.psb_number).endswith(f"公网安备{digits}号"),
            Service.id != service.id,
            col(Service.status).not_in(gone),
            or_(
                col(Service.status) != ServiceStatus.ACCESS_REMOVED,
                col(Service.record_number).not_in(own),
            ),
        )
    ).first()


def _replacing(service_id: int | None, on_file: str | None, replaces: str | None) -> Reason:
    """Why a PSB number was not taken: it would replace one it does not name."""
    if on_file is None:
        return Reason(
            "nothing_to_replace",
            f"service {service_id} has no PSB number on file for {replaces!r} to replace",
            field="replaces",
        )
    return Reason(
        "psb_number_on_file",
        f"service {service_id} has PSB number {on_file!r} on file; to correct it, send it as "
        "replaces",
        field="replaces",
        details={"psb_number": on_file},
    )


def _note_replaced(
    session: Session, service_id: int | None, old: str, new: str, now: datetime
) -> None:
    """The PSB filing's row keeps each number a correction replaced, and when."""
    row = _latest(session, service_id, ObligationKind.PSB_FILING)
    if row is not None:
        replaced = [*row.data.get("replaced", []), {"psb_number": old, "at": now.isoformat()}]
        row.data = {**row.data, "psb_number": new, "replaced": replaced}
        session.add(row)


def renewal(
    session: Session, service_id: int, command: Renewal, settings: Settings
) -> ServiceDutiesOut:
    """A new expiry date, or one on file corrected (``replaces``): the reminders for the old
    one close and new ones open, and the service's orders show it (their pages and a search
    by domain would give the old one). An expiry is the domain's: the entity's other services
    on it (an app or mini program on its site's domain) with the same expiry on file are
    renewed with it, or they would be escalated as expired with the domain renewed."""

    def write(service: Service, filing: Filing, now: datetime) -> None:
        today = now.astimezone(CHINA).date()
        current = service.domain_expires_on
        if _expiry_sent_again(command, current, today):
            return  # the expiry on file sent again (a retry): nothing to renew
        if reasons := check_renewal(command.expires_on, current, today, command.replaces):
            raise _refused("renewal not recorded", *reasons)
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
            assert other.id is not None
            approving = _approving_order(session, other.id)
            _renew(session, other, approving, command.expires_on, now, settings)

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
    return _record(session, service_id, write)


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
    _expiry_moved(session, service, filing, now, settings, _DOMAIN)


def server_renewal(
    session: Session, service_id: int, command: ServerRenewal, settings: Settings
) -> ServiceDutiesOut:
    """The expiry of the server the service is accessed on: first recorded, renewed, or one
    on file corrected (``replaces``). Its reminders for the old day close and new ones open;
    once it passes unrenewed, ops are told (a lapsed server leaves the site dark and its record
    open to cancellation as invalid). A server is the service's own here: each order binds
    its own service number, so nothing else is renewed with it."""

    def write(service: Service, filing: Filing, now: datetime) -> None:
        current = service.server_expires_on
        today = now.astimezone(CHINA).date()
        if _expiry_sent_again(command, current, today):
            return  # the expiry on file sent again (a retry): nothing to renew
        escalated = ObligationKind.SERVER_EXPIRED
        reasons = check_renewal(command.expires_on, current, today, command.replaces, escalated)
        if (left_on := _left_on(session, service.id)) is not None:
            reasons.append(
                Reason(
                    "left_host",
                    f"service {service.id} left this host on {left_on}: its server is no longer "
                    "this host's to watch",
                    field="expires_on",
                    details={"left_on": str(left_on)},
                )
            )
        if reasons:
            raise _refused("server expiry not recorded", *reasons)
        service.server_expires_on = command.expires_on
        session.add(service)
        _expiry_moved(session, service, filing, now, settings, _SERVER)

    return _record(session, service_id, write)


def left_host(
    session: Session, service_id: int, command: LeftHost, settings: Settings
) -> ServiceDutiesOut:
    """The site moved off this host's servers: a cancel-access order is owed (an empty record,
    空壳网站, is what the bureau cancels). A day mistyped is corrected by naming it
    (``replaces``): the cancel-access order owed is then due from the corrected day."""

    def write(service: Service, filing: Filing, now: datetime) -> None:
        owed = _open_row(session, service.id, ObligationKind.CANCEL_ACCESS)
        on_file = _day_left(owed)
        if command.left_on is None:
            _retract_left(session, service, filing, command.replaces, now, settings)
            return
        if on_file == command.left_on:
            return  # the day on file sent again (a retry, a correction's too): as it stands
        if on_file != command.replaces:
            raise _refused("left-host not recorded", _correcting_left(on_file, command.replaces))
        reasons = check_service_day(
            command.left_on,
            "left_on",
            "leaving the host",
            today=now.astimezone(CHINA).date(),
            approved_on=_approved_on(filing),
        )
        reasons += check_live_before_leaving(service.live_on, command.left_on, "left_on")
        if reasons:
            raise _refused("left-host not recorded", *reasons)
        # A correction counts with the days the order owed was opened with, not today's.
        armed = _armed(ObligationKind.CANCEL_ACCESS, settings, owed)
        due = end_of_day(_within(command.left_on, armed))
        if owed is not None:
            if on_file != command.left_on:  # the same day as its own correction: nothing
                _correct_left(session, owed, command.left_on, due, now)
            return
        _open(
            session,
            service,
            filing,
            ObligationKind.CANCEL_ACCESS,
            due,
            now,
            {"left_on": str(command.left_on), **armed},
        )
        # Its page and its server are no longer this host's to check and watch.
        _close(session, service.id, (ObligationKind.FOOTER_CHECK, *_SERVER.kinds), now)

    return _record(session, service_id, write)


def _retract_left(
    session: Session,
    service: Service,
    filing: Filing,
    replaces: date | None,
    now: datetime,
    settings: Settings,
) -> None:
    """A leaving recorded by mistake taken back, naming its day (``replaces``): the
    cancel-access order owed closes as retracted, and a live website's footer checks start
    again, as the watch of its server's expiry does. Sent again, once taken back, it changes
    nothing."""
    latest = _latest(session, service.id, ObligationKind.CANCEL_ACCESS)
    if latest is not None and latest.data.get("retracted") == str(replaces):
        return
    on_file = _day_left(_open_row(session, service.id, ObligationKind.CANCEL_ACCESS))
    if on_file is None or replaces != on_file:
        raise _refused("left-host not taken back", _correcting_left(on_file, replaces))
    removing = session.exec(
        select(Filing.id).where(
            Filing.service_id == service.id,
            Filing.kind == OrderKind.CANCEL_ACCESS,
            col(Filing.state).not_in(list(TERMINAL_STATES)),
        )
    ).first()
    if removing is not None:
        reason = Reason(
            "cancel_access_in_flight",
            f"cancel-access order {removing} for the site is in flight: withdraw it first",
            field="left_on",
            details={"filing_id": removing},
        )
        raise _refused("left-host not taken back", reason)
    kinds = (ObligationKind.CANCEL_ACCESS,)
    _close(session, service.id, kinds, now, {"retracted": str(on_file)})
    log.info("service %s left-host %s taken back", service.id, on_file)
    if service.live_on is not None and _footer_checked(service, None):
        _open(session, service, filing, ObligationKind.FOOTER_CHECK, now, now)
    if service.server_expires_on is not None:
        _watch_expiry(session, service, filing, now, settings, _SERVER)


def _correcting_left(on_file: date | None, replaces: date | None) -> Reason:
    """Why a left-host day was not taken: it would replace a day on file it does not name."""
    if on_file is None:
        return Reason(
            "nothing_to_replace",
            f"no day of leaving the host is on file for {replaces} to replace",
            field="replaces",
        )
    return Reason(
        "already_owed",
        f"the site left this host on {on_file} and a cancel-access order is owed; to correct "
        "the day, send it as replaces",
        field="replaces",
        details={"left_on": str(on_file)},
    )


def _correct_left(
    session: Session, row: Obligation, left_on: date, due: datetime, now: datetime
) -> None:
    """The day on file corrected (logged): the cancel-access order owed (``row``) is due from
    the new one, in place, so one already told overdue is not told again while it still is."""
    old = row.data["left_on"]
    log.info("service %s left-host %s corrected to %s", row.service_id, old, left_on)
    replaced = [*row.data.get("replaced_left_on", []), old]
    row.data = {**row.data, "left_on": str(left_on), "replaced_left_on": replaced}
    row.due_at = due
    if due > now:
        row.status, row.fired_at = DeadlineStatus.PENDING, None  # told again if it passes
    session.add(row)


def rectification(
    session: Session, service_id: int, command: RectificationIn, settings: Settings
) -> ServiceDutiesOut:
    """A rectification notice, due ``working_days`` working days from the day it was received
    (today unless told): at the end of the last one, as the PSB filing is, since a notice may
    be met all of its last day."""

    def write(service: Service, filing: Filing, now: datetime) -> None:
        today = now.astimezone(CHINA).date()
        received = command.received_on or today
        reasons = check_notice_day(received, today=today, approved_on=_approved_on(filing))
        if reasons:
            raise _refused("rectification not recorded", *reasons)
        said = {
            "reference": command.reference,
            "working_days": command.working_days,
            "detail": command.detail,
            "received_on": str(received),
        }
        if same := _open_notice(session, service_id, command.reference):
            # A retry naming no day says what the first did, after midnight too.
            compared = [k for k in said if k != "received_on" or command.received_on]
            if all(same.data.get(key) == said[key] for key in compared):
                return  # the notice sent again as recorded (a retry): one duty, unchanged
            raise _refused(
                "rectification not recorded",
                Reason(
                    "rectification_open",
                    f"notice {command.reference!r} is open already as rectification {same.id}",
                    field="reference",
                    details={"obligation_id": same.id},
                ),
            )
        start = _day_moment(received)
        due, estimated = _working_days_after(calendar_for(settings), start, command.working_days)
        data = {**said, "extended_by": None}
        _open(session, service, filing, ObligationKind.RECTIFICATION, due, now, data, estimated)

    return _record(session, service_id, write)


def extend(
    session: Session, obligation_id: int, command: ExtensionIn, settings: Settings
) -> ServiceDutiesOut:
    """One extension of at most ``rectification_max_extension_working_days``; a second is refused.
    Counted, as ``recount_rectifications`` counts it, from the notice's receipt."""
    service_id = _rectification(session, obligation_id).service_id

    def write(service: Service, filing: Filing, now: datetime) -> None:
        row = _rectification(session, obligation_id, fresh=True)
        if row.data.get("extended_by") == command.working_days:
            return  # the extension sent again (a retry): the one extension, as recorded
        reasons = check_extension(
            row.data.get("extended_by") is not None,
            command.working_days,
            settings.rectification_max_extension_working_days,
        )
        if reasons:
            raise _refused("extension refused", *reasons)
        days = int(row.data["working_days"]) + command.working_days
        due = _working_days_after(calendar_for(settings), _received(row), days)
        # An extension recorded once the notice fell due keeps that it was late: escalated
        # no longer, it would otherwise read as though it had never been.
        was_due = as_utc(row.due_at)
        late = {"overdue_since": was_due.isoformat()} if was_due <= now else {}
        row.data = {**row.data, "extended_by": command.working_days, **late}
        row.due_at, row.estimated = due
        if row.due_at > now:  # escalated again if it passes; one still past was told already
            row.status, row.fired_at = DeadlineStatus.PENDING, None
        session.add(row)

    return _record(session, service_id, write)


def recount_rectifications(session: Session, settings: Settings) -> int:
    """Count again, with the calendar as it stands, the due times of open rectification
    notices (``deadlines.recount_working_days`` does the filings' deadlines); returns how many
    changed. A notice is due its working days, and any extension's, after it was received,
    whether they were counted with a schedule since corrected or estimated without one. They
    are few (one per notice a bureau sent), so one transaction takes them all."""
    calendar = calendar_for(settings)
    rows = session.exec(
        select(Obligation)
        .where(
            col(Obligation.kind) == ObligationKind.RECTIFICATION,
            col(Obligation.status) == DeadlineStatus.PENDING,  # an escalated one stays as told
            col(Obligation.closed_at).is_(None),
        )
        # Held until counted: an extension or the sweep's escalation committed meanwhile is
        # waited for and read, not written over with a due time counted without it. Taken in
        # id order, as another recount (the CLI's beside the leader's) takes them, or the two
        # could each hold a row the other waits for.
        .order_by(col(Obligation.id))
        .with_for_update()
    ).all()
    changed = 0
    for row in rows:
        days = int(row.data["working_days"]) + int(row.data.get("extended_by") or 0)
        due = _working_days_after(calendar, _received(row), days)
        if due != (as_utc(row.due_at), row.estimated):
            row.due_at, row.estimated = due
            session.add(row)
            changed += 1
    return changed


def rectified(session: Session, obligation_id: int) -> ServiceDutiesOut:
    """The rectification was done: its obligation closes."""
    service_id = _rectification(session, obligation_id).service_id

    def write(service: Service, filing: Filing, now: datetime) -> None:
        row = _rectification(session, obligation_id, fresh=True)
        _close_row(row, now, {"rectified": True})
        session.add(row)

    return _record(session, service_id, write)


# -- what approval does -----------------------------------------------------------------------


def on_approval(session: Session, filing: Filing, now: datetime, settings: Settings) -> None:
    """Inside the approving event's transaction: a filed service's expiry watch starts; a
    service gone from this host (cancelled, access removed) owes nothing more, which closes
    its cancel-access obligation among the rest."""
    effect = kind_spec(filing.kind).effect
    if effect is Effect.CANCEL_ENTITY:
        query = select(Service.id).where(Service.entity_id == filing.entity_id)
        service_ids = [i for i in session.exec(query) if i is not None]
    else:
        service_ids = [filing.service_id] if filing.service_id is not None else []
    if effect in _GONE:
        for service_id in service_ids:
            _close(session, service_id, tuple(ObligationKind), now, {"closed_by_order": filing.id})
    elif effect in _FILED and filing.service_id is not None:
        service = session.get(Service, filing.service_id)
        assert service is not None
        if not any(_open_rows(session, filing.service_id, kind) for kind in _DOMAIN.kinds):
            _watch_expiry(session, service, filing, now, settings, _DOMAIN)


# -- the scheduler's half ---------------------------------------------------------------------


def due_ids(session: Session, now: datetime, limit: int, skip: Sequence[int] = ()) -> list[int]:
    query = select(Obligation.id).where(
        col(Obligation.status) == DeadlineStatus.PENDING,
        col(Obligation.due_at) <= now,
        col(Obligation.closed_at).is_(None),
    )
    if skip:
        query = query.where(col(Obligation.id).not_in(skip))
    return [i for i in session.exec(query.order_by(col(Obligation.due_at)).limit(limit)) if i]


def fire(session: Session, obligation_id: int, now: datetime, settings: Settings) -> bool:
    """Claim one due obligation and act on it, in the caller's transaction; False when another
    sweeper claimed it first or it was closed meanwhile."""
    if (
        session.connection()
        .execute(_CLAIM_DUE_OBLIGATION, {"b_id": obligation_id, "b_now": now})
        .rowcount
        != 1
    ):
        return False
    row = session.get(Obligation, obligation_id)
    assert row is not None and row.id is not None
    spec = OBLIGATIONS_BY_KIND[ObligationKind(row.kind)]
    filing = session.get(Filing, row.filing_id)
    assert filing is not None
    if spec.action is Action.CHECK_FOOTER:
        check = outbox.FooterCheck(service_id=row.service_id, obligation_id=row.id)
        outbox.owe(session, Job.CHECK_FOOTER, check, now)
        row.closed_at = now  # a check is done once its job is owed; the next one is opened
        session.add(row)
        service = session.get(Service, row.service_id)
        assert service is not None
        interval = timedelta(hours=_scalar(ObligationKind.FOOTER_CHECK, settings))
        _open(session, service, filing, ObligationKind.FOOTER_CHECK, now + interval, now)
        return True
    if spec.reminds is not None and _overtaken(session, row, spec.reminds, now):
        row.status, row.closed_at = DeadlineStatus.DISARMED, now
        row.data = {**row.data, "skipped": "a later reminder or the duty itself was due too"}
        session.add(row)
        return True
    due = as_utc(row.due_at)
    notices.for_service(
        session,
        filing,
        row.service_id,
        kind=notices.duty_notice(ObligationKind(row.kind)),
        audience=spec.audience,
        key=f"{filing.id}:o{row.id}:{due.isoformat()}",
        title=(_worded(spec.zh, row, settings), _worded(spec.description, row, settings)),
        lines=_notice_lines(row, due),
        now=now,
        settings=settings,
    )
    return True


def _notice_lines(row: Obligation, due: datetime) -> list[str]:
    """When it is due, and what the row knows of it. A reminder's own time is when it is
    sent, not a due time: it gives the day it reminds of (the PSB filing's, the expiry's)."""
    reminded = _REMINDS_OF.get(ObligationKind(row.kind))
    if reminded is None:
        return [notices.due_line(due), *_data_lines(row)]
    day = row.data.get(reminded)
    return [
        notices.due_day_line(day),
        *_data_lines(row, leave_out=(reminded, "days_before")),
    ]


def _overtaken(session: Session, row: Obligation, duty: ObligationKind, now: datetime) -> bool:
    """Whether a later reminder of the same duty, or the duty itself, is due as well: the
    sweep was away (the scheduler down for days), and only the latest still tells the truth,
    not a burst of "due in 7 days" after the day has passed."""
    later = session.exec(
        select(Obligation.id).where(
            Obligation.service_id == row.service_id,
            col(Obligation.kind).in_([row.kind, duty.value]),
            col(Obligation.closed_at).is_(None),
            col(Obligation.due_at) > row.due_at,
            col(Obligation.due_at) <= now,
        )
    ).first()
    return later is not None


# -- footer results ---------------------------------------------------------------------------


def footer_target(session: Session, service_id: int) -> tuple[str, str] | None:
    """(home page URL, record number) of a live service still filed, else None."""
    service = session.get(Service, service_id)
    if (
        service is None
        or service.status != ServiceStatus.ACTIVE
        or service.record_number is None
        or service.home_url is None
    ):
        return None
    return service.home_url, service.record_number


def checked(session: Session, obligation_id: int | None) -> bool:
    """Whether the scheduled check ``obligation_id`` has its result already (a redelivery)."""
    if obligation_id is None:
        return False
    found = session.exec(
        select(FooterCheck.id).where(FooterCheck.obligation_id == obligation_id)
    ).first()
    return found is not None


def record_footer(
    session: Session,
    service_id: int,
    obligation_id: int | None,
    *,
    url: str,
    status_code: int | None,
    problems: list[str],
    settings: Settings,
) -> FooterCheck:
    """Keep one check's result; the second failure in a row notifies the case managers (once
    per run of failures, not at every check after it)."""
    now = get_clock().now()
    check = FooterCheck(
        service_id=service_id,
        obligation_id=obligation_id,
        checked_at=now,
        url=url,
        ok=not problems,
        status_code=status_code,
        problems=problems,
    )
    session.add(check)
    session.flush()
    recent = session.exec(
        select(FooterCheck.ok)
        .where(FooterCheck.service_id == service_id)
        .order_by(col(FooterCheck.checked_at).desc(), col(FooterCheck.id).desc())
        .limit(3)
    ).all()
    if list(recent[:2]) == [False, False] and (len(recent) < 3 or recent[2]):
        filing = _approving_order(session, service_id)
        spec = OBLIGATIONS_BY_KIND[ObligationKind.FOOTER_CHECK]
        notices.for_service(
            session,
            filing,
            service_id,
            kind=notices.FOOTER_FAILING,
            audience=spec.audience,
            key=f"{filing.id}:footer:{check.id}",
            title=("网站底部备案号检查连续两次未通过。", "The footer check failed twice in a row."),
            lines=[
                f"URL: {url}",
                *(f"- {p}" for p in problems),
                worded(spec.description, settings),
            ],
            now=now,
            settings=settings,
        )
    return check


# -- helpers ----------------------------------------------------------------------------------


def _record(
    session: Session, service_id: int, write: Callable[[Service, Filing, datetime], None]
) -> ServiceDutiesOut:
    now = get_clock().now()
    try:
        # Locked: what is recorded about a service is judged on what it holds (a go-live
        # recorded once, a notice not already open), so two writers take turns on it.
        service = _service(session, service_id, lock=True)
        if service.record_number is None or service.status != ServiceStatus.ACTIVE:
            raise _refused(
                "not recorded",
                Reason(
                    "not_on_record",
                    f"service {service_id} has no approved record with this host "
                    f"(status {service.status})",
                ),
            )
        write(service, _approving_order(session, service_id), now)
        session.flush()
        view = duties(session, service_id, now)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return view


def _service(session: Session, service_id: int, *, lock: bool = False) -> Service:
    service = session.get(Service, service_id, with_for_update=lock)
    if service is None:
        raise NotFound(f"service {service_id} does not exist")
    return service


def _rectification(session: Session, obligation_id: int, *, fresh: bool = False) -> Obligation:
    """The open rectification; ``fresh`` reads it again, as a writer holding its service's
    lock must: another may have extended or closed it while this one waited."""
    row = session.get(Obligation, obligation_id, populate_existing=fresh)
    if row is None or row.kind != ObligationKind.RECTIFICATION:
        raise NotFound(f"rectification {obligation_id} does not exist")
    if row.closed_at is not None:
        raise _refused("not recorded", Reason("closed", f"rectification {obligation_id} is closed"))
    return row


def _approving_order(session: Session, service_id: int) -> Filing:
    """The order a service's duties are filed under, whose routes their notices take: the one
    that filed it with this host (a first filing, a new service, a new access), not a change
    approved since, whose own routes (often none) would leave the customer's behind; the
    latest approved order stands in for a record without one."""
    filing = session.exec(
        select(Filing)
        .where(Filing.service_id == service_id, Filing.state == State.APPROVED)
        .order_by(_FILED_HERE_FIRST, col(Filing.id).desc())
    ).first()
    if filing is None:
        raise _refused(
            "not recorded", Reason("not_on_record", f"service {service_id} has no approved order")
        )
    return filing


def _approved_on(approving: Filing) -> date:
    """The Beijing day the order that filed the service with this host was approved
    (``_approving_order``'s): a day about the service before it is refused."""
    return as_utc(approving.state_entered_at).astimezone(CHINA).date()


def _refused(headline: str, *reasons: Reason) -> GuardFailed:
    return GuardFailed(summarise(headline, list(reasons)), list(reasons))


def _figure(kind: ObligationKind, settings: Settings) -> Figure:
    """The kind's figure, read through its declaration in ``OBLIGATIONS`` (which setting it
    is lives there, once)."""
    figure = OBLIGATIONS_BY_KIND[kind].figure
    assert figure is not None
    return figure(settings)


def _scalar(kind: ObligationKind, settings: Settings) -> float:
    value = _figure(kind, settings)
    assert isinstance(value, int | float)
    return float(value)


def _armed(
    kind: ObligationKind, settings: Settings, opened: Obligation | None = None
) -> dict[str, float]:
    """The kind's figure by its setting's name, as a duty of it is armed with: as ``opened``
    was, or as ``settings`` have it for one opened now. Kept in the row's data, it is what its
    texts name (``_worded``) and what a corrected start day counts from: a setting changed
    since moves no due day already counted, and must not change what the duty says either."""
    setting = OBLIGATIONS_BY_KIND[kind].setting
    assert setting is not None
    kept = opened.data.get(setting) if opened is not None else None
    figure = kept if isinstance(kept, int | float) else _scalar(kind, settings)
    return {setting: int(figure) if float(figure).is_integer() else figure}  # 30 reads as 30


def _within(day: date, armed: Mapping[str, float]) -> date:
    """The Beijing day the ``armed`` figure in days after ``day``: a duty "within N days"."""
    (days,) = armed.values()
    return day + timedelta(days=days)


def _worded(text: str, row: Obligation, settings: Settings) -> str:
    """``text`` with the figures ``row`` was armed with (``_armed``), the others as set now."""
    return worded(text, settings, _armed_figures(row))


def _armed_figures(row: Obligation) -> dict[str, float]:
    return {
        key: value
        for key, value in row.data.items()
        if key in Settings.model_fields and isinstance(value, int | float)
    }


def _working_days_after(
    calendar: WorkingCalendar, start: datetime, days: int
) -> tuple[datetime, bool]:
    """The end of the Beijing day ``days`` working days after ``start``'s, as a calendar-day
    duty ends its day, and whether that day is estimated (a year without the official schedule)."""
    due = calendar.add_working_days(start, days)
    return end_of_day(due.at.astimezone(CHINA).date()), due.estimated


def _day_moment(day: date) -> datetime:
    """A moment of the Beijing ``day``, which a count of working days starts from."""
    return datetime.combine(day, time(12), tzinfo=CHINA)


def _received(notice: Obligation) -> datetime:
    """When a rectification notice's working days start: the day it was received, or for one
    recorded before that day was asked, the moment it was recorded."""
    day = notice.data.get("received_on")
    return _day_moment(date.fromisoformat(day)) if day else as_utc(notice.opened_at)


def _open_notice(session: Session, service_id: int, reference: str) -> Obligation | None:
    """The open rectification recording the notice ``reference``: a notice is one duty, however
    often it is typed in."""
    rows = session.exec(
        select(Obligation).where(
            Obligation.service_id == service_id,
            Obligation.kind == ObligationKind.RECTIFICATION,
            col(Obligation.closed_at).is_(None),
        )
    )
    return next((row for row in rows if row.data.get("reference") == reference), None)


def _open_where(service_id: int | None, kind: ObligationKind) -> tuple[ColumnElement[bool], ...]:
    """The service's obligations of ``kind`` still open."""
    return (
        col(Obligation.service_id) == service_id,
        col(Obligation.kind) == kind,
        col(Obligation.closed_at).is_(None),
    )


def _open_rows(session: Session, service_id: int | None, kind: ObligationKind) -> list[int]:
    ids = session.exec(select(Obligation.id).where(*_open_where(service_id, kind)))
    return [i for i in ids if i is not None]


def _latest(session: Session, service_id: int | None, kind: ObligationKind) -> Obligation | None:
    """The service's latest obligation of ``kind``, open or closed."""
    return session.exec(
        select(Obligation)
        .where(Obligation.service_id == service_id, Obligation.kind == kind)
        .order_by(col(Obligation.id).desc())
    ).first()


def _open_row(session: Session, service_id: int | None, kind: ObligationKind) -> Obligation | None:
    """The one open obligation of a kind a service owes once (its PSB filing, its
    cancel-access order)."""
    return session.exec(select(Obligation).where(*_open_where(service_id, kind))).first()


def _open(
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


def _close(
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
        _close_row(row, now, data)
        session.add(row)


def _close_row(row: Obligation, now: datetime, data: dict[str, object] | None) -> None:
    row.closed_at = now
    if row.status == DeadlineStatus.PENDING:
        row.status = DeadlineStatus.DISARMED
    if data:
        row.data = {**row.data, **data}


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


_DOMAIN = _Expiry(ObligationKind.DOMAIN_EXPIRY, ObligationKind.DOMAIN_EXPIRED, "domain_expires_on")
_SERVER = _Expiry(ObligationKind.SERVER_EXPIRY, ObligationKind.SERVER_EXPIRED, "server_expires_on")


def _watch_expiry(
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
    _remind_before(session, service, filing, expiry.reminder, expires_on, now, settings)
    expired: dict[str, object] = {"expires_on": str(expires_on)}
    _open(session, service, filing, expiry.escalated, end_of_day(expires_on), now, expired)


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
    stays told: its escalation is moved in place, overdue still, not told again."""
    expires_on = getattr(service, expiry.column)
    assert isinstance(expires_on, date)
    told = _open_row(session, service.id, expiry.escalated)
    if told is None or told.status != DeadlineStatus.FIRED or end_of_day(expires_on) > now:
        _close(session, service.id, expiry.kinds, now, {"renewed_to": str(expires_on)})
        _watch_expiry(session, service, filing, now, settings, expiry)
        return
    _close(session, service.id, (expiry.reminder,), now, {"renewed_to": str(expires_on)})
    replaced = [*told.data.get("replaced_expires_on", []), told.data["expires_on"]]
    told.data = {**told.data, "expires_on": str(expires_on), "replaced_expires_on": replaced}
    told.due_at = end_of_day(expires_on)
    session.add(told)


# What each reminder's notice says of the day it reminds of.
_REMINDS_OF = {
    ObligationKind.DOMAIN_EXPIRY: "expires_on",
    ObligationKind.SERVER_EXPIRY: "expires_on",
    ObligationKind.PSB_FILING_REMINDER: "due_on",
}


def _remind_before(
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
                _REMINDS_OF[kind]: str(day),
                "days_before": days,
                **(armed or {}),
            }
            _open(session, service, filing, kind, due, now, data)


def _data_lines(row: Obligation, leave_out: Sequence[str] = ()) -> list[str]:
    """What the row knows, but the figures it was armed with: its text names those."""
    left_out = {*leave_out, *_armed_figures(row)}
    return [
        f"{key}: {value}"
        for key, value in row.data.items()
        if value is not None and key not in left_out
    ]
