"""Fuzzing: schemathesis sends generated requests to every operation of the OpenAPI document,
with a valid token, on both databases; any 5xx, or any answer the document does not describe
(status, content type, headers, body), fails. Bounded to stay a small part of the suite."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import checks
from schemathesis.generation.case import Case

from config.clock import FrozenClock
from config.settings import Settings
from tests.web.conftest import Headers
from web.app import create_app

pytestmark = pytest.mark.fuzz

# Generated cases per operation and database: the suite's budget, not a search for the last bug.
EXAMPLES = 25

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


# Built at collection (schemathesis parametrizes from the document); the app resolves its
# database per request, so the ``settings`` fixture below points it at each test database.
# (``schemathesis.pytest.from_fixture`` would build it per test, but fails under pytest 9.)
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(relay=False))


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_gets_a_5xx_or_an_undocumented_answer(
    case: Case[Any], settings: Settings, clock: FrozenClock, manager: Headers
) -> None:
    case.call_and_validate(headers=manager, checks=CHECKS)
