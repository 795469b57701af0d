"""``icpflow filings``: what case managers do from a shell, through the same service as the API."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group

from auth.tokens import assign_filing
from cli.errors import DOMAIN_ERROR, App, CliError, report
from cli.filing_import import import_rows, read_rows, render_import
from cli.filing_lists import LimitOption, OffsetOption, StateOption, filings_command
from cli.filing_output import render_filing, render_history, render_overdue, render_page, rendered
from cli.obligations import render_forecast
from cli.output import (
    ACTOR_DEFAULT,
    ActorOption,
    JsonOption,
    Whole,
    Worded,
    count_option,
    emit,
    listed_option,
    province_option,
    row_id,
    stacked,
    table,
    table_or_none,
    text_option,
)
from cli.search import search_text
from config import bounds
from config.clock import get_clock
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
    EVENTS,
    EVENTS_BY_NAME,
    MANUAL_EVENTS,
    OVERDUE_KINDS,
    SMS_WRONG_ENTRY_LIMIT,
)
from workflow.domain.errors import IcpflowError, Reason, ValidationError, renamed
from workflow.domain.flat import FLAT_FIELDS, IMPORT_COLUMNS, OPTIONAL_COLUMNS, creation_from_flat
from workflow.domain.json_files import read_json
from workflow.domain.wording import counted, worded_by_default
from workflow.outlook import outlook
from workflow.schemas import AssignmentOut, FilingOut, HistoryOut, NotificationOut, VerifierOut
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


def _create_one(command: FilingCreate, actor: str) -> FilingOut:
    """One filing, one transaction."""
    with session_scope() as session:
        return service.create_filing(session, command, actor)


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
    domain: Annotated[
        str | None, text_option("Registered domain to file, e.g. example.cn.")
    ] = None,
    expires: Annotated[
        str | None, text_option("Domain registration expiry date, YYYY-MM-DD.")
    ] = None,
    domain_registrant: Annotated[
        str | None,
        text_option("The domain's registrant as the registrar shows it (default: the applicant)."),
    ] = None,
    domain_real_name_verified: Annotated[
        str | None, text_option("true or false: the registrar verified the registrant's real name.")
    ] = None,
    province: Annotated[
        str | None,
        text_option("Province character or its alias, e.g. 京, or 蜀 for 川 (rules.toml)."),
    ] = None,
    licence: Annotated[
        str | None, text_option(f"{' or '.join(LicenceKind)} (the first, 备案, by default).")
    ] = None,
    applicant_type: Annotated[
        str | None, text_option(f"One of {', '.join(ApplicantKind)}.")
    ] = None,
    applicant_name: Annotated[
        str | None, text_option("Person's or organisation's legal name.")
    ] = None,
    id_type: Annotated[
        str | None,
        text_option("Identity document type matching the applicant type, e.g. business_licence."),
    ] = None,
    id_number: Annotated[str | None, text_option("Identity document number.")] = None,
    phone: Annotated[
        str | None, text_option("Mainland mobile number that receives MIIT's SMS.")
    ] = None,
    email: Annotated[str | None, text_option("Applicant's email address.")] = None,
    responsible: Annotated[
        str | None,
        text_option(
            "The person responsible for the entity (主体负责人), whose mobile --phone is; "
            "not for an individual, who is their own."
        ),
    ] = None,
    responsible_id_type: Annotated[
        str | None,
        text_option(
            "The responsible person's identity document type, e.g. resident_id, with "
            "--responsible-id-number: the bureau asks for it."
        ),
    ] = None,
    responsible_id_number: Annotated[
        str | None, text_option("The responsible person's identity document number.")
    ] = None,
    legal_representative: Annotated[
        str | None,
        text_option(
            "true or false: the responsible person is the entity's legal representative "
            "(otherwise an authorisation letter is a material where the province asks for it)."
        ),
    ] = None,
    site_name: Annotated[str | None, text_option("Website name as it will be filed.")] = None,
    sector: Annotated[str | None, text_option("Website sector (default general).")] = None,
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


def _list(filters: FilingFilters, limit: int, offset: int, as_json: bool) -> None:
    with session_scope() as session:
        page = search.filing_page(
            session, get_clock().now(), filters, settings=get_settings(), limit=limit, offset=offset
        )
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
        str | None, listed_option("Only this kind of deadline.", OVERDUE_KINDS, "KIND")
    ] = None,
    state: StateOption = None,
    province: Annotated[
        str | None, province_option("Only filings of this province (aliases too).")
    ] = None,
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
            settings=get_settings(),
            within=timedelta(hours=within_hours),
            kind=kind,
            state=state,
            province=province,
            limit=limit,
            offset=offset,
        )
        names = search.filings_named(session, [item.filing for item in page.items])
    emit(page, as_json, lambda: render_overdue(page, names, now))


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
        now, settings = get_clock().now(), get_settings()
        view = filing_history.filing_detail(session, filing_id, now, settings)
        after = None if as_json else outlook(session, view, now, settings)
    emit(view, as_json, lambda: Group(render_filing(view, view.sent_back), *rendered(after)))


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
        text_option(
            "Comma-separated materials, for submit and resubmit: a,b,c. A resubmit names "
            "those corrected; the last submission's carry over."
        ),
    ] = None,
    reason: Annotated[str | None, text_option("Why, for events that need a reason.")] = None,
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
        # The keys allowed beside an unknown one too: as the options that give them.
        raise renamed(exc, options, allowed_too=True) from None
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
            ["at", Whole("to"), Whole("from"), Whole("by")],
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
            ["whose", "person", Whole("mobile"), "SMS sent", "wrong codes", "result"],
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
        owed: list[NotificationOut] = filing_history.notifications(
            session, filing_id, get_settings()
        )
    emit(
        owed,
        as_json,
        lambda: table(
            [
                Whole("notice"),
                Worded("to"),
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
    result = import_rows(read_rows(file), actor)
    emit(result, as_json, lambda: render_import(result))
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
