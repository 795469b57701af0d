"""An API client on the test database and a token for every role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from icpflow.web.app import create_app
from icpflow.workflow.tokens import ROLES, create_token


@pytest.fixture
def client(settings: Any, clock: Any) -> Iterator[TestClient]:
    with TestClient(create_app(relay=False)) as test_client:
        yield test_client


@pytest.fixture
def tokens(session: Session) -> dict[str, str]:
    return {role: create_token(session, f"test-{role}", role) for role in ROLES}


@pytest.fixture
def as_role(tokens: dict[str, str]) -> Callable[[str], dict[str, str]]:
    return lambda role: {"Authorization": f"Bearer {tokens[role]}"}


@pytest.fixture
def manager(as_role: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return as_role("case_manager")
