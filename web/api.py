"""The REST API for case managers and scripts: filings, their events, history and notifications."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from structlog.contextvars import bind_contextvars

from auth.tokens import Caller, Role, assign_filing
from config import bounds
from config.clock import get_clock
from config.settings import get_settings
from web.auth import CaseManager, Ops, PresentedBearer, SessionDep, Viewer, admit
from web.errors import responses
from web.metrics import count_when_committed
from web.query import refuse_unknown_query
from web.renamed import get_renamed
from workflow import privacy, service
from workflow.domain.bounded import (
    DaysCount,
    DomainStart,
    HoursAhead,
    IcpNumber,
    Name,
    Offset,
    PageSize,
    Person,
    Province,
    RowId,
    YesNo,
)
from workflow.domain.commands import AssignCommand, EventCommand, FilingCreate, OrderCreate
from workflow.domain.definition import (
    DEADLINES,
    EVENTS,
    INITIAL_STATE,
    OVERDUE_KINDS,
    STATES,
    DeadlineSpec,
    EventSpec,
    Flag,
    State,
    StateSpec,
)
from workflow.domain.orders import KINDS, KindSpec, OrderKind
from workflow.domain.wording import worded_spec
from workflow.schemas import (
    AssignmentOut,
    EntityOut,
    EntityPage,
    EventIn,
    FilingDetailOut,
    FilingOut,
    FilingPage,
    FilingSort,
    FlaggedPage,
    HistoryOut,
    NotificationOut,
    OverduePage,
    PersonalDataOut,
    ServiceOut,
    VerifierOut,
)
from workflow.views import entities, held_up, search
from workflow.views import history as filing_history
from workflow.views.search import FilingFilters

# 422 on every route: a bad path or query parameter answers in the common error shape too.
router = APIRouter(
    prefix="/api/v1",
    tags=["filings"],
    responses=responses(401, 403, 422),
    dependencies=[Depends(refuse_unknown_query)],
)


def fire(
    session: SessionDep,
    filing_id: int,
    command: EventCommand,
    caller: Caller,
    expected_version: int | None,
    idempotency_key: str | None = None,
) -> FilingOut:
    """Fire an event for a person, from the API or a page alike, and count it once committed."""
    # The route runs in a copy of the request's context: these tag this request's log lines only.
    bind_contextvars(filing=filing_id, event=command.event, actor=caller.actor)
    count_when_committed(session, command.event)
    return service.fire_event(
        session,
        filing_id,
        command,
        actor=caller.actor,
        expected_version=expected_version,
        idempotency_key=idempotency_key,
    )


class ListFilters:
    """The filters, order and page every filing list takes (the ops lists too): the console's
    search, for scripts."""

    def __init__(
        self,
        state: State | None = None,
        kind: OrderKind | None = Query(None, description="Only orders of this kind."),
        entity: RowId | None = Query(None, description="Only the orders of this entity."),
        province: Province | None = Query(None, description="province character, e.g. 京"),
        stuck: YesNo | None = Query(
            None, description=f"Only filings that are (false: are not) stuck: {Flag.STUCK.meaning}."
        ),
        overdue: YesNo | None = Query(
            None,
            description=f"Only filings that are (false: are not) overdue: {Flag.OVERDUE.meaning}.",
        ),
        domain: DomainStart | None = Query(
            None, description="Domains that start with this, in Unicode or in punycode (xn--)."
        ),
        applicant: Name | None = Query(None, description="Applicants whose name holds this."),
        icp_number: IcpNumber | None = Query(
            None, description="ICP numbers that start with this, e.g. 京ICP备2026."
        ),
        min_days_in_state: Annotated[
            DaysCount | None, Query(description="Filings that have not moved for this many days.")
        ] = None,
        assignee: Person | None = Query(None, description="Filings given to this case manager."),
        sort: FilingSort | None = Query(
            None, description="The order; by default a domain search's is by domain, others by id."
        ),
        descending: YesNo = False,
        limit: PageSize = 50,
        offset: Offset = 0,
    ) -> None:
        self.filters = FilingFilters(
            state=state,
            kind=kind,
            entity=entity,
            province=province,
            stuck=stuck,
            overdue=overdue,
            domain=domain,
            applicant=applicant,
            icp_number=icp_number,
            min_days_in_state=min_days_in_state,
            assignee=assignee,
            sort=sort,
            descending=descending,
        )
        self.limit, self.offset = limit, offset

    def page(self, session: SessionDep) -> FilingPage:
        return search.filing_page(
            session,
            get_clock().now(),
            self.filters,
            settings=get_settings(),
            limit=self.limit,
            offset=self.offset,
        )

    def flagged(self, session: SessionDep, flag: Flag) -> FlaggedPage:
        """The ops list of ``flag``-ged filings, narrowed by the query (but for the flag)."""
        return held_up.flagged_page(
            session,
            get_clock().now(),
            flag,
            self.filters,
            settings=get_settings(),
            limit=self.limit,
            offset=self.offset,
        )


Filters = Annotated[ListFilters, Depends()]


# Sent with a request that writes, so that a client unsure whether it landed can send it again.
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=bounds.IDEMPOTENCY_KEY,
        description="Repeat a request safely: the first result is replayed and nothing is "
        "written again; the same key with another body, or from another caller, is refused "
        "(422 idempotency_key_reused).",
    ),
]


@router.post("/filings", status_code=status.HTTP_201_CREATED, response_model=FilingOut)
def create_filing(
    body: FilingCreate,
    session: SessionDep,
    caller: CaseManager,
    idempotency_key: IdempotencyKey = None,
) -> FilingOut:
    """Create a filing in its initial state; the creation guard lists every problem at once."""
    bind_contextvars(actor=caller.actor)
    return service.create_filing(session, body, caller.actor, idempotency_key=idempotency_key)


@router.post(
    "/orders",
    status_code=status.HTTP_201_CREATED,
    response_model=FilingOut,
    tags=["orders"],
    responses=responses(409),
)
def create_order(
    body: OrderCreate,
    session: SessionDep,
    caller: CaseManager,
    idempotency_key: IdempotencyKey = None,
) -> FilingOut:
    """Open an order of any kind for an entity (new or on file) and its service. Orders are
    filings: read and advance them under ``/filings/{id}``."""
    bind_contextvars(actor=caller.actor)
    return service.create_order(session, body, caller.actor, idempotency_key=idempotency_key)


@router.get("/entities", response_model=EntityPage, tags=["orders"])
def list_entities(
    session: SessionDep,
    _: Viewer,
    name: Annotated[
        Name | None,
        Query(
            description="part of the entity's name (now or under an earlier order), of its ICP "
            "number, or of a service's domain or record number"
        ),
    ] = None,
    limit: PageSize = 50,
    offset: Offset = 0,
) -> EntityPage:
    """Entities with their services; identity and phone numbers masked."""
    return entities.entity_page(session, name=name, limit=limit, offset=offset)


@router.get(
    "/entities/{entity_id}", response_model=EntityOut, tags=["orders"], responses=responses(404)
)
def get_entity(entity_id: RowId, session: SessionDep, _: Viewer) -> EntityOut:
    """An entity, its number, its services and the order in flight."""
    return entities.entity(session, entity_id)


@router.get(
    "/entities/{entity_id}/services",
    response_model=list[ServiceOut],
    tags=["orders"],
    responses=responses(404),
)
def entity_services(entity_id: RowId, session: SessionDep, _: Viewer) -> list[ServiceOut]:
    return entities.services(session, entity_id)


@router.get(
    "/filings/{filing_id}/verifiers",
    response_model=list[VerifierOut],
    tags=["orders"],
    responses=responses(404),
)
def verifiers(filing_id: RowId, session: SessionDep, _: Viewer) -> list[VerifierOut]:
    """Who must answer the order's SMS, when their window started and how far each got in
    the current round: a resubmission starts one, its SMS not sent until MIIT sends it."""
    return filing_history.verifiers(session, filing_id)


@router.get("/filings", response_model=FilingPage)
def list_filings(session: SessionDep, _: Viewer, filters: Filters) -> FilingPage:
    """Filings matching the filters, oldest first; identity and phone numbers are masked."""
    return filters.page(session)


# One list, named as the console's /overdue page and ``icpflow filings overdue`` name it;
# /late, the path it had first, answers the same for the clients that call it, deprecated.
@get_renamed(
    router,
    "/overdue",
    "/late",
    response_model=OverduePage,
    summary="Overdue, and what falls due soon",
)
def overdue_work(
    session: SessionDep,
    _: Viewer,
    within_hours: Annotated[
        HoursAhead, Query(description="Also what falls due this many hours ahead (24: today).")
    ] = 0,
    kind: str | None = Query(
        None, max_length=40, description="Only this kind of deadline: " + ", ".join(OVERDUE_KINDS)
    ),
    state: State | None = None,
    province: Province | None = Query(None, description="province character, e.g. 京"),
    limit: PageSize = 50,
    offset: Offset = 0,
) -> OverduePage:
    """What is overdue, and with ``within_hours`` what falls due soon: one row per filing with
    the latest deadline it is past (else its next), the one overdue the longest first. The
    case managers' worklist, as the console's /overdue page shows it; ``GET /ops/overdue`` is
    ops' list of the filings past one, beside the stuck ones, without what falls due soon."""
    return held_up.overdue_page(
        session,
        get_clock().now(),
        settings=get_settings(),
        within=timedelta(hours=within_hours),
        kind=kind,
        state=state,
        province=province,
        limit=limit,
        offset=offset,
    )


