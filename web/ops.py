"""Ops endpoints: what is stuck, overdue, failing or failed, and retrying failed jobs."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from config.settings import get_settings
from models import Job
from web.api import Filters
from web.auth import Ops, SessionDep
from web.errors import responses
from web.query import refuse_unknown_query
from workflow import failures
from workflow.domain.bounded import Offset, PageSize, RecipientPart, RowId, YesNo
from workflow.domain.definition import Flag
from workflow.schemas import FailedJobOut, FailedJobPage, FlaggedPage, RetryingDeliveryPage
from workflow.views import deliveries

router = APIRouter(
    prefix="/api/v1/ops",
    tags=["ops"],
    responses=responses(401, 403, 422),
    dependencies=[Depends(refuse_unknown_query)],
)


@router.get("/stuck", response_model=FlaggedPage)
def stuck(session: SessionDep, _: Ops, filters: Filters) -> FlaggedPage:
    """Filings with no transition for longer than their state's threshold, each with the
    stuck deadline it is past (``listed_for``)."""
    return filters.flagged(session, Flag.STUCK)


@router.get("/overdue", response_model=FlaggedPage)
def overdue(session: SessionDep, _: Ops, filters: Filters) -> FlaggedPage:
    """Filings past an overdue deadline of their current state (SMS, host review, SLA, ...),
    one row per filing with the latest it is past (``listed_for``), filtered as
    ``GET /filings`` is: ops' list, with the stuck one (``GET /ops/stuck``) beside it.
    ``GET /overdue`` is the case managers' worklist, with what falls due soon too."""
    return filters.flagged(session, Flag.OVERDUE)


@router.get("/failed", response_model=FailedJobPage)
def failed(
    session: SessionDep,
    _: Ops,
    job: Job | None = Query(None, description="Only jobs of this kind."),
    to: RecipientPart | None = Query(
        None, description="Only deliveries to a recipient whose address holds this (case aside)."
    ),
    include_retried: YesNo = False,
    limit: PageSize = 50,
    offset: Offset = 0,
) -> FailedJobPage:
    """Jobs that exhausted their retries, newest first (kept here: the broker forgets dead
    letters), narrowed as ``icpflow ops failed --job --to`` narrows them."""
    return deliveries.failed_jobs(
        session, job=job, to=to, include_retried=include_retried, limit=limit, offset=offset
    )


@router.get("/retrying", response_model=RetryingDeliveryPage)
def retrying(
    session: SessionDep, _: Ops, limit: PageSize = 50, offset: Offset = 0
) -> RetryingDeliveryPage:
    """Deliveries failing now: notifications pending after a failed attempt, which become
    failed jobs only once their retries run out, waiting longest first."""
    return deliveries.retrying_deliveries(
        session, settings=get_settings(), limit=limit, offset=offset
    )


@router.post("/failed/{job_id}/retry", response_model=FailedJobOut, responses=responses(404))
def retry(job_id: RowId, session: SessionDep, _: Ops) -> FailedJobOut:
    """Owe a failed job again through the outbox (a delivery's notification goes back to
    pending; a footer check is made again)."""
    return failures.retry_failed(session, job_id)
