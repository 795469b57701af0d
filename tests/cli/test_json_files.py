"""The JSON files commands read (``filings create --file``, ``orders create --file``,
``calendar load``): read alike, by ``workflow.domain.json_files``."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.factories import SCHEDULE_2031, first_filing_order, make_payload

if TYPE_CHECKING:
    from tests.cli.conftest import Cli

_ORDER = {k: v for k, v in first_filing_order().items() if k != "kind"}

# Each command reading a JSON file, with a file it takes.
READERS = [
    pytest.param(("filings", "create", "--file"), make_payload(), id="filings-create"),
    pytest.param(
        ("orders", "create", "--kind", "first_filing", "--file"), _ORDER, id="orders-create"
    ),
    pytest.param(("calendar", "load"), SCHEDULE_2031, id="calendar-load"),
]


@pytest.mark.parametrize(("command", "body"), READERS)
def test_a_file_saved_with_a_byte_order_mark_is_read_as_utf_8(
    cli: Cli, tmp_path: Path, command: tuple[str, ...], body: dict[str, Any]
) -> None:
    """As a CSV import reads one: Windows editors write the mark first."""
    path = tmp_path / "body.json"
    path.write_bytes(codecs.BOM_UTF8 + json.dumps(body, ensure_ascii=False).encode())

    result = cli(*command, str(path))

    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("command", "body"), READERS)
def test_a_file_nested_too_deeply_to_read_is_refused_on_one_line(
    cli: Cli, tmp_path: Path, command: tuple[str, ...], body: dict[str, Any]
) -> None:
    """The API answers such a body 400; the parser's recursion limit is no bug to show."""
    path = tmp_path / "body.json"
    path.write_text("[" * 100_000, encoding="utf-8")

    result = cli(*command, str(path))

    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == ["  nested too deeply to read"]
