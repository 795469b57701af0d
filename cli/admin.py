"""``icpflow tokens|db|calendar|ops``: setting up an install and keeping its work flowing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text
from sqlalchemy.exc import DBAPIError

from auth.tokens import (
    Role,
    TokenInfo,
    create_token,
    list_tokens,
    revoke_token,
    rotate_token,
    token_name,
)
from cli import backups
from cli.errors import DOMAIN_ERROR, App, CliError, refusal, report
from cli.filing_lists import filings_command
from cli.filing_output import HELD_UP_COLUMNS, held_up_row
from cli.output import (
    Column,
    JsonOption,
    Whole,
    choice_option,
    date_option,
    emit,
    fields,
    limit_option,
    offset_option,
    row_id,
    span,
    table,
)
from cli.search import search_text
from config import bounds
from config.clock import CHINA, as_utc, get_clock
from config.settings import get_settings
from models import Job, get_engine, session_scope
from models.migrate import upgrade
from workflow.domain.calendar import install_schedule_file
from workflow.domain.definition import Flag
from workflow.domain.errors import IcpflowError
from workflow.failures import retry_failed
from workflow.schemas import FailedJobOut, FlaggedPage
from workflow.sweeps import recount_working_days
from workflow.views import deliveries, held_up, search
from workflow.views.search import FilingFilters

tokens = App(help="API bearer tokens.")
db = App(help="The database: its schema, backups and restores.")
calendar = App(
    help="Official holiday schedules that working-day deadlines are counted in.",
    checks_settings=True,
)
ops = App(help="Find stuck, overdue and failed work, and retry it.", checks_settings=True)


_DURATION = re.compile(r"(\d+)([hdw])")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
_LONGEST = timedelta(days=bounds.MAX_DAYS)


def _duration(text: str) -> timedelta:
    """A token's lifetime: at least an hour, at most the ``MAX_DAYS`` any date may reach."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or int(match[1]) == 0:
        raise typer.BadParameter(f"{text!r}: give hours, days or weeks, e.g. 12h, 30d or 2w")
    count, unit = int(match[1]), _UNITS[match[2]]
    if count > bounds.MAX_DAYS * 24 or timedelta(**{unit: count}) > _LONGEST:
        raise typer.BadParameter(f"{text!r}: at most {bounds.MAX_DAYS} days")
    return timedelta(**{unit: count})


ExpiresIn = Annotated[
    timedelta | None,
    typer.Option(
        parser=_duration, metavar="DURATION", help="Valid for this long, e.g. 12h, 30d or 2w."
    ),
]
ExpiresOn = Annotated[
    date | None,
    date_option("Valid until this date begins (00:00 Beijing time), as YYYY-MM-DD."),
]
TokenId = Annotated[int, row_id("The token's id (see tokens list).")]


def _expiry(expires_in: timedelta | None, expires_on: date | None) -> datetime | None:
    if expires_in is not None and expires_on is not None:
        raise CliError("give --expires-in or --expires-on, not both")
    if expires_on is not None:
        return datetime.combine(expires_on, time(), tzinfo=CHINA)
    return get_clock().now() + expires_in if expires_in is not None else None


@tokens.command(name="create")
def create_token_command(
    role: Annotated[
        Role, typer.Option(help="Each role includes those listed before it.", show_default=False)
    ],
    name: Annotated[str, typer.Option(help="Who or what holds the token, e.g. ci or alice.")],
    expires_in: ExpiresIn = None,
    expires_on: ExpiresOn = None,
    as_json: JsonOption = False,
) -> None:
    """Create a token and print it alone on stdout; it is stored hashed and never shown again.

    Without --expires-in or --expires-on it is valid until revoked. With --json, the token
    comes with its name, role and expiry.
    """
    expires_at, name = _expiry(expires_in, expires_on), token_name(name)
    with session_scope() as session:
        token = create_token(session, name, role, expires_at)
    expiry = as_utc(expires_at) if expires_at else None  # in UTC, as ``tokens list`` gives it
    created = {"token": token, "name": name, "role": role, "expires_at": expiry}
    # The token as is: a console would wrap it in a narrow terminal.
    emit(created, as_json, lambda: Text(token, no_wrap=True, overflow="ignore"))


@tokens.command(name="list")
def tokens_list(as_json: JsonOption = False) -> None:
    """Every token with its role, expiry, revocation and last use; never the token itself."""
    with session_scope() as session:
        rows = list_tokens(session)
    shown = [*TokenInfo.model_fields, *TokenInfo.model_computed_fields]
    named = [name.removesuffix("_at").replace("_", " ") for name in shown]
    # Its id and name are typed into 'tokens revoke' and 'filings assign': kept whole.
    columns = [Whole(n) if n in ("id", "name", "role", "status") else n for n in named]
    emit(
        rows,
        as_json,
        lambda: table(columns, [tuple(row.model_dump().values()) for row in rows], title="tokens"),
    )


