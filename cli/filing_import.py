"""``icpflow filings import``'s work: reading a CSV of filings, opening one per row in its own
transaction, stopping cleanly on a signal, and the summary of what it did.
"""

from __future__ import annotations

import csv
import io
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType

from cli.output import Whole, progress, table
from models import session_scope
from workflow import service
from workflow.domain.definition import State
from workflow.domain.errors import IcpflowError, Reason, ValidationError, renamed
from workflow.domain.flat import FLAT_FIELDS, IMPORT_COLUMNS, OPTIONAL_COLUMNS, creation_from_flat
from workflow.domain.wording import counted


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


def read_rows(path: Path) -> list[_Row]:
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
    """Each row opened on its own, so one refused row costs only itself; a Ctrl-C (or a
    SIGTERM) ends the import between rows, never in the middle of one, and says how many
    were not tried."""
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


def render_import(result: ImportResult) -> RenderableType:
    """What a file's import did, row by row where a row needs a look, and a line that
    counts it all: the refused rows name their line and column as the file has them."""
    refused = table(
        ["line", Whole("field"), "problem"],
        [(e["line"], r.get("field"), r["message"]) for e in result.errors for r in e["reasons"]],
        title="refused rows",
    )
    already = table(
        ["line", Whole("already imported as filing"), Whole("state now")],
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
