"""The read side: filings as clients see them, and the queries behind lists and filters.

"Stuck" and "overdue" are not stored flags: a filing is overdue while one of its open
deadlines (those of its current state) of an overdue kind is past due, and stuck likewise
for the stuck deadline. Both filters are EXISTS subqueries on the deadlines index.

Identity and phone numbers are masked in everything read here, for every role, the reasons
quoted in history included (a case manager pastes what the bureau wrote, numbers and all):
the full numbers are read only through ``workflow.privacy.reveal``, which records who saw
them.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Exists,
    UnaryExpression,
    and_,
    exists,
    func,
    or_,
    true,
    union,
)
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from config.clock import as_utc
from config.domains import domain_starts
from config.masking import mask_id_number, mask_phone, mask_text
from config.settings import get_settings
from models import (
    Assignment,
    Deadline,
    DeadlineStatus,
    Entity,
    FailedJob,
    Filing,
    HistoryEntry,
    Job,
    Notification,
    NotificationStatus,
    Service,
    SmsVerifier,
)
from workflow.deadlines import OpenDeadline, armed_figures
from workflow.domain.commands import ApplicantKind, LicenceKind
from workflow.domain.definition import (
    DEADLINES,
    DEADLINES_BY_KIND,
    EVENTS,
    EVENTS_BY_NAME,
    OVERDUE_KINDS,
    REMINDER_KINDS,
    STATES,
    STATES_BY_NAME,
    STUCK_KINDS,
    TERMINAL_STATES,
    Channel,
    EventSpec,
    Flag,
    State,
    in_words,
)
from workflow.domain.errors import FilingNotFound, NotFound, Reason, ValidationError
from workflow.domain.event_data import STRICT, ReasonData
from workflow.domain.guards import province_named
from workflow.domain.machine import allowed_events
from workflow.domain.orders import (
    KINDS,
    EntityStatus,
    OrderKind,
    ServiceKind,
    ServiceStatus,
    VerifierResult,
)
from workflow.domain.rules import rules_for
from workflow.domain.wording import worded
from workflow.obligations.reading import services_named
from workflow.schemas import (
    ApplicantOut,
    AppPlatformOut,
    AssignmentOut,
    ChangesOut,
    DeadlineOut,
    DeliveryRunOut,
    EntityOut,
    EntityPage,
    FailedJobOut,
    FailedJobPage,
    FilingDetailOut,
    FilingOut,
    FilingPage,
    FilingSort,
    FlaggedFilingOut,
    FlaggedPage,
    HistoryOut,
    NotificationOut,
    OverdueItem,
    OverduePage,
    RetryingDeliveryOut,
    RetryingDeliveryPage,
    SentBackOut,
    ServiceOut,
    StateCount,
    VerifierOut,
    WebsiteOut,
)

# A list counts its matches up to this many, then says "more": counting every match is as slow
# as they are many (a state's filings among a million), whatever the page shows.
COUNTED_UP_TO = 1_000

# Where a refusal or a return sends a filing and leaves it open, for the case manager to
# answer (``withdraw`` ends the filing instead): the states of the events whose data is a
# reason. An SMS window passing, or a fifth wrong code, sends it there without one.
SENT_BACK: frozenset[State] = frozenset(
    e.dest for e in EVENTS if e.data is ReasonData and e.dest not in TERMINAL_STATES
)


def describe(session: Session, filing: Filing, now: datetime) -> FilingOut:
    return describe_many(session, [filing], now)[0]


def describe_open(
    filing: Filing, open_deadlines: Sequence[OpenDeadline], now: datetime
) -> FilingOut:
    """Describe a filing whose open deadlines are in hand (just armed): no query needed."""
    return _describe(filing, open_deadlines, now)


def describe_many(session: Session, filings: Sequence[Filing], now: datetime) -> list[FilingOut]:
    """Describe a page of filings with one query for all their open deadlines."""
    ids = [f.id for f in filings]
    open_deadlines: dict[int, list[Deadline]] = defaultdict(list)
    if ids:
        rows = session.exec(
            select(Deadline).where(
                col(Deadline.filing_id).in_(ids), col(Deadline.disarmed_at).is_(None)
            )
        )
        for row in rows:
            open_deadlines[row.filing_id].append(row)
    return [_describe(f, open_deadlines[f.id or 0], now) for f in filings]


def _describe(
    filing: Filing, deadlines: Sequence[Deadline | OpenDeadline], now: datetime
) -> FilingOut:
    assert filing.id is not None
    armed = armed_figures(((d.kind, d.figure) for d in deadlines), get_settings())
    shown = sorted(
        (_deadline_out(d, now, armed) for d in deadlines), key=lambda d: (d.due_at, d.id)
    )
    return FilingOut(
        id=filing.id,
        kind=OrderKind(filing.kind),
        entity_id=filing.entity_id,
        service_id=filing.service_id,
        service_kind=ServiceKind(filing.service_kind) if filing.service_kind else None,
        domain=filing.domain,
        # An order on the entity alone stores its opening day there: no domain expires.
        domain_expires_on=filing.domain_expires_on if filing.service_id is not None else None,
        province=filing.province,
        licence=LicenceKind(filing.licence),
        applicant=ApplicantOut(
            type=ApplicantKind(filing.applicant_type),
            name=filing.applicant_name,
            id_type=filing.applicant_id_type,
            id_number=mask_id_number(filing.applicant_id_number),
            phone=mask_phone(filing.applicant_phone),
            email=filing.applicant_email,
        ),
        website=WebsiteOut(name=filing.website_name, sector=filing.sector),
        state=State(filing.state),
        state_label=STATES_BY_NAME[filing.state].label_zh,
        version=filing.version,
        state_entered_at=as_utc(filing.state_entered_at),
        created_at=as_utc(filing.created_at),
        service_number=filing.service_number,
        server_ip=filing.server_ip,
        materials=list(filing.materials),
        changing=list(filing.changes),
        changes=_changes_out(filing.changes) if filing.changes else None,
        pre_approval_document=filing.pre_approval_document,
        icp_number=filing.icp_number,
        assignee=filing.assignee,
        personal_data_purged_at=(
            as_utc(filing.personal_data_purged_at) if filing.personal_data_purged_at else None
        ),
        allowed_events=allowed_events(
            filing.state, filing.kind, purged=filing.personal_data_purged_at is not None
        ),
        deadlines=shown,
        stuck=any(d.flag is Flag.STUCK for d in shown),
        overdue=any(d.flag is Flag.OVERDUE for d in shown),
    )


def _changes_out(changes: Mapping[str, Any]) -> ChangesOut:
    """A change order's new values as stored, the new persons' mobiles masked."""
    masked = {
        part: {**value, "mobile": mask_phone(value["mobile"])}
        if isinstance(value, dict) and "mobile" in value
        else value
        for part, value in changes.items()
    }
    return ChangesOut.model_validate(masked)


def _deadline_out(
    deadline: Deadline | OpenDeadline, now: datetime, armed: Mapping[str, float]
) -> DeadlineOut:
    """``armed``: the figures the filing's deadlines were armed with, for its text to name."""
    assert deadline.id is not None
    due = as_utc(deadline.due_at)
    spec = DEADLINES_BY_KIND[deadline.kind]
    flag = spec.flag if due <= now else None
    return DeadlineOut(
        id=deadline.id,
        kind=deadline.kind,
        description=worded(spec.description, get_settings(), armed),
        description_zh=worded(spec.zh, get_settings(), armed),
        source=spec.source,
        due_at=due,
        status=deadline.status,
        estimated=deadline.estimated,
        flag=flag,
        overdue=flag is not None,
    )