@tokens.command(name="revoke")
def tokens_revoke(token_id: TokenId, as_json: JsonOption = False) -> None:
    """Revoke a token at once: the API refuses it and the pages signed in with it sign out."""
    with session_scope() as session:
        revoked = revoke_token(session, token_id)
    emit(revoked, as_json, lambda: f"token {revoked.id} ({revoked.name}) revoked")


@tokens.command(name="rotate")
def tokens_rotate(token_id: TokenId) -> None:
    """Revoke a token and print its successor alone on stdout: same name, role and lifetime."""
    with session_scope() as session:
        typer.echo(rotate_token(session, token_id))


@db.command(name="upgrade")
def db_upgrade() -> None:
    """Apply the pending schema migrations to DATABASE_URL (the embedded SQLite by default)."""
    url = get_settings().effective_database_url
    upgrade(url)
    typer.echo(f"database {backups.shown(url)} is up to date")


BackupFile = Annotated[Path, typer.Argument(dir_okay=False, show_default=False)]


@db.command(name="backup")
def db_backup(file: BackupFile) -> None:
    """Write the whole database at DATABASE_URL to FILE, a new file; the services may keep running.

    SQLite: a consistent copy of the database file. PostgreSQL: a pg_dump custom-format
    archive (pg_dump must be on PATH, of the server's major version or newer).
    """
    url = get_settings().effective_database_url
    backups.backup(url, file)
    typer.echo(f"database {backups.shown(url)} backed up to {file}")
    typer.echo(
        "its personal data opens only with this install's DATA_KEYS and LOOKUP_KEY: keep them with it"
    )


@db.command(name="restore")
def db_restore(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, show_default=False),
    ],
    yes: Annotated[
        bool, typer.Option("--yes", help="Replace what the database holds; without it, refuse.")
    ] = False,
) -> None:
    """Replace the database at DATABASE_URL with the backup in FILE.

    Stop web, workers and scheduler first. A database that holds any table is replaced only
    with --yes; afterwards run `icpflow db upgrade` in case the backup predates the code.
    """
    url = get_settings().effective_database_url
    backups.restore(url, file, replace=yes)
    typer.echo(f"database {backups.shown(url)} restored from {file}")


