"""The CLI's one translation of errors into what a shell user sees.

Every command is registered through ``App``, which wraps it in ``reports_errors``; commands
just raise, so none carries its own try/except and all of them fail the same way: one
``error:`` line on stderr, one indented line per reason, exit code 1 (2 stays Typer's for
usage errors).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError
from typer.models import CommandFunctionType

from workflow.domain.errors import IcpflowError, Reason

P = ParamSpec("P")
R = TypeVar("R")

DOMAIN_ERROR = 1


class CliError(IcpflowError):
    """A failure found by the CLI itself (a missing program, a malformed input file)."""

    code = "cli_error"


def _reason_line(reason: Reason) -> str:
    """Prefix the field unless the message already starts with it; name the rule applied."""
    rule = f" [{reason.rule}]" if reason.rule else ""
    if reason.field and not reason.message.startswith(reason.field):
        return f"  {reason.field}: {reason.message}{rule}"
    return f"  {reason.message}{rule}"


def report(error: IcpflowError) -> None:
    typer.echo(f"error: {error.message}", err=True)
    for reason in error.reasons:
        typer.echo(_reason_line(reason), err=True)


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn domain errors, and the database errors a misconfigured install raises, into exit 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except IcpflowError as exc:
            report(exc)
            raise typer.Exit(DOMAIN_ERROR) from exc
        except (OperationalError, ProgrammingError) as exc:
            hint = Reason("database", "check DATABASE_URL and run `icpflow db upgrade`")
            report(CliError(f"database error: {exc.orig}", [hint]))
            raise typer.Exit(DOMAIN_ERROR) from exc

    return wrapper


class App(typer.Typer):
    """A Typer app whose every command reports errors through ``reports_errors``.

    Local variables are kept out of tracebacks: they hold identity and phone numbers.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("pretty_exceptions_show_locals", False)
        super().__init__(**kwargs)

    def command(
        self, *args: Any, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        register = super().command(*args, **kwargs)

        def decorator(func: CommandFunctionType) -> CommandFunctionType:
            register(reports_errors(func))
            return func

        return decorator