def _past_due(kinds: Sequence[str], now: datetime) -> Exists:
    return exists().where(
        col(Deadline.filing_id) == col(Filing.id),
        col(Deadline.disarmed_at).is_(None),
        col(Deadline.kind).in_(kinds),
        col(Deadline.due_at) <= now,
    )


class FilingFilters(BaseModel):
    """What a list of filings may be narrowed to and ordered by: the API's and the CLI's list
    options and the console's search all come down to these (see ``filing_page``). Each edge
    bounds its own input first; a misspelt filter is refused here, as it would filter nothing."""

    model_config = STRICT

    state: State | None = None
    kind: OrderKind | None = None
    entity: int | None = None  # the orders of one entity
    province: str | None = None
    stuck: bool | None = None
    overdue: bool | None = None
    domain: str | None = None
    applicant: str | None = None
    icp_number: str | None = None
    min_days_in_state: int | None = None
    assignee: str | None = None
    sort: FilingSort | None = None
    descending: bool = False


NO_FILTERS = FilingFilters()


def filing_page(
    session: Session,
    now: datetime,
    filters: FilingFilters = NO_FILTERS,
    *,
    limit: int = 50,
    offset: int = 0,
) -> FilingPage:
    """A page of filings (masked, as lists are) with the total matching the filters: what the
    API's lists, ``icpflow filings list|ops`` and the console's lists all show. The total is
    counted up to ``COUNTED_UP_TO`` (``total_is_exact`` false beyond it), so that a page costs
    the same among a million filings as among ten thousand.

    ``domain`` and ``icp_number`` match from the start (both indexed for it), ``applicant``
    anywhere, case aside; ``min_days_in_state`` keeps filings that have not moved for that long.
    Without a ``sort`` the page is in ``listing_order``."""
    state, kind, province = filters.state, filters.kind, filters.province
    domain, applicant = filters.domain, filters.applicant
    icp_number, assignee = filters.icp_number, filters.assignee
    min_days_in_state = filters.min_days_in_state
    conditions: list[ColumnElement[bool]] = []
    if state:
        conditions.append(col(Filing.state) == state)
    if kind:
        conditions.append(col(Filing.kind) == kind)
    if (entity := filters.entity) is not None:
        conditions.append(col(Filing.entity_id) == entity)
    rules = rules_for(get_settings())
    if province:
        conditions.append(col(Filing.province) == province_named(province, rules))
    prefix_search = _prefix_search(session)
    searched = domain_starts(domain.strip()) if domain else None
    if searched:
        starting = [
            _starting(prefix_search, col(column), start)
            for column, start in zip((Filing.domain, Filing.domain_ascii), searched, strict=True)
            if start is not None
        ]
        conditions.append(or_(*starting))
    if applicant:
        conditions.append(col(Filing.entity_id).in_(_entities_named(applicant)))
    if icp_number:
        spellings = rules.number_spellings(icp_number.strip())
        conditions.append(or_(*(prefix_search(col(Filing.icp_number), s) for s in spellings)))
    if min_days_in_state is not None:
        conditions.append(col(Filing.state_entered_at) <= now - timedelta(days=min_days_in_state))
    if assignee:
        conditions.append(col(Filing.assignee) == assignee)
    for flag, kinds in (
        (filters.stuck, STUCK_KINDS),
        (filters.overdue, OVERDUE_KINDS),
    ):
        if flag is not None:
            test = _past_due(kinds, now)
            conditions.append(test if flag else ~test)
    matching = select(col(Filing.id)).where(*conditions).limit(COUNTED_UP_TO + 1).subquery()
    total = int(session.exec(select(func.count()).select_from(matching)).one())
    order = (_sort_key(listing_order(filters.sort, domain), filters), col(Filing.id))
    if searched and searched.stored is None and not filters.sort:
        # A search in punycode matches the ASCII spellings alone: its page is read in their
        # index's order, as a search in Unicode is in the domains' (``listing_order``).
        ascii_spelling = col(Filing.domain_ascii)
        ascending = not filters.descending
        order = (ascii_spelling.asc() if ascending else ascii_spelling.desc(), col(Filing.id))
    # The page's ids first, then their rows: the ids (with the sort key) come from an index
    # alone, so thousands of matches sorted to find 50 cost index entries, not table rows.
    on_page = select(col(Filing.id)).where(*conditions).order_by(*order).limit(limit)
    page = session.exec(
        select(Filing).where(col(Filing.id).in_(on_page.offset(offset))).order_by(*order)
    ).all()
    items = describe_many(session, page, now)
    return FilingPage(
        items=items,
        total=min(total, COUNTED_UP_TO),
        total_is_exact=total <= COUNTED_UP_TO,
        limit=limit,
        offset=offset,
    )