@calendar.command(name="load")
def calendar_load(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            show_default=False,
            help='JSON from the State Council notice: {"year": 2027, "holidays": [...], '
            '"workdays": [...]}, dates as YYYY-MM-DD.',
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Install a year's official schedule and count again the deadlines it moves: those
    counted in working days, and those estimated without a schedule.

    The file is checked first and every problem reported; it replaces any schedule already
    installed for its year (in CALENDAR_DIR, else VAR_DIR/calendar).
    """
    settings = get_settings()
    directory = settings.effective_calendar_dir
    schedule = install_schedule_file(file, directory)
    changed = recount_working_days(get_engine(), settings)
    result = {
        "year": schedule.year,
        "path": str(directory / f"{schedule.year}.json"),
        "holidays": len(schedule.holidays),
        "workdays": len(schedule.workdays),
        "changed": changed,
    }
    emit(result, as_json, lambda: fields(result.items(), title="schedule installed"))


def _flagged(flag: Flag) -> Any:
    """``ops stuck`` and ``ops overdue``: the filings list with the flag fixed, each filing
    with the deadline that puts it there and how long ago it fell due, as the API's and the
    console's ops lists have them."""

    def show(filters: FilingFilters, limit: int, offset: int, as_json: bool) -> None:
        now = get_clock().now()
        with session_scope() as session:
            page = held_up.flagged_page(
                session, now, flag, filters, settings=get_settings(), limit=limit, offset=offset
            )
            names = search.filings_named(session, page.items)
        emit(page, as_json, lambda: _render_flagged(page, names, now))

    return filings_command(show, fixed=flag)


def _render_flagged(page: FlaggedPage, names: Mapping[int, str], now: datetime) -> RenderableType:
    return table(
        HELD_UP_COLUMNS,
        [held_up_row(f, f.listed_for, names[f.id], now) for f in page.items],
        caption=span(page.offset, len(page.items), page.total, exact=page.total_is_exact),
    )


ops.command(
    name="stuck",
    help=f"Filings stuck: {Flag.STUCK.meaning}; each with how long ago that deadline fell due.",
)(_flagged(Flag.STUCK))
ops.command(
    name="overdue",
    help=f"Filings overdue: {Flag.OVERDUE.meaning}; each with the latest it is past and how "
    "long ago it fell due. Ordered as 'filings list' orders them (by id, or --sort), as GET "
    "/api/v1/ops/overdue is: for the one overdue the longest first, 'filings overdue'.",
)(_flagged(Flag.OVERDUE))


@ops.command(name="failed")
def ops_failed(
    job: Annotated[Job | None, choice_option("Only jobs of this kind.", Job, "JOB")] = None,
    to: Annotated[
        str | None,
        typer.Option(
            help="Only deliveries to a recipient whose address holds this (case aside).",
            show_default=False,
        ),
    ] = None,
    include_retried: Annotated[
        bool, typer.Option(help="Also list jobs already sent back for another try.")
    ] = False,
    limit: Annotated[int, limit_option("jobs")] = 50,
    offset: Annotated[int, offset_option("jobs")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Jobs that exhausted their retries (undelivered notifications, footer checks that could
    not be made), newest first."""
    recipient = search_text(to=to).to
    with session_scope() as session:
        page = deliveries.failed_jobs(
            session,
            job=job,
            to=recipient,
            include_retried=include_retried,
            limit=limit,
            offset=offset,
        )
    # Narrow enough for 80 columns (piped output's width): short headers, and the retry time
    # only where retried jobs are asked for, or the error is folded two letters a line.
    retried = ["retried"] if include_retried else []
    columns: list[Column] = [
        Whole("id"),
        Whole("job"),
        Whole("filing"),
        "to",
        Whole("notice"),
        "failed",
        *retried,
        "error",
    ]
    rows = [
        (
            j.id,
            j.job,
            j.filing_id,
            f"{j.channel}: {j.recipient}" if j.channel else j.arguments,
            j.notification_id,
            j.failed_at,
            *([j.retried_at] if include_retried else []),
            j.error,
        )
        for j in page.items
    ]
    emit(
        page,
        as_json,
        lambda: table(
            columns,
            rows,
            title="failed jobs",
            caption=span(page.offset, len(page.items), page.total),
        ),
    )


@ops.command(name="retrying")
def ops_retrying(
    limit: Annotated[int, limit_option("deliveries")] = 50,
    offset: Annotated[int, offset_option("deliveries")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Deliveries failing now: notifications still pending after a failed attempt, which
    become failed jobs only once their retries run out, waiting longest first."""
    with session_scope() as session:
        page = deliveries.retrying_deliveries(
            session, settings=get_settings(), limit=limit, offset=offset
        )
    rows = [
        (
            r.filing_id,
            f"{r.channel}: {r.recipient}",
            r.kind,
            r.attempt_of,
            r.failing_since,
            r.next_attempt_at,
            r.waiting_since,
            r.last_error,
        )
        for r in page.items
    ]
    emit(
        page,
        as_json,
        lambda: table(
            [
                Whole("filing"),
                "to",
                Whole("notice"),
                "attempt",
                "failing since",
                "next try",
                "waiting since",
                "last error",
            ],
            rows,
            title="deliveries being retried",
            caption=span(page.offset, len(page.items), page.total),
        ),
    )


@ops.command(name="retry")
def ops_retry(
    failed_ids: Annotated[list[int], row_id("The failed jobs' ids (see ops failed), one or more.")],
    as_json: JsonOption = False,
) -> None:
    """Queue failed jobs again through the outbox (a delivery's notification goes back to
    pending; a footer check is made again), each in its own transaction: one refused (no such
    job, or retried already) or failed by the database is named and leaves the others
    retried; if the database cannot be reached at all, the ids after are named not tried.
    Exits 1 if any was refused. --json: per id in the order given, the job retried, or the
    error with its id."""
    outcomes: list[FailedJobOut | IcpflowError] = []
    for failed_id in failed_ids:
        item = f"failed job {failed_id}"
        if outcomes and isinstance(outcomes[-1], _Unreached):
            outcomes.append(_Unreached(f"{item} not tried: the database could not be reached"))
            continue
        try:
            with session_scope() as session:
                outcomes.append(retry_failed(session, failed_id))
        except Exception as exc:
            error = refusal(exc, item)
            # A database taking no connection at all: each id after would wait out the connect
            # timeout too. (A failed statement or commit leaves the database reachable.)
            unreached = isinstance(exc, DBAPIError) and not _database_reachable()
            outcomes.append(_Unreached(error.message, error.reasons) if unreached else error)
    shown = [
        outcome if isinstance(outcome, FailedJobOut) else {"id": failed_id, **outcome.as_dict()}
        for failed_id, outcome in zip(failed_ids, outcomes, strict=True)
    ]
    retried = [o.id for o in outcomes if isinstance(o, FailedJobOut)]
    if as_json or retried:
        emit(shown, as_json, lambda: "\n".join(f"failed job {i} queued again" for i in retried))
    refused = [o for o in outcomes if isinstance(o, IcpflowError)]
    for error in refused:
        report(error)
    if refused:
        raise typer.Exit(DOMAIN_ERROR)


class _Unreached(CliError):
    """A retry the database could not be reached for; the ids after it are not tried."""


def _database_reachable() -> bool:
    try:
        with get_engine().connect():
            return True
    except DBAPIError:
        return False
