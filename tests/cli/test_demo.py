"""``icpflow demo`` shows, on simulated time, a host's mixed orders and the events a case
manager must not miss."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.main import app
from workflow.domain.orders import OrderKind


@pytest.fixture(scope="module")
def output() -> str:
    """Seven simulated weeks, run once for every test here."""
    result = CliRunner().invoke(app, ["demo", "--weeks", "7"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_shows_the_sms_expired_by_the_system(output: str) -> None:
    assert "expire_sms: sms_pending → host_returned (by system)" in output


def test_demo_shows_the_bureau_legal_limit_and_the_sla_breach(output: str) -> None:
    assert "miit_legal_limit" in output
    assert "miit_sla_breach" in output


def test_demo_approves_an_order_of_every_kind_naming_its_kind(output: str) -> None:
    approvals = [line for line in output.splitlines() if "→ approved" in line]
    approved = {kind for kind in OrderKind for line in approvals if f" {kind.value} " in line}
    assert approved == set(OrderKind)


def test_demo_tells_the_record_number_each_approval_issued_or_cancelled(output: str) -> None:
    assert "京ICP备20260000号-1 issued" in output  # the first filing's site
    assert "京ICP备20260003号-2A issued" in output  # the app added to an entity on file
    assert "京ICP备20260007号-1 cancelled" in output  # the site cancelled
