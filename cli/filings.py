"""``icpflow filings``: what case managers do from a shell, through the same service as the API."""

from __future__ import annotations

import csv
import inspect
import io
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from auth.tokens import assign_filing
from cli.errors import DOMAIN_ERROR, App, CliError, report
from cli.obligations import render_duties, render_forecast
from cli.output import (
    ACTOR_DEFAULT,
    ActorOption,
    Due,
    JsonOption,
    Whole,
    cell,
    choice_option,
    count_option,
    emit,
    fields,
    limit_option,
    offset_option,
    progress,
    row_id,
    span,
    stacked,
    table,
    table_or_none,
)
from cli.search import search_text
from config import bounds
from config.clock import get_clock, lateness
from config.settings import get_settings
from models import session_scope
from workflow import forecast, service
from workflow.domain.commands import (
    ApplicantKind,
    AssignCommand,
    EventCommand,
    FilingCreate,
    LicenceKind,
    parse,
)
from workflow.domain.definition import (
    DEADLINES_BY_KIND,
    EVENTS,
    EVENTS_BY_NAME,
    MANUAL_EVENTS,
    OVERDUE_KINDS,
    SMS_WRONG_ENTRY_LIMIT,
    Flag,
    State,
    event_named,
)
from workflow.domain.errors import IcpflowError, Reason, ValidationError, renamed
from workflow.domain.flat import (
    FLAT_FIELDS,
    IMPORT_COLUMNS,
    OPTIONAL_COLUMNS,
    creation_from_flat,
)
from workflow.domain.json_files import read_json
from workflow.domain.orders import OrderKind, kind_spec
from workflow.domain.wording import counted, worded, worded_by_default
from workflow.outlook import Outlook, outlook
from workflow.schemas import (
    AssignmentOut,
    ChangesOut,
    DeadlineOut,
    FilingOut,
    FilingPage,
    FilingSort,
    HistoryOut,
    NotificationOut,
    OverduePage,
    SentBackOut,
    VerifierOut,
)
from workflow.views import held_up, search
from workflow.views import history as filing_history
from workflow.views.search import FilingFilters

app = App(help="Create, list, inspect and move filings (备案).", checks_settings=True)

FilingId = Annotated[int, row_id("The filing's id.")]

# The option of ``filings create`` that sets each field: a column's name, but for the expiry.
_OPTION_OF = {
    ".".join(path): "--" + {"domain_expires_on": "expires"}.get(name, name).replace("_", "-")
    for name, path in FLAT_FIELDS.items()
}


def _creation_from_file(path: Path) -> FilingCreate:
    payload = read_json(path)
    if not isinstance(payload, dict):
        raise ValidationError(
            f"{path} must hold one JSON object",
            [Reason("not_an_object", "the API's POST /filings body")],
        )
    return parse(FilingCreate, payload, f"{path} refused")


def _changes(changes: ChangesOut | None) -> str | None:
    """A change order's new values, one part a line ("entity_name → 贝塔集团")."""
    if changes is None:
        return None
    lines = []
    for part, value in changes.model_dump(exclude_none=True).items():
        if part == "app_platforms":
            said = "; ".join(_platform(name, on) for name, on in value.items())
        elif isinstance(value, dict):  # a person
            said = f"{value['name']} {value['mobile']}"
        else:
            said = str(value)
        lines.append(f"{part} → {said}")
    return "\n".join(lines)


def _platform(name: str, on: Mapping[str, str]) -> str:
    """An app on one platform, its public key cut short: a line must stay readable
    ("android cn.example.app 9F3B…21, key 30820122…")."""
    key = on.get("public_key")
    said = [name, on.get("package"), on["fingerprint"] + (f", key {key[:8]}…" if key else "")]
    return " ".join(part for part in said if part)


