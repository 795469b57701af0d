"""Shared fixtures: settings on the test database, a session, a frozen clock, filings.

The fixture modules below are plugins, declared once here for every test directory.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session

from config import clock as clock_module
from config.logs import configure_logging
from config.settings import Settings, get_settings
from models.engine import forget_engines
from tests.factories import (
    ORDER_PATHS,
    Applicants,
    MakeFiling,
    commands_to,
    first_filing_order,
    make_command,
    make_payload,
)
from workflow.schemas import FilingOut

if TYPE_CHECKING:  # imported by pytest as a plugin below: importing it first would skip
    from tests.databases import Database  # the rewriting that makes its asserts explain

pytest_plugins = ["tests.databases", "tests.delivery_kit", "tests.http_peer"]

# The suite's own keys for personal data, so no test (nor a process a test starts) writes
# development keys into the working copy's var/; tests of the keys themselves override them.
TEST_DATA_KEY = "-9QTZ-BKm_pFW6Fsnvhks3NxpxzQ3aZ6CBy2zNRwfKo="
TEST_LOOKUP_KEY = "test-lookup-key-not-a-secret"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("DATA_KEYS", TEST_DATA_KEY)
    os.environ.setdefault("LOOKUP_KEY", TEST_LOOKUP_KEY)
    # The suite logs as the processes do, in JSON lines. structlog's default for a terminal
    # draws each logged error's traceback with every local in it: seconds per error, and the
    # suite logs hundreds (a 503 test took 8.6 s to draw its one, 0.13 s to log it as JSON).
    configure_logging()
    # Collect less often than Python's default (700, 10, 10). A test builds a set of orders
    # (and, before the web tests shared one app, a web app) and drops it, thousands of objects
    # that live through a young collection, so the default collected the oldest generation
    # (every object the suite imported) every few tests: a fifth of the time of a console and
    # orders run when measured (80 s, 61 s like this).
    gc.set_threshold(50_000, 20, 100)


# ``open_order(**body)``: an order opened through the service.
Open = Callable[..., FilingOut]


@pytest.fixture
def settings(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings pointing at the test database; also what ``get_settings()`` returns meanwhile."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    forget_engines()
    yield get_settings()
    get_settings.cache_clear()
    forget_engines()


@pytest.fixture
def session(db: Database, settings: Settings) -> Iterator[Session]:
    with Session(db.engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def clock() -> Iterator[clock_module.FrozenClock]:
    """Frozen at a Monday 10:00 in Beijing, away from holidays; tests move it explicitly."""
    frozen = clock_module.FrozenClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    previous = clock_module.get_clock()
    clock_module.set_clock(frozen)
    yield frozen
    clock_module.set_clock(previous)


@pytest.fixture(scope="session")
def readme() -> str:
    """The README, whose reference tables the tests hold to the declarations they describe."""
    return (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def payload() -> dict[str, object]:
    return make_payload()


@pytest.fixture
def new_filing(session: Session, clock: clock_module.FrozenClock) -> MakeFiling:
    """Factory: a filing created and driven to ``state`` through the service, as a user would."""
    from workflow import service

    applicants = Applicants()

    def make(state: str = "domain_registered", **overrides: object) -> FilingOut:
        opening = make_command(**applicants.fill(overrides))
        view = service.create_filing(session, opening, actor="test")
        for command in commands_to(state):
            view = service.fire_event(session, view.id, command, actor="test")
        assert view.state == state
        return view

    return make


@pytest.fixture
def open_order(session: Session, clock: clock_module.FrozenClock) -> Open:
    from workflow import service
    from workflow.domain.commands import OrderCreate

    def make(**body: Any) -> FilingOut:
        return service.create_order(session, OrderCreate.model_validate(body), actor="t")

    return make


@pytest.fixture
def on_file(session: Session, open_order: Open) -> FilingOut:
    """An entity's approved first filing: the entity number and its site's -1 issued."""
    from workflow import service
    from workflow.domain.commands import EventCommand

    order = open_order(**first_filing_order())
    for event, data in ORDER_PATHS["first_filing"]:
        command = EventCommand(event=event, data=data)
        order = service.fire_event(session, order.id, command, actor="t")
    return order
