"""Fuzzing: schemathesis sends generated requests to every operation of the OpenAPI document,
with an admin's token (so every route runs past its role check), on both databases, among
filings in several states and a failed delivery (so ids that exist reach the guards); any 5xx,
or any answer the document does not describe (status, content type, headers, body), fails.
Bounded to stay a small part of the suite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import checks
from schemathesis.generation.case import Case
from sqlmodel import Session, select

from config.clock import FrozenClock
from config.settings import Settings
from models import Notification, Obligation
from tests.factories import MakeFiling
from tests.web.conftest import Headers
from web.app import create_app
from workflow import failures

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
    case: Case[Any],
    settings: Settings,
    clock: FrozenClock,
    as_role: Callable[[str], Headers],
    records: Records,
) -> None:
    aim_at_records(case, records)
    case.call_and_validate(headers=as_role("admin"), checks=CHECKS)


Records = dict[str, list[int]]


def aim_at_records(case: Case[Any], records: Records) -> None:
    """Half the generated ids are sent to a row that exists, so that requests reach the guards
    and writes behind the 404; the other half stay as generated."""
    for name, value in (case.path_parameters or {}).items():
        if name in records and isinstance(value, int) and value % 2 == 0:
            rows = records[name]
            case.path_parameters[name] = rows[value // 2 % len(rows)]


@pytest.fixture
def records(session: Session, clock: FrozenClock, new_filing: MakeFiling) -> Records:
    """Rows the generated ids are aimed at: filings along the way to approval and after it
    (with their entities, services and obligations) and a delivery that failed for good."""
    filings = [
        new_filing(state, domain=f"{state.replace('_', '-')}.cn")
        for state in ("domain_registered", "submitted", "sms_pending", "approved", "rejected")
    ]
    notification = session.exec(select(Notification)).first()
    assert notification is not None and notification.id is not None
    job = failures.record_final_failure(session, notification.id, "SMTP refused", clock.now())
    obligations = [o for o in session.exec(select(Obligation.id)) if o is not None]
    session.commit()  # and no transaction left open: on SQLite it would lock the app out
    return {
        "filing_id": [f.id for f in filings],
        "entity_id": [f.entity_id for f in filings],
        "service_id": [f.service_id for f in filings if f.service_id is not None],
        "obligation_id": obligations,
        "job_id": [job.id] if job.id is not None else [],
    }
