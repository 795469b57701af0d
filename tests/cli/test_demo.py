"""``icpflow demo`` shows, on simulated time, the events a case manager must not miss."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.main import app


def test_demo_shows_sms_expiry_by_the_system_and_the_sla_breach() -> None:
    result = CliRunner().invoke(app, ["demo", "--weeks", "7"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "expire_sms: sms_pending → host_returned (by system)" in result.output
    assert "miit_sla_breach" in result.output
    assert "miit_legal_limit" in result.output
