"""How every command shows its result: rich tables for people, ``--json`` for scripts.

Commands hand ``emit`` the same objects the API returns, so ``--json`` output has the API's
shape; the human rendering is built only when it is shown.
"""

from __future__ import annotations

import getpass
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, NamedTuple

import typer
from pydantic import TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.padding import Padding
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from config import bounds
from config.clock import in_beijing
from config.settings import get_settings
from workflow.domain.bounded import LINE_PATTERN, Day, written_whole_number
from workflow.domain.commands import SearchText, parse
from workflow.domain.errors import ValidationError as Refused
from workflow.domain.guards import province_named
from workflow.domain.rules import RulesError, rules_for
from workflow.service import SYSTEM_ACTOR

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON on stdout (for scripts) instead of tables.")
]


def whole_number(low: int = 0, high: int | None = None) -> Callable[[Any], int]:
    """A parser of a count or an id written in digits, as the API takes them, within
    ``low``..``high``."""

    def integer(value: Any) -> int:
        text = str(value)
        try:
            written_whole_number(text)
        except ValueError as refused:  # pydantic's own error is one, with the API's words
            raise typer.BadParameter(f"{text!r}: {refused}") from None
        if int(text) < low or (high is not None and int(text) > high):
            within = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise typer.BadParameter(f"{text} is not {within}")
        return int(text)

    return integer


def row_id(help: str) -> Any:
    """An id argument within what the id columns hold: a larger number would only fail later,
    in the database driver, as an overflow instead of a usage error naming the argument."""
    return typer.Argument(
        metavar="ID", help=help, parser=whole_number(1, bounds.MAX_ROW_ID), show_default=False
    )


_DAY: TypeAdapter[date] = TypeAdapter(Day)


def _day(text: str) -> date:
    """A day written YYYY-MM-DD, as the API takes it: typer's own format also reads 2027-3-5."""
    try:
        return _DAY.validate_python(text)
    except ValidationError as exc:  # the day's own words: what is wrong, and what is expected
        raise typer.BadParameter(f"{text!r}: {exc.errors()[0]['msg']}") from None


def choice_option(help: str, choices: Iterable[str], metavar: str, *names: str) -> Any:
    """An option taking one of ``choices`` (an enum's values), shown as ``metavar`` with the
    choices listed in its help: typer's own ``<a|b|c>`` is one word to rich, which cuts it
    mid-name at a narrow terminal ("cancel_e ntity")."""
    listed = f"{help} One of: {', '.join(choices)}."
    return typer.Option(*names, metavar=metavar, help=listed, show_default=False)


def one_of(choices: Iterable[str]) -> Callable[[str], str]:
    """A parser of one of ``choices`` (a list the declaration or the rules give, not an enum),
    refusing any other as a usage error that lists them, as an enum's option does."""
    listed = tuple(choices)

    def chosen(text: str) -> str:
        if text not in listed:
            raise typer.BadParameter(f"{text!r} is not one of {', '.join(listed)}")
        return text

    return chosen


def listed_option(help: str, choices: Iterable[str], metavar: str) -> Any:
    """An option taking one of ``choices``, refused at once otherwise (``one_of``)."""
    listed = tuple(choices)
    return typer.Option(
        parser=one_of(listed),
        metavar=metavar,
        help=f"{help} One of: {', '.join(listed)}.",
        show_default=False,
    )


def _province(text: str) -> str:
    """A province character or alias the rules in force know, as typed: any other is a bad
    option value, a usage error listing those known, as a state or a kind not one is."""
    try:
        parse(SearchText, {"province": text}, "refused")  # bounded as the API's parameter
        province_named(text, rules_for(get_settings()))
    except RulesError:
        return text  # the command reads the rules too, and reports the file it cannot read
    except Refused as refused:
        reason = refused.reasons[0]
        raise typer.BadParameter(reason.message.removeprefix(f"{reason.field}: ")) from None
    return text


