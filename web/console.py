"""The console's pages: the pipeline, every filing searchable, the overdue, failed jobs,
"my filings", a filing's complete page and a service's audit trail. They read through
``workflow.views`` (what the API and the CLI show) and only render; the forms they carry post
to ``web.actions``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import pydantic
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import ErrorDetails
from sqlmodel import Session
from starlette.datastructures import ImmutableMultiDict, QueryParams

from auth.tokens import Role, case_managers
from config import bounds
from config.clock import get_clock
from config.settings import get_settings
from web.auth import SessionDep
from web.duty_forms import duty_forms
from web.errors import status_of
from web.forms import VERSION_FIELD, Form, event_forms, field_input, province_options
from web.pages import PageUser, PageUserDep, show
from web.pipeline_svg import pipeline_svg
from workflow import obligations
from workflow.domain.bounded import Count, DaysCount, HoursAhead, RowId, line
from workflow.domain.commands import reasons_from
from workflow.domain.definition import OVERDUE_KINDS, SMS_WRONG_ENTRY_LIMIT, STATES, State
from workflow.domain.definition import Flag as ListFlag
from workflow.domain.errors import IcpflowError, Reason, ValidationError
from workflow.domain.obligations import OVERDUE_OBLIGATIONS, ObligationKind
from workflow.domain.orders import KINDS, OrderKind, VerifierResult
from workflow.domain.rules import rules_for
from workflow.obligations import OverdueFilter
from workflow.outlook import outlook
from workflow.schemas import FilingOut, FilingSort, HistoryOut
from workflow.views import deliveries, held_up, history
from workflow.views import search as filing_search
from workflow.views.search import FilingFilters

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25


def _none_if_blank(value: Any) -> Any:
    """A search form sends every field; an empty one means "any"."""
    return None if value == "" else value


# An empty form field means "any"; constraints sit on the value, not on its absence. Search
# text is one line as the API's is: NUL, which PostgreSQL cannot compare, is refused.
Blank = BeforeValidator(_none_if_blank)
Text = Annotated[Annotated[str, line(bounds.DOMAIN)] | None, Blank]
Province = Annotated[Annotated[str, Field(max_length=2)] | None, Blank]
# Pages as far as the API's offsets reach: a larger number is refused, not sent to the database.
# Counts are written as the API's are: "-0", "+5" and "5.0" are refused, not read as numbers.
Page = Annotated[Count, Field(ge=1, le=bounds.MAX_OFFSET // PAGE_SIZE + 1)]
Days = Annotated[DaysCount | None, Blank]
Flag = Annotated[bool | None, Blank]


class Search(BaseModel):
    """Query parameters shared by the lists. Unknown parameters are ignored, not refused: a
    sign-in link's ``token`` rides along, and a shared link should open, not fail. Each
    field's title is its label on the list's search form (``search_form``)."""

    model_config = ConfigDict(extra="ignore", str_max_length=bounds.DOMAIN)

    state: Annotated[State | None, Blank] = Field(None, title="State 状态")
    province: Province = Field(None, title="Province 省份")
    page: Page = Field(1, title="Page 页码")


class FilingSearch(Search):
    kind: Annotated[OrderKind | None, Blank] = Field(None, title="Order 订单类型")
    domain: Text = Field(None, title="Domain 域名")
    applicant: Text = Field(None, title="Applicant 申请人")
    icp_number: Text = Field(None, title="ICP number 备案号")
    min_days: Days = Field(None, title="In state ≥ days 停留天数")
    stuck: Flag = Field(None, title=ListFlag.STUCK.label.capitalize())
    overdue: Flag = Field(None, title=ListFlag.OVERDUE.label.capitalize())
    sort: FilingSort | None = Field(None, title="Sorted by 排序")  # views.search.listing_order's
    desc: bool = Field(False, title="Descending 降序")


# The search's fields that are filters of the same name; ``min_days`` and ``desc`` keep the
# shorter names the console's links have always carried.
_FILTERED_AS_NAMED = FilingSearch.model_fields.keys() & FilingFilters.model_fields.keys()


class OverdueSearch(Search):
    kind: Text = Field(None, title="Deadline 期限")
    within_hours: HoursAhead = Field(0, title="Show 显示")


Searched = TypeVar("Searched", bound=BaseModel)
SEARCH_FORM = "search"

# What a search form says of a value its model refused, by pydantic's error type: plain
# words, where pydantic's ("unable to parse string as an integer") are a programmer's.
_PLAINLY = {
    "int_parsing": "must be a whole number 须为整数",
    "int_from_float": "must be a whole number 须为整数",
    "signed_zero": "must be written without a sign 数字不带正负号",
    "greater_than_equal": "must be {ge} or more 不能小于 {ge}",
    "less_than_equal": "must be {le} or less 不能大于 {le}",
    "bool_parsing": "must be true or false 须为 true 或 false",
    "enum": "must be one of those offered 须为所列选项之一",
    "string_too_long": "must be at most {max_length} characters 不能超过 {max_length} 个字符",
    "string_too_short": "must not be blank 不能为空白",
    "string_pattern_mismatch": "must hold no control or invisible characters (such as NUL) "
    "不能包含控制字符或不可见字符",
    # Refused by the search itself, not its model (``guards.province_named``), by its code.
    "unknown_province": "must be one of the provinces offered 须为所列省份之一",
}
_REFUSED = "Search refused 搜索未通过"


def _plainly(problem: ErrorDetails, reason: Reason) -> Reason:
    said = _PLAINLY.get(problem["type"])
    return (
        reason if said is None else replace(reason, message=said.format(**problem.get("ctx", {})))
    )


def _refused_when_searched(error: ValidationError) -> ValidationError:
    """A refusal of the search by what ran it (a province the rules do not know), worded as
    one by its model is: headed as every refused search, each reason in plain words."""
    reasons = [replace(r, message=_PLAINLY.get(r.code, r.message)) for r in error.reasons]
    return ValidationError(_REFUSED, reasons)


def search_form(model: type[BaseModel]) -> Form:
    """A list's search form, as its page labels its fields and a refusal names them."""
    return Form(
        SEARCH_FORM,
        "",
        "Search 搜索",
        "",
        tuple(field_input(name, f, label=f.title) for name, f in model.model_fields.items()),
    )


