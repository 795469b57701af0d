"""The FastAPI application: API, ops pages, health and metrics, assembled once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as Late
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import version
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from config.keys import KeysDoNotOpen
from config.logs import configure_logging
from config.settings import get_settings
from models import get_engine
from models.sealed import STORED_SAMPLE, check_keys_open
from web import (
    actions,
    api,
    console,
    docs,
    entities,
    error_pages,
    errors,
    metrics,
    obligations_api,
    opening,
    ops,
    pages,
    reports,
    requests,
    security,
)
from workflow.availability import not_on_server
from workflow.domain.definition import EVENTS, STATES
from workflow.startup import check_settings

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Track China ICP filings (备案) as persisted state machines.\n\n"
    "States: "
    + ", ".join(f"`{s.name.value}` ({s.label_zh})" for s in STATES)
    + ".\n\nEvents: "
    + "; ".join(
        f"`{e.name}`: {', '.join(s.value for s in e.sources)} → {e.dest.value}" for e in EVENTS
    )
    + ".\n\nEvery `/api/v1` route needs `Authorization: Bearer <token>` "
    "(roles viewer < case_manager < ops < admin)."
)


def lifespan(relay: bool) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Requests run on ``WEB_THREADS`` threads, for which the database pool is sized; with
    ``relay``, committed outbox rows are relayed at once."""

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = get_settings().web_threads
        if relay:
            async with relay_outbox(app):
                yield
        else:
            yield

    return run


@asynccontextmanager
async def relay_outbox(app: FastAPI) -> AsyncIterator[None]:
    """Relay each request's committed outbox rows to the broker at once; the scheduler's sweep
    is the safety net for whatever this misses. Without ``REDIS_URL`` this process attaches to
    the embedded Redis or starts it, and stops the one it started when it shuts down."""
    from workers.broker import build_broker
    from workers.embedded_redis import serving
    from workers.relay import ImmediateRelay

    with serving(get_settings()) as settings:
        relay = ImmediateRelay(get_engine(), build_broker(settings))
        app.state.publisher = relay.submit
        try:
            yield
        finally:
            app.state.publisher = None
            relay.stop()


def create_app(*, relay: bool = True) -> FastAPI:
    """``relay=False`` leaves outbox rows to the sweep (tests: no broker is built)."""
    check_settings(get_settings())
    app = FastAPI(
        title="icpflow",
        version=version("icpflow"),
        description=DESCRIPTION,
        lifespan=lifespan(relay),
        docs_url=None,  # served offline by ``web.docs``
        redoc_url=None,
        responses=errors.responses(*errors.EVERY_ROUTE),
    )
    app.state.publisher = None  # what request sessions relay through (see ``relay_outbox``)
    # One thread pings the database for /readyz; a hung ping keeps it, not the request.
    app.state.readiness = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readyz")
    errors.install(app)
    error_pages.install(app)  # browser routes answer errors with pages, the API with JSON
    requests.install(app)  # inside the security headers and metrics: its answers get both
    security.install(app, docs.PATHS)
    metrics.install(app)
    app.include_router(api.router)
    app.include_router(ops.router)
    app.include_router(obligations_api.router)
    docs.install(app)
    pages.install(app)
    app.include_router(opening.router)  # before /filings/{filing_id}, which "new" is not
    app.include_router(entities.router)
    app.include_router(console.router)
    app.include_router(reports.router)
    app.include_router(actions.router)
    pages.carry_forms_of(app, opening.router, entities.router, console.router, actions.router)

    # HEAD too (out of the API document, where it would be a second operation of one
    # function): load balancers and uptime checks often probe with it.
    @app.get("/healthz", tags=["health"])
    @app.head("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """The process is up (it does not touch the database: see /readyz)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    @app.head("/readyz", include_in_schema=False)
    def readyz(request: Request) -> Any:
        """The database answers within ``readiness_timeout_seconds``, and the keys in use open
        the personal data it holds; a load balancer should route here only then."""
        # Through the request, not the enclosing ``app``: FastAPI caches what it learns of an
        # endpoint by the function, so a closure over the app would keep every app built alive.
        ping = request.app.state.readiness.submit(_ping_database)
        try:
            ping.result(timeout=get_settings().readiness_timeout_seconds)
        except (SQLAlchemyError, Late) as exc:
            problem = type(exc).__name__ if isinstance(exc, SQLAlchemyError) else "no answer"
            if missing := not_on_server(exc):  # the log, not the open answer, names it
                log.error("not ready: %s: %s", missing.message, missing.remedy)
            else:
                log.warning("not ready: database unreachable (%s)", problem)
            return JSONResponse(
                {"status": "unavailable", "reason": f"database unreachable: {problem}"},
                status_code=503,
            )
        except KeysDoNotOpen as exc:
            log.error("not ready: %s", exc)
            return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
        return {"status": "ready"}

    return app


def _ping_database() -> None:
    """An answer, and one sealed value read and opened: the keys in use open what is stored.
    A schema not migrated yet holds nothing to open (and ``/readyz`` does not judge it)."""
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))
        try:
            sample = connection.execute(text(STORED_SAMPLE)).first()
        except DBAPIError:
            return
    if sample is not None:
        check_keys_open(sample[0], sample[1])


def serve_app() -> FastAPI:
    """What ``icpflow web`` serves (in each of its worker processes): the app, logging as
    JSON lines like the worker and scheduler."""
    configure_logging()
    return create_app()