def province_option(help: str) -> Any:
    """A province to narrow a list by, checked against the rules as it is parsed."""
    return typer.Option(parser=_province, metavar="PROVINCE", help=help, show_default=False)


def province_argument(help: str) -> Any:
    """A province argument, checked as ``province_option`` checks its value."""
    return typer.Argument(parser=_province, metavar="PROVINCE", help=help, show_default=False)


def text_option(help_text: str) -> Any:
    """An option taking free text, its absence ``None``: there is no default worth showing."""
    return typer.Option(help=help_text, show_default=False)


def date_option(help: str) -> Any:
    """A day, typed as YYYY-MM-DD."""
    return typer.Option(parser=_day, metavar="DATE", help=help, show_default=False)


def count_option(help: str, low: int = 0, high: int | None = None) -> Any:
    """A count typed in digits."""
    within = f" ({low} to {high})" if high is not None else ""
    return typer.Option(parser=whole_number(low, high), metavar="INTEGER", help=help + within)


def limit_option(what: str) -> Any:
    """How many rows of a list one page shows."""
    return count_option(f"At most this many {what}.", 1, bounds.MAX_PAGE)


def offset_option(what: str) -> Any:
    """Where a page of a list starts, as far as the API's offsets reach."""
    return count_option(f"Skip this many {what} first (paging).", 0, bounds.MAX_OFFSET)


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
    if isinstance(value, Text):  # already styled, as a record's names are
        return value
    if value is None or value is False:
        return Text("")
    if value is True:
        return Text("yes")
    if isinstance(value, Due):
        return Text(in_beijing(value.at, due=True))
    if isinstance(value, datetime):
        return Text(in_beijing(value))
    if isinstance(value, list | tuple):
        return Text(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        # One "key: value" a line, as a narrow column wraps them at their spaces: as JSON
        # on one line it folded mid-key, ``{"service_nu`` / ``mber":``.
        return Text("\n".join(f"{key}: {_inline(item)}" for key, item in value.items()))
    return Text(str(value))


def _inline(value: Any) -> str:
    """A value inside a mapping's line: a list's items after commas, a nested mapping as
    JSON."""
    if isinstance(value, list | tuple):
        return ", ".join(_inline(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(cell(value))


class Whole(NamedTuple):
    """A table column of identifiers (ICP numbers, mobiles, domains, events, states, kinds,
    statuses), one a line: a case manager types and copies them, so each line of its cells is
    kept whole, never folded."""

    name: str


class Worded(NamedTuple):
    """A table column of values wrapped at their spaces only, every word kept whole: a
    record's values, where an identifier stands among words ("business_licence 911***CD52")."""

    name: str


Column = str | Whole | Worded

# The width below which a column of free text (a reason, an error, a time) is not narrowed to
# keep identifiers whole: a day, "2026-03-02", the longest word a time has, still fits.
_TEXT_MIN = 10
# Where even that leaves identifiers too little room (an 80-column terminal, six columns),
# free text is narrowed further, its words folded, down to this: text wraps, identifiers not.
_TEXT_FLOOR = 4
_PADDING = 1  # each side of a cell


def _levelled(needs: Sequence[int], natural: Sequence[int], room: int) -> list[int] | None:
    """Widths narrowed, the widest first, to one level, none below its need; None where the
    needs alone exceed the room."""
    if sum(needs) > room:
        return None
    level = max(natural, default=0)
    while (
        sum(max(need, min(wide, level)) for need, wide in zip(needs, natural, strict=True)) > room
    ):
        level -= 1
    return [max(need, min(wide, level)) for need, wide in zip(needs, natural, strict=True)]


class _Fitted:
    """A table whose columns are narrowed, the widest first, to fit the terminal, those of
    identifiers (``Whole``) no further than their longest line, those of words kept whole
    (``Worded``) no further than their longest word, those of free text, which wraps, no
    further than their longest word up to ``_TEXT_MIN`` and, where identifiers need the room,
    to ``_TEXT_FLOOR``. Rich's own narrowing folds any column to any width, identifiers
    mid-word (and, told a minimum width, widens the table past the terminal, its lines cut at
    the edge). Where the terminal is too narrow even for that (the nine columns of ``filings
    list`` at 80), each row is shown as a record (``_records``): its identifiers on one line,
    the rest below, each value after its column's name. Decided as it is printed, at the
    terminal's width."""

    def __init__(
        self,
        columns: Sequence[Column],
        rows: Sequence[Sequence[Text]],
        title: str | None,
        caption: str | None,
        show_header: bool = True,
    ) -> None:
        self.columns = columns
        self.rows = rows
        self.title = title
        self.caption = caption
        self.show_header = show_header

    def _lines(self, index: int) -> list[str]:
        """Every line of a column, its name's too where it is shown."""
        texts = [row[index] for row in self.rows]
        if self.show_header:
            texts.insert(0, Text(_name(self.columns[index])))
        return [line for text in texts for line in text.plain.splitlines()]

    def _widths(self, width: int) -> list[int] | None:
        """Each column's width, or None where the identifiers and the words kept whole do not
        fit even beside free text at ``_TEXT_FLOOR``."""
        room = width - (len(self.columns) + 1) - 2 * _PADDING * len(self.columns)
        natural, needs = [], []
        for index, column in enumerate(self.columns):
            lines = self._lines(index)
            natural.append(max((cell_len(line) for line in lines), default=0))
            longest = max((cell_len(word) for line in lines for word in line.split()), default=0)
            if isinstance(column, Whole):
                needs.append(natural[-1])
            else:
                needs.append(longest if isinstance(column, Worded) else min(longest, _TEXT_MIN))
        floors = [
            need if isinstance(column, Whole | Worded) else min(need, _TEXT_FLOOR)
            for column, need in zip(self.columns, needs, strict=True)
        ]
        return _levelled(needs, natural, room) or _levelled(floors, needs, room)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = self._widths(options.max_width)
        if widths is None:
            yield from self._records(options.max_width)
            return
        out = Table(
            title=self.title,
            caption=self.caption,
            padding=(0, _PADDING),
            show_header=self.show_header,
        )
        for index, column in enumerate(self.columns):
            # Fold rather than cut: an id or a domain shown as "exampl…" is useless to act on.
            out.add_column(_name(column), overflow="fold", width=widths[index])
        for row in self.rows:
            out.add_row(*row)
        yield out

    def _records(self, width: int) -> RenderResult:
        """Each row as a record, for a terminal too narrow for its identifiers side by side
        (folded there, ``host_pre_appro`` / ``ved``, they could be neither read nor copied):
        the row's identifiers (``Whole``) on its first line, under their columns' names where
        they fit, else parted by spaces, each whole; then, indented, each other value shown
        after its column's name, wrapped at spaces, its words whole where the line holds them
        ("kind: first_filing 首次备案 · prov.: 京 · applicant: Example Ltd"). A row a line and
        its details under it, as a log reads: ``| grep`` still finds a domain with its id and
        state."""
        whole = [i for i, column in enumerate(self.columns) if isinstance(column, Whole)]
        other = [i for i in range(len(self.columns)) if i not in whole]
        heads = [Text(_name(self.columns[i]), style="bold") for i in whole]
        lines = [[_one_line(row[i]) for i in whole] for row in self.rows]
        shown = [heads, *lines] if self.show_header and any(h.plain for h in heads) else lines
        sizes = [
            max((cell_len(line[k].plain) for line in shown), default=0) for k in range(len(whole))
        ]
        aligned = sum(sizes) + len(_GAP) * (len(whole) - 1) <= width
        if self.title:
            yield Text(self.title, style="bold")
        if shown is not lines:
            yield _spaced(heads, sizes if aligned else None)
        for line, row in zip(lines, self.rows, strict=True):
            if whole:
                yield _spaced(line, sizes if aligned else None)
            details = [
                Text.assemble(
                    f"{_name(self.columns[i])}: " if _name(self.columns[i]) else "",
                    _one_line(row[i]),
                )
                for i in other
                if row[i].plain
            ]
            if details:
                yield Padding(
                    Text(" · ").join(details), (0, 0, 0, _INDENT if whole else 0), expand=False
                )
        if self.caption:
            yield Text(self.caption)


def _name(column: Column) -> str:
    return column if isinstance(column, str) else column.name


_GAP = "  "  # between a record's identifiers
_INDENT = 4  # of a record's details under its identifiers


def _one_line(text: Text) -> Text:
    """A cell's lines on one line, after commas, as a list's items are (``cell``)."""
    return Text(", ").join(text.split("\n"))


def _spaced(cells: Sequence[Text], sizes: Sequence[int] | None) -> Text:
    """A record's identifiers parted by ``_GAP``, each padded to its column's ``sizes`` where
    given, so that they stand under their names."""
    padded = [
        cell if sizes is None else Text.assemble(cell, " " * (size - cell_len(cell.plain)))
        for cell, size in zip(cells, sizes or [0] * len(cells), strict=True)
    ]
    line = Text(_GAP).join(padded)
    line.rstrip()
    return line


def table(
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    title: str | None = None,
    caption: str | None = None,
) -> RenderableType:
    """Rows under their columns' names, each value a ``cell``; ``Whole`` columns hold
    identifiers, kept on one line wherever the terminal has room for them."""
    return _Fitted(columns, [[cell(v) for v in row] for row in rows], title, caption)


def stacked(*parts: tuple[str, Any]) -> str:
    """Several values in one cell, one a line after its label, those missing left out: a
    column each would leave a 100-column terminal too little room for any."""
    return "\n".join(f"{label} {cell(value)}".lstrip() for label, value in parts if value)


def table_or_none(
    title: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]]
) -> RenderableType:
    """A titled table, or for no rows one line saying so ("deadlines: none"): a table's frame
    with nothing in it reads as data missing, not as nothing there (an approved filing's
    events and deadlines)."""
    listed = list(rows)
    return table(columns, listed, title=title) if listed else Text(f"{title}: none")


def fields(pairs: Iterable[tuple[str, Any]], title: str | None = None) -> RenderableType:
    """A two-column table of name and value, for one record, fitted as ``table`` fits its
    columns: each name kept whole, each value wrapped at its spaces, its words (an ICP number,
    an identity number) whole, never folded as rich's own narrowing folds them."""
    rows = [[Text(name, style="bold"), cell(value)] for name, value in pairs]
    return _Fitted([Whole(""), Worded("")], rows, title, None, show_header=False)


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


ACTOR_DEFAULT = "cli:$USER"


def _resolve_actor(value: str) -> str:
    """Expand the shown default lazily, so help prints ``cli:$USER`` and history gets a name.
    A name given is one line of at most ``bounds.ACTOR`` characters, as its column holds, and
    none the history gives others: the scheduler's ``system`` and an API token's ``token:``."""
    if value == ACTOR_DEFAULT:
        return f"cli:{os.environ.get('USER') or getpass.getuser()}"
    actor = value.strip()
    if not actor or len(actor) > bounds.ACTOR or not re.fullmatch(LINE_PATTERN, actor):
        raise typer.BadParameter(f"one line of 1 to {bounds.ACTOR} characters")
    if actor == SYSTEM_ACTOR or actor.startswith("token:"):
        raise typer.BadParameter(
            f"{actor!r} is how history names the scheduler or an API token; give your own name"
        )
    return actor


ActorOption = Annotated[
    str,
    typer.Option(
        "--actor",
        help="Who is recorded (in the filing's history, or the service's) as having done this.",
        callback=_resolve_actor,
    ),
]