def render_filing(view: FilingOut, returned: SentBackOut | None = None) -> RenderableType:
    """The filing, why it came back (``returned``, where read), what may happen next, and what
    is due: what a case manager needs on one screen."""
    summary = fields(
        [
            ("id", view.id),
            ("kind", view.kind),
            ("entity", view.entity_id),
            ("service", view.service_id),
            ("service kind", view.service_kind.label if view.service_kind else None),
            ("state", f"{view.state} ({view.state_label})"),
            ("version", view.version),
            ("in state since", view.state_entered_at),
            ("assignee", view.assignee or "nobody"),
            ("domain", view.domain),
            ("domain expires", view.domain_expires_on),
            ("province", view.province),
            ("licence", view.licence),
            *(
                [("personal data purged", view.personal_data_purged_at)]
                if view.personal_data_purged_at
                else []
            ),
            ("applicant", f"{view.applicant.name} ({view.applicant.type})"),
            ("identity", f"{view.applicant.id_type} {view.applicant.id_number}"),
            ("contact", f"{view.applicant.phone} {view.applicant.email}"),
            (
                "website",
                f"{view.website.name} ({view.website.sector})" if view.service_id else None,
            ),
            ("changes", _changes(view.changes)),
            ("service number", view.service_number),
            ("server", view.server_ip),
            ("materials", view.materials),
            ("pre-approval", view.pre_approval_document),
            ("ICP number", view.icp_number),
            ("stuck", view.stuck),
            ("overdue", view.overdue),
        ],
        title=f"filing {view.id}",
    )
    allowed = table_or_none(
        "allowed events",
        ["event", "what it records", "data"],
        [
            (e, worded(EVENTS_BY_NAME[e].description, get_settings()), EVENTS_BY_NAME[e].data_keys)
            for e in view.allowed_events
        ],
    )
    due = table_or_none(
        "deadlines",
        ["deadline", "due", "past due", "estimated", "status", "meaning"],
        [
            (
                d.kind,
                Due(d.due_at),
                d.flag,  # stuck or overdue: the filing's flags' words
                d.estimated,
                d.status,
                # a reminder listed with what it reminds of is named its reminder
                held_up.meaning_among(d, view.deadlines)[0]
                + (f" ({d.source})" if d.source else ""),
            )
            for d in view.deadlines
        ],
    )
    return Group(summary, *_sent_back(returned), allowed, due)


def render_page(page: FilingPage, names: Mapping[int, str]) -> RenderableType:
    """Filings as a list shows them: identity numbers and phones masked; each named and its
    kind said as the console's list does, a cancelled site's approval being read for one that
    went live otherwise (``views.search.filings_named``)."""
    return table(
        ["id", "domain", "kind", "prov.", "state", "applicant", "phone", "stuck", "overdue"],
        [
            (
                f.id,
                names[f.id],
                kind_spec(f.kind).label,
                f.province,
                f.state,
                f.applicant.name,
                f.applicant.phone,
                f.stuck,
                f.overdue,
            )
            for f in page.items
        ],
        caption=span(page.offset, len(page.items), page.total, exact=page.total_is_exact),
    )


LimitOption = Annotated[int, limit_option("filings")]
OffsetOption = Annotated[int, offset_option("filings")]


def _create_one(command: FilingCreate, actor: str) -> FilingOut:
    """One filing, one transaction."""
    with session_scope() as session:
        return service.create_filing(session, command, actor)


def _opt(help_text: str) -> Any:
    return typer.Option(help=help_text, show_default=False)


StateOption = Annotated[State | None, choice_option("Only filings in this state.", State, "STATE")]