# Kinds whose passing flags a filing (stuck or overdue); a reminder past its time was sent.
_FLAGGING_KINDS = frozenset((*OVERDUE_KINDS, *STUCK_KINDS))


def _sort_key(sort: FilingSort, filters: FilingFilters) -> UnaryExpression[Any]:
    """The column, or for ``NEXT_DEADLINE`` the due time of the deadline a filing shows next
    (the first open one late or not yet told: a reminder already sent is behind it, as
    ``FilingOut.next_deadline`` says; a fired one is past due), filings without one last."""
    if sort is not FilingSort.NEXT_DEADLINE:
        key = col(getattr(Filing, sort.value))
        return key.desc() if filters.descending else key.asc()
    next_due = (
        select(func.min(col(Deadline.due_at)))
        .where(
            col(Deadline.filing_id) == col(Filing.id),
            col(Deadline.disarmed_at).is_(None),
            or_(
                col(Deadline.status) != DeadlineStatus.FIRED,
                col(Deadline.kind).in_(_FLAGGING_KINDS),
            ),
        )
        .correlate(Filing)
        .scalar_subquery()
    )
    return (next_due.desc() if filters.descending else next_due.asc()).nulls_last()


def listing_order(sort: FilingSort | None, domain: str | None) -> FilingSort:
    """The order of a list nobody chose one for: a domain search's matches alphabetically, so
    the domain typed in full comes first (``site12.cn`` before ``site120.cn``, however new)
    and the page is read in the domain index's own order, at the same cost among a million
    filings as among ten thousand (by id, SQLite sorted every match: 11,000 for ``site12``
    among a million; bench/lists.py); any other list by id, oldest first."""
    return sort or (FilingSort.DOMAIN if domain else FilingSort.ID)


# Chinese names are registered with full-width brackets, 某某科技（北京）有限公司, and typed with
# the keyboard's (北京): a search compares both as typed.
_BRACKETS_AS_TYPED = str.maketrans("（）", "()")


def _entities_named(text: str) -> CompoundSelect[int]:
    """Entities whose name holds ``text``, or whose orders were filed under one that did (a
    change order renames the entity, and its earlier orders keep the name they were filed
    under, by which people still know it); or whose number, or a service's number or domain,
    holds it: a team is asked about 京ICP备… or example.cn as often as by name."""
    term = text.strip().lower().translate(_BRACKETS_AS_TYPED)
    return union(
        select(Filing.entity_id).where(
            _as_typed(col(Filing.applicant_name)).contains(term, autoescape=True)
        ),
        select(Entity.id).where(
            or_(
                _as_typed(col(Entity.name)).contains(term, autoescape=True),
                func.lower(col(Entity.icp_number)).contains(term, autoescape=True),
            )
        ),
        select(Service.entity_id).where(
            or_(
                func.lower(col(Service.domain)).contains(term, autoescape=True),
                func.lower(col(Service.record_number)).contains(term, autoescape=True),
            )
        ),
    )


def _as_typed(name: Mapped[str]) -> ColumnElement[str]:
    return func.replace(func.replace(func.lower(name), "（", "("), "）", ")")


def _prefix_search(session: Session) -> Callable[[Mapped[str | None], str], ColumnElement[bool]]:
    """``column`` starts with ``prefix`` (exactly, case included), put so that the database
    finds the matches in an index: PostgreSQL serves ``LIKE 'p%'`` from a btree that compares
    bytewise (``text_pattern_ops`` for the ICP number, the "C" collation for the domain);
    SQLite's LIKE ignores ASCII case, so it cannot use a (binary) index, but the range of
    strings that begin with ``prefix`` can, and only those strings pass both tests."""

    def starts_with(column: Mapped[str | None], prefix: str) -> ColumnElement[bool]:
        like = column.startswith(prefix, autoescape=True)
        following = _next_code_point(prefix[-1]) if prefix else None
        if following is None or session.get_bind().dialect.name != "sqlite":
            return like
        after = prefix[:-1] + following  # the first string past those starting with prefix
        return and_(like, column >= prefix, column < after)

    return starts_with


def _starting(
    prefix_search: Callable[[Mapped[str | None], str], ColumnElement[bool]],
    column: Mapped[str | None],
    start: str,
) -> ColumnElement[bool]:
    """Domains in ``column`` that start with ``start``: a final dot ends a label (``site1.``),
    or a name pasted in full (``example.cn.``)."""
    found = prefix_search(column, start)
    return or_(found, column == start.removesuffix(".")) if start.endswith(".") else found


def _next_code_point(character: str) -> str | None:
    """The character after ``character`` in UTF-8's order, which SQLite compares by: past
    U+D7FF comes U+E000 (surrogates cannot be stored), past the last code point nothing, and
    such a prefix (no domain or number has one) is searched by LIKE alone."""
    code = ord(character) + 1
    if code > sys.maxunicode:
        return None
    return chr(0xE000 if 0xD800 <= code <= 0xDFFF else code)


