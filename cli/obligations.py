"""``icpflow services`` (a record's life after approval) and ``icpflow reports durations``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from sqlmodel import Session

from cli.errors import App
from cli.output import (
    ACTOR_DEFAULT,
    ActorOption,
    Due,
    JsonOption,
    Whole,
    cell,
    count_option,
    date_option,
    emit,
    fields,
    limit_option,
    offset_option,
    province_option,
    row_id,
    span,
    table,
)
from cli.search import search_text
from config.clock import get_clock
from config.settings import Settings, get_settings
from models import session_scope
from workflow import forecast, obligations
from workflow.domain.commands import parse
from workflow.domain.obligations import (
    OVERDUE_OBLIGATIONS,
    ExtensionIn,
    GoLive,
    LeftHost,
    ObligationKind,
    PsbNumberIn,
    RectificationIn,
    Renewal,
    ServerRenewal,
    has_home_page,
)
from workflow.domain.wording import worded_by_default
from workflow.forecast import DurationRow, ForecastOut
from workflow.obligations import (
    ObligationOut,
    OverdueFilter,
    ServiceAuditOut,
    ServiceDutiesOut,
)

services = App(
    help="A filed service's life after approval: go-live, PSB, expiry, rectification.",
    checks_settings=True,
)
reports = App(help="Reports drawn from the history of completed orders.", checks_settings=True)

ServiceId = Annotated[int, row_id("The service's id (see icpflow entities show).")]
RectificationId = Annotated[
    int,
    row_id(
        "The rectification's id, as 'services rectify' said it opened it (later: its row in "
        "'services obligations SERVICE')."
    ),
]
Day = Annotated[date, date_option("A date, YYYY-MM-DD.")]
ReplacesDay = Annotated[date | None, date_option("The day on file this one corrects, YYYY-MM-DD.")]


def render_obligations(rows: list[ObligationOut]) -> RenderableType:
    return table(
        [Whole("id"), Whole("kind"), "due", Whole("status"), "overdue", "closed", "data"],
        [(o.id, o.kind, Due(o.due_at), o.status, o.overdue, o.closed_at, o.data) for o in rows],
        title="obligations",
    )


def render_duties(view: ServiceDutiesOut) -> RenderableType:
    """What the console's block says of a service: an app's identifier, not a home page (it
    shows its number inside itself), the day it left this host, once it has, and who recorded
    what about it."""
    website = has_home_page(view.kind)
    summary = fields(
        [
            ("service", view.service_id),
            ("kind", view.kind if website else f"{view.kind} {view.app_identifier or ''}"),
            ("domain", view.domain),
            ("record number", view.record_number),
            ("status", view.status),
            ("live since", view.live_on),
            *([("home page", view.home_url)] if website else []),
            *([("left this host", view.left_on)] if view.left_on else []),
            ("PSB number", view.psb_number),
            ("domain expires", view.domain_expires_on),
            ("server expires", view.server_expires_on or "not recorded"),
        ]
    )
    checks = table(
        ["checked", Whole("url"), "ok", "problems"],
        [(c.checked_at, c.url, c.ok, c.problems) for c in view.footer_checks],
        title="footer checks",
    )
    shown = len(view.recorded)
    more = f"latest {shown} of {view.recorded_total}: icpflow services recorded {view.service_id}"
    recorded = render_recorded(view.recorded, more if view.recorded_total > shown else None)
    return Group(summary, render_obligations(view.obligations), checks, recorded)


def render_recorded(rows: list[ServiceAuditOut], caption: str | None = None) -> RenderableType:
    """Who recorded what about a service, newest first: its duties' latest, or its trail."""
    return table(
        ["at", "what", Whole("by"), "data", "replaced"],
        [(r.at, r.what.label, r.actor, r.data, r.replaced or "") for r in rows],
        title="recorded",
        caption=caption,
    )


def _predicted(day: date, days: int, past: bool) -> str:
    return f"{day} ({days} wd{' run out already: the soonest left' if past else ''})"


def render_forecast(predicted: ForecastOut) -> RenderableType:
    basis = forecast.basis_worded(predicted, get_settings())
    return fields(
        [
            ("stage", predicted.stage),
            (
                "median approval",
                _predicted(
                    predicted.median_date, predicted.median_working_days, predicted.past_median
                ),
            ),
            (
                "90th percentile",
                _predicted(predicted.p90_date, predicted.p90_working_days, predicted.past_p90),
            ),
            ("legal limit", predicted.legal_limit_date),
            (
                "after the legal limit",
                "ended already"
                if predicted.legal_limit_ended
                else predicted.will_exceed_legal_limit,
            ),
            ("basis", basis),
        ],
        title="forecast",
    )


def _show(view: ServiceDutiesOut, as_json: bool) -> None:
    emit(view, as_json, lambda: render_duties(view))


@services.command("obligations")
def list_obligations(
    service_id: ServiceId,
    open_only: Annotated[bool, typer.Option("--open", help="Only open obligations.")] = False,
    as_json: JsonOption = False,
) -> None:
    """A service's go-live, PSB number, expiry, obligations and latest footer checks."""
    with session_scope() as session:
        now = get_clock().now()
        view = obligations.duties(session, service_id, now, get_settings(), open_only=open_only)
    _show(view, as_json)


