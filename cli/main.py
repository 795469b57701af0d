"""The ``icpflow`` console script: every sub-command assembled on one app."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli import admin, filings, obligations, orders, privacy, processes, rules
from cli.errors import App, CliError
from cli.output import choice_option
from workflow.domain import diagram as diagrams
from workflow.domain.errors import Reason
from workflow.domain.orders import OrderKind

app = App(
    name="icpflow",
    help="Track China ICP filings (备案) as persisted state machines with deadline reminders.",
)
for process in processes.COMMANDS:
    app.command()(process)
app.add_typer(filings.app, name="filings")
app.add_typer(orders.entities, name="entities")
app.add_typer(orders.orders, name="orders")
app.add_typer(admin.ops, name="ops")
app.add_typer(admin.tokens, name="tokens")
app.add_typer(admin.db, name="db")
app.add_typer(admin.calendar, name="calendar")
app.add_typer(rules.app, name="rules")
app.add_typer(privacy.keys, name="keys")
app.add_typer(privacy.privacy, name="privacy")
app.add_typer(obligations.services, name="services")
app.add_typer(obligations.reports, name="reports")
# The name it had first, kept for the scripts that call it, out of the help: the API's and the
# console's /reports/durations name the reports in the plural.
app.add_typer(obligations.reports, name="report", hidden=True)


class DiagramFormat(StrEnum):
    MERMAID = "mermaid"
    DOT = "dot"
    SVG = "svg"


def _render(fmt: DiagramFormat, kind: OrderKind | None) -> str | bytes:
    if fmt is DiagramFormat.MERMAID:
        return diagrams.mermaid(kind)
    if fmt is DiagramFormat.DOT:
        return diagrams.dot(kind)
    svg = diagrams.svg(kind)
    if svg is None:
        raise CliError(
            "svg needs Graphviz's `dot` program, which is not on PATH",
            [Reason("missing_program", "install graphviz, or use --format dot or mermaid")],
        )
    return svg


@app.command()
def diagram(
    fmt: Annotated[
        DiagramFormat,
        typer.Option("--format", help="mermaid and dot are text; svg needs Graphviz."),
    ] = DiagramFormat.MERMAID,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write here instead of stdout."),
    ] = None,
    kind: Annotated[
        OrderKind | None,
        choice_option(
            "Only this order kind's path (default: the whole machine).", OrderKind, "KIND", "--kind"
        ),
    ] = None,
) -> None:
    """The filing state machine as a diagram, drawn from the workflow definition."""
    rendered = _render(fmt, kind)
    if output is None:
        typer.echo(rendered, nl=False)
    elif isinstance(rendered, bytes):
        output.write_bytes(rendered)
    else:
        output.write_text(rendered, encoding="utf-8")
