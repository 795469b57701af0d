"""Server-rendered pages for ops and case managers: pipeline, stuck, overdue, a filing's timeline.

Plain HTML from Jinja templates, no JavaScript build: the pages must work on any browser an
agency's ops desk has. A browser signs in once with a token (the login form, or a link with
``?token=``) and then carries a server-side session's id, never the token, in an HttpOnly,
SameSite=Strict cookie (``Secure`` over HTTPS); the pages only read.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from auth.sessions import close_session, open_session, resume_session
from auth.throttle import FailedSignIns
from auth.tokens import authenticate
from config.clock import CHINA, get_clock
from config.settings import get_settings
from models import ApiToken
from web.auth import SessionDep, end_read
from web.errors import headers_of, status_of
from web.metrics import filings_by_state
from workflow import views
from workflow.domain.bounded import RowId
from workflow.domain.definition import EVENTS, STATES
from workflow.domain.errors import IcpflowError, RateLimited, Unauthorized
from workflow.schemas import FilingPage

SESSION_COOKIE = "icpflow_session"
LIST_LIMIT = 500

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(files("web") / "templates"))


def _beijing(at: datetime | None) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if at else ""


templates.env.filters["local"] = _beijing


class _AnswerInstead(Exception):
    """Raised by the page dependency to answer with a redirect or the sign-in form instead."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _cookie_flags(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "strict", "secure": request.url.scheme == "https"}


def _sign_in_form(request: Request, refused: IcpflowError | None = None) -> Response:
    return templates.TemplateResponse(
        request,
        "login.html",
        {"error": refused.message if refused else None},
        status_code=status_of(refused) if refused else 200,
        headers=headers_of(refused) if refused else None,
    )


def _sign_in(request: Request, session: Session, token: str, location: str) -> Response:
    """Trade a token for a session cookie and go to ``location``, or show the form saying why
    not. The form and ``?token=`` links both come here, so both count towards the limit."""
    failures: FailedSignIns = request.app.state.failed_sign_ins
    client = request.client.host if request.client else "unknown"
    try:
        failures.check(client)
        found = authenticate(session, token.strip())
    except RateLimited as exc:
        return _sign_in_form(request, exc)
    except Unauthorized as exc:
        failures.failed(client)
        return _sign_in_form(request, exc)
    lifetime = timedelta(hours=get_settings().page_session_hours)
    response = RedirectResponse(location, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        open_session(session, found, lifetime),
        max_age=int(lifetime.total_seconds()),
        **_cookie_flags(request),
    )
    return response


def page_token(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Query(description="sign in from a link")] = None,
) -> ApiToken:
    """The signed-in token; a ``?token=`` link is traded for a session and dropped from the URL,
    so it does not linger in the address bar, history or links copied from the page."""
    if token:
        url = request.url.remove_query_params("token")
        location = url.path + (f"?{url.query}" if url.query else "")
        raise _AnswerInstead(_sign_in(request, session, token, location))
    try:
        found = resume_session(session, request.cookies.get(SESSION_COOKIE))
        end_read(session)
    except Unauthorized:
        raise _AnswerInstead(RedirectResponse("/login", status_code=303)) from None
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
    return _sign_in_form(request)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, session: SessionDep, token: Annotated[str, Form()]) -> Response:
    return _sign_in(request, session, token, "/")


@router.get("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    """End the session on the server, not just in this browser."""
    close_session(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, **_cookie_flags(request))
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
def timeline(request: Request, filing_id: RowId, session: SessionDep, token: PageToken) -> Response:
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


async def _answer_instead(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, _AnswerInstead)
    return exc.response


def install(app: FastAPI) -> None:
    app.state.failed_sign_ins = FailedSignIns(get_settings().sign_in_failures_per_minute)
    app.add_exception_handler(_AnswerInstead, _answer_instead)
    app.mount("/static", StaticFiles(packages=[("web", "static")]), name="static")
    app.include_router(router)
