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
from workflow.domain.errors import Reason
from workflow.domain.obligations import REMINDERS, ObligationKind
from workflow.forecast import ForecastOut
from workflow.obligations import ObligationOut, ServiceDutiesOut
from workflow.schemas import FilingOut


@dataclass(frozen=True)
class Outlook:
    """``no_forecast``: why an order moving towards approval has no forecast yet (too few
    orders before the bureau has it), said where its forecast would be."""

    forecast: ForecastOut | None
    duties: ServiceDutiesOut | None
    no_forecast: Reason | None = None


def outlook(session: Session, filing: FilingOut, now: datetime, settings: Settings) -> Outlook:
    purged = filing.personal_data_purged_at is not None
    if forecast.no_forecast(filing.state, purged=purged) is None:
        predicted = forecast.prediction(session, filing.id, settings)
        if isinstance(predicted, Reason):
            return Outlook(None, None, predicted)
        return Outlook(predicted, None)
    if filing.state == State.APPROVED and filing.service_id is not None:
        duties = obligations.duties(session, filing.service_id, now, settings)
        listed = [o for o in duties.obligations if _worth_listing(o)]
        return Outlook(None, duties.model_copy(update={"obligations": listed}))
    return Outlook(None, None)


def _worth_listing(duty: ObligationOut) -> bool:
    """Beside a filing, the duties still open and those met: a footer check made is in the
    checks' list, not a row a day here; a reminder closed (sent, or superseded by a
    correction) says nothing its duty's row does not. The service's own list has them all."""
    return duty.closed_at is None or not (
        duty.kind is ObligationKind.FOOTER_CHECK or duty.kind in REMINDERS
    )
