"""An API client on the test database, a token for every role, a case manager's helper and
the console's browser signed in."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from auth.tokens import Role, create_token
from tests.factories import PATH_TO, Applicants, make_payload
from web.app import create_app

Headers = dict[str, str]
Filing = dict[str, Any]


@functools.cache
def shared_app() -> FastAPI:
    """One app per test process, as there is one per server process. FastAPI works out how
    it handles each route on an app's first requests: done for a new app in every test, that
    was a third of a web test's time. Built under the first test's settings; what it reads of
    them (body and sign-in limits) no test changes."""
    return create_app(relay=False)


@pytest.fixture
def client(settings: Any, clock: Any) -> Iterator[TestClient]:
    # An address of its own: the sign-ins one test got wrong do not throttle the next test's.
    address = (f"test-{uuid.uuid4().hex[:12]}", 50000)
    with TestClient(shared_app(), client=address) as test_client:
        yield test_client


@pytest.fixture
def tokens(session: Session) -> dict[str, str]:
    return {role: create_token(session, f"test-{role}", role) for role in Role}


@pytest.fixture
def as_role(tokens: dict[str, str]) -> Callable[[str], Headers]:
    return lambda role: {"Authorization": f"Bearer {tokens[role]}"}


@pytest.fixture
def manager(as_role: Callable[[str], Headers]) -> Headers:
    return as_role("case_manager")


class Api:
    """What a case manager's script does, with each expected success asserted on the way."""

    def __init__(self, client: TestClient, headers: Headers) -> None:
        self.client, self.headers = client, headers
        self.applicants = Applicants()

    def create(self, **overrides: Any) -> Filing:
        payload = make_payload(**self.applicants.fill(overrides))
        response = self.client.post("/api/v1/filings", json=payload, headers=self.headers)
        assert response.status_code == 201, response.text
        filing: Filing = response.json()
        return filing

    def fire(
        self,
        filing: Filing,
        event: str,
        data: dict[str, Any] | None = None,
        headers: Headers | None = None,
    ) -> httpx.Response:
        """Fire with the version last seen, as a careful client does."""
        response: httpx.Response = self.client.post(
            f"/api/v1/filings/{filing['id']}/events",
            json={"event": event, "data": data or {}, "expected_version": filing["version"]},
            headers=headers or self.headers,
        )
        return response

    def step(self, filing: Filing, event: str, data: dict[str, Any] | None = None) -> Filing:
        response = self.fire(filing, event, data)
        assert response.status_code == 200, response.text
        stepped: Filing = response.json()
        return stepped

    def drive(self, state: str, **overrides: Any) -> Filing:
        """A new filing taken to ``state`` along the shared test path."""
        filing = self.create(**overrides)
        for event, data in PATH_TO[state]:
            filing = self.step(filing, event, data)
        return filing

    def get(self, path: str, headers: Headers | None = None) -> httpx.Response:
        response: httpx.Response = self.client.get(path, headers=headers or self.headers)
        return response


@pytest.fixture
def api(client: TestClient, manager: Headers) -> Api:
    return Api(client, manager)


@pytest.fixture
def signed_in(client: TestClient, tokens: dict[str, str]) -> Callable[[str], TestClient]:
    """The console's browser, signed in as the role asked for."""

    def sign_in(role: str) -> TestClient:
        client.post("/login", data={"token": tokens[role]})
        return client

    return sign_in
