"""The console's report of review times: the durations per province and stage, with its
chart drawn server-side."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from config.settings import get_settings
from web.auth import SessionDep
from web.durations_svg import durations_svg
from web.pages import PageUserDep, show
from workflow import forecast

router = APIRouter(include_in_schema=False)


@router.get("/reports/durations", response_class=HTMLResponse)
def durations(request: Request, session: SessionDep, user: PageUserDep) -> Response:
    """Median and 90th percentile review times per province and stage, with a chart."""
    settings = get_settings()
    rows = forecast.durations(session, settings)
    statutory = settings.miit_legal_limit_working_days
    return show(request, "durations.html", user, rows=rows, svg=durations_svg(rows, statutory))
