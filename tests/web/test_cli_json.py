"""The CLI's ``--json``, command by command: the JSON the API endpoint it matches returns, the
same model serialised the same way, so a script reads one shape from either."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from cli.main import app

if TYPE_CHECKING:
    from collections.abc import Callable

    from config.clock import FrozenClock
    from tests.web.conftest import Api, Headers

# Each command and the endpoint it matches; {filing}, {entity}, {service} are a filing's ids.
MATCHING = [
    ("filings list", "/filings"),
    ("filings overdue --within-hours 0", "/overdue"),
    ("filings show {filing}", "/filings/{filing}"),
    ("filings history {filing}", "/filings/{filing}/history"),
    ("filings assignments {filing}", "/filings/{filing}/assignments"),
    ("filings verifiers {filing}", "/filings/{filing}/verifiers"),
    ("filings notifications {filing}", "/filings/{filing}/notifications"),
    ("entities list", "/entities"),
    ("entities show {entity}", "/entities/{entity}"),
    ("ops stuck", "/ops/stuck"),
    ("ops overdue", "/ops/overdue"),
    ("ops failed", "/ops/failed"),
    ("ops retrying", "/ops/retrying"),
    ("services obligations {service}", "/services/{service}/obligations"),
    ("services recorded {service}", "/services/{service}/recorded"),
    ("services duties", "/ops/duties"),
    ("services footer-checks-failing", "/ops/footer-checks-failing"),
    ("reports durations", "/reports/durations"),
]


@pytest.fixture
def ids(api: Api, clock: FrozenClock) -> dict[str, int]:
    """A filing sent back, and another overdue and stuck, so the lists list something."""
    returned = api.drive("host_returned")
    api.drive("submitted")
    clock.advance(timedelta(days=15))  # past the host's review and the stuck threshold
    return {
        "filing": returned["id"],
        "entity": returned["entity_id"],
        "service": returned["service_id"],
    }


@pytest.mark.parametrize(("command", "path"), MATCHING, ids=[c for c, _ in MATCHING])
def test_a_commands_json_is_what_its_api_endpoint_returns(
    command: str,
    path: str,
    api: Api,
    as_role: Callable[[str], Headers],
    ids: dict[str, int],
    settings: Any,
) -> None:
    printed = CliRunner().invoke(app, [*command.format(**ids).split(), "--json"])
    answered = api.get(f"/api/v1{path.format(**ids)}", headers=as_role("ops"))

    assert (printed.exit_code, answered.status_code) == (0, 200), printed.output
    assert json.loads(printed.stdout) == answered.json()
