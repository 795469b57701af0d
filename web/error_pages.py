"""Errors as pages for people: the same answer ``web.errors`` gives API clients, rendered.

``web.errors`` is the one mapping of errors to status, code, message and reasons. This module
wraps each handler it installed: on a browser route (anything outside the API, the schema,
metrics and health checks) the JSON answer is read back and shown as an HTML page with a way
on (reload a stale filing, sign in, go back); the API keeps its JSON, byte for byte.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import WebSocketRequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from web.pages import PageUser, signed_in_user
from web.status_words import said_for
from web.templating import render
from workflow.domain.errors import quoted_alone

MACHINE_PREFIXES = ("/api/", "/openapi.json", "/metrics", "/healthz", "/readyz", "/static/")
_FILING = re.compile(r"^/filings/(\d+)")

Handler = Callable[[Request, Any], Response | Awaitable[Response]]
# What an address no route answers gets: its page's user was never looked up.
_NO_ROUTE = (404, 405)


def for_people(path: str) -> bool:
    return not path.startswith(MACHINE_PREFIXES)


def _way_on(request: Request) -> str:
    """Where the page's link leads: the filing the request was about, else the pipeline."""
    match = _FILING.match(request.url.path)
    return f"/filings/{match.group(1)}" if match else "/"


def as_page(request: Request, machine: Response, user: PageUser | None = None) -> Response:
    """The error answer ``machine`` as a page when a person asked (a browser route); as it is
    for machines, and for anything that is not an error in the JSON shape. A ``user`` signed
    in sees the console's header on it."""
    if not isinstance(machine, JSONResponse) or not for_people(request.url.path):
        return machine
    body = json.loads(bytes(machine.body))
    reasons = [reason["message"] for reason in body.get("reasons", [])]
    page = render(
        request,
        "error.html",
        {
            "user": user,
            "status": machine.status_code,
            "said": said_for(machine.status_code),
            "error": body,
            # A lone reason the headline quotes is said there, not listed again beneath it.
            "quoted": quoted_alone(body["message"], reasons),
            "back": _way_on(request) if machine.status_code != 404 else "/",
        },
        status_code=machine.status_code,
    )
    if "retry-after" in machine.headers:
        page.headers["retry-after"] = machine.headers["retry-after"]
    return page


def _as_page(handler: Handler) -> Handler:
    async def answer(request: Request, exc: Exception) -> Response:
        machine = handler(request, exc)
        if inspect.isawaitable(machine):
            machine = await machine
        user = getattr(request.state, "page_user", None)
        if user is None and machine.status_code in _NO_ROUTE and for_people(request.url.path):
            # No route ran to find who is signed in: one read finds them. (Not for a server's
            # fault, which may be the database's: asking it again would only add a wait.)
            user = await run_in_threadpool(signed_in_user, request)
        return as_page(request, machine, user)

    return answer


def install(app: FastAPI) -> None:
    """Wrap the handlers ``web.errors.install`` registered (call it after that)."""
    for kind, handler in list(app.exception_handlers.items()):
        if isinstance(kind, type) and kind is not WebSocketRequestValidationError:
            app.exception_handlers[kind] = _as_page(handler)
