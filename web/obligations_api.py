"""REST routes for a record's life after approval, each order's forecast and review times."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from config.clock import get_clock
from config.settings import get_settings
from web.auth import CaseManager, Ops, SessionDep, Viewer
from web.errors import responses
from web.query import refuse_unknown_query
from web.renamed import get_renamed
from workflow import forecast, obligations
from workflow.domain.bounded import Offset, PageSize, Province, RowId, YesNo
from workflow.domain.obligations import (
    ExtensionIn,
    GoLive,
    LeftHost,
    ObligationKind,
    PsbNumberIn,
    RectificationIn,
    Renewal,
    ServerRenewal,
)
from workflow.forecast import DurationRow, ForecastOut
from workflow.obligations import (
    FailingFooterPage,
    ObligationPage,
    OverdueFilter,
    ServiceAuditPage,
    ServiceDutiesOut,
)

router = APIRouter(
    prefix="/api/v1",
    tags=["after approval"],
    responses=responses(401, 403, 422),
    dependencies=[Depends(refuse_unknown_query)],
)
_SERVICE = "/services/{service_id}"


@router.get(f"{_SERVICE}/obligations", response_model=ServiceDutiesOut, responses=responses(404))
def service_obligations(
    service_id: RowId, session: SessionDep, _: Viewer, open_only: YesNo = False
) -> ServiceDutiesOut:
    """The service's go-live, PSB number, expiry, obligations and latest footer checks."""
    return obligations.duties(
        session, service_id, get_clock().now(), get_settings(), open_only=open_only
    )


@router.get(f"{_SERVICE}/recorded", response_model=ServiceAuditPage, responses=responses(404))
def service_recorded(
    service_id: RowId, session: SessionDep, _: Viewer, limit: PageSize = 100, offset: Offset = 0
) -> ServiceAuditPage:
    """The service's whole audit trail: who recorded what about it (go-live, PSB number,
    renewals, leaving the host, rectifications), newest first, with how many in all; its
    duties list only the latest 20."""
    return obligations.audit_trail(session, service_id, limit, offset)


@router.post(f"{_SERVICE}/go-live", response_model=ServiceDutiesOut, responses=responses(404))
def go_live(
    service_id: RowId, body: GoLive, session: SessionDep, caller: CaseManager
) -> ServiceDutiesOut:
    """Record the day the site went live: the PSB filing is due ``PSB_FILING_DAYS`` (default 30) days
    later, and the footer
    checks start. A day on file is corrected by naming it in ``replaces``: the PSB filing
    still open is then due from the corrected day."""
    return obligations.go_live(session, service_id, body, get_settings(), actor=caller.actor)


@router.post(f"{_SERVICE}/psb-number", response_model=ServiceDutiesOut, responses=responses(404))
def psb_number(
    service_id: RowId, body: PsbNumberIn, session: SessionDep, caller: CaseManager
) -> ServiceDutiesOut:
    """Record the police (PSB) filing number; a malformed one or another province's is refused."""
    return obligations.psb_number(session, service_id, body, get_settings(), actor=caller.actor)


@router.post(f"{_SERVICE}/renewal", response_model=ServiceDutiesOut, responses=responses(404))
def renewal(
    service_id: RowId, body: Renewal, session: SessionDep, caller: CaseManager
) -> ServiceDutiesOut:
    """Record the domain's new expiry date; the reminders move to it. An expiry on file that
    was mistyped is corrected, even to an earlier day, by naming it in ``replaces``."""
    return obligations.renewal(session, service_id, body, get_settings(), actor=caller.actor)


@router.post(
    f"{_SERVICE}/server-renewal", response_model=ServiceDutiesOut, responses=responses(404)
)
def server_renewal(
    service_id: RowId, body: ServerRenewal, session: SessionDep, caller: CaseManager
) -> ServiceDutiesOut:
    """Record the expiry of the server the service is accessed on (first, or renewed); the
    reminders move to it and ops are told once it passes unrenewed. A mistyped one is
    corrected by naming it in ``replaces``."""
    return obligations.server_renewal(session, service_id, body, get_settings(), actor=caller.actor)


