"""The one mapping of domain errors to HTTP responses.

Every error body has the same shape, ``{"error", "message", "reasons", "request_id"}``,
whether a guard, the request parser, the router, an unreachable database or a bug refused the
request, so a client needs one error path and can fix every listed reason in one go; the
request id finds the request's log lines. ``domain_error`` says what any exception stands for,
for whichever edge renders it (JSON here, HTML for the pages).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from email.message import Message
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from config.keys import KeysDoNotOpen
from config.settings import get_settings
from workflow.availability import UNAVAILABLE, not_on_server, unavailable
from workflow.domain import errors
from workflow.domain.commands import reasons_from
from workflow.domain.rules import RulesError

log = structlog.get_logger(__name__)

# Looked up along the exception's MRO, so the most specific entry wins; a domain error added
# later without an entry still answers in the common shape (400) instead of crashing.
STATUS: dict[type[errors.IcpflowError], int] = {
    errors.FilingNotFound: 404,
    errors.NotFound: 404,
    errors.VersionConflict: 409,
    errors.TransitionNotAllowed: 422,
    errors.GuardFailed: 422,
    errors.ValidationError: 422,
    errors.IdempotencyKeyReused: 422,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.RateLimited: 429,
    errors.RequestTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.UnreadableRequest: 400,
    errors.ServiceUnavailable: 503,
    errors.InternalError: 500,
    RulesError: 500,  # the server's rules file; processes refuse to start with a broken one
    errors.IcpflowError: 400,
}

_DESCRIPTIONS = {
    400: "the request could not be read (e.g. a malformed body)",
    401: "missing, unknown or revoked bearer token",
    403: "the token's role is too low",
    404: "no such filing, entity, service, obligation, job or token",
    409: "expected_version is stale: someone else changed the filing",
    422: "event not allowed, a guard failed or the input is invalid; every reason is listed",
    413: "the request body is larger than the server accepts",
    415: "the body was not sent as JSON (Content-Type: application/json)",
    429: "too many failed attempts; Retry-After says when to try again",
    500: "a bug; the request id finds it in the log",
    503: "the database is unreachable; Retry-After says when to try again",
}
# What any route may answer, whatever it does.
EVERY_ROUTE = (400, 413, 415, 500, 503)


class ErrorReason(BaseModel):
    """One unmet condition; extra keys (``material``, ``allowed``...) say exactly what to fix."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: str
    message: str
    reasons: list[ErrorReason]
    request_id: str


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the error codes a route can answer with."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


def request_id_of(request: Request) -> str:
    """The id ``web.requests`` gave this request (in the log, the body and X-Request-ID)."""
    return str(getattr(request.state, "request_id", ""))


def domain_error(exc: Exception) -> errors.IcpflowError:
    """What ``exc`` stands for: a domain error as is, an unreachable database as
    ``ServiceUnavailable``, anything else as an ``InternalError`` that tells nothing more."""
    if isinstance(exc, errors.IcpflowError):
        return exc
    if isinstance(exc, KeysDoNotOpen):
        # Not the request's fault nor a bug: the install's keys, which /readyz names too.
        return errors.ServiceUnavailable(
            str(exc), retry_after=get_settings().unavailable_retry_after_seconds
        )
    if missing := not_on_server(exc):
        # Answered 503 as any outage (the client can do nothing of it); ops, reading the log,
        # are told what to create, which no wait mends.
        log.error("database missing", problem=missing.message, remedy=missing.remedy)
    return unavailable(exc, get_settings()) or errors.InternalError(
        "internal error: the request id finds it in the server's log"
    )


def error_response(exc: errors.IcpflowError, request_id: str) -> JSONResponse:
    body = {**exc.as_dict(), "request_id": request_id}
    return JSONResponse(body, status_code=status_of(exc), headers=headers_of(exc))


def status_of(exc: errors.IcpflowError) -> int:
    return next(STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS)


