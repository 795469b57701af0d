"""What every request goes through first: an id, a size limit, and an answer when all else failed.

The id (the client's ``X-Request-ID`` if it is a plain token, else a new one) is bound to the
log context, so every line the request logs carries it, and returned in ``X-Request-ID`` and in
every error body. A body over ``max_request_bytes`` is refused with 413 before the app reads
it. An exception nothing else handled is logged with its traceback and answered in the common
JSON shape (500, or 503 if the database is unreachable), never as a bare "Internal Server Error";
on a browser route, as the same error page every other error gets.
"""

from __future__ import annotations

import re
import uuid

import structlog
from fastapi import FastAPI, Request, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.settings import get_settings
from web.error_pages import as_page
from web.errors import domain_error, error_response
from workflow.domain.errors import RequestTooLarge

log = structlog.get_logger(__name__)

HEADER = "X-Request-ID"
_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _request_id(headers: Headers) -> str:
    given = headers.get(HEADER, "")
    return given if _CLIENT_ID.fullmatch(given) else uuid.uuid4().hex


class RequestContext:
    """Pure ASGI middleware (it must see the exceptions Starlette's handlers did not take)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = _request_id(headers)
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                receive = await self._bounded(headers, receive)
                await self.app(scope, receive, send_with_id)
            except RequestTooLarge as exc:
                await _answer(scope, error_response(exc, request_id))(scope, receive, send_with_id)
            except Exception as exc:
                log.exception("request failed", method=scope["method"], path=scope["path"])
                if started:
                    raise
                answer = _answer(scope, error_response(domain_error(exc), request_id))
                await answer(scope, receive, send_with_id)

    async def _bounded(self, headers: Headers, receive: Receive) -> Receive:
        """``receive`` if the declared length is within the limit; a body without one (chunked)
        is read here, up to the limit, and replayed to the app."""
        too_large = RequestTooLarge(
            f"the request body is larger than {self.max_body_bytes} bytes", []
        )
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_body_bytes:
                raise too_large
            return receive
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                raise too_large
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        return replay


def _answer(scope: Scope, machine: Response) -> Response:
    """The error as the handlers answer it: a page on a browser route, else its JSON (also
    when the page itself cannot be drawn: the answer must not fail too)."""
    try:
        return as_page(Request(scope), machine)
    except Exception:
        log.exception("the error page could not be drawn; answering in JSON")
        return machine


def install(app: FastAPI) -> None:
    app.add_middleware(RequestContext, max_body_bytes=get_settings().max_request_bytes)
