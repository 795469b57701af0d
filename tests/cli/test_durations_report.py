"""``icpflow reports durations`` by order kind, and the kind a forecast was drawn from."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from cli.main import app
from workflow.schemas import FilingOut

if TYPE_CHECKING:
    from tests.cli.conftest import Cli
    from tests.factories import MakeFiling


def test_the_durations_report_has_a_kind_column(cli: Cli, on_file: FilingOut) -> None:
    rows = json.loads(cli("reports", "durations", "--json").stdout)
    assert ("京", "first_filing", "miit_pending") in {
        (r["province"], r["kind"], r["stage"]) for r in rows
    }
    table = cli("reports", "durations").stdout
    assert "kind" in table and "first_filing" in table


def test_a_forecast_names_the_kind_whose_history_it_counted(
    cli: Cli, new_filing: MakeFiling
) -> None:
    reviewing = new_filing("miit_pending")
    shown = cli("filings", "forecast", str(reviewing.id)).stdout
    assert f"completed {reviewing.kind} 首次备案 orders" in shown


def test_the_reports_first_name_report_gives_the_same_out_of_the_help(
    cli: Cli, on_file: FilingOut
) -> None:
    """The API and the console call them reports (/reports/durations); scripts written for
    ``icpflow report`` keep working."""
    old = cli("report", "durations", "--json")

    assert (old.exit_code, old.stdout) == (0, cli("reports", "durations", "--json").stdout)
    shown = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["--help"]).stdout
    assert "│ reports " in shown and "│ report " not in shown
