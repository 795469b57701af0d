"""The filings held up: stuck or overdue, and why, for the ops lists, the pipeline and metrics.

The flags are the list filters of ``search`` (``past_due``); these say which deadline put a
filing on a list and since when, one rule for the API, the CLI and the console.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, true
from sqlmodel import Session, col, select

from config.settings import Settings
from models import Deadline, Filing
from workflow.domain.definition import (
    DEADLINES_BY_KIND,
    OVERDUE_KINDS,
    REMINDER_KINDS,
    STATES,
    Flag,
    State,
)
from workflow.domain.errors import Reason, ValidationError
from workflow.domain.guards import province_named
from workflow.domain.orders import KINDS
from workflow.domain.rules import rules_for
from workflow.schemas import (
    DeadlineOut,
    FilingOut,
    FlaggedFilingOut,
    FlaggedPage,
    OverdueItem,
    OverduePage,
    StateCount,
)
from workflow.views.describing import describe_many
from workflow.views.search import NO_FILTERS, FilingFilters, filing_page, past_due


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
        .where(of_kind, past_due(OVERDUE_KINDS, now))
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
    settings: Settings,
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
        conditions.append(col(Filing.province) == province_named(province, rules_for(settings)))
    joined = select(Filing).join(worst, worst.c.filing_id == col(Filing.id)).where(*conditions)
    total = session.exec(select(func.count()).select_from(joined.subquery())).one()
    page = session.exec(
        joined.order_by(worst.c.first_due, col(Filing.id)).limit(limit).offset(offset)
    ).all()
    described = describe_many(session, page, now, settings)
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
    its reminder instead, and the meaning is said once. An escalation ahead of that deadline
    (one whose passing flags the filing, told to ops) is no reminder and is named as what it
    is. One wording for the CLI and the pages."""
    spec = DEADLINES_BY_KIND[deadline.kind]
    if spec.reminds_of is None or all(d.kind != spec.reminds_of for d in listed):
        return deadline.description, deadline.description_zh
    ahead_of = DEADLINES_BY_KIND[spec.reminds_of]
    if spec.flag is None:  # only sent
        return f"Reminder of {ahead_of.words}.", f"{ahead_of.label_zh}的提醒。"
    team, team_zh = spec.audience.said
    return (
        f"Escalation to {team} ahead of {ahead_of.words}.",
        f"{ahead_of.label_zh}前升级至{team_zh}。",
    )


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
    settings: Settings,
    limit: int = 50,
    offset: int = 0,
) -> FlaggedPage:
    """The filings ``filing_page`` finds ``flag``-ged (whatever ``filters`` say of the flag),
    each with the deadline that puts it there, picked as the overdue list picks it: why it is
    listed and since when, the same in the API's, the CLI's and the console's ops lists."""
    forced = filters.model_copy(update={flag.value: True})
    page = filing_page(session, now, forced, settings=settings, limit=limit, offset=offset)
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
