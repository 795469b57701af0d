"""When something breaks: an unreachable or hung database answers 503 with Retry-After (and
/readyz long before a connection attempt would give up), a bug answers 500 in the common shape
with the request id that its log line carries; never a bare "Internal Server Error"."""

from __future__ import annotations

import io
import json
import logging
import socket
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from config.logs import configure_logging
from config.settings import get_settings
from models.engine import forget_engines
from tests.databases import ABSENT_PASSWORD, POSTGRES_ONLY, Absent
from web.app import create_app

API_ROUTE = "/api/v1/filings"
PAGE = "/"


def _client_on(
    url: str, monkeypatch: pytest.MonkeyPatch, connect_timeout: int = 2
) -> Iterator[TestClient]:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT_SECONDS", str(connect_timeout))
    get_settings.cache_clear()
    forget_engines()
    with TestClient(create_app(relay=False), raise_server_exceptions=False) as client:
        yield client
    get_settings.cache_clear()
    forget_engines()


@pytest.fixture
def closed_port_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """PostgreSQL configured on a port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield from _client_on(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test", monkeypatch)


SILENT_CONNECT_TIMEOUT = 12


@pytest.fixture
def silent_port_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """PostgreSQL configured on a port that accepts connections and never says a word; a
    connection attempt gives up only after ``SILENT_CONNECT_TIMEOUT`` seconds, /readyz after
    half a second."""
    monkeypatch.setenv("READINESS_TIMEOUT_SECONDS", "0.5")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        yield from _client_on(
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/test",
            monkeypatch,
            connect_timeout=SILENT_CONNECT_TIMEOUT,
        )


@pytest.mark.parametrize("path", [API_ROUTE, PAGE])
def test_a_database_on_a_closed_port_is_503_with_retry_after(
    closed_port_client: TestClient, path: str
) -> None:
    signed_in = {"Authorization": "Bearer icp_whatever", "Cookie": "icpflow_session=whatever"}
    response = closed_port_client.get(path, headers=signed_in, follow_redirects=False)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(get_settings().unavailable_retry_after_seconds)
    if path == API_ROUTE:
        assert response.json()["error"] == "service_unavailable"
    else:  # people get the same answer as a page
        assert "service_unavailable" in response.text and "<html" in response.text


def test_readyz_answers_503_without_waiting_for_the_connect_timeout(
    silent_port_client: TestClient,
) -> None:
    """Its own timeout answers, not the connection's: half the connect timeout leaves a loaded
    CI machine seconds of slack and still fails if /readyz waited for the connection."""
    started = time.monotonic()
    response = silent_port_client.get("/readyz")
    elapsed = time.monotonic() - started
    assert (response.status_code, elapsed < SILENT_CONNECT_TIMEOUT / 2) == (503, True), elapsed


@pytest.fixture
def log_lines(settings: object) -> Iterator[io.StringIO]:
    """What the JSON logging writes, captured; the root logger is put back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(stream=stream)
    yield stream
    root.handlers, root.level = handlers, level


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_role_or_database_the_server_lacks_is_503_and_the_log_says_what_to_create(
    log_lines: io.StringIO, absent: Absent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client can do nothing of it; ops read the log."""
    for client in _client_on(absent.url, monkeypatch):
        response = client.get(API_ROUTE, headers={"Authorization": "Bearer icp_whatever"})
    logged = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    missing = next(line for line in logged if line["event"] == "database missing")
    assert response.status_code == 503 and absent.name not in response.text
    assert f'has no {absent.what} "{absent.name}"' in missing["problem"]
    assert ABSENT_PASSWORD not in log_lines.getvalue()


@pytest.fixture
def broken(log_lines: io.StringIO) -> Iterator[TestClient]:
    """The app with a bug at ``/api/v1/broken`` and at the page ``/broken``."""
    app = create_app(relay=False)

    @app.get("/api/v1/broken")
    @app.get("/broken")
    def bug() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_an_unexpected_error_is_500_json_with_the_request_id_of_its_log_line(
    broken: TestClient, log_lines: io.StringIO
) -> None:
    response = broken.get("/api/v1/broken")
    logged = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    failed = next(line for line in logged if line["event"] == "request failed")
    body = response.json()
    assert (response.status_code, body["error"], body["reasons"]) == (500, "internal_error", [])
    assert body["request_id"] == response.headers["X-Request-ID"] == failed["request_id"]


def test_an_unexpected_error_on_a_page_is_a_500_page_with_its_request_id(
    broken: TestClient,
) -> None:
    response = broken.get("/broken")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["X-Request-ID"] in response.text


def test_a_sign_in_too_large_is_a_413_page(client: TestClient) -> None:
    response = client.post("/login", content=b"x" * (get_settings().max_request_bytes + 1))
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