@app.command()
def create(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            exists=True,
            dir_okay=False,
            readable=True,
            help="JSON payload with the shape of the API's POST /filings body; "
            "instead of the field options.",
        ),
    ] = None,
    domain: Annotated[str | None, _opt("Registered domain to file, e.g. example.cn.")] = None,
    expires: Annotated[str | None, _opt("Domain registration expiry date, YYYY-MM-DD.")] = None,
    domain_registrant: Annotated[
        str | None,
        _opt("The domain's registrant as the registrar shows it (default: the applicant)."),
    ] = None,
    domain_real_name_verified: Annotated[
        str | None, _opt("true or false: the registrar verified the registrant's real name.")
    ] = None,
    province: Annotated[
        str | None, _opt("Province character or its alias, e.g. 京, or 蜀 for 川 (rules.toml).")
    ] = None,
    licence: Annotated[
        str | None, _opt(f"{' or '.join(LicenceKind)} (the first, 备案, by default).")
    ] = None,
    applicant_type: Annotated[str | None, _opt(f"One of {', '.join(ApplicantKind)}.")] = None,
    applicant_name: Annotated[str | None, _opt("Person's or organisation's legal name.")] = None,
    id_type: Annotated[
        str | None,
        _opt("Identity document type matching the applicant type, e.g. business_licence."),
    ] = None,
    id_number: Annotated[str | None, _opt("Identity document number.")] = None,
    phone: Annotated[str | None, _opt("Mainland mobile number that receives MIIT's SMS.")] = None,
    email: Annotated[str | None, _opt("Applicant's email address.")] = None,
    responsible: Annotated[
        str | None,
        _opt(
            "The person responsible for the entity (主体负责人), whose mobile --phone is; "
            "not for an individual, who is their own."
        ),
    ] = None,
    responsible_id_type: Annotated[
        str | None,
        _opt(
            "The responsible person's identity document type, e.g. resident_id, with "
            "--responsible-id-number: the bureau asks for it."
        ),
    ] = None,
    responsible_id_number: Annotated[
        str | None, _opt("The responsible person's identity document number.")
    ] = None,
    legal_representative: Annotated[
        str | None,
        _opt(
            "true or false: the responsible person is the entity's legal representative "
            "(otherwise an authorisation letter is a material where the province asks for it)."
        ),
    ] = None,
    site_name: Annotated[str | None, _opt("Website name as it will be filed.")] = None,
    sector: Annotated[str | None, _opt("Website sector (default general).")] = None,
    actor: ActorOption = ACTOR_DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Create a filing from --file or from the field options; every problem is reported at once."""
    flat = {
        "domain": domain,
        "domain_expires_on": expires,
        "domain_registrant": domain_registrant,
        "domain_real_name_verified": domain_real_name_verified,
        "province": province,
        "licence": licence,
        "applicant_type": applicant_type,
        "applicant_name": applicant_name,
        "id_type": id_type,
        "id_number": id_number,
        "phone": phone,
        "email": email,
        "responsible": responsible,
        "responsible_id_type": responsible_id_type,
        "responsible_id_number": responsible_id_number,
        "legal_representative": legal_representative,
        "site_name": site_name,
        "sector": sector,
    }
    if file is not None and any(v is not None for v in flat.values()):
        raise typer.BadParameter(
            "give either --file or field options, not both", param_hint="--file"
        )
    if file is not None:
        view = _create_one(_creation_from_file(file), actor)
    else:
        try:
            view = _create_one(creation_from_flat(flat), actor)
        except IcpflowError as exc:
            raise renamed(exc, _OPTION_OF) from None
    emit(view, as_json, lambda: render_filing(view))


# What a list of filings shows, given the filters typed and the page asked for.
ShowFilings = Callable[[FilingFilters, int, int, bool], None]


def filings_command(show: ShowFilings, *, fixed: Flag | None = None) -> Callable[..., None]:
    """A command taking the filters, order and page of ``filings list`` (the console's
    search), declared once here so that every list of filings (``ops stuck|overdue`` too) is
    narrowed the same way; without the option of the flag a list ``fixed`` (``--stuck``)."""

    def command(
        state: StateOption = None,
        kind: Annotated[
            OrderKind | None, choice_option("Only orders of this kind.", OrderKind, "KIND")
        ] = None,
        entity: Annotated[
            int | None,
            count_option("Only the orders of this entity.", 1, bounds.MAX_ROW_ID),
        ] = None,
        province: Annotated[str | None, _opt("Only filings of this province character.")] = None,
        stuck: Annotated[
            bool | None,
            typer.Option(
                "--stuck/--not-stuck",
                help=f"Only filings that are (or are not) stuck: {Flag.STUCK.meaning}.",
                show_default=False,
            ),
        ] = None,
        overdue: Annotated[
            bool | None,
            typer.Option(
                "--overdue/--not-overdue",
                help=f"Only filings that are (or are not) overdue: {Flag.OVERDUE.meaning}.",
                show_default=False,
            ),
        ] = None,
        domain: Annotated[
            str | None, _opt("Only domains that start with this, in Unicode or in punycode (xn--).")
        ] = None,
        applicant: Annotated[str | None, _opt("Only applicants whose name holds this.")] = None,
        icp_number: Annotated[
            str | None, _opt("Only ICP numbers that start with this, e.g. 京ICP备2026.")
        ] = None,
        min_days: Annotated[
            int | None,
            count_option(
                "Only filings that have not moved for this many days.", 0, bounds.MAX_DAYS
            ),
        ] = None,
        assignee: Annotated[str | None, _opt("Only filings given to this case manager.")] = None,
        sort: Annotated[
            FilingSort | None,
            choice_option(
                "The order; a domain search's is by domain, others by id.", FilingSort, "COLUMN"
            ),
        ] = None,
        descending: Annotated[bool, typer.Option(help="Reverse the order.")] = False,
        limit: LimitOption = 50,
        offset: OffsetOption = 0,
        as_json: JsonOption = False,
    ) -> None:
        text = search_text(
            province=province, domain=domain, applicant=applicant, icp_number=icp_number,
            assignee=assignee,
        )  # fmt: skip
        filters = FilingFilters(
            **text.model_dump(exclude_unset=True),
            state=state,
            kind=kind,
            entity=entity,
            stuck=stuck,
            overdue=overdue,
            min_days_in_state=min_days,
            sort=sort,
            descending=descending,
        )
        show(filters, limit, offset, as_json)

    if fixed is not None:
        signature = inspect.signature(command, eval_str=True)
        kept = [p for p in signature.parameters.values() if p.name != fixed]
        command.__signature__ = signature.replace(parameters=kept)  # type: ignore[attr-defined]
    return command


def _list(filters: FilingFilters, limit: int, offset: int, as_json: bool) -> None:
    with session_scope() as session:
        page = search.filing_page(session, get_clock().now(), filters, limit=limit, offset=offset)
        names = search.filings_named(session, page.items)
    emit(page, as_json, lambda: render_page(page, names))


app.command(
    name="list", help="List filings with identity and phone numbers masked: the console's search."
)(filings_command(_list))


# The console's /overdue page's list, and GET /api/v1/overdue's; ``due``, its first name, is
# kept for the scripts that call it, out of the help.
@app.command("due", hidden=True)
@app.command("overdue")
def overdue(
    within_hours: Annotated[
        int,
        count_option("Also what falls due this many hours ahead.", 0, bounds.MAX_WITHIN_HOURS),
    ] = 24,
    kind: Annotated[
        str | None, _opt("Only this kind of deadline: " + ", ".join(OVERDUE_KINDS) + ".")
    ] = None,
    state: StateOption = None,
    province: Annotated[str | None, _opt("Only filings of this province (aliases too).")] = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    as_json: JsonOption = False,
) -> None:
    """What is overdue or falls due today (--within-hours 24), the one overdue the longest first:
    one row per filing with the latest deadline it is past (else its next), as the console's
    /overdue page lists it."""
    province = search_text(province=province).province
    with session_scope() as session:
        now = get_clock().now()
        page = held_up.overdue_page(
            session,
            now,
            within=timedelta(hours=within_hours),
            kind=kind,
            state=state,
            province=province,
            limit=limit,
            offset=offset,
        )
        names = search.filings_named(session, [item.filing for item in page.items])
    emit(page, as_json, lambda: render_overdue(page, names, now))


# A list of filings held up (ops stuck|overdue, filings overdue): one row each, ``held_up_row``.
HELD_UP_COLUMNS = [
    "id",
    "domain",
    "kind",
    "prov.",
    "state",
    "assignee",
    "deadline",
    "due",
    "past due / due in",
]


def held_up_row(
    filing: FilingOut, deadline: DeadlineOut, name: str, now: datetime
) -> tuple[Any, ...]:
    """A filing named as the lists name it (``views.search.filing_named``) with the deadline it is
    listed for, how long past (or how soon due) by what its passing made of the filing."""
    return (
        filing.id,
        name,
        kind_spec(filing.kind).label,
        filing.province,
        filing.state,
        filing.assignee,
        DEADLINES_BY_KIND[deadline.kind].label,
        Due(deadline.due_at),
        lateness(deadline.due_at, now, deadline.flag),
    )


def render_overdue(page: OverduePage, names: Mapping[int, str], now: datetime) -> RenderableType:
    return table(
        HELD_UP_COLUMNS,
        [held_up_row(i.filing, i.deadline, names[i.filing.id], now) for i in page.items],
        caption=span(page.offset, len(page.items), page.total),
    )


@app.command()
def show(filing_id: FilingId, as_json: JsonOption = False) -> None:
    """Show a filing, why it was sent back (returned, rejected: as the console's /mine says
    it), the events allowed from its state, its open deadlines and, while it is open, its
    forecast, or, approved, the duties after approval of the service it filed.

    --json gives the filing as the API's GET /filings/{id} does, why it was sent back
    (`sent_back`) included, without the forecast or the duties; `filings forecast ID
    --json` gives the forecast, as GET /filings/{id}/forecast does, and `services obligations
    SERVICE --json` the duties.
    """
    with session_scope() as session:
        now = get_clock().now()
        view = filing_history.filing_detail(session, filing_id, now)
        after = None if as_json else outlook(session, view, now, get_settings())
    emit(view, as_json, lambda: Group(render_filing(view, view.sent_back), *_rendered(after)))


def _sent_back(returned: SentBackOut | None) -> list[RenderableType]:
    """Why an order came back, in the words of the console's /mine, so a case manager knows
    what to fix without reading its history: the event's reason, or the event alone for one
    that gives none (the SMS window closing). Plain text: a reason may hold ``[brackets]``."""
    if returned is None:
        return []
    said = f"Sent back 退回原因 ({event_named(returned.event)})"
    return [Text(f"{said}: {returned.reason}" if returned.reason else said)]


def _rendered(after: Outlook | None) -> list[RenderableType]:
    if after and after.forecast:
        return [render_forecast(after.forecast)]
    if after and after.duties:
        return [render_duties(after.duties)]
    if after and after.no_forecast:
        return [f"forecast: none yet, {after.no_forecast.message}"]
    return []


@app.command("forecast")
def show_forecast(filing_id: FilingId, as_json: JsonOption = False) -> None:
    """An open order's predicted approval date (median, 90th percentile, legal limit, basis)."""
    with session_scope() as session:
        predicted = forecast.forecast(session, filing_id, get_settings())
    emit(predicted, as_json, lambda: render_forecast(predicted))


