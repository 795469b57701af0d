"""Lists of filings: their filters, their order, the searches behind them, and their names.

The API's lists, ``icpflow filings list|ops`` and the console's lists and search all come
down to ``filing_page``, at the same cost among a million filings as among ten thousand.

"Stuck" and "overdue" are not stored flags: a filing is overdue while one of its open
deadlines (those of its current state) of an overdue kind is past due, and stuck likewise
for the stuck deadline. Both filters are EXISTS subqueries on the deadlines index
(``past_due``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
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
    union,
)
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from config.domains import domain_starts
from config.settings import Settings
from models import Deadline, DeadlineStatus, Entity, Filing, Service
from workflow.domain.definition import OVERDUE_KINDS, STUCK_KINDS, State
from workflow.domain.event_data import STRICT
from workflow.domain.guards import province_named
from workflow.domain.orders import OrderKind
from workflow.domain.rules import rules_for
from workflow.obligations.reading import services_named
from workflow.schemas import FilingOut, FilingPage, FilingSort
from workflow.views.describing import describe_many

# A list counts its matches up to this many, then says "more": counting every match is as slow
# as they are many (a state's filings among a million), whatever the page shows.
COUNTED_UP_TO = 1_000


def past_due(kinds: Sequence[str], now: datetime) -> Exists:
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
    settings: Settings,
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
    rules = rules_for(settings)
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
        conditions.append(col(Filing.entity_id).in_(entities_named(applicant)))
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
            test = past_due(kinds, now)
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
    items = describe_many(session, page, now, settings)
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


def entities_named(text: str) -> CompoundSelect[int]:
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
