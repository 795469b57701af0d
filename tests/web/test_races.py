"""Fifty clients racing on one filing over HTTP, on each database: one event wins, every other
request is answered (409 in the common error shape, never a 5xx), and the history holds the
winner alone."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from tests.web.conftest import Api, Filing

pytestmark = pytest.mark.usefixtures("many_connections")

CLIENTS = 50


def race(api: Api, filing: Filing, *, careful: bool) -> list[httpx.Response]:
    """Every client fires at once, half approving and half returning the filing; a careful
    client sends the version it saw, a careless one none."""
    start = threading.Barrier(CLIENTS)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        event, data = ("host_approve", {}) if n % 2 else ("host_return", {"reason": f"r{n}"})
        body = {"event": event, "data": data}
        if careful:
            body["expected_version"] = filing["version"]
        start.wait()
        answer = api.client.post(
            f"/api/v1/filings/{filing['id']}/events", json=body, headers=api.headers
        )
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def test_fifty_clients_firing_on_one_version_get_one_winner_and_49_conflicts(api: Api) -> None:
    filing = api.drive("submitted")

    answers = race(api, filing, careful=True)

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * (CLIENTS - 1)
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {"version_conflict"}
    [won] = [a.json() for a in answers if a.status_code == 200]
    history = api.get(f"/api/v1/filings/{filing['id']}/history").json()
    assert [h["version"] for h in history] == list(range(1, won["version"] + 1))
    assert history[-1]["to_state"] == won["state"]


def test_fifty_clients_firing_without_a_version_get_one_winner_and_refusals(api: Api) -> None:
    filing = api.drive("submitted")

    answers = race(api, filing, careful=False)

    winners = [a.json() for a in answers if a.status_code == 200]
    refused = {(a.status_code, a.json()["error"]) for a in answers if a.status_code != 200}
    assert (len(answers), len(winners)) == (CLIENTS, 1)
    assert refused <= {(409, "version_conflict"), (422, "transition_not_allowed")}
    history = api.get(f"/api/v1/filings/{filing['id']}/history").json()
    assert [h["version"] for h in history] == list(range(1, winners[0]["version"] + 1))
