"""What a filing's page (the console's, ``icpflow filings show``) shows after its details: an
open order's forecast, or the duties after approval of the service an approved order filed.
One rule for both, so the CLI and the console never disagree on which a filing gets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from config.settings import Settings
from workflow import forecast, obligations
from workflow.domain.definition import State
from workflow.forecast import ForecastOut
from workflow.obligations import ServiceDutiesOut
from workflow.schemas import FilingOut


@dataclass(frozen=True)
class Outlook:
    forecast: ForecastOut | None
    duties: ServiceDutiesOut | None


def outlook(session: Session, filing: FilingOut, now: datetime, settings: Settings) -> Outlook:
    purged = filing.personal_data_purged_at is not None
    if forecast.no_forecast(filing.state, purged=purged) is None:
        return Outlook(forecast.forecast(session, filing.id, settings), None)
    if filing.state == State.APPROVED and filing.service_id is not None:
        return Outlook(None, obligations.duties(session, filing.service_id, now))
    return Outlook(None, None)