def _fire_help() -> str:
    """Event names and what they carry come from the definition, like the machine itself."""
    lines = [
        "Fire EVENT on filing ID, moving it to the event's target state if every guard passes.",
        "",
        "Events (source states -> target; data keys):",
        "",
    ]
    for spec in EVENTS:
        if not spec.automatic:
            sources = ", ".join(s.value for s in spec.sources)
            carries = f"; data: {', '.join(spec.data_keys)}" if spec.data_keys else ""
            lines.append(
                f"* {spec.name}: {worded_by_default(spec.description)} "
                f"({sources} -> {spec.dest.value}{carries})"
            )
    return "\n".join(lines)


# The event data keys ``fire`` also takes as options of their own: a refusal of one names the
# option, unless the user typed it as ``--data key=value``.
_FIRE_OPTIONS = {"reason": "--reason", "materials": "--materials"}


def _event_data(pairs: Sequence[str], materials: str | None, reason: str | None) -> dict[str, Any]:
    """``--data`` pairs plus the shorthands, refusing a key given twice rather than picking one."""
    given: list[tuple[str, Any]] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} is not key=value", param_hint="--data")
        given.append((key, value))
    if materials is not None:
        given.append(("materials", [m.strip() for m in materials.split(",") if m.strip()]))
    if reason is not None:
        given.append(("reason", reason))
    data: dict[str, Any] = {}
    for key, value in given:
        if key in data:
            raise typer.BadParameter(f"{key!r} is given twice", param_hint="--data")
        data[key] = value
    return data


