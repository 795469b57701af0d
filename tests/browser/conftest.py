"""A real console in a real browser: uvicorn on a free port against a migrated SQLite file,
driven by Playwright through Debian's Chromium (Playwright's own browser download is not
reachable here). Without Chromium the tests skip with the reason, except under CI, where
they fail, like the PostgreSQL tests.

One server and one browser serve the whole module (starting Chromium costs a second or two);
each test gets its own browser context, so its cookies are its own. The server's clock is
frozen and shared with the tests, which create their filings through the service as setup.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn
from sqlmodel import Session

from auth.tokens import Role, create_token
from config import clock as clock_module
from config.settings import get_settings
from models.engine import create_db_engine, forget_engines
from models.migrate import upgrade
from tests.databases import unavailable
from tests.factories import Applicants
from web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class Console:
    """The running console: its address, its database, its clock and a token per role."""

    url: str
    engine_url: str
    clock: clock_module.FrozenClock
    tokens: dict[Role, str]
    applicants: Applicants = field(default_factory=Applicants)  # the filings' own entities

    def session(self) -> Session:
        return Session(create_db_engine(self.engine_url), expire_on_commit=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    folder = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{folder / 'icpflow.db'}"
    upgrade(url)
    frozen = clock_module.FrozenClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    previous = clock_module.get_clock()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", url)
        patch.setenv("VAR_DIR", str(folder / "var"))
        get_settings.cache_clear()
        forget_engines()
        clock_module.set_clock(frozen)
        with Session(create_db_engine(url)) as session:
            tokens = {role: create_token(session, f"{role.value}-1", role) for role in Role}
        port = _free_port()
        config = uvicorn.Config(create_app(relay=False), host="127.0.0.1", port=port)
        config.log_level = "warning"
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the console did not start within 10 s"
        yield Console(f"http://127.0.0.1:{port}", url, frozen, tokens)
        server.should_exit = True
        thread.join(timeout=10)
        clock_module.set_clock(previous)
        get_settings.cache_clear()
        forget_engines()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable(f"playwright is not installed: {exc}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


SignIn = Callable[..., "Page"]


@pytest.fixture
def sign_in(console: Console, chromium: Browser) -> Iterator[SignIn]:
    """Open a fresh browser signed in through the login form as ``role``."""
    contexts: list[BrowserContext] = []

    def open_as(role: Role, viewport: dict[str, int] = DESKTOP) -> Page:
        context = chromium.new_context(viewport=viewport)  # type: ignore[arg-type]
        contexts.append(context)
        page = context.new_page()
        # A bound on what must happen, not a speed asked for: the browser, the app's thread and
        # another test worker share two cores, and a step may wait seconds for its turn.
        page.set_default_timeout(30_000)
        page.goto(f"{console.url}/login")
        page.get_by_label("API token").fill(console.tokens[role])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{console.url}/")
        settled(page)
        return page

    yield open_as
    for context in contexts:
        context.close()


# What htmx marks while it swaps a response in: the target swapping, then settling, and the new
# content added until its triggers are bound.
_SWAPPING = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"


def settled(page: Page) -> None:
    """Wait until htmx has swapped the new page in and bound its triggers. A boosted link or
    form pushes its URL before the swap and binds the new content's triggers a settle later,
    so a URL that already matches says neither what is on screen nor that typing is heard."""
    page.wait_for_function(f"() => !document.querySelector({_SWAPPING!r})")


def snapshot(page: Page, name: str) -> None:
    """Keep a full-page screenshot as a test artifact (test-artifacts/ is not committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
