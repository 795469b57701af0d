"""Nothing is open: every API route needs a bearer token of at least the route's role."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.event import listen, remove
from sqlalchemy.pool import QueuePool
from sqlmodel import Session

from auth.tokens import (
    TOUCH_INTERVAL,
    Role,
    create_token,
    list_tokens,
    replace_tokens_named,
    revoke_token,
)
from config.clock import FrozenClock
from models import get_engine
from web.pages import SESSION_COOKIE

if TYPE_CHECKING:
    from tests.databases import Database
    from tests.web.conftest import Api, Headers


def test_missing_token_is_401_with_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/filings")
    assert (response.status_code, response.json()["error"]) == (401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_token_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/filings", headers={"Authorization": "Bearer nope"})
    assert (response.status_code, response.json()["error"]) == (401, "unauthorized")


def test_a_refused_request_gives_its_connection_back(client: TestClient) -> None:
    client.get("/api/v1/filings", headers={"Authorization": "Bearer nope"})  # read, then refused
    pool = get_engine().pool
    assert isinstance(pool, QueuePool)
    assert pool.checkedout() == 0  # rolled back and returned, not left open


def test_the_pages_cookie_does_not_authenticate_the_api(
    client: TestClient, tokens: dict[str, str]
) -> None:
    client.cookies.set(SESSION_COOKIE, tokens["admin"])
    assert client.get("/api/v1/filings").status_code == 401


def test_the_pages_session_id_is_not_a_bearer_token(
    client: TestClient, tokens: dict[str, str]
) -> None:
    client.post("/login", data={"token": tokens["admin"]}, follow_redirects=False)
    session_id = client.cookies[SESSION_COOKIE]
    response = client.get("/api/v1/filings", headers={"Authorization": f"Bearer {session_id}"})
    assert response.status_code == 401


def test_a_revoked_token_is_401(
    client: TestClient,
    session: Session,
    tokens: dict[str, str],
    as_role: Callable[[str], Headers],
) -> None:
    admin = next(t for t in list_tokens(session) if t.role == "admin")
    assert admin.id is not None
    revoke_token(session, admin.id)
    response = client.get("/api/v1/filings", headers=as_role("admin"))
    assert (response.status_code, response.json()["error"]) == (401, "unauthorized")


def test_a_token_replacing_those_of_its_name_leaves_them_unusable(
    client: TestClient, session: Session
) -> None:
    earlier = replace_tokens_named(session, "icpflow-up", Role.ADMIN)
    latest = replace_tokens_named(session, "icpflow-up", Role.ADMIN)

    answers = [
        client.get("/api/v1/filings", headers={"Authorization": f"Bearer {token}"}).status_code
        for token in (earlier, latest)
    ]
    assert answers == [401, 200]


def test_an_expired_token_is_401(client: TestClient, session: Session, clock: FrozenClock) -> None:
    token = create_token(session, "brief", Role.VIEWER, clock.now() + timedelta(days=30))
    clock.advance(timedelta(days=30))
    response = client.get("/api/v1/filings", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, "expired" in response.json()["message"]) == (401, True)


def test_an_expired_token_says_when_in_beijing_time(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    token = create_token(session, "brief", Role.VIEWER, clock.now() + timedelta(days=30))
    clock.advance(timedelta(days=31))  # the clock: 10:00 in Beijing
    response = client.get("/api/v1/filings", headers={"Authorization": f"Bearer {token}"})
    assert response.json()["message"].endswith("expired at 2026-04-01 10:00 Beijing time")


def test_a_token_in_use_records_when_it_was_last_used(
    client: TestClient,
    session: Session,
    tokens: dict[str, str],
    as_role: Callable[[str], Headers],
    clock: FrozenClock,
) -> None:
    client.get("/api/v1/filings", headers=as_role("viewer"))
    viewer = next(t for t in list_tokens(session) if t.role == "viewer")
    assert viewer.last_used_at == clock.now()


def test_a_token_used_again_within_the_touch_interval_writes_nothing(
    client: TestClient, as_role: Callable[[str], Headers], clock: FrozenClock
) -> None:
    writes: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "api_tokens" in statement and statement.lstrip().upper().startswith("UPDATE"):
            writes.append(statement)

    listen(get_engine(), "before_cursor_execute", note)
    try:
        client.get("/api/v1/filings", headers=as_role("viewer"))
        assert len(writes) == 1  # the first use is recorded: the listener sees such writes
        clock.advance(TOUCH_INTERVAL / 2)
        assert client.get("/api/v1/filings", headers=as_role("viewer")).status_code == 200
    finally:
        remove(get_engine(), "before_cursor_execute", note)
    assert len(writes) == 1


def test_signing_in_to_the_pages_records_the_tokens_use(
    client: TestClient, session: Session, tokens: dict[str, str], clock: FrozenClock
) -> None:
    client.post("/login", data={"token": tokens["viewer"]}, follow_redirects=False)
    viewer = next(t for t in list_tokens(session) if t.role == "viewer")
    assert viewer.last_used_at == clock.now()


def test_viewer_can_read_a_filing(api: Api, as_role: Callable[[str], Headers]) -> None:
    filing = api.create()
    response = api.get(f"/api/v1/filings/{filing['id']}", headers=as_role("viewer"))
    assert (response.status_code, response.json()["version"]) == (200, 1)


def test_viewer_firing_an_event_is_403(api: Api, as_role: Callable[[str], Headers]) -> None:
    response = api.fire(api.create(), "withdraw", {"reason": "x"}, as_role("viewer"))
    assert (response.status_code, response.json()["error"]) == (403, "forbidden")


def test_an_unknown_token_firing_an_event_is_401_and_fires_nothing(api: Api) -> None:
    filing = api.create()
    response = api.fire(filing, "withdraw", {"reason": "x"}, {"Authorization": "Bearer nope"})
    assert (response.status_code, response.json()["error"]) == (401, "unauthorized")
    assert api.get(f"/api/v1/filings/{filing['id']}").json()["version"] == filing["version"]


def test_a_revoked_token_firing_an_event_is_401(
    api: Api, session: Session, as_role: Callable[[str], Headers]
) -> None:
    filing = api.create()
    admin = next(t for t in list_tokens(session) if t.role == "admin")
    assert admin.id is not None
    revoke_token(session, admin.id)
    response = api.fire(filing, "withdraw", {"reason": "x"}, as_role("admin"))
    assert (response.status_code, response.json()["error"]) == (401, "unauthorized")


@pytest.mark.parametrize(
    ("role", "event", "data", "status"),
    [
        ("viewer", "withdraw", {"reason": "x"}, 403),  # the token read, then refused
        ("case_manager", "withdraw", {"reason": 5}, 422),  # refused before the event began
        ("case_manager", "no_such_event", {}, 422),
    ],
)
def test_a_refused_event_gives_its_connection_back(
    api: Api,
    as_role: Callable[[str], Headers],
    role: str,
    event: str,
    data: dict[str, object],
    status: int,
) -> None:
    assert api.fire(api.create(), event, data, as_role(role)).status_code == status
    pool = get_engine().pool
    assert isinstance(pool, QueuePool)
    assert pool.checkedout() == 0


def test_a_token_first_used_on_a_refused_event_records_its_use(
    api: Api, session: Session, as_role: Callable[[str], Headers], clock: FrozenClock
) -> None:
    filing = api.create()
    assert api.fire(filing, "withdraw", {"reason": "x"}, as_role("viewer")).status_code == 403
    viewer = next(t for t in list_tokens(session) if t.role == "viewer")
    assert viewer.last_used_at == clock.now()


def test_an_event_body_that_does_not_validate_is_422_whatever_the_token(api: Api) -> None:
    """The route checks a token given in the event's transaction, after FastAPI has read the
    body."""
    response = api.client.post(
        f"/api/v1/filings/{api.create()['id']}/events",
        json={"event": 5},
        headers={"Authorization": "Bearer nope"},
    )
    assert (response.status_code, response.json()["error"]) == (422, "validation_error")


def test_an_event_sent_with_no_token_is_401_before_its_body_is_judged(api: Api) -> None:
    """As every other route answers: whoever sends no token learns nothing of the body."""
    response = api.client.post(f"/api/v1/filings/{api.create()['id']}/events", json={"event": 5})
    assert (response.status_code, response.json()["error"]) == (401, "unauthorized")


def test_firing_an_event_checks_the_token_on_the_connection_that_fires_it(api: Api) -> None:
    """One connection from the pool per event: the token's check and the event share it."""
    filing = api.create()
    checkouts = []

    def count(*_: object) -> None:
        checkouts.append(1)

    listen(get_engine(), "checkout", count)
    try:
        assert api.fire(filing, "withdraw", {"reason": "x"}).status_code == 200
    finally:
        remove(get_engine(), "checkout", count)
    assert len(checkouts) == 1


