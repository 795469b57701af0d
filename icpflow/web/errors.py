"""The one mapping of domain errors to HTTP responses.

Every error body has the same shape, ``{"error", "message", "reasons"}``, so a client can
show the headline and fix every listed reason in one go.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from icpflow.workflow import errors

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
}


class ErrorReason(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: str
    message: str
    reasons: list[dict[str, Any]]


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the error codes a route can answer with."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


_DESCRIPTIONS = {
    401: "missing, unknown or revoked bearer token",
    403: "the token's role is too low",
    404: "no such filing (or job)",
    409: "expected_version is stale: someone else changed the filing",
    422: "event not allowed, a guard failed or the input is invalid; every reason is listed",
}


def _body(code: str, message: str, reasons: list[dict[str, Any]]) -> dict[str, Any]:
    return ErrorBody(error=code, message=message, reasons=reasons).model_dump()


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.IcpflowError)
    status = next(code for kind, code in STATUS.items() if isinstance(exc, kind))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = _body(exc.code, exc.message, [r.as_dict() for r in exc.reasons])
    return JSONResponse(body, status_code=status, headers=headers)


async def _request_invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    reasons = [
        {
            "code": "invalid_input",
            "message": str(problem.get("msg", "invalid")),
            "field": ".".join(str(part) for part in problem.get("loc", ()) if part != "body"),
        }
        for problem in exc.errors()
    ]
    return JSONResponse(
        _body("validation_error", f"request refused: {len(reasons)} problem(s)", reasons),
        status_code=422,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.IcpflowError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