def searched(model: type[Searched], query: QueryParams) -> tuple[Searched, ValidationError | None]:
    """The search ``query`` asks; refused, the search without the fields refused (left at
    their defaults, so the form keeps the choices that were valid) and why, in plain words."""
    asked = dict(query)
    try:
        return model.model_validate(asked), None
    except pydantic.ValidationError as exc:
        problems = exc.errors()
    reasons = [
        _plainly(p, reason) for p, reason in zip(problems, reasons_from(problems), strict=True)
    ]
    wrong = {str(p["loc"][0]) for p in problems if p["loc"]}
    valid = model.model_validate({k: v for k, v in asked.items() if k not in wrong})
    return valid, ValidationError(_REFUSED, reasons)


def listed(
    request: Request,
    user: PageUser,
    template: str,
    model: type[Searched],
    results: Callable[[Searched], dict[str, Any]],
    **context: Any,
) -> Response:
    """A list's page: its search form, and what ``results`` finds for the search asked. A
    search refused, by its model or by ``results`` (a province the rules do not know), is
    the form again as typed with each reason beside its field, and no results (422): nothing
    typed is lost, and nothing is listed that was not asked for."""
    form = search_form(model)
    search, refused = searched(model, request.query_params)
    if refused is None:
        try:
            found = results(search)
        except ValidationError as exc:
            refused = _refused_when_searched(exc)
        else:
            return show(
                request, template, user, search=search, search_form=form, **context, **found
            )
    return show(
        request,
        template,
        user,
        status_code=422,
        search=search,
        search_form=form,
        refused=Refused(form.id, refused, request.query_params),
        **context,
    )


def service_names(session: Session, filings: Iterable[FilingOut]) -> dict[int, str]:
    """How a page names the services of the ``filings`` it lists (``views.search.filing_named``)."""
    return obligations.services_named(
        session, {f.service_id for f in filings if f.service_id is not None}
    )


