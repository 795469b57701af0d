"""The CLI's one translation of errors into what a shell user sees.

Every command is registered through ``App``, which wraps it in ``reports_errors``; commands
just raise, so none carries its own try/except and all of them fail the same way: one
``error:`` line on stderr, one indented line per reason, exit code 1 (2 stays Typer's for
usage errors).
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import pydantic
import typer
from pydantic_settings import SettingsError
from sqlalchemy.exc import DBAPIError, NoSuchModuleError, OperationalError, ProgrammingError
from typer.models import CommandFunctionType

from config.keys import KeysDoNotOpen, MissingKeys
from config.settings import Settings, get_settings
from workflow.availability import not_on_server, passes_by_itself
from workflow.domain.errors import IcpflowError, Reason, quoted_alone
from workflow.startup import check_settings

P = ParamSpec("P")
R = TypeVar("R")

DOMAIN_ERROR = 1
PIPE_CLOSED = 128 + signal.SIGPIPE  # what a shell reports for a command its reader left


class CliError(IcpflowError):
    """A failure found by the CLI itself (a missing program, a malformed input file)."""

    code = "cli_error"


def _reason_text(reason: Reason) -> str:
    """Prefix the field unless the message already names it (starts with it, or quotes it as
    "unknown field 'data.foo'" does); name the rule applied."""
    rule = f" [{reason.rule}]" if reason.rule else ""
    field = reason.field
    if field and not reason.message.startswith(field) and repr(field) not in reason.message:
        return f"{field}: {reason.message}{rule}"
    return f"{reason.message}{rule}"


def report(error: IcpflowError) -> None:
    """The headline, then each reason on its own line; a lone reason the headline quotes is
    said there only, with its field and rule (twice over it reads as two problems)."""
    if quoted_alone(error.message, [reason.message for reason in error.reasons]):
        [reason] = error.reasons
        headline = error.message.removesuffix(reason.message) + _reason_text(reason)
        typer.echo(f"error: {headline}", err=True)
        return
    typer.echo(f"error: {error.message}", err=True)
    for reason in error.reasons:
        typer.echo(f"  {_reason_text(reason)}", err=True)


def refusal(exc: Exception, item: str) -> IcpflowError:
    """What a command working through several items, each on its own, tells of ``exc``, the
    failure of ``item`` ("failed job 3"), so that it goes on and reports every item's outcome:
    a domain error names its item already; any other the command would fail with (the database
    failing meanwhile) is told naming it. A bug is raised again, as it would have been."""
    error = _as_domain_error(exc)
    if error is None:
        raise exc
    if isinstance(exc, IcpflowError):
        return error
    return CliError(f"{item}: {error.message}", error.reasons)


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn domain errors, and the database errors a misconfigured install raises, into exit 1;
    with ``--json``, stdout also gets the error in the API's shape, for the script reading it."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except BrokenPipeError:
            # The reader has gone (``| head``): nothing more can be shown, and that is no
            # error to report. Later writes (the interpreter's final flush) go nowhere.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(PIPE_CLOSED) from None
        except Exception as exc:
            error = _as_domain_error(exc)
            if error is None:
                raise  # anything else is a bug: show where
            report(error)
            if kwargs.get("as_json"):
                typer.echo(json.dumps(error.as_dict(), ensure_ascii=False, indent=2))
            raise typer.Exit(DOMAIN_ERROR) from exc

    return wrapper


def _as_domain_error(exc: Exception) -> IcpflowError | None:
    """What a shell user is told of ``exc``; ``None`` for a bug."""
    if isinstance(exc, IcpflowError):
        return exc
    if isinstance(exc, OperationalError | ProgrammingError | NoSuchModuleError):
        cause = exc.orig if isinstance(exc, DBAPIError) else exc  # no such dialect: no DBAPI
        if missing := not_on_server(exc):  # no retry mends it: say what to create
            return CliError(missing.message, [Reason("database", missing.remedy)])
        if passes_by_itself(exc):  # a lock held, a server restarting: not the set-up's fault
            hint = Reason(
                "database",
                "if it lasts, check that the database at DATABASE_URL runs and lets this user in",
            )
            return CliError(f"the database is unavailable ({cause}); try again shortly", [hint])
        hint = Reason("database", "check DATABASE_URL and run `icpflow db upgrade`")
        return CliError(f"database error: {cause}", [hint])
    if isinstance(exc, pydantic.ValidationError) and exc.title == Settings.__name__:
        return CliError("invalid settings", _setting_reasons(exc))  # read on first use
    if isinstance(exc, SettingsError) and (named := _SETTING_NAMED.search(str(exc))):
        # A mapping or list setting that is not JSON: pydantic-settings names only the field.
        why = f"not valid JSON ({exc.__cause__})" if exc.__cause__ else "not readable"
        reason = Reason("invalid_setting", why, field=named[1].upper())
        return CliError("invalid settings", [reason])
    if isinstance(exc, KeysDoNotOpen | MissingKeys):
        return CliError(str(exc), [Reason("keys", "see the README, Personal data: Keys")])
    if isinstance(exc, OSError):  # a file named on the command line, a port, a socket
        where = f": {exc.filename}" if exc.filename else ""
        return CliError(f"{exc.strerror or exc}{where}")
    return None


_SETTING_NAMED = re.compile(r'field "(\w+)"')


def _setting_reasons(exc: pydantic.ValidationError) -> list[Reason]:
    """One line per bad setting, named as its environment variable, then where inside its
    value when it holds a mapping or a list (``STUCK_WORKING_DAYS.submitted``)."""
    return [
        Reason(
            "invalid_setting",
            error["msg"].removeprefix("Value error, "),
            # A check of several settings together names them in its message, at no one place.
            field=_variable(error["loc"]) if error["loc"] else None,
        )
        for error in exc.errors()
    ]


def _variable(loc: tuple[int | str, ...]) -> str:
    name, *inside = loc
    return str(name).upper() + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in inside)


class App(typer.Typer):
    """A Typer app whose every command reports errors through ``reports_errors``.

    With ``checks_settings``, each command first runs the check the processes run at start
    (``workflow.startup.check_settings``): a command working on filings with settings the web
    app would refuse (a misspelt route or state, a broken rules file) stops before it writes,
    instead of failing inside a transaction or silently notifying nobody. The commands that
    mend settings or keys, or start a process (which checks for itself), are in apps without.

    Local variables are kept out of tracebacks: they hold identity and phone numbers.
    """

    def __init__(self, *, checks_settings: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        # A docstring's paragraphs wrap to the terminal (rich keeps the source's line breaks).
        kwargs.setdefault("rich_markup_mode", "markdown")
        kwargs.setdefault("pretty_exceptions_show_locals", False)
        super().__init__(**kwargs)
        self.checks_settings = checks_settings

    def command(
        self, *args: Any, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        register = super().command(*args, **kwargs)

        def decorator(func: CommandFunctionType) -> CommandFunctionType:
            register(reports_errors(settings_checked(func) if self.checks_settings else func))
            return func

        return decorator


def settings_checked(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        check_settings(get_settings(), refusing="refusing to run")
        return func(*args, **kwargs)

    return wrapper