def state_counts(session: Session, now: datetime, kind: str | None = None) -> list[StateCount]:
    """Every declared state, in declaration order, with its live count, how many are overdue and
    how many of each kind of order; of one kind only, when ``kind`` is given (a
    cancellation's approval is no site going live)."""
    of_kind = col(Filing.kind) == kind if kind else true()
    by_state_and_kind = (
        select(Filing.state, Filing.kind, func.count())
        .where(of_kind)
        .group_by(col(Filing.state), col(Filing.kind))
    )
    by_kind: dict[str, dict[str, int]] = defaultdict(dict)
    for state, order_kind, count in session.exec(by_state_and_kind):
        by_kind[state][order_kind] = count
    overdue_by_state = (
        select(Filing.state, func.count())
        .where(of_kind, _past_due(OVERDUE_KINDS, now))
        .group_by(col(Filing.state))
    )
    overdue: dict[str, int] = dict(session.exec(overdue_by_state).all())
    return [
        StateCount(
            state=s.name,
            count=sum(by_kind[s.name].values()),
            overdue=overdue.get(s.name, 0),
            by_kind={k.kind: n for k in KINDS if (n := by_kind[s.name].get(k.kind))},
        )
        for s in STATES
    ]


def flagged_by_kind(session: Session, now: datetime) -> dict[Flag, dict[str, int]]:
    """Each flag with every kind of deadline that raises it and how many filings it holds up
    now: the SLA's health at a glance (a breach of MIIT's review or of the host's pre-review
    limit is overdue, a filing idle in its state past its threshold stuck), one flag never
    counted as the other."""
    kinds = [kind for flag in Flag for kind in flag.kinds]
    passed = dict(
        session.exec(
            select(Deadline.kind, func.count(func.distinct(Deadline.filing_id)))
            .where(
                col(Deadline.disarmed_at).is_(None),
                col(Deadline.kind).in_(kinds),
                col(Deadline.due_at) <= now,
            )
            .group_by(col(Deadline.kind))
        ).all()
    )
    return {flag: {kind: passed.get(kind, 0) for kind in flag.kinds} for flag in Flag}