def pages_of(total: int, number: int, *, exact: bool = True, shown: int = 0) -> dict[str, Any]:
    """The pager's figures. Past ``views.search.COUNTED_UP_TO`` matches the total is a lower bound:
    then the page count is unknown and a full page means there may be a next one."""
    count = max(1, -(-total // PAGE_SIZE))
    return {
        "number": number,
        "count": count if exact else None,
        "past_the_end": exact and number > count,  # an old link, or a typed page number
        "total": f"{total}" if exact else f"{total}+",
        "more": number < count if exact else shown == PAGE_SIZE,
    }


class PipelineSearch(BaseModel):
    model_config = ConfigDict(extra="ignore")  # as ``Search``: a shared link should open

    kind: Annotated[OrderKind | None, Blank] = Field(None, title="Order 订单类型")


@router.get("/", response_class=HTMLResponse)
def pipeline(request: Request, session: SessionDep, user: PageUserDep) -> Response:
    """The state diagram with live counts, of one kind of order if chosen, and the totals
    across every kind that need someone; those stand above a refused choice of kind too."""
    now, settings = get_clock().now(), get_settings()

    def results(search: PipelineSearch) -> dict[str, Any]:
        counts = held_up.state_counts(session, now, search.kind)
        return {"svg": pipeline_svg(counts, search.kind), "counts": counts}

    stuck = filing_search.filing_page(
        session, now, FilingFilters(stuck=True), settings=settings, limit=1
    )
    flagged = {
        "stuck": f"{stuck.total}{'' if stuck.total_is_exact else '+'}" if stuck.total else 0,
        "overdue": held_up.overdue_page(session, now, settings=settings, limit=1).total,
        "duties": obligations.count_overdue(session, now, settings),
        "failed": deliveries.failed_jobs(session, limit=1).total,
        "retrying": deliveries.retrying_deliveries(session, settings=settings, limit=1).total,
    }
    return listed(
        request,
        user,
        "pipeline.html",
        PipelineSearch,
        results,
        states={s.name.value: s for s in STATES},
        kinds=KINDS,
        flagged=flagged,
    )


def _filings(
    request: Request, session: Session, user: PageUser, title: str, flag: ListFlag | None = None
) -> Response:
    """The filings the search asks for; those ``flag``-ged (stuck) whatever it asks, each with
    the deadline that puts it there, as the API's and the CLI's ops lists have them."""

    def results(search: FilingSearch) -> dict[str, Any]:
        if flag is not None:
            search = search.model_copy(update={flag.value: True})
        filters = FilingFilters(
            **search.model_dump(include=_FILTERED_AS_NAMED),
            min_days_in_state=search.min_days,
            descending=search.desc,
        )
        now, offset = get_clock().now(), (search.page - 1) * PAGE_SIZE
        settings = get_settings()
        found = (
            filing_search.filing_page(
                session, now, filters, settings=settings, limit=PAGE_SIZE, offset=offset
            )
            if flag is None
            else held_up.flagged_page(
                session, now, flag, filters, settings=settings, limit=PAGE_SIZE, offset=offset
            )
        )
        return {
            "found": found,
            "now": now,
            "order": filing_search.listing_order(search.sort, search.domain),
            "service_names": service_names(session, found.items),
            "entity_names": filing_search.entity_names(session, found.items),
            "pages": pages_of(
                found.total, search.page, exact=found.total_is_exact, shown=len(found.items)
            ),
        }

    return listed(
        request,
        user,
        "filings.html",
        FilingSearch,
        results,
        title=title,
        states=STATES,
        kinds=KINDS,
        provinces=province_options(rules_for(get_settings())),
    )


@router.get("/filings", response_class=HTMLResponse)
def filings(request: Request, session: SessionDep, user: PageUserDep) -> Response:
    """Every filing, searchable by domain, applicant and ICP number, filtered, sorted, paged."""
    return _filings(request, session, user, "Filings 备案")


@router.get("/stuck", response_class=HTMLResponse)
def stuck(request: Request, session: SessionDep, user: PageUserDep) -> Response:
    return _filings(request, session, user, ListFlag.STUCK.label.capitalize(), ListFlag.STUCK)


@router.get("/overdue", response_class=HTMLResponse)
def overdue(request: Request, session: SessionDep, user: PageUserDep) -> Response:
    """Overdue filings by urgency, one row per filing with the latest deadline it is past, the
    one overdue the longest first, and upcoming ones if asked: ``views.held_up.overdue_page``, not the filings
    list flagged (``/stuck``), which can neither order by deadline nor look ahead. Its rows
    are picked and dropped as the flagged lists' are (``views.held_up.shown_deadline``) and say why
    and since when as theirs do (the ``since`` macro)."""
    now = get_clock().now()

    def results(search: OverdueSearch) -> dict[str, Any]:
        found = held_up.overdue_page(
            session,
            now,
            settings=get_settings(),
            within=timedelta(hours=search.within_hours),
            kind=search.kind,
            state=search.state,
            province=search.province,
            limit=PAGE_SIZE,
            offset=(search.page - 1) * PAGE_SIZE,
        )
        return {
            "found": found,
            "service_names": service_names(session, (item.filing for item in found.items)),
            "pages": pages_of(found.total, search.page),
        }

    return listed(
        request,
        user,
        "overdue.html",
        OverdueSearch,
        results,
        title=ListFlag.OVERDUE.label.capitalize(),
        now=now,
        provinces=province_options(rules_for(get_settings())),
        states=STATES,
        kinds=OVERDUE_KINDS,
    )


@router.get("/mine", response_class=HTMLResponse)
def mine(
    request: Request,
    session: SessionDep,
    user: PageUserDep,
    page: Annotated[Page, Query()] = 1,
    late_page: Annotated[Page, Query()] = 1,
) -> Response:
    """The filings assigned to the signed-in case manager, each with what it needs next, the
    one whose next deadline falls soonest (or fell longest ago) first, as the overdue are; and
    the duties after approval their sites owe late."""
    now = get_clock().now()
    found = filing_search.filing_page(
        session,
        now,
        FilingFilters(assignee=user.caller.name, sort=FilingSort.NEXT_DEADLINE),
        settings=get_settings(),
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    # The duties after approval their sites owe late: a worklist of open orders alone would
    # say "nothing" of a PSB filing overdue on a site they filed.
    late = obligations.overdue(
        session,
        now,
        get_settings(),
        limit=PAGE_SIZE,
        offset=(late_page - 1) * PAGE_SIZE,
        only=OverdueFilter(assignee=user.caller.name),
    )
    return show(
        request,
        "mine.html",
        user,
        found=found,
        returns=history.returns(session, found.items),
        late=late,
        late_pages=pages_of(late.total, late_page),
        # One naming of the services both lists show: the filings' and the late duties'.
        service_names=obligations.services_named(
            session,
            {o.service_id for o in late.items}
            | {f.service_id for f in found.items if f.service_id is not None},
        ),
        now=now,
        pages=pages_of(found.total, page, exact=found.total_is_exact, shown=len(found.items)),
    )


class DutySearch(BaseModel):
    """The overdue duties' filters; as ``Search``, a shared link with others still opens."""

    model_config = ConfigDict(extra="ignore")

    kind: Annotated[ObligationKind | None, Blank] = Field(None, title="Duty 义务")
    province: Province = Field(None, title="Province 省份")
    page: Page = Field(1, title="Page 页码")
    footer_page: Page = Field(1, title="Page of failing footers 页脚检查页码")


@router.get("/duties", response_class=HTMLResponse)
def duties(request: Request, session: SessionDep, user: PageUserDep) -> Response:
    """Duties after approval past their time (the PSB filing, a cancel-access order, a
    rectification, an expired domain), the most late first, of one kind or province if asked;
    and the live sites whose footer check fails, each list paged on its own."""
    now = get_clock().now()

    def results(search: DutySearch) -> dict[str, Any]:
        page, footer_page = search.page, search.footer_page
        only = OverdueFilter(kind=search.kind, province=search.province)
        late = obligations.overdue(
            session, now, get_settings(), PAGE_SIZE, (page - 1) * PAGE_SIZE, only
        )
        footers = obligations.failing_footers(
            session, limit=PAGE_SIZE, offset=(footer_page - 1) * PAGE_SIZE
        )
        return {
            "rows": late.items,
            "footers": footers,
            "service_names": obligations.services_named(
                session, {o.service_id for o in late.items}
            ),
            "pages": pages_of(late.total, page),
            "footer_pages": pages_of(footers.total, footer_page),
        }

    return listed(
        request,
        user,
        "duties.html",
        DutySearch,
        results,
        now=now,
        duty_kinds=OVERDUE_OBLIGATIONS,
        provinces=province_options(rules_for(get_settings())),
    )


@router.get("/failed", response_class=HTMLResponse)
def failed(
    request: Request,
    session: SessionDep,
    user: PageUserDep,
    page: Annotated[Page, Query()] = 1,
    retrying_page: Annotated[Page, Query()] = 1,
    retried: Annotated[RowId | None, Query()] = None,
) -> Response:
    """Jobs that failed for good (deliveries, footer checks), with their error, for ops to
    retry; and the deliveries failing now, whose retries have not run out, each list paged on
    its own. ``retried``: the job its Retry button just queued again, which the page says,
    its row gone (one not retried, or unknown, says nothing)."""
    user.require(Role.OPS)
    found = deliveries.failed_jobs(session, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    retrying = deliveries.retrying_deliveries(
        session,
        settings=get_settings(),
        limit=PAGE_SIZE,
        offset=(retrying_page - 1) * PAGE_SIZE,
    )
    queued = deliveries.failed_job(session, retried) if retried is not None else None
    if queued is not None and queued.retried_at is None:
        queued = None
    filings = {r.filing_id for r in found.items if r.filing_id} | {
        r.filing_id for r in retrying.items
    }
    if queued is not None and queued.filing_id:
        filings.add(queued.filing_id)
    return show(
        request,
        "failed.html",
        user,
        rows=found.items,
        domains=filing_search.filing_domains(session, filings),
        pages=pages_of(found.total, page),
        retrying=retrying.items,
        retrying_pages=pages_of(retrying.total, retrying_page),
        queued=queued,
        now=get_clock().now(),
    )


@router.get("/services/{service_id}/recorded", response_class=HTMLResponse)
def recorded(
    request: Request,
    service_id: RowId,
    session: SessionDep,
    user: PageUserDep,
    page: Annotated[Page, Query()] = 1,
) -> Response:
    """A service's whole audit trail after approval, newest first, paged: its filing's page
    shows the latest (``reading.AUDIT_SHOWN``) and links here when there are more."""
    found = obligations.audit_trail(
        session, service_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return show(
        request,
        "recorded.html",
        user,
        found=found,
        name=obligations.services_named(session, [service_id]).get(service_id, ""),
        pages=pages_of(found.total, page),
    )


@router.get("/filings/{filing_id}", response_class=HTMLResponse)
def filing(request: Request, filing_id: RowId, session: SessionDep, user: PageUserDep) -> Response:
    """Everything about one filing, identities masked, with the forms its state allows."""
    return filing_page(request, session, user, filing_id)


@dataclass(frozen=True)
class Refused:
    """A form that was refused (``form``, its id): the reasons, and what was typed, to show
    it again."""

    form: str
    error: IcpflowError
    posted: ImmutableMultiDict[str, object]  # a posted form, or a list's search
    # Sent from a page gone stale (409): what others did since, as the history shows it.
    changed: tuple[HistoryOut, ...] = ()
    # What the form held, by its labels: shown as text where the page offers it no more.
    held: tuple[tuple[str, str], ...] = ()

    def typed(self, form: str, name: str) -> list[str]:
        return [str(v) for v in self.posted.getlist(name)] if form == self.form else []


def filing_page(
    request: Request,
    session: Session,
    user: PageUser,
    filing_id: int,
    refused: Refused | None = None,
) -> Response:
    """The filing's page; with ``refused``, the refused form again, filled as it was sent and
    with its reasons beside it (422, or 409 for one sent from a page gone stale), so nothing
    typed is lost."""
    now, settings = get_clock().now(), get_settings()
    shown = history.timeline(session, filing_id, now, settings)
    failed_jobs = deliveries.failed_jobs(session, filing_id=filing_id).items
    verifiers = history.verifiers(session, filing_id)
    after = outlook(session, shown.filing, now, settings)
    page = show(
        request,
        "filing.html",
        user,
        now=now,
        shown=shown,
        filing=shown.filing,
        service_names=service_names(session, [shown.filing]),
        verifiers=verifiers,
        wrong_entry_limit=SMS_WRONG_ENTRY_LIMIT,
        forms=event_forms(
            shown.filing,
            rules_for(settings),
            [v.role for v in verifiers if v.result is VerifierResult.PENDING],
        ),
        # What each event's form sends besides its inputs, named as the route reads it.
        event_hidden={VERSION_FIELD: shown.filing.version},
        retry={job.notification_id: job.id for job in failed_jobs},
        retrying={
            r.notification_id: r
            for r in deliveries.retrying_deliveries(
                session, settings=settings, filing_id=filing_id
            ).items
        },
        assignable=case_managers(session) if user.can(Role.CASE_MANAGER) else [],
        after=after,
        standing=held_up.standing(shown.filing, now),
        duty_forms=duty_forms(after.duties, get_settings()),
        refused=refused,
        status_code=status_of(refused.error) if refused else 200,
        scroll_to="#refused" if refused else None,
    )
    if refused:
        # Shown in place of the redirect a form sent gets: the address is the filing's again
        # (htmx puts it in the address bar), not the form's, which a reload would not post.
        page.headers["HX-Push-Url"] = f"/filings/{filing_id}"
    return page
