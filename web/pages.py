"""Server-rendered pages for ops and case managers: pipeline, stuck, overdue, a filing's timeline.

Plain HTML from Jinja templates, no JavaScript build: the pages must work on any browser an
agency's ops desk has. A browser signs in once with a token (the login form, or a link with
``?token=``) and then carries it in an HttpOnly, SameSite=Strict cookie; the pages only read.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from auth.tokens import authenticate
from config.clock import CHINA, get_clock
from models import ApiToken
from web.auth import SessionDep, end_read
from web.metrics import filings_by_state
from workflow import views
from workflow.domain.definition import EVENTS, STATES
from workflow.domain.errors import Unauthorized
from workflow.schemas import FilingPage

TOKEN_COOKIE = "icpflow_token"
LIST_LIMIT = 500

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(files("web") / "templates"))


def _beijing(at: datetime | None) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if at else ""


templates.env.filters["local"] = _beijing


class _Redirect(Exception):
    """Raised by the page dependency to answer with a redirect instead of the page."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _signed_in(request: Request, location: str, token: str) -> Response:
    response = RedirectResponse(location, status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def page_token(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Query(description="sign in from a link")] = None,
) -> ApiToken:
    """The signed-in token; a ``?token=`` link is traded for the cookie and dropped from the URL,
    so it does not linger in the address bar, history or links copied from the page."""
    try:
        found = authenticate(session, token or request.cookies.get(TOKEN_COOKIE))
        end_read(session)
    except Unauthorized:
        raise _Redirect(RedirectResponse("/login", status_code=303)) from None
    if token:
        url = request.url.remove_query_params("token")
        raise _Redirect(
            _signed_in(request, url.path + (f"?{url.query}" if url.query else ""), token)
        )
    return found


PageToken = Annotated[ApiToken, Depends(page_token)]


class _RedactTokenLinks(logging.Filter):
    """Keep ``?token=`` links out of the server's access log, which records every query string."""

    _TOKEN = re.compile(r"([?&]token=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._TOKEN.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


logging.getLogger("uvicorn.access").addFilter(_RedactTokenLinks())


def _render(request: Request, template: str, token: ApiToken, **context: Any) -> Response:
    return templates.TemplateResponse(request, template, {"token": token, **context})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return templates.TemplateResponse(request, "login.html", {"error": None})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, session: SessionDep, token: Annotated[str, Form()]) -> Response:
    try:
        authenticate(session, token.strip())
    except Unauthorized as exc:
        return templates.TemplateResponse(
            request, "login.html", {"error": exc.message}, status_code=401
        )
    return _signed_in(request, "/", token.strip())


@router.get("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def pipeline(request: Request, session: SessionDep, token: PageToken) -> Response:
    """Every state of the declared machine with its live count and the events leaving it."""
    counts = filings_by_state(session)
    states = [
        {
            "spec": spec,
            "count": counts[spec.name.value],
            "leaves": [e for e in EVENTS if spec.name in e.sources],
        }
        for spec in STATES
    ]
    flagged = {
        "stuck": _flagged(session, stuck=True, limit=1).total,
        "overdue": _flagged(session, overdue=True, limit=1).total,
    }
    return _render(request, "pipeline.html", token, states=states, flagged=flagged)


def _flagged(
    session: Session,
    *,
    stuck: bool | None = None,
    overdue: bool | None = None,
    limit: int = LIST_LIMIT,
) -> FilingPage:
    return views.filing_page(session, get_clock().now(), stuck=stuck, overdue=overdue, limit=limit)


@router.get("/stuck", response_class=HTMLResponse)
def stuck(request: Request, session: SessionDep, token: PageToken) -> Response:
    page = _flagged(session, stuck=True)
    return _render(request, "list.html", token, title="Stuck 停滞", page=page)


@router.get("/overdue", response_class=HTMLResponse)
def overdue(request: Request, session: SessionDep, token: PageToken) -> Response:
    page = _flagged(session, overdue=True)
    return _render(request, "list.html", token, title="Overdue 逾期", page=page)


@router.get("/filings/{filing_id}", response_class=HTMLResponse)
def timeline(request: Request, filing_id: int, session: SessionDep, token: PageToken) -> Response:
    """A filing's history, its open deadlines and what it owed whom; identities masked."""
    shown = views.timeline(session, filing_id, get_clock().now())
    return _render(
        request,
        "timeline.html",
        token,
        filing=shown.filing,
        history=shown.history,
        notifications=shown.notifications,
    )


async def _redirect(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Redirect)
    return exc.response


def install(app: FastAPI) -> None:
    app.add_exception_handler(_Redirect, _redirect)
    app.include_router(router)
