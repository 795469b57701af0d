"""Nothing is open: every API route needs a bearer token of at least the route's role."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from tests.web.conftest import Api, Headers


def test_missing_token_is_401_with_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/filings")
    assert (response.status_code, response.json()["error"]) == (401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_token_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/filings", headers={"Authorization": "Bearer nope"})
    assert (response.status_code, response.json()["error"]) == (401, "unauthorized")


def test_the_pages_cookie_does_not_authenticate_the_api(
    client: TestClient, tokens: dict[str, str]
) -> None:
    client.cookies.set("icpflow_token", tokens["admin"])
    assert client.get("/api/v1/filings").status_code == 401


def test_viewer_can_read_a_filing(api: Api, as_role: Callable[[str], Headers]) -> None:
    filing = api.create()
    response = api.get(f"/api/v1/filings/{filing['id']}", headers=as_role("viewer"))
    assert (response.status_code, response.json()["version"]) == (200, 1)


def test_viewer_firing_an_event_is_403(api: Api, as_role: Callable[[str], Headers]) -> None:
    response = api.fire(api.create(), "withdraw", {"reason": "x"}, as_role("viewer"))
    assert (response.status_code, response.json()["error"]) == (403, "forbidden")


def test_viewer_creating_a_filing_is_403(api: Api, as_role: Callable[[str], Headers]) -> None:
    response = api.client.post("/api/v1/filings", json={}, headers=as_role("viewer"))
    assert response.status_code == 403


def test_case_manager_cannot_see_ops_lists(api: Api) -> None:
    assert api.get("/api/v1/ops/stuck").status_code == 403


def test_higher_roles_inherit_lower_ones(api: Api, as_role: Callable[[str], Headers]) -> None:
    assert api.fire(api.create(), "withdraw", {"reason": "x"}, as_role("admin")).status_code == 200
