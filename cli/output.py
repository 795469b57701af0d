"""How every command shows its result: rich tables for people, ``--json`` for scripts.

Commands hand ``emit`` the same objects the API returns, so ``--json`` output has the API's
shape; the human rendering is built only when it is shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any, NamedTuple

import typer
from pydantic_core import to_jsonable_python
from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from config import bounds
from config.clock import beijing_text

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON on stdout (for scripts) instead of tables.")
]


def row_id(help: str) -> Any:
    """An id argument within what the id columns hold: a larger number would only fail later,
    in the database driver, as an overflow instead of a usage error naming the argument."""
    return typer.Argument(metavar="ID", help=help, min=1, max=bounds.MAX_ROW_ID, show_default=False)


def date_option(help: str) -> Any:
    """An optional day, typed as YYYY-MM-DD."""
    return typer.Option(formats=["%Y-%m-%d"], metavar="DATE", help=help, show_default=False)


def limit_option(what: str) -> Any:
    """How many rows of a list one page shows."""
    return typer.Option(min=1, max=bounds.MAX_PAGE, help=f"At most this many {what}.")


def offset_option(what: str) -> Any:
    """Where a page of a list starts, as far as the API's offsets reach."""
    return typer.Option(min=0, max=bounds.MAX_OFFSET, help=f"Skip this many {what} first (paging).")


def emit(result: Any, as_json: bool, human: Callable[[], RenderableType]) -> None:
    if as_json:
        typer.echo(json.dumps(to_jsonable_python(result), ensure_ascii=False, indent=2))
    else:
        Console().print(human())


class Due(NamedTuple):
    """A time something is due by, shown as such (its last day's end reads as 24:00)."""

    at: datetime


def cell(value: Any) -> Text:
    """Plain text, never rich markup: filing data may contain ``[brackets]``.

    Times are shown in Beijing time, the zone deadlines are promised in.
    """
    if value is None or value is False:
        return Text("")
    if value is True:
        return Text("yes")
    if isinstance(value, Due):
        return Text(f"{beijing_text(value.at, due=True)} Beijing")
    if isinstance(value, datetime):
        return Text(f"{beijing_text(value)} Beijing")
    if isinstance(value, list | tuple):
        return Text(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        return Text(json.dumps(value, ensure_ascii=False, default=str) if value else "")
    return Text(str(value))


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    title: str | None = None,
    caption: str | None = None,
) -> Table:
    out = Table(title=title, caption=caption)
    for name in columns:
        # Fold rather than cut: an id or a domain shown as "exampl…" is useless to act on.
        out.add_column(name, overflow="fold", min_width=len(name))
    for row in rows:
        out.add_row(*(cell(v) for v in row))
    return out


def fields(pairs: Iterable[tuple[str, Any]], title: str | None = None) -> Table:
    """A two-column table of name and value, for one record."""
    out = Table(show_header=False, title=title)
    out.add_column(style="bold")
    out.add_column()
    for name, value in pairs:
        out.add_row(name, cell(value))
    return out


def span(offset: int, shown: int, total: int, *, exact: bool = True) -> str:
    """Which rows of how many a page shows: "51-100 of 240" ("of 1000+" past counting); a
    page with none says how many there are, past the last page or none at all."""
    counted = f"{total}{'' if exact else '+'}"
    if not shown:
        return f"past the last page: {counted} in all" if offset else f"0 of {counted}"
    return f"{offset + 1}-{offset + shown} of {counted}"


def progress() -> Progress:
    """A progress bar on stderr, so stdout stays clean for ``--json``."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
