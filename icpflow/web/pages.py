"""Server-rendered pages for ops and case managers: pipeline, stuck, overdue, a filing's timeline.

Plain HTML from Jinja templates, no JavaScript build: the pages must work on any browser an
agency's ops desk has. A page without a valid token cookie redirects to the login form.
"""

from __future__ import annotations

from collections import Counter
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func
from sqlmodel import select

from icpflow.clock import CHINA, get_clock
from icpflow.models import ApiToken, Filing
from icpflow.web.deps import TOKEN_COOKIE, SessionDep
from icpflow.workflow import service, views
from icpflow.workflow.definition import EVENTS, STATES
from icpflow.workflow.errors import IcpflowError
from icpflow.workflow.tokens import authenticate

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(files("icpflow") / "web" / "templates"))
templates.env.filters["local"] = lambda t: (
    t.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if t else ""
)


def page_token(request: Request, session: SessionDep) -> ApiToken | None:
    try:
        return authenticate(session, request.cookies.get(TOKEN_COOKIE))
    except IcpflowError:
        return None


PageToken = Annotated[ApiToken | None, Depends(page_token)]


def _render(request: Request, template: str, token: ApiToken | None, **context: Any) -> Response:
    if token is None:
        return RedirectResponse("/login", status_code=303)
    return templates.TemplateResponse(request, template, {"token": token, **context})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return templates.TemplateResponse(request, "login.html", {"error": None})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, session: SessionDep, token: Annotated[str, Form()]) -> Response:
    try:
        authenticate(session, token.strip())
    except IcpflowError as exc:
        return templates.TemplateResponse(
            request, "login.html", {"error": exc.message}, status_code=401
        )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(TOKEN_COOKIE, token.strip(), httponly=True, samesite="strict")
    return response


@router.get("/", response_class=HTMLResponse)
def pipeline(request: Request, session: SessionDep, token: PageToken) -> Response:
    """Every state of the declared machine with its live count and the events leaving it."""
    counts = Counter(
        dict(session.exec(select(Filing.state, func.count()).group_by(Filing.state)).all())
    )
    now = get_clock().now()
    flagged = {
        "stuck": views.list_filings(session, now, stuck=True, limit=1)[1],
        "overdue": views.list_filings(session, now, overdue=True, limit=1)[1],
    }
    states = [
        {
            "spec": spec,
            "count": counts.get(spec.name.value, 0),
            "leaves": [e for e in EVENTS if spec.name in e.sources],
        }
        for spec in STATES
    ]
    return _render(request, "pipeline.html", token, states=states, flagged=flagged)


@router.get("/stuck", response_class=HTMLResponse)
def stuck(request: Request, session: SessionDep, token: PageToken) -> Response:
    items, total = views.list_filings(session, get_clock().now(), stuck=True, limit=500)
    return _render(request, "list.html", token, title="Stuck 停滞", items=items, total=total)


@router.get("/overdue", response_class=HTMLResponse)
def overdue(request: Request, session: SessionDep, token: PageToken) -> Response:
    items, total = views.list_filings(session, get_clock().now(), overdue=True, limit=500)
    return _render(request, "list.html", token, title="Overdue 逾期", items=items, total=total)


@router.get("/filings/{filing_id}", response_class=HTMLResponse)
def timeline(request: Request, filing_id: int, session: SessionDep, token: PageToken) -> Response:
    """A filing's history, its open deadlines and what it owed whom."""
    if token is None:
        return RedirectResponse("/login", status_code=303)
    filing = views.describe(
        session, service.get_filing(session, filing_id), get_clock().now(), mask=True
    )
    return _render(
        request,
        "timeline.html",
        token,
        filing=filing,
        history=views.history(session, filing_id),
        notifications=views.notifications(session, filing_id),
    )