@pytest.mark.parametrize(
    "db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/v1/filings"), ("POST", "/api/v1/filings/1/events")]
)
def test_a_connection_lost_during_the_token_check_is_503(
    client: TestClient,
    as_role: Callable[[str], Headers],
    db: Database,
    method: str,
    path: str,
) -> None:
    """The server goes away between the pool's ping and the token's lookup: the lost
    connection answers 503 as anywhere else, not 500 for a transaction left to roll back."""
    admin = create_engine(db.url, isolation_level="AUTOCOMMIT")

    def terminate(_conn: object, cursor: Any, statement: str, *_: object) -> None:
        if "FROM api_tokens" in statement:
            with admin.connect() as other:
                other.execute(
                    text("SELECT pg_terminate_backend(:pid)"),
                    {"pid": cursor.connection.info.backend_pid},
                )

    listen(get_engine(), "before_cursor_execute", terminate)
    try:
        body = {"event": "withdraw", "data": {"reason": "x"}} if method == "POST" else None
        response = client.request(method, path, json=body, headers=as_role("case_manager"))
    finally:
        remove(get_engine(), "before_cursor_execute", terminate)
        admin.dispose()
    assert (response.status_code, response.json()["error"]) == (503, "service_unavailable")


def test_viewer_creating_a_filing_is_403(api: Api, as_role: Callable[[str], Headers]) -> None:
    response = api.client.post("/api/v1/filings", json={}, headers=as_role("viewer"))
    assert response.status_code == 403


def test_case_manager_cannot_see_ops_lists(api: Api) -> None:
    assert api.get("/api/v1/ops/stuck").status_code == 403


@pytest.mark.parametrize("role", ["ops", "admin"])
def test_higher_roles_may_fire_events_as_case_managers_do(
    api: Api, as_role: Callable[[str], Headers], role: str
) -> None:
    assert api.fire(api.create(), "withdraw", {"reason": "x"}, as_role(role)).status_code == 200


def test_an_admin_may_read_the_ops_lists(api: Api, as_role: Callable[[str], Headers]) -> None:
    assert api.get("/api/v1/ops/stuck", as_role("admin")).status_code == 200