@services.command("go-live")
def go_live(
    service_id: ServiceId,
    on: Day,
    url: Annotated[str | None, typer.Option(help="Home page (default https://DOMAIN/).")] = None,
    replaces: ReplacesDay = None,
    actor: ActorOption = ACTOR_DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Record the day the site went live: the PSB filing is due PSB_FILING_DAYS (default 30)
    days later; a day on file is corrected only with --replaces naming it."""
    given = {
        "live_on": on,
        "home_url": url,
        "replaces": replaces,
    }
    command = parse(GoLive, given, "go-live not recorded")
    with session_scope() as session:
        _show(obligations.go_live(session, service_id, command, get_settings(), actor), as_json)


@services.command("psb")
def psb(
    service_id: ServiceId,
    number: str,
    replaces: Annotated[
        str | None,
        typer.Option(help="The number on file this one corrects.", show_default=False),
    ] = None,
    actor: ActorOption = ACTOR_DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Record the police (PSB) filing number, e.g. 京公网安备11010502030143号; a number on file is
    corrected only with --replaces naming it."""
    command = parse(PsbNumberIn, {"psb_number": number, "replaces": replaces}, "PSB number refused")
    with session_scope() as session:
        view = obligations.psb_number(session, service_id, command, get_settings(), actor)
    _show(view, as_json)


@services.command("renew")
def renew(
    service_id: ServiceId,
    expires_on: Day,
    replaces: ReplacesDay = None,
    actor: ActorOption = ACTOR_DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Record the domain's new expiry date; the expiry reminders move to it. An expiry on file
    that was mistyped is corrected, even to an earlier day, with --replaces naming it."""
    _expiry(obligations.renewal, Renewal, service_id, expires_on, replaces, actor, as_json)


@services.command("server-renew")
def server_renew(
    service_id: ServiceId,
    expires_on: Day,
    replaces: ReplacesDay = None,
    actor: ActorOption = ACTOR_DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Record the expiry of the server the service is accessed on (first, or renewed); its
    reminders move to it, and ops are told once it passes unrenewed. An expiry on file that
    was mistyped is corrected with --replaces naming it."""
    _expiry(
        obligations.server_renewal, ServerRenewal, service_id, expires_on, replaces, actor, as_json
    )


def _expiry(
    record: Callable[[Session, int, Any, Settings, str], ServiceDutiesOut],
    model: type[Renewal],
    service_id: int,
    expires_on: date,
    replaces: date | None,
    actor: str,
    as_json: bool,
) -> None:
    """A domain's or a server's expiry recorded by ``actor``, as ``record`` records it."""
    given = {"expires_on": expires_on, "replaces": replaces}
    command = parse(model, given, "expiry not recorded")
    with session_scope() as session:
        _show(record(session, service_id, command, get_settings(), actor), as_json)


@services.command("left-host")
def left_host(
    service_id: ServiceId,
    on: Annotated[date | None, date_option("The day the site left, YYYY-MM-DD.")] = None,
    replaces: ReplacesDay = None,
    retract: Annotated[
        bool, typer.Option("--retract", help="Take back the leaving on file (--replaces DAY).")
    ] = False,
    actor: ActorOption = ACTOR_DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Record that the site left this host's servers: a cancel-access order is owed; a day on
    file is corrected only with --replaces naming it, or taken back with --retract."""
    if retract == (on is not None):
        raise typer.BadParameter(
            "give --on DAY, or --retract with --replaces DAY", param_hint="--on"
        )
    given = {
        "left_on": on,
        "replaces": replaces,
    }
    command = parse(LeftHost, given, "not recorded")
    with session_scope() as session:
        _show(obligations.left_host(session, service_id, command, get_settings(), actor), as_json)


@services.command("rectify")
def rectify(
    service_id: ServiceId,
    reference: Annotated[str, typer.Option(help="The notice's reference or title.")],
    working_days: Annotated[int, count_option("Due in this many working days.")],
    detail: Annotated[str | None, typer.Option(help="What must be rectified.")] = None,
    received_on: Annotated[
        date | None,
        date_option("The day the notice was received, its working days' start (default today)."),
    ] = None,
    actor: ActorOption = ACTOR_DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Record a rectification notice (整改通知); overdue, it is escalated to ops."""
    body = {
        "reference": reference,
        "working_days": working_days,
        "detail": detail,
        "received_on": received_on,
    }
    command = parse(RectificationIn, body, "rectification not recorded")
    with session_scope() as session:
        view = obligations.rectification(session, service_id, command, get_settings(), actor)
    # Its id is what ``extend`` and ``rectified`` take, found otherwise only in the obligations
    # table: said first. A service has one open notice of a reference (a second is refused).
    [opened] = [
        o
        for o in view.obligations
        if o.kind is ObligationKind.RECTIFICATION
        and o.closed_at is None
        and o.data.get("reference") == command.reference
    ]
    emit(
        view,
        as_json,
        lambda: Group(
            cell(f"rectification {opened.id} opened, due ") + cell(Due(opened.due_at)),
            render_duties(view),
        ),
    )


# Help is written before settings are read: the setting, and its default.
_MAX_EXTENSION = worded_by_default("{rectification_max_extension_working_days}")


@services.command("extend")
def extend(
    rectification_id: RectificationId,
    working_days: Annotated[int, count_option(f"At most {_MAX_EXTENSION} working days, once.")],
    actor: ActorOption = ACTOR_DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Extend a rectification once, by at most RECTIFICATION_MAX_EXTENSION_WORKING_DAYS
    (default 7) working days."""
    command = parse(ExtensionIn, {"working_days": working_days}, "extension refused")
    with session_scope() as session:
        view = obligations.extend(session, rectification_id, command, get_settings(), actor)
    _show(view, as_json)


@services.command("rectified")
def rectified(
    rectification_id: RectificationId,
    actor: ActorOption = ACTOR_DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Record a rectification as done."""
    with session_scope() as session:
        _show(obligations.rectified(session, rectification_id, get_settings(), actor), as_json)


RowsLimit = Annotated[int, limit_option("rows")]
RowsOffset = Annotated[int, offset_option("rows")]


# Named as the console's /duties page and GET /api/v1/ops/duties name the list; ``overdue``, its
# first name, is kept for the scripts that call it, out of the help.
@services.command("overdue", hidden=True)
@services.command("duties")
def duties(
    kind: Annotated[
        ObligationKind | None,
        typer.Option(
            metavar="KIND",
            help=f"Only duties of this kind: {', '.join(OVERDUE_OBLIGATIONS)}.",
            show_default=False,
        ),
    ] = None,
    province: Annotated[str | None, province_option("Only entities filed there, e.g. 京.")] = None,
    limit: RowsLimit = 100,
    offset: RowsOffset = 0,
    as_json: JsonOption = False,
) -> None:
    """Services past an obligation (PSB filing, cancel-access, rectification, an expired
    domain), most late first."""
    only = OverdueFilter(kind=kind, province=search_text(province=province).province)
    with session_scope() as session:
        page = obligations.overdue(session, get_clock().now(), get_settings(), limit, offset, only)
    emit(
        page,
        as_json,
        lambda: table(
            [
                Whole("id"),
                Whole("service"),
                Whole("filing"),
                Whole("kind"),
                "due",
                Whole("status"),
                "data",
            ],
            [
                (o.id, o.service_id, o.filing_id, o.kind, Due(o.due_at), o.status, o.data)
                for o in page.items
            ],
            title="overdue duties",
            caption=span(page.offset, len(page.items), page.total),
        ),
    )


@services.command("recorded")
def recorded(
    service_id: ServiceId,
    limit: Annotated[int, limit_option("records")] = 100,
    offset: Annotated[int, offset_option("records")] = 0,
    as_json: JsonOption = False,
) -> None:
    """A service's whole audit trail: who recorded what about it, newest first (its
    obligations show the latest 20)."""
    with session_scope() as session:
        page = obligations.audit_trail(session, service_id, limit, offset)
    emit(
        page,
        as_json,
        lambda: render_recorded(page.items, span(page.offset, len(page.items), page.total)),
    )


# Named as the console's /duties page heads the list and GET /api/v1/ops/footer-checks-failing
# serves it; ``footer-failing``, its first name, is kept for the scripts that call it, out of the
# help.
@services.command("footer-failing", hidden=True)
@services.command("footer-checks-failing")
def footer_checks_failing(
    limit: RowsLimit = 100, offset: RowsOffset = 0, as_json: JsonOption = False
) -> None:
    """Live sites whose latest footer check failed, failing longest first."""
    with session_scope() as session:
        page = obligations.failing_footers(session, limit, offset)
    emit(
        page,
        as_json,
        lambda: table(
            [
                Whole("service"),
                Whole("domain"),
                Whole("filing"),
                "failing since",
                "in a row",
                "problems",
                "next check",
            ],
            [
                (
                    f.service_id,
                    f.domain,
                    f.filing_id,
                    f.failing_since,
                    f.failures,
                    f.problems,
                    f.next_check_at or "being made",
                )
                for f in page.items
            ],
            title="footer checks failing",
            caption=span(page.offset, len(page.items), page.total),
        ),
    )


def render_durations(rows: list[DurationRow]) -> RenderableType:
    return table(
        ["province", Whole("kind"), Whole("stage"), "count", "median (wd)", "p90 (wd)"],
        [
            (r.province, r.kind, r.stage, r.count, r.median_working_days, r.p90_working_days)
            for r in rows
        ],
        title="review times of completed orders by kind, in working days",
    )


@reports.command()
def durations(as_json: JsonOption = False) -> None:
    """Per province, order kind and stage: median and 90th percentile review times, counts."""
    with session_scope() as session:
        rows = forecast.durations(session, get_settings())
    emit(rows, as_json, lambda: render_durations(rows))