@router.get("/filings/{filing_id}", response_model=FilingDetailOut, responses=responses(404))
def get_filing(filing_id: RowId, session: SessionDep, _: Viewer) -> FilingDetailOut:
    """State, version, allowed events, the open deadlines with their due times and, sent
    back, why."""
    return filing_history.filing_detail(session, filing_id, get_clock().now(), get_settings())


@router.get(
    "/filings/{filing_id}/personal-data",
    response_model=PersonalDataOut,
    tags=["privacy"],
    responses=responses(404),
)
def personal_data(filing_id: RowId, session: SessionDep, caller: Ops) -> PersonalDataOut:
    """The applicant's and verifiers' identity and phone numbers in full, which every other
    route masks. Ops and above only; each call is recorded (who, when, which fields)."""
    return privacy.reveal(session, filing_id, caller.actor, get_clock().now())


@router.post("/filings/{filing_id}/events", response_model=FilingOut, responses=responses(404, 409))
async def fire_event(
    filing_id: RowId,
    body: EventIn,
    session: SessionDep,
    credentials: PresentedBearer,
    idempotency_key: IdempotencyKey = None,
) -> FilingOut:
    """Fire an event (case managers and above); send the version you saw as
    ``expected_version`` to detect races."""
    command = EventCommand(event=body.event, data=body.data)

    # The busiest route makes one trip through the thread pool for all its work, the token's
    # check included, in one transaction: the check as a dependency (``CaseManager``) took a
    # trip, a connection and a commit of its own, a tenth of the web process's CPU per event
    # (bench/api.py). Its reply is then checked on the event loop, not in another trip.
    def authorized_fire() -> FilingOut:
        try:
            caller = admit(session, credentials, Role.CASE_MANAGER)
            return fire(session, filing_id, command, caller, body.expected_version, idempotency_key)
        finally:
            # A refusal, a replay or data refused before the event began leave the token's read
            # open: end it here, not after the answer (the SQLite write lock, a connection).
            if session.in_transaction():
                session.rollback()

    return await run_in_threadpool(authorized_fire)