@app.command(help=_fire_help())
def fire(
    filing_id: FilingId,
    event: Annotated[
        str,
        typer.Argument(
            metavar="EVENT",
            help="The event to fire (listed above).",
            show_default=False,
            autocompletion=lambda: list(MANUAL_EVENTS),
        ),
    ],
    data: Annotated[
        list[str] | None,
        typer.Option("--data", "-d", help="key=value carried by the event; repeat for each key."),
    ] = None,
    materials: Annotated[
        str | None,
        _opt(
            "Comma-separated materials, for submit and resubmit: a,b,c. A resubmit names "
            "those corrected; the last submission's carry over."
        ),
    ] = None,
    reason: Annotated[str | None, _opt("Why, for events that need a reason.")] = None,
    expected_version: Annotated[
        int | None,
        count_option(
            "Refuse if the filing is no longer at this version (someone else moved it).", 1
        ),
    ] = None,
    actor: ActorOption = ACTOR_DEFAULT,
    as_json: JsonOption = False,
) -> None:
    spec = EVENTS_BY_NAME.get(event)
    for key, given in {"reason": reason, "materials": materials}.items():
        if spec is not None and given is not None and key not in spec.data_keys:
            takes = ", ".join(spec.data_keys) or "nothing"
            raise typer.BadParameter(
                f"{event} takes no {key} (it takes: {takes})", param_hint=_FIRE_OPTIONS[key]
            )
    carried = _event_data(data or [], materials, reason)
    try:
        command = parse(EventCommand, {"event": event, "data": carried}, "event refused")
        with session_scope() as session:
            view = service.fire_event(
                session, filing_id, command, actor=actor, expected_version=expected_version
            )
    except IcpflowError as exc:
        typed = {pair.partition("=")[0] for pair in data or []}
        keys = {*carried, *(spec.data_keys if spec else ())}
        options = {f"data.{key}": _option_for(key, typed) for key in keys}
        options["expected_version"] = "--expected-version"  # a conflict's reason names it
        raise renamed(exc, options) from None
    emit(view, as_json, lambda: render_filing(view))


