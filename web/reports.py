"""Console pages for what follows approval and for review times: the durations report (its
chart drawn server-side), and the forecast and obligations block of a filing's page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from config.settings import get_settings
from web.auth import SessionDep
from web.durations_svg import durations_svg
from web.pages import PageUserDep, show
from workflow import forecast, obligations
from workflow.domain.definition import TERMINAL_STATES, State
from workflow.forecast import ForecastOut
from workflow.obligations import ServiceDutiesOut
from workflow.schemas import FilingOut

router = APIRouter(include_in_schema=False)


@router.get("/reports/durations", response_class=HTMLResponse)
def durations(request: Request, session: SessionDep, user: PageUserDep) -> Response:
    """Median and 90th percentile review times per province and stage, with a chart."""
    settings = get_settings()
    rows = forecast.durations(session, settings)
    statutory = settings.miit_legal_limit_working_days
    return show(request, "durations.html", user, rows=rows, svg=durations_svg(rows, statutory))


@dataclass(frozen=True)
class AfterApproval:
    """What a filing's page shows beside its details: an open order's forecast, or the
    obligations of the service an approved order filed."""

    forecast: ForecastOut | None
    duties: ServiceDutiesOut | None


def after_approval(session: Session, filing: FilingOut, now: datetime) -> AfterApproval:
    if filing.state not in TERMINAL_STATES:
        return AfterApproval(forecast.forecast(session, filing.id, get_settings()), None)
    if filing.state == State.APPROVED and filing.service_id is not None:
        return AfterApproval(None, obligations.duties(session, filing.service_id, now))
    return AfterApproval(None, None)