@router.put("/filings/{filing_id}/assignee", response_model=FilingOut, responses=responses(404))
def put_assignee(
    filing_id: RowId, body: AssignCommand, session: SessionDep, caller: CaseManager
) -> FilingOut:
    """Give the filing to a case manager (a token name of role case_manager or above), or to
    nobody with ``null``; the filing's version does not change."""
    return assign_filing(session, filing_id, body, caller.actor)


@router.get(
    "/filings/{filing_id}/assignments", response_model=list[AssignmentOut], responses=responses(404)
)
def assignments(filing_id: RowId, session: SessionDep, _: Viewer) -> list[AssignmentOut]:
    """Who gave the filing to whom, and when, oldest first."""
    return filing_history.assignments(session, filing_id)


@router.get(
    "/filings/{filing_id}/history", response_model=list[HistoryOut], responses=responses(404)
)
def history(filing_id: RowId, session: SessionDep, _: Viewer) -> list[HistoryOut]:
    """Every applied event with who fired it, when, its data and reason."""
    return filing_history.history(session, filing_id)


@router.get(
    "/filings/{filing_id}/notifications",
    response_model=list[NotificationOut],
    responses=responses(404),
)
def notifications(filing_id: RowId, session: SessionDep, _: Viewer) -> list[NotificationOut]:
    """What the filing's deadlines and events owed to whom, and whether it was delivered."""
    return filing_history.notifications(session, filing_id, get_settings())


class WorkflowOut(BaseModel):
    """The declaration itself: its dataclasses are the schema, so nothing here restates it."""

    initial: State
    states: list[StateSpec]
    events: list[EventSpec]
    deadlines: list[DeadlineSpec]
    kinds: list[KindSpec]


@router.get("/workflow", tags=["workflow"], response_model=WorkflowOut)
def workflow(_: Viewer) -> WorkflowOut:
    """The state machine: states, events with their sources, guards and data, and deadlines."""
    settings = get_settings()
    return WorkflowOut(
        initial=INITIAL_STATE,
        states=[worded_spec(spec, settings) for spec in STATES],
        events=[worded_spec(spec, settings) for spec in EVENTS],
        deadlines=[worded_spec(spec, settings) for spec in DEADLINES],
        kinds=[worded_spec(spec, settings) for spec in KINDS],
    )