def headers_of(exc: errors.IcpflowError) -> dict[str, str]:
    """The headers HTTP pairs with an error's status, for JSON and page answers alike."""
    if isinstance(exc, errors.RateLimited | errors.ServiceUnavailable):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, errors.Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    return {}


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(domain_error(exc), request_id_of(request))


async def _request_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if wrong_type := _not_json(request):
        return error_response(wrong_type, request_id_of(request))
    problems = exc.errors()
    if undecodable := next((p for p in problems if p["type"] == "json_invalid"), None):
        return error_response(_unreadable(undecodable), request_id_of(request))
    body = _body_model(request)
    reasons = [_reason(problem, body) for problem in problems]
    message = errors.summarise("request refused", reasons)
    return error_response(errors.ValidationError(message, reasons), request_id_of(request))


def _body_model(request: Request) -> Any:
    """What the route reads its body as, so that an unknown key there is named with the keys
    allowed beside it; ``None`` for a route without a body."""
    body = getattr(request.scope.get("route"), "body_field", None)
    return None if body is None else body.field_info.annotation


def _reason(problem: Mapping[str, Any], body: Any) -> errors.Reason:
    """A problem located in the body as inside ``body``; a body of the wrong shape altogether
    (a string, a list) at the body itself; any other (a query parameter) as FastAPI does."""
    loc = tuple(problem["loc"])
    if loc[:1] != ("body",) or len(loc) == 1:
        return reasons_from([problem])[0]
    return reasons_from([{**problem, "loc": loc[1:]}], body)[0]


def _not_json(request: Request) -> errors.UnsupportedMediaType | None:
    """A JSON route's body sent under another type, which FastAPI does not read as JSON: a
    valid object sent as ``text/plain`` or as a form would be refused field by field as "not
    an object", hiding that only the header is wrong. A body sent with no type is read as
    JSON, as FastAPI does."""
    route = request.scope.get("route")
    given = request.headers.get("content-type")
    if (
        not isinstance(route, APIRoute)
        or route.body_field is None
        or isinstance(route.body_field.field_info, params.Form)
        or given is None
    ):
        return None
    header = Message()
    header["content-type"] = given
    subtype = header.get_content_subtype()
    if header.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    ):
        return None
    message = f"the body was sent as {given!r}; send JSON with 'Content-Type: application/json'"
    reason = errors.Reason("unsupported_media_type", message, field="header.content-type")
    return errors.UnsupportedMediaType(message, [reason])


def _unreadable(problem: Mapping[str, Any]) -> errors.UnreadableRequest:
    """A body that is not JSON: FastAPI locates the fault by the character it stopped at."""
    detail = problem.get("ctx", {}).get("error", "invalid JSON")
    message = f"the body is not valid JSON: {detail} at character {problem['loc'][-1]}"
    reason = errors.Reason("invalid_json", message, field="body")
    return errors.UnreadableRequest(message, [reason])


def _methods(routes: Iterable[BaseRoute], scope: Scope) -> Iterator[str]:
    for route in routes:
        match, child = route.matches(scope)
        if match == Match.NONE:
            continue
        # A mount has ``routes``; FastAPI's included router has ``effective_candidates()``.
        nested: Iterable[BaseRoute] | None = getattr(route, "routes", None)
        if nested is None and hasattr(route, "effective_candidates"):
            nested = route.effective_candidates()
        if nested is not None:
            yield from _methods(nested, {**scope, **child})
        else:
            yield from getattr(route, "methods", None) or ()


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (the router names only the first route's)."""
    scope = {**request.scope, "method": "OPTIONS"}
    return ", ".join(sorted({"OPTIONS", *_methods(request.app.router.routes, scope)}))


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods, answered in the same shape as everything else;
    OPTIONS is answered, with every method the path has."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=headers)
    phrase = HTTPStatus(exc.status_code).phrase
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    message = exc.detail if isinstance(exc.detail, str) else phrase
    body = {"error": code, "message": message, "reasons": [], "request_id": request_id_of(request)}
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.IcpflowError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(HTTPException, _http_error)
    for unreachable in UNAVAILABLE:
        app.add_exception_handler(unreachable, _domain_error)
