"""``icpflow tokens|db|calendar|ops``: setting up an install and keeping its work flowing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url

from auth.tokens import Role, create_token
from cli.errors import App
from cli.filings import LimitOption, OffsetOption, list_page, render_page
from cli.output import JsonOption, emit, fields, table
from config.settings import get_settings
from models import session_scope
from models.migrate import upgrade
from workers.failures import list_failed, retry_failed
from workflow.deadlines import recompute_estimated
from workflow.domain.calendar import install_schedule_file
from workflow.domain.definition import DEADLINES_BY_KIND, OVERDUE_KINDS

tokens = App(help="API bearer tokens.")
db = App(help="The database schema.")
calendar = App(help="Official holiday schedules that working-day deadlines are counted in.")
ops = App(help="Find stuck, overdue and failed work, and retry it.")


@tokens.command(name="create")
def create_token_command(
    role: Annotated[
        Role, typer.Option(help="Each role includes those listed before it.", show_default=False)
    ],
    name: Annotated[str, typer.Option(help="Who or what holds the token, e.g. ci or alice.")],
) -> None:
    """Create a token and print it alone on stdout; it is stored hashed and never shown again."""
    with session_scope() as session:
        typer.echo(create_token(session, name, role))


@db.command(name="upgrade")
def db_upgrade() -> None:
    """Apply the pending schema migrations to DATABASE_URL (the embedded SQLite by default)."""
    url = get_settings().effective_database_url
    upgrade(url)
    typer.echo(f"database {make_url(url).render_as_string(hide_password=True)} is up to date")


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
    """Install a year's official schedule and recompute the deadlines estimated without it.

    The file is checked first and every problem reported; it replaces any schedule already
    installed for its year (in CALENDAR_DIR, else VAR_DIR/calendar).
    """
    settings = get_settings()
    directory = settings.effective_calendar_dir
    schedule = install_schedule_file(file, directory)
    with session_scope() as session:
        changed = recompute_estimated(session, settings)
        session.commit()
    result = {
        "year": schedule.year,
        "path": str(directory / f"{schedule.year}.json"),
        "holidays": len(schedule.holidays),
        "workdays": len(schedule.workdays),
        "changed": changed,
    }
    emit(result, as_json, lambda: fields(result.items(), title="schedule installed"))


def _flagged(*, stuck: bool | None = None, overdue: bool | None = None) -> Any:
    """``ops stuck`` and ``ops overdue``: the filings list with one filter fixed."""

    def command(
        limit: LimitOption = 50, offset: OffsetOption = 0, as_json: JsonOption = False
    ) -> None:
        page = list_page(stuck=stuck, overdue=overdue, limit=limit, offset=offset)
        emit(page, as_json, lambda: render_page(page))

    return command


ops.command(
    name="stuck",
    help=f"Filings stuck in their state: {DEADLINES_BY_KIND['stuck'].description}",
)(_flagged(stuck=True))
ops.command(
    name="overdue",
    help="Filings with a past-due deadline of an overdue kind: " + ", ".join(OVERDUE_KINDS) + ".",
)(_flagged(overdue=True))


@ops.command(name="failed")
def ops_failed(
    include_retried: Annotated[
        bool, typer.Option(help="Also list jobs already sent back for another try.")
    ] = False,
    limit: LimitOption = 100,
    as_json: JsonOption = False,
) -> None:
    """Jobs that exhausted their retries (undelivered notifications), newest first."""
    with session_scope() as session:
        jobs = [
            job.model_dump()
            for job in list_failed(session, include_retried=include_retried, limit=limit)
        ]
    emit(
        jobs,
        as_json,
        lambda: table(
            ["id", "job", "notification", "failed at", "retried at", "error"],
            [
                (
                    j["id"],
                    j["job"],
                    j["notification_id"],
                    j["failed_at"],
                    j["retried_at"],
                    j["error"],
                )
                for j in jobs
            ],
            title="failed jobs",
        ),
    )


@ops.command(name="retry")
def ops_retry(
    failed_id: Annotated[
        int,
        typer.Argument(
            metavar="ID", help="The failed job's id (see ops failed).", show_default=False
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Queue a failed job again through the outbox; its notification goes back to pending."""
    with session_scope() as session:
        job = retry_failed(session, failed_id).model_dump()
    emit(job, as_json, lambda: f"failed job {failed_id} queued again")