def overdue_page(
    session: Session,
    now: datetime,
    *,
    within: timedelta = timedelta(0),
    kind: str | None = None,
    state: State | None = None,
    province: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> OverduePage:
    """One row per filing with an open overdue-kind deadline due by ``now + within``, the one
    late the longest (or due the soonest) first; reminders never count. ``within`` 0 lists only
    the late ones. A row shows the deadline ``shown_deadline`` picks."""
    if kind is not None and kind not in OVERDUE_KINDS:
        raise ValidationError(
            f"{kind!r} is not a kind of deadline that makes a filing overdue",
            [
                Reason(
                    "unknown_deadline_kind",
                    f"one of {', '.join(OVERDUE_KINDS)}",
                    field="kind",
                    details={"value": kind},
                )
            ],
        )
    kinds = [k for k in OVERDUE_KINDS if kind in (None, k)]
    horizon = now + within
    due = col(Deadline.due_at)
    worst = (
        select(col(Deadline.filing_id).label("filing_id"), func.min(due).label("first_due"))
        .where(
            col(Deadline.disarmed_at).is_(None),
            col(Deadline.kind).in_(kinds),
            col(Deadline.due_at) <= horizon,
        )
        .group_by(col(Deadline.filing_id))
        .subquery()
    )
    conditions: list[ColumnElement[bool]] = []
    if state:
        conditions.append(col(Filing.state) == state)
    if province:
        conditions.append(
            col(Filing.province) == province_named(province, rules_for(get_settings()))
        )
    joined = select(Filing).join(worst, worst.c.filing_id == col(Filing.id)).where(*conditions)
    total = session.exec(select(func.count()).select_from(joined.subquery())).one()
    page = session.exec(
        joined.order_by(worst.c.first_due, col(Filing.id)).limit(limit).offset(offset)
    ).all()
    described = describe_many(session, page, now)
    items = [
        OverdueItem(filing=shown, deadline=deadline)
        for shown in described
        if (deadline := shown_deadline(shown, kinds, horizon)) is not None
    ]
    return OverduePage(items=items, total=int(total), limit=limit, offset=offset)


def shown_deadline(filing: FilingOut, kinds: Collection[str], by: datetime) -> DeadlineOut | None:
    """The deadline of ``kinds`` a late or flagged list shows ``filing`` by: the latest already
    past, so an escalation (the SLA's breach after the bureau's legal limit) is never hidden
    behind what it escalates; with none past yet, the next to fall due. None if that falls due
    after ``by`` (the list's horizon, ``now`` for those late now) or there is none: an event
    committed between the list's read of its rows and of their deadlines moved it on, and its
    row is left out rather than listed for a deadline it no longer has, or failing the list."""
    of_kinds = [d for d in filing.deadlines if d.kind in kinds]  # in due order
    past = [d for d in of_kinds if d.flag is not None]
    shown = max(past, key=lambda d: d.due_at) if past else next(iter(of_kinds), None)
    return shown if shown is not None and shown.due_at <= by else None


def meaning_among(deadline: DeadlineOut, listed: Collection[DeadlineOut]) -> tuple[str, str]:
    """What ``deadline`` means in a table of ``listed``, in English and Chinese. A reminder's
    description is whole, as its notice stands alone, so it says again what the deadline it
    reminds of means; in a table where that deadline has its own row, the reminder is named as
    its reminder instead, and the meaning is said once. One wording for the CLI and the pages."""
    reminds_of = DEADLINES_BY_KIND[deadline.kind].reminds_of
    if reminds_of is None or all(d.kind != reminds_of for d in listed):
        return deadline.description, deadline.description_zh
    zh = DEADLINES_BY_KIND[reminds_of].label_zh
    return f"Reminder of {in_words(reminds_of)}.", f"{zh}的提醒。"


@dataclass(frozen=True)
class Standing:
    """How a filing stands against its deadlines, as the top of its page says it at once:
    for each flag it has (stuck, overdue), the deadline that raised it, as the ops lists
    (``shown_deadline``) show it; and the nearest deadline still ahead that means something
    when it passes (a reminder, which is only sent, is not one)."""

    passed: tuple[DeadlineOut, ...]
    ahead: DeadlineOut | None


def standing(filing: FilingOut, now: datetime) -> Standing:
    """Whether ``filing`` is stuck or overdue and since when, and what falls due next."""
    passed = tuple(
        deadline
        for flag in Flag
        if (deadline := shown_deadline(filing, flag.kinds, now)) is not None
        and deadline.flag is flag
    )
    ahead = next(
        (d for d in filing.deadlines if d.due_at > now and d.kind not in REMINDER_KINDS), None
    )
    return Standing(passed, ahead)


def flagged_page(
    session: Session,
    now: datetime,
    flag: Flag,
    filters: FilingFilters = NO_FILTERS,
    *,
    limit: int = 50,
    offset: int = 0,
) -> FlaggedPage:
    """The filings ``filing_page`` finds ``flag``-ged (whatever ``filters`` say of the flag),
    each with the deadline that puts it there, picked as the overdue list picks it: why it is
    listed and since when, the same in the API's, the CLI's and the console's ops lists."""
    forced = filters.model_copy(update={flag.value: True})
    page = filing_page(session, now, forced, limit=limit, offset=offset)
    return FlaggedPage(
        items=[
            FlaggedFilingOut(**dict(f), listed_for=deadline)
            for f in page.items
            if (deadline := shown_deadline(f, flag.kinds, now)) is not None
        ],
        total=page.total,
        total_is_exact=page.total_is_exact,
        limit=limit,
        offset=offset,
    )


def failed_jobs(
    session: Session,
    *,
    filing_id: int | None = None,
    job: Job | None = None,
    to: str | None = None,
    include_retried: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> FailedJobPage:
    """Jobs that failed for good and (unless ``include_retried``) were not retried yet, of one
    filing, one kind of job, or deliveries to a recipient whose address holds ``to`` (case
    aside) if given, newest first, with the total."""
    conditions: list[ColumnElement[bool]] = []
    if not include_retried:
        conditions.append(col(FailedJob.retried_at).is_(None))
    if filing_id is not None:
        conditions.append(col(Notification.filing_id) == filing_id)
    if job is not None:
        conditions.append(col(FailedJob.job) == job)
    if to is not None:
        recipient = func.lower(col(Notification.recipient))
        conditions.append(recipient.contains(to.lower(), autoescape=True))
    joined = select(FailedJob, Notification).outerjoin(
        Notification, col(Notification.id) == col(FailedJob.notification_id)
    )
    total = session.exec(select(func.count()).select_from(joined.where(*conditions).subquery()))
    rows = session.exec(
        joined.where(*conditions).order_by(col(FailedJob.id).desc()).limit(limit).offset(offset)
    ).all()
    return FailedJobPage(
        items=[failed_job_out(job, notification) for job, notification in rows],
        total=int(total.one()),
        limit=limit,
        offset=offset,
    )


def failed_job_out(job: FailedJob, notification: Notification | None) -> FailedJobOut:
    assert job.id is not None
    return FailedJobOut(
        id=job.id,
        job=job.job,
        filing_id=notification.filing_id if notification else None,
        notification_id=job.notification_id,
        payload=job.payload,
        kind=notification.kind if notification else None,
        channel=Channel(notification.channel) if notification else None,
        recipient=notification.recipient if notification else None,
        attempts=job.attempts,
        error=job.error,
        failed_at=job.failed_at,
        retried_at=job.retried_at,
    )


def retrying_deliveries(
    session: Session, *, filing_id: int | None = None, limit: int = 50, offset: int = 0
) -> RetryingDeliveryPage:
    """Notifications pending after a failed attempt of their run (``failing_since``), of
    one filing if given, waiting longest first, with the total: deliveries failing now, which
    become failed jobs only once their retries run out."""
    retrying = select(Notification).where(
        col(Notification.status) == NotificationStatus.PENDING,
        col(Notification.failing_since).is_not(None),
        *([col(Notification.filing_id) == filing_id] if filing_id is not None else []),
    )
    total = session.exec(select(func.count()).select_from(retrying.subquery())).one()
    rows = session.exec(
        retrying.order_by(col(Notification.queued_at), col(Notification.id))
        .limit(limit)
        .offset(offset)
    )
    return RetryingDeliveryPage(
        items=[_retrying_out(n) for n in rows], total=int(total), limit=limit, offset=offset
    )


def filing_domains(session: Session, filing_ids: Collection[int]) -> dict[int, str]:
    """Each filing's domain, for lists that name filings by more than their number (ops
    retrying a job on #27 want to know which site it is without opening it)."""
    rows = session.exec(
        select(Filing.id, Filing.domain).where(col(Filing.id).in_(filing_ids))
    ).all()
    return {filing_id: domain for filing_id, domain in rows if filing_id is not None}


def entity_names(session: Session, filings: Collection[FilingOut]) -> dict[int, str]:
    """The current name of each listed filing's entity, by the filing's id (a change order
    may have renamed it since the filing copied it, ``applicant.name``), in one query. A
    filing purged of personal data is left out: its list row names no one, as its page does,
    even beside an order of the same entity whose row names it."""
    kept = [f for f in filings if f.personal_data_purged_at is None]
    if not kept:
        return {}
    ids = {f.entity_id for f in kept}
    rows = session.exec(select(Entity.id, Entity.name).where(col(Entity.id).in_(ids))).all()
    named = {entity_id: name for entity_id, name in rows if entity_id is not None}
    return {f.id: named[f.entity_id] for f in kept if f.entity_id in named}


def filing_named(filing: FilingOut, services: Mapping[int, str]) -> str:
    """What a filing is called in lists and titles: its service as ``services`` names it (as
    lists of duties do, ``obligations.services_named``: a website by its domain, an app by its
    identifier, as several apps may share a domain), or for an order on the entity alone (no
    service, no domain) the entity and its number."""
    if filing.service_id is not None and filing.service_id in services:
        return services[filing.service_id]
    return filing.domain or f"{filing.applicant.name} {filing.icp_number or ''}".strip()


def filings_named(session: Session, filings: Collection[FilingOut]) -> dict[int, str]:
    """What each listed filing is called (``filing_named``), by its id, its services named in
    one query: the CLI's lists name a row as the console's do, never by a blank domain."""
    services = services_named(session, {f.service_id for f in filings if f.service_id})
    return {f.id: filing_named(f, services) for f in filings}


def _retrying_out(notification: Notification) -> RetryingDeliveryOut:
    assert notification.id is not None and notification.last_error is not None
    return RetryingDeliveryOut(
        notification_id=notification.id,
        filing_id=notification.filing_id,
        kind=notification.kind,
        channel=Channel(notification.channel),
        recipient=notification.recipient,
        attempts=notification.attempts,
        last_error=notification.last_error,
        waiting_since=notification.queued_at,
        **dict(delivery_run(notification)),
    )


def delivery_run(notification: Notification) -> DeliveryRunOut:
    """The notification's run as every answer shows it; the attempts a run gets are the
    install's now (``DELIVERY_MAX_RETRIES`` + 1), which the row does not keep."""
    return DeliveryRunOut(
        run_attempts=notification.run_attempts,
        max_attempts=get_settings().delivery_attempts,
        failing_since=notification.failing_since,
        next_attempt_at=notification.next_attempt_at,
    )


def get_filing(session: Session, filing_id: int, *, lock: bool = False) -> Filing:
    """The filing, ``lock``-ed for this transaction's update if asked (PostgreSQL; a SQLite
    transaction holds the write lock already)."""
    filing = session.get(Filing, filing_id, with_for_update=lock)
    if filing is None:
        raise FilingNotFound(f"filing {filing_id} does not exist")
    return filing


def filing(session: Session, filing_id: int, now: datetime) -> FilingOut:
    """One filing with its allowed events and open deadlines; ``FilingNotFound`` if none."""
    return describe(session, get_filing(session, filing_id), now)


def filing_detail(session: Session, filing_id: int, now: datetime) -> FilingDetailOut:
    """One filing as ``GET /filings/{id}`` and ``filings show --json`` give it: with why it
    was sent back, read as the console's /mine reads it (``returns``), which lists leave out
    (a query more for every page)."""
    view = filing(session, filing_id, now)
    return FilingDetailOut(**dict(view), sent_back=returns(session, [view]).get(view.id))


def assignments(session: Session, filing_id: int) -> list[AssignmentOut]:
    """Who gave an existing filing to whom, and when, oldest first."""
    get_filing(session, filing_id)
    rows = session.exec(
        select(Assignment).where(Assignment.filing_id == filing_id).order_by(col(Assignment.id))
    )
    return [AssignmentOut.model_validate(row) for row in rows]


def history(session: Session, filing_id: int) -> list[HistoryOut]:
    """Every applied event of an existing filing, oldest first, with the applicant's identity
    and phone numbers masked wherever a reason or the event's data quotes them."""
    secrets = _secrets(get_filing(session, filing_id))
    rows = session.exec(
        select(HistoryEntry)
        .where(HistoryEntry.filing_id == filing_id)
        .order_by(col(HistoryEntry.version))
    )
    shown = []
    for row in rows:
        entry = HistoryOut.model_validate(row)
        entry.reason = mask_text(entry.reason, secrets) if entry.reason else entry.reason
        entry.data = {key: _masked(value, secrets) for key, value in entry.data.items()}
        shown.append(entry)
    return shown


def _secrets(filing: Filing) -> tuple[str, str]:
    return filing.applicant_id_number, filing.applicant_phone


def _masked(value: Any, secrets: Sequence[str]) -> Any:
    return mask_text(value, secrets) if isinstance(value, str) else value


def notifications(session: Session, filing_id: int) -> list[NotificationOut]:
    """What an existing filing owed whom, with each delivery's run, oldest first."""
    get_filing(session, filing_id)
    rows = session.exec(
        select(Notification)
        .where(Notification.filing_id == filing_id)
        .order_by(col(Notification.id))
    )
    return [
        NotificationOut.model_validate(
            {name: getattr(row, name) for name in _NOTIFICATION_COLUMNS} | dict(delivery_run(row))
        )
        for row in rows
    ]


# What a filing's notification shows of its row as stored; the run's fields are derived.
# (Read field by field: the row's status is the text stored, which ``model_dump`` warns of.)
_NOTIFICATION_COLUMNS = NotificationOut.model_fields.keys() - DeliveryRunOut.model_fields.keys()


@dataclass(frozen=True)
class SentBack:
    """The event that sent a filing back where it stands, and why: its reason, or for one
    that has none (the SMS window passing) what the event means."""

    entry: HistoryOut
    why: str

    @property
    def at(self) -> datetime:
        """When it happened: a window closed while the scheduler was away closed when it fell
        due, not when the sweep got to it (``entered_at``)."""
        return entered_at(self.entry.event, self.entry.data, self.entry.at)


def returns(session: Session, filings: Collection[FilingOut]) -> dict[int, SentBackOut]:
    """Why each of a page's filings sent back (host returned, rejected) was: its latest
    history entry, the one that put it there, for all of them in one query by their ids and
    versions (the history's unique index)."""
    ids = {f.id for f in filings if f.state in SENT_BACK}
    if not ids:
        return {}
    rows = session.exec(
        select(HistoryEntry, Filing.applicant_id_number, Filing.applicant_phone)
        .join(
            Filing,
            and_(
                col(HistoryEntry.filing_id) == col(Filing.id),
                col(HistoryEntry.version) == col(Filing.version),
            ),
        )
        .where(col(Filing.id).in_(ids))
    ).all()
    return {
        entry.filing_id: SentBackOut(
            event=entry.event,
            reason=mask_text(entry.reason, (id_number, phone)) if entry.reason else None,
        )
        for entry, id_number, phone in rows
    }


@dataclass(frozen=True)
class Timeline:
    """A filing's page: the filing (masked), its history, its notifications, how long it spent
    in each state and, while a return or refusal is still owed an answer, why it was sent
    back."""

    filing: FilingOut
    history: list[HistoryOut]
    notifications: list[NotificationOut]
    time_in_states: list[tuple[str, timedelta]]
    sent_back: SentBack | None
    assignments: list[AssignmentOut]


def timeline(session: Session, filing_id: int, now: datetime) -> Timeline:
    entries = history(session, filing_id)
    return Timeline(
        filing(session, filing_id, now),
        entries,
        notifications(session, filing_id),
        time_in_states(entries, now),
        _sent_back(session, filing_id, entries),
        assignments(session, filing_id),
    )


def _sent_back(session: Session, filing_id: int, entries: Sequence[HistoryOut]) -> SentBack | None:
    """Only the answer still owed: the latest return or refusal no (re)submission followed.
    Lapsing, or binding a new server's number after it, answers nothing: the order resumes
    by submitting again. A filing ended (withdrawn, approved) owes none."""
    if not entries or entries[-1].to_state in TERMINAL_STATES:
        return None
    for entry in reversed(entries):
        if entry.to_state == State.SUBMITTED:  # a (re)submission answered it
            return None
        if entry.to_state in SENT_BACK:
            spec = EVENTS_BY_NAME.get(entry.event)
            told = _meant(session, filing_id, entry, spec) if spec else entry.event
            return SentBack(entry, entry.reason or told)
    return None


def _meant(session: Session, filing_id: int, entry: HistoryOut, spec: EventSpec) -> str:
    """What an event without a reason meant, its figures as the deadline firing it was armed
    with (the window it closed was 24 h, whatever SMS_WINDOW_HOURS says since)."""
    kinds = [d.kind for d in DEADLINES if d.event == spec.name]
    if not kinds:
        return worded(spec.description, get_settings())
    fired = session.exec(
        select(Deadline.kind, Deadline.figure).where(
            Deadline.filing_id == filing_id,
            col(Deadline.kind).in_(kinds),
            Deadline.fired_at == entry.at,
        )
    ).all()
    settings = get_settings()
    return worded(spec.description, settings, armed_figures(fired, settings))


def time_in_states(entries: Sequence[HistoryOut], now: datetime) -> list[tuple[str, timedelta]]:
    """Total time spent in each state visited, in order of first visit; the current state
    counts up to ``now`` (a terminal one too: it says how long ago the filing ended)."""
    spent: dict[str, timedelta] = {}
    entered = entry_times([entered_at(e.event, e.data, e.at) for e in entries])
    for entry, start, until in zip(entries, entered, [*entered[1:], now], strict=True):
        spent[entry.to_state] = spent.get(entry.to_state, timedelta(0)) + (until - start)
    return list(spent.items())


def entry_times(happened: Sequence[datetime]) -> list[datetime]:
    """When each of an order's successive history rows' states began, from when the rows say
    they happened (``entered_at``, in the rows' order): a state lasts until the next begins.

    A row may say it happened before rows recorded ahead of it: an SMS sent before the host's
    approval was recorded, a window closed before the resubmission that caught it up. The
    late row's time is the one known; the rows before it were in truth done by then, so
    each of those states ends there, however short that leaves it (nothing for one recorded
    after it), never the late state pushed back to when they were recorded: that would
    count the SMS window from the wrong time and lengthen the state before. No time is
    before the first row's (the order opened): no state lasts less than nothing, and none
    more than the order has existed.
    """
    if not happened:
        return []
    opened = happened[0]
    later_first = accumulate((max(at, opened) for at in reversed(happened)), min)
    return list(reversed(list(later_first)))


def entered_at(event: str, data: Mapping[str, Any], recorded: datetime) -> datetime:
    """When a history row's state was entered: when its event was ``recorded``, or the earlier
    time its data says it happened (an SMS recorded late, ``EventData.starts_clocks``). A value
    that is no time (history edited by hand) counts as not given."""
    spec = EVENTS_BY_NAME.get(event)
    key = spec.data.starts_clocks if spec else None
    given = data.get(key) if key else None
    try:
        return as_utc(datetime.fromisoformat(given)) if isinstance(given, str) else recorded
    except ValueError:
        return recorded


def _platforms_out(held: dict[str, dict[str, str]] | None) -> dict[str, AppPlatformOut] | None:
    if held is None:
        return None
    return {platform: AppPlatformOut.model_validate(said) for platform, said in held.items()}


def _service_out(service: Service) -> ServiceOut:
    assert service.id is not None
    mobile, number = service.responsible_mobile, service.responsible_id_number
    return ServiceOut(
        id=service.id,
        entity_id=service.entity_id,
        kind=ServiceKind(service.kind),
        name=service.name,
        domain=service.domain,
        app_identifier=service.app_identifier,
        app_platforms=_platforms_out(service.app_platforms),
        responsible_name=service.responsible_name,
        responsible_mobile=mask_phone(mobile) if mobile else mobile,
        responsible_email=service.responsible_email,
        responsible_id_type=service.responsible_id_type,
        responsible_id_number=mask_id_number(number) if number else number,
        service_number=service.service_number,
        record_number=service.record_number,
        status=ServiceStatus(service.status),
    )


def _entities_out(session: Session, entities: Sequence[Entity]) -> list[EntityOut]:
    """Entities with their services and order in flight: two queries for the whole page. The
    order in flight is the identity's, as one-in-flight counts it: today's filing bodies each
    open an entity row, and rows of one identity number are one entity."""
    ids = [e.id for e in entities]
    services: dict[int, list[Service]] = defaultdict(list)
    open_orders: dict[str, tuple[int, int]] = {}  # identity: (order, its entity row)
    if ids:
        for row in session.exec(
            select(Service).where(col(Service.entity_id).in_(ids)).order_by(col(Service.id))
        ):
            services[row.entity_id].append(row)
        identities = {e.id_number_hash for e in entities}
        for identity, order_id, entity_id in session.exec(
            select(Entity.id_number_hash, Filing.id, Filing.entity_id)
            .join(Entity, col(Entity.id) == col(Filing.entity_id))
            .where(
                col(Entity.id_number_hash).in_(identities),
                col(Filing.state).not_in(list(TERMINAL_STATES)),
            )
            .order_by(col(Filing.id))
        ):
            open_orders.setdefault(identity, (order_id or 0, entity_id))
    return [
        _entity_out(e, services[e.id or 0], open_orders.get(e.id_number_hash)) for e in entities
    ]


def _entity_out(
    entity: Entity, services: Sequence[Service], open_order: tuple[int, int] | None
) -> EntityOut:
    assert entity.id is not None
    order_id, order_entity_id = open_order or (None, None)
    number = entity.responsible_id_number
    return EntityOut(
        id=entity.id,
        type=ApplicantKind(entity.type),
        name=entity.name,
        id_type=entity.id_type,
        id_number=mask_id_number(entity.id_number),
        province=entity.province,
        responsible_name=entity.responsible_name,
        responsible_mobile=mask_phone(entity.responsible_mobile),
        responsible_id_type=entity.responsible_id_type,
        responsible_id_number=mask_id_number(number) if number else number,
        responsible_is_legal_rep=entity.responsible_is_legal_rep,
        icp_number=entity.icp_number,
        status=EntityStatus(entity.status),
        open_order_id=order_id,
        open_order_entity_id=order_entity_id,
        services=[_service_out(s) for s in services],
    )


def entity(session: Session, entity_id: int) -> EntityOut:
    """One entity with its services and its order in flight; ``NotFound`` if none."""
    found = session.get(Entity, entity_id)
    if found is None:
        raise NotFound(f"entity {entity_id} does not exist")
    [shown] = _entities_out(session, [found])
    return shown


def entity_page(
    session: Session, *, name: str | None = None, limit: int = 50, offset: int = 0
) -> EntityPage:
    """A page of entities (masked, as lists are), by a fragment of their name, now or when
    one of their orders was filed."""
    conditions = [col(Entity.id).in_(_entities_named(name))] if name else []
    total = session.exec(select(func.count()).select_from(Entity).where(*conditions)).one()
    rows = session.exec(
        select(Entity).where(*conditions).order_by(col(Entity.id)).limit(limit).offset(offset)
    ).all()
    items = _entities_out(session, rows)
    return EntityPage(items=items, total=int(total), limit=limit, offset=offset)


def services(session: Session, entity_id: int) -> list[ServiceOut]:
    return entity(session, entity_id).services


def verifiers(session: Session, filing_id: int) -> list[VerifierOut]:
    """Who must answer the order's SMS, and how far each got in the order's current round:
    the API, the CLI and the filing's page all read this. A (re)submission starts a round,
    whose SMS comes anew with a 24 h window of its own; the rows keep the last round's
    results until that SMS (``workflow.verifiers``). So one (re)submitted since MIIT's last
    SMS shows each as a round starts, its SMS not sent and no wrong code, not failed (a
    window that expired) or verified (before the bureau rejected it) in a round that ended;
    that round's results stay in the history."""
    get_filing(session, filing_id)
    rows = session.exec(
        select(SmsVerifier).where(SmsVerifier.filing_id == filing_id).order_by(col(SmsVerifier.id))
    )
    stored = [
        VerifierOut.model_validate(r).model_copy(update={"mobile": mask_phone(r.mobile)})
        for r in rows
    ]
    if _sms_sent_this_round(session, filing_id):
        return stored
    new_round = {"window_started_at": None, "result": VerifierResult.PENDING, "wrong_entries": 0}
    return [v.model_copy(update=new_round) for v in stored]


def _sms_sent_this_round(session: Session, filing_id: int) -> bool:
    """Whether MIIT's SMS came since the order was last (re)submitted, which starts a round:
    its latest history row of the two, by the history's unique index."""
    latest = session.exec(
        select(HistoryEntry.to_state)
        .where(
            HistoryEntry.filing_id == filing_id,
            col(HistoryEntry.to_state).in_([State.SMS_PENDING, State.SUBMITTED]),
        )
        .order_by(col(HistoryEntry.version).desc())
        .limit(1)
    ).first()
    return latest == State.SMS_PENDING
