"""Errors as pages for people: the same answer ``web.errors`` gives API clients, rendered.

``web.errors`` is the one mapping of errors to status, code, message and reasons. This module
wraps each handler it installed: on a browser route (anything outside the API, the schema,
metrics and health checks) the JSON answer is read back and shown as an HTML page with a way
on (reload a stale filing, sign in, go back); the API keeps its JSON, byte for byte.

One answer differs: a page's address with a part no page has (``/filings/abc``) is a page not
found (404 "no such filing 'abc'"), as ``/filings/99999`` is, where the API refuses the
parameter (422): a person follows or types addresses, a client builds them.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from web.errors import error_response, request_id_of
from web.pages import PageUser, signed_in_user
from web.status_words import said_for
from web.templating import render
from workflow.domain import errors

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
            "quoted": errors.quoted_alone(body["message"], reasons),
            "back": _way_on(request) if machine.status_code != 404 else "/",
        },
        status_code=machine.status_code,
    )
    if "retry-after" in machine.headers:
        page.headers["retry-after"] = machine.headers["retry-after"]
    return page


def _not_found_on_page(request: Request, exc: Exception) -> errors.IcpflowError | None:
    """What a page's address with a refused path parameter was not found: the filing, entity,
    service or job its id names (``filing_id`` -> "no such filing 'abc'"), else the page."""
    if not isinstance(exc, RequestValidationError) or not for_people(request.url.path):
        return None
    name = next((p["loc"][1] for p in exc.errors() if tuple(p["loc"][:1]) == ("path",)), None)
    if not isinstance(name, str):
        return None
    if not name.endswith("_id"):
        return errors.NotFound(f"no such page {request.url.path!r}")
    what = name.removesuffix("_id").replace("_", " ")
    message = f"no such {what} {request.path_params.get(name)!r}"
    return errors.FilingNotFound(message) if what == "filing" else errors.NotFound(message)


def _as_page(handler: Handler) -> Handler:
    async def answer(request: Request, exc: Exception) -> Response:
        if missing := _not_found_on_page(request, exc):
            machine: Response = error_response(missing, request_id_of(request))
        else:
            answered = handler(request, exc)
            machine = await answered if inspect.isawaitable(answered) else answered
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
