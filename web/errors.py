"""The one mapping of domain errors to HTTP responses.

Every error body has the same shape, ``{"error", "message", "reasons"}``, whether a guard,
the request parser or the router refused the request, so a client needs one error path
and can fix every listed reason in one go.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from workflow.domain import errors
from workflow.domain.commands import reasons_from

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
    errors.IcpflowError: 400,
}

_DESCRIPTIONS = {
    401: "missing, unknown or revoked bearer token",
    403: "the token's role is too low",
    404: "no such filing (or job)",
    409: "expected_version is stale: someone else changed the filing",
    422: "event not allowed, a guard failed or the input is invalid; every reason is listed",
    429: "too many failed attempts; Retry-After says when to try again",
}


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


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the error codes a route can answer with."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


def _reply(
    status: int,
    code: str,
    message: str,
    reasons: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": code, "message": message, "reasons": reasons}
    return JSONResponse(body, status_code=status, headers=headers)


def status_of(exc: errors.IcpflowError) -> int:
    return next(STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS)


def headers_of(exc: errors.IcpflowError) -> dict[str, str]:
    """The headers HTTP pairs with an error's status, for JSON and page answers alike."""
    if isinstance(exc, errors.RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, errors.Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    return {}


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.IcpflowError)
    return _reply(
        status_of(exc), exc.code, exc.message, [r.as_dict() for r in exc.reasons], headers_of(exc)
    )


async def _request_invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    reasons = reasons_from(
        {**problem, "loc": [part for part in problem["loc"] if part != "body"]}
        for problem in exc.errors()
    )
    message = errors.summarise("request refused", reasons)
    return _reply(422, "validation_error", message, [r.as_dict() for r in reasons])


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    """Unknown paths and wrong methods, answered in the same shape as everything else."""
    assert isinstance(exc, HTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    message = exc.detail if isinstance(exc.detail, str) else phrase
    return _reply(exc.status_code, code, message, [], dict(exc.headers or {}))


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.IcpflowError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(HTTPException, _http_error)