@router.post(f"{_SERVICE}/left-host", response_model=ServiceDutiesOut, responses=responses(404))
def left_host(
    service_id: RowId, body: LeftHost, session: SessionDep, caller: CaseManager
) -> ServiceDutiesOut:
    """Record that the site left this host's servers: a cancel-access order is owed."""
    return obligations.left_host(session, service_id, body, get_settings(), actor=caller.actor)


@router.post(
    f"{_SERVICE}/rectifications", response_model=ServiceDutiesOut, responses=responses(404)
)
def rectification(
    service_id: RowId, body: RectificationIn, session: SessionDep, caller: CaseManager
) -> ServiceDutiesOut:
    """Record a rectification notice (整改通知) due in working days; overdue goes to ops."""
    return obligations.rectification(session, service_id, body, get_settings(), actor=caller.actor)


@router.post(
    "/rectifications/{obligation_id}/extension",
    response_model=ServiceDutiesOut,
    responses=responses(404),
)
def extension(
    obligation_id: RowId, body: ExtensionIn, session: SessionDep, caller: CaseManager
) -> ServiceDutiesOut:
    """Extend a rectification once, by at most 7 working days; a second is refused."""
    return obligations.extend(session, obligation_id, body, get_settings(), actor=caller.actor)


@router.post(
    "/rectifications/{obligation_id}/done",
    response_model=ServiceDutiesOut,
    responses=responses(404),
)
def rectified(obligation_id: RowId, session: SessionDep, caller: CaseManager) -> ServiceDutiesOut:
    """Record the rectification as done: its obligation closes."""
    return obligations.rectified(session, obligation_id, get_settings(), actor=caller.actor)


# Named as the console's /duties page names its list; /ops/obligations/overdue, the path it had
# first, answers the same for the clients that call it, deprecated.
@get_renamed(
    router,
    "/ops/duties",
    "/ops/obligations/overdue",
    response_model=ObligationPage,
    tags=["ops"],
    summary="Overdue duties after approval",
)
def overdue_duties(
    session: SessionDep,
    _: Ops,
    kind: ObligationKind | None = Query(None, description="only duties of this kind"),
    province: Province | None = Query(None, description="only entities filed there, e.g. 京"),
    limit: PageSize = 100,
    offset: Offset = 0,
) -> ObligationPage:
    """Approved services past an obligation (PSB filing, cancel-access, rectification, an
    expired domain), the most late first, with how many there are in all."""
    only = OverdueFilter(kind=kind, province=province)
    return obligations.overdue(session, get_clock().now(), get_settings(), limit, offset, only)


# Named as the console's /duties page heads its list of failing sites; /ops/footer-failures,
# the path it had first, answers the same for the clients that call it, deprecated.
@get_renamed(
    router,
    "/ops/footer-checks-failing",
    "/ops/footer-failures",
    response_model=FailingFooterPage,
    tags=["ops"],
    summary="Live sites whose footer check fails",
)
def footer_checks_failing(
    session: SessionDep, _: Ops, limit: PageSize = 100, offset: Offset = 0
) -> FailingFooterPage:
    """Live sites whose latest footer check failed (the number missing, or not linked to
    beian.miit.gov.cn), failing longest first, with how many checks in a row and how many
    sites in all."""
    return obligations.failing_footers(session, limit, offset)


@router.get("/filings/{filing_id}/forecast", response_model=ForecastOut, responses=responses(404))
def filing_forecast(filing_id: RowId, session: SessionDep, _: Viewer) -> ForecastOut:
    """The open order's predicted approval date (median and 90th percentile) from the review
    times of orders of its kind in its province and stage, or, with the bureau, its legal
    limit when that kind has too few (other kinds are never borrowed: their times differ);
    before the bureau, too few is refused (422, ``too_few_orders``)."""
    return forecast.forecast(session, filing_id, get_settings())


@router.get("/reports/durations", response_model=list[DurationRow], tags=["reports"])
def durations(session: SessionDep, _: Viewer) -> list[DurationRow]:
    """Per province, order kind and stage: completed orders' median and 90th percentile stay,
    and counts."""
    return forecast.durations(session, get_settings())
