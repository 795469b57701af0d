"""Run the real ``icpflow`` app in-process against the test database and the frozen clock."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import typer.main
import typer.testing
from typer.testing import CliRunner, Result

from cli.main import app
from tests.factories import make_payload

Cli = Callable[..., Result]


@pytest.fixture(scope="session", autouse=True)
def commands_built_once() -> Iterator[None]:
    """Typer's test runner turns the app into its command line at every invocation, which
    ``icpflow`` does once per run: a third of a CLI test's time went to rebuilding it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", functools.cache(typer.main.get_command))
        yield


def _at_width(columns: int) -> Cli:
    runner = CliRunner(env={"COLUMNS": str(columns)})

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return run


@pytest.fixture
def cli(settings: Any, clock: Any) -> Cli:
    """Tables for people as a wide terminal shows them: a cell's text on one line."""
    return _at_width(200)


@pytest.fixture
def narrow_cli(settings: Any, clock: Any) -> Cli:
    """Tables for people on a 100-column terminal, as a laptop's half screen shows them."""
    return _at_width(100)


@pytest.fixture
def cramped_cli(settings: Any, clock: Any) -> Cli:
    """Tables for people at 80 columns: a terminal's default width, and piped output's."""
    return _at_width(80)


@pytest.fixture
def created(cli: Cli, tmp_path: Any) -> dict[str, Any]:
    """A filing created through ``filings create --file``, as its ``--json`` output."""
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(make_payload()), encoding="utf-8")
    result = cli("filings", "create", "--file", str(path), "--json")
    assert result.exit_code == 0, result.output
    created: dict[str, Any] = json.loads(result.stdout)
    return created