def _option_for(key: str, typed: set[str]) -> str:
    """How the user gives an event's ``key``, to name it in a refusal as they typed it rather
    than by the API's path (``data.reason``): its own option, unless they typed it as
    ``--data key=value``."""
    shorthand = _FIRE_OPTIONS.get(key)
    return shorthand if shorthand and key not in typed else f"--data {key}"


@app.command()
def assign(
    filing_id: FilingId,
    assignee: Annotated[
        str | None,
        typer.Argument(
            help="A case manager's token name; leave it out to give the filing to nobody.",
            show_default=False,
        ),
    ] = None,
    actor: ActorOption = ACTOR_DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Give a filing to a case manager, or to nobody; the version does not change."""
    command = parse(AssignCommand, {"assignee": assignee}, "assignment refused")
    with session_scope() as session:
        view = assign_filing(session, filing_id, command, actor)
    emit(view, as_json, lambda: render_filing(view))


@app.command()
def assignments(filing_id: FilingId, as_json: JsonOption = False) -> None:
    """Who gave a filing to whom, and when, oldest first."""
    with session_scope() as session:
        given: list[AssignmentOut] = filing_history.assignments(session, filing_id)
    emit(
        given,
        as_json,
        lambda: table(
            ["at", "to", "from", "by"],
            [(a.at, a.assignee or "nobody", a.previous or "nobody", a.actor) for a in given],
            title=f"assignments of filing {filing_id}",
        ),
    )


@app.command()
def history(filing_id: FilingId, as_json: JsonOption = False) -> None:
    """Every transition of a filing: who fired what, when, with which data and reason."""
    with session_scope() as session:
        entries: list[HistoryOut] = filing_history.history(session, filing_id)
    emit(entries, as_json, lambda: render_history(filing_id, entries))


def render_history(filing_id: int, entries: Sequence[HistoryOut]) -> RenderableType:
    """A transition a paragraph, as a log reads: its version, event and states on one line,
    then, indented, when and by whom, its reason and its data one a line. Six table columns
    left a 100-column terminal too little room: data and reasons folded mid-word,
    ``business_lic`` / ``ence_copy``; here each line has the terminal's width and wraps at
    its spaces."""
    paragraphs: list[RenderableType] = [Text(f"history of filing {filing_id}", style="bold")]
    for h in entries:
        moved = f"{h.from_state} → {h.to_state}" if h.from_state else f"→ {h.to_state}"
        paragraphs.append(Text.assemble((f"v{h.version}  {h.event}", "bold"), f"  {moved}"))
        when = Text.assemble(cell(h.at), f" by {h.actor}")
        # The history keeps the reason in the event's data too: said once, first.
        details = {"reason": h.reason} if h.reason else {}
        details |= {key: value for key, value in h.data.items() if key != "reason"}
        lines = Text("\n").join([when, cell(details)]) if details else when
        paragraphs.append(Padding(lines, (0, 0, 0, 4), expand=False))
    return Group(*paragraphs)


@app.command()
def verifiers(filing_id: FilingId, as_json: JsonOption = False) -> None:
    """Who must answer the order's SMS, and how far each got: their role, name and mobile
    (masked), when MIIT's SMS started their window, their wrong codes and result, as the
    API's GET /filings/{id}/verifiers gives them."""
    with session_scope() as session:
        listed: list[VerifierOut] = filing_history.verifiers(session, filing_id)
    emit(
        listed,
        as_json,
        lambda: table_or_none(
            f"SMS verifiers of filing {filing_id}",
            ["whose", "person", "mobile", "SMS sent", "wrong codes", "result"],
            [
                (
                    v.role.label,
                    v.name,
                    v.mobile,
                    v.window_started_at,
                    f"{v.wrong_entries} of {SMS_WRONG_ENTRY_LIMIT}",
                    v.result_label,
                )
                for v in listed
            ],
        ),
    )


@app.command()
def notifications(filing_id: FilingId, as_json: JsonOption = False) -> None:
    """What a filing owed whom, oldest first: each notification's status, attempts, its run's
    attempt of how many, since when that run fails and when it is tried next (as `ops
    retrying` shows them), and its last error."""
    with session_scope() as session:
        owed: list[NotificationOut] = filing_history.notifications(session, filing_id)
    emit(
        owed,
        as_json,
        lambda: table(
            [
                Whole("notice"),
                "to",
                Whole("status"),
                "tries (this run)",
                "run failing",
                "owed, delivered",
                "error",
            ],
            [
                (
                    n.kind,
                    f"{n.channel}: {n.recipient}",
                    n.status,
                    f"{n.attempts} ({n.attempt_of})",
                    stacked(("since", n.failing_since), ("next try", n.next_attempt_at)),
                    stacked(("", n.created_at), ("delivered", n.delivered_at)),
                    n.last_error,
                )
                for n in owed
            ],
            title=f"notifications of filing {filing_id}",
        ),
    )


@dataclass(frozen=True)
class _Row:
    """A data row and where it starts; ``problems`` are found before any guard runs."""

    line: int
    values: dict[str, str]
    problems: list[Reason]


@dataclass
class ImportResult:
    """What an import did, as ``--json`` prints it: the filings it opened, the rows an earlier
    run of it had opened (``{"line", "filing", "state"}``, the state now), the rows refused
    with their reasons, and, stopped by a signal, which one (``SIGINT``, ``SIGTERM``) and how
    many rows it left."""

    imported: list[int] = field(default_factory=list)
    already_imported: list[dict[str, int | str]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    interrupted: str | None = None
    not_tried: int = 0


def _read_rows(path: Path) -> list[_Row]:
    """Data rows with the line each starts on (header = line 1); a bad header refuses the file.

    Records end at CR LF, LF or CR only (the csv module's reading of a file opened with
    ``newline=""``), not at every boundary ``str.splitlines`` knows (a form feed, FS, GS, RS,
    NEL, U+2028, U+2029): a cell holding one stays whole, for its field to refuse by name,
    and the rows after it keep their line numbers."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            text = file.read()
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{path} is not UTF-8 text", [Reason("bad_encoding", str(exc))]
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as exc:
        raise _unreadable(path, 1, exc) from None
    problems = [
        Reason("missing_column", f"missing column {name!r}", field=name)
        for name in IMPORT_COLUMNS
        if name not in header and name not in OPTIONAL_COLUMNS
    ]
    problems += [
        Reason("unknown_column", f"unknown column {name!r}", field=name)
        for name in header
        if name not in IMPORT_COLUMNS
    ]
    problems += [
        Reason("duplicate_column", f"column {name!r} appears more than once", field=name)
        for name in sorted({n for n in header if header.count(n) > 1})
    ]
    if problems:
        optional = ", ".join(OPTIONAL_COLUMNS)
        expected = f"{','.join(IMPORT_COLUMNS)} ({optional} optional)"
        raise ValidationError(f"{path}: columns must be {expected}", problems)
    return [_row(line, cells, header) for line, cells in _records(reader, path)]


def _records(reader: Any, path: Path) -> Iterator[tuple[int, list[str]]]:
    """Non-blank records and the line each starts on (a quoted cell may span lines)."""
    end = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _unreadable(path, end + 1, exc) from None
        start, end = end + 1, reader.line_num
        if any(c.strip() for c in cells):
            yield start, cells


def _unreadable(path: Path, line: int, exc: csv.Error) -> ValidationError:
    """A record the csv module cannot read (a cell past its limit, far past any column's)."""
    reason = Reason("unreadable_csv", f"line {line}: {exc}")
    return ValidationError(f"{path}: line {line} cannot be read", [reason])


def _row(line: int, cells: list[str], header: list[str]) -> _Row:
    if len(cells) == len(header):
        return _Row(line, dict(zip(header, cells, strict=True)), [])
    width = Reason("wrong_cell_count", f"{len(cells)} cells where the header has {len(header)}")
    return _Row(line, {}, [width])


def _import_one(row: _Row, actor: str, result: ImportResult) -> None:
    """One row, one transaction, so a refused row leaves the others in. A row an earlier run
    imported is recognised by its content (``service.import_filing``), not refused as its
    entity's order in flight: a run stopped halfway is finished by running it again."""
    if row.problems:
        raise ValidationError("malformed row", row.problems)
    with session_scope() as session:
        opened = service.import_filing(session, creation_from_flat(row.values), actor)
    if opened.replayed:
        result.already_imported.append(
            {"line": row.line, "filing": opened.view.id, "state": opened.view.state.value}
        )
    else:
        result.imported.append(opened.view.id)


_STOPPING = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _stop_asked() -> Iterator[Callable[[], signal.Signals | None]]:
    """Ctrl-C (SIGINT) or SIGTERM asks the import to stop after the row in hand, whose
    transaction then ends as it would have: the summary names every filing opened, and a run
    again carries on. A second signal acts at once, as the first would have without this."""
    received: list[signal.Signals] = []

    def stop(signum: int, _frame: object) -> None:
        received.append(signal.Signals(signum))
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    previous = {signum: signal.signal(signum, stop) for signum in _STOPPING}
    try:
        yield lambda: received[0] if received else None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# A refused row's fields as the file names them: ``applicant.phone`` is the column ``phone``.
_COLUMN_OF = {".".join(path): column for column, path in FLAT_FIELDS.items()}


def import_rows(rows: Sequence[_Row], actor: str) -> ImportResult:
    result = ImportResult()
    with progress() as bar, _stop_asked() as stopped:
        task = bar.add_task("importing", total=len(rows))
        for done, row in enumerate(rows):
            if (signum := stopped()) is not None:
                result.interrupted, result.not_tried = signum.name, len(rows) - done
                break
            try:
                _import_one(row, actor, result)
            except IcpflowError as refused:
                exc = renamed(refused, _COLUMN_OF)  # the file's words, not the API's paths
                reasons = [r.as_dict() for r in exc.reasons] or [{"message": exc.message}]
                result.errors.append({"line": row.line, "reasons": reasons})
            bar.advance(task)
    return result


def _render_import(result: ImportResult) -> RenderableType:
    refused = table(
        ["line", "field", "problem"],
        [(e["line"], r.get("field"), r["message"]) for e in result.errors for r in e["reasons"]],
        title="refused rows",
    )
    already = table(
        ["line", "already imported as filing", "state now"],
        [(a["line"], a["filing"], a["state"]) for a in result.already_imported],
        title="rows already imported",
    )
    ids = f" (ids {', '.join(map(str, result.imported))})" if result.imported else ""
    summary = f"imported {counted(len(result.imported), 'filing')}{ids}, " + (
        f"{counted(len(result.already_imported), 'row')} already imported, "
        if result.already_imported
        else ""
    )
    summary += f"refused {counted(len(result.errors), 'row')}"
    if result.interrupted:
        summary += (
            f"; stopped by {result.interrupted}, {counted(result.not_tried, 'row')} not tried"
        )
    if any(a["state"] == State.WITHDRAWN for a in result.already_imported):
        summary += "\na row whose filing was withdrawn is filed again by `icpflow filings create`"
    shown = [already] if result.already_imported else []
    shown += [refused] if result.errors else []
    return Group(*shown, summary)


@app.command(name="import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.csv",
            exists=True,
            dir_okay=False,
            readable=True,
            show_default=False,
            help=f"UTF-8 CSV whose header names the columns {', '.join(IMPORT_COLUMNS)} in any "
            f"order ({', '.join(OPTIONAL_COLUMNS)} optional).",
        ),
    ],
    actor: ActorOption = ACTOR_DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """Create a filing per CSV row, each in its own transaction, so good rows go in.

    Every refused row is reported by its line number (the header is line 1) with all its
    reasons. A row imported before, by this command with the same content, is reported as
    already imported with its filing and the state that is in now, not opened again: an import
    stopped halfway is finished by running it again. Exits 1 if any row was refused, 0 if every row is in. A file with
    missing or unknown columns is refused before any row is imported. Ctrl-C or SIGTERM
    stops it after the row in hand, with what it did so far shown (exit 130 or 143).
    """
    result = import_rows(_read_rows(file), actor)
    emit(result, as_json, lambda: _render_import(result))
    if result.interrupted:
        report(
            CliError(
                f"stopped by {result.interrupted}: {counted(result.not_tried, 'row')} not tried; "
                "run the same import again to carry on"
            )
        )
        raise typer.Exit(128 + signal.Signals[result.interrupted])
    if result.errors:  # the report above lists them (on stdout with --json): one line here
        imported, already = len(result.imported), len(result.already_imported)
        total = len(result.errors) + imported + already
        report(
            ValidationError(
                f"{len(result.errors)} of {total} rows refused; the other {imported} were "
                f"imported" + (f", {already} already had been" if already else "")
            )
        )
        raise typer.Exit(DOMAIN_ERROR)
