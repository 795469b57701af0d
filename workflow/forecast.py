"""When will it be approved? Review times observed per province, order kind and stage, and each
open order's predicted approval date from them.

Everything is read from the audit trail of orders that reached ``approved``: each history row
says which state an order entered and when, so an order's stay in a stage and its time from a
stage to approval are differences of those times, counted in Chinese working days.

Orders of different kinds are never pooled: the bureau clears a cancellation in 1-5 working days
and takes up to 20 over a first filing (docs/domain-facts.md, "Order kinds"), so a median of both fits
neither. A kind with fewer than ``forecast_min_observations`` orders through a stage in the
province gets the statutory 20 working days instead (Decree 33, Art. 12), and says so: a
forecast from three orders is a guess, and borrowing other kinds' orders would bring the mix back.
That limit is the bureau's, running once it has the order (the states ``miit_legal_limit`` is
armed in): an order before that with too few has no forecast, and is told why.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Session, col

from config.clock import CHINA, as_utc, due_day, get_clock
from config.settings import Settings
from models import Filing, HistoryEntry
from workflow.deadlines import calendar_for, due_time, figures, open_deadlines
from workflow.domain.calendar import WorkingCalendar
from workflow.domain.definition import (
    DEADLINES_BY_KIND,
    EVENTS,
    STATES,
    STATES_BY_NAME,
    TERMINAL_STATES,
    State,
)
from workflow.domain.errors import GuardFailed, Reason
from workflow.domain.orders import OrderKind, kind_spec
from workflow.domain.rules import rules_for
from workflow.domain.wording import counted
from workflow.views.describing import get_filing
from workflow.views.history import entered_at, entry_times


class Basis(StrEnum):
    HISTORY = "history"  # enough completed orders of this kind and province through this stage
    STATUTORY = "statutory"  # too few of this kind, with the bureau: its legal limit


class ForecastOut(BaseModel):
    """An open order's predicted approval: median and 90th percentile, and whether it comes
    within the bureau's legal limit (the ``miit_legal_limit`` deadline; not the SLA, the later
    ``miit_sla_breach`` escalated to ops, which the filing's deadlines show).

    ``observations`` counts completed orders of the same ``kind``, province and stage: the
    history the forecast was drawn from, or found too short for (``basis`` statutory). An
    order already past a predicted date is predicted today (the next working day) at the
    earliest: it has not been approved yet, and one past the legal limit's last day will be
    approved after it.
    """

    filing_id: int
    province: str
    kind: OrderKind
    stage: State
    stage_entered_at: datetime
    basis: Basis
    observations: int
    min_observations: int
    median_working_days: int
    p90_working_days: int
    median_date: date
    p90_date: date
    past_median: bool = Field(
        description="the median's working days from entering the stage have run out: the "
        "median date is today or the next working day, the soonest the order can be approved"
    )
    past_p90: bool = Field(description="the same of the 90th percentile's working days")
    legal_limit_date: date | None = Field(
        description="the last day of the bureau's legal limit (the miit_legal_limit deadline), "
        "for an order in its review (miit_pending); null before it reaches the bureau, where "
        "no such limit runs"
    )
    will_exceed_legal_limit: bool = Field(
        description="the 90th percentile falls after the legal limit's last day (or that day "
        "has passed already)"
    )
    legal_limit_ended: bool = Field(
        description="the legal limit's last day is behind today: the bureau is past it already"
    )
    estimated: bool = Field(
        description="a date shown (the median's, the 90th percentile's, the soonest day shown "
        "for one run out, the legal limit's) falls in a year whose official holiday schedule is "
        "not known: counted by the rules, it may move once ops load the schedule"
    )


class DurationRow(BaseModel):
    """How long orders of one kind in one province stayed in one stage, in working days:
    ``count`` orders, each counted once with its whole time in the stage however often it
    came back to it."""

    province: str
    kind: OrderKind
    stage: State
    count: int
    median_working_days: float
    p90_working_days: float


@dataclass(frozen=True)
class _Visit:
    """One completed order's stay in a stage: its length, and its time from there to approval."""

    filing_id: int
    province: str
    kind: str
    stage: str
    stay: int
    to_approval: int


def working_days_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> int:
    """Working days after ``start``'s Beijing date up to and including ``end``'s."""
    first = as_utc(start).astimezone(CHINA).date()
    last = as_utc(end).astimezone(CHINA).date()
    days = (first + timedelta(n) for n in range(1, (last - first).days + 1))
    return sum(1 for day in days if calendar.is_working_day(day))


def p90(values: Sequence[float]) -> float:
    if len(values) < 2:
        return float(values[0])
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


_SAY_WHEN = [spec.name for spec in EVENTS if spec.data.starts_clocks]
# The bureau's legal limit (Decree 33, Art. 12), declared once with the states it runs in.
LEGAL_LIMIT = DEADLINES_BY_KIND["miit_legal_limit"]


def _visits(
    session: Session, settings: Settings, province: str | None = None, kind: str | None = None
) -> list[_Visit]:
    """Every stage visit of every approved order (of ``province`` and ``kind``, when given)."""
    approved = [col(Filing.state) == State.APPROVED]
    if province is not None:
        approved.append(col(Filing.province) == province)
    if kind is not None:
        approved.append(col(Filing.kind) == kind)
    history = (
        sa.select(
            col(HistoryEntry.filing_id),
            col(HistoryEntry.to_state),
            col(HistoryEntry.event),
            # Only an event that can say when it happened needs its data read.
            sa.case((col(HistoryEntry.event).in_(_SAY_WHEN), col(HistoryEntry.data))),
            col(HistoryEntry.at),
            col(Filing.province),
            col(Filing.kind),
        )
        .join(Filing, col(Filing.id) == col(HistoryEntry.filing_id))
        .where(*approved)
        .order_by(col(HistoryEntry.filing_id), col(HistoryEntry.version))
    )
    timelines: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    where_and_what: dict[int, tuple[str, str]] = {}
    for filing_id, state, event, data, at, where, what in session.execute(history):
        timelines[filing_id].append((state, entered_at(event, data or {}, as_utc(at))))
        where_and_what[filing_id] = (where, what)
    calendar = calendar_for(settings)
    return [
        visit
        for filing_id, steps in timelines.items()
        for visit in _order_visits(calendar, filing_id, *where_and_what[filing_id], steps)
    ]


def _order_visits(
    calendar: WorkingCalendar,
    filing_id: int,
    province: str,
    kind: str,
    steps: Sequence[tuple[str, datetime]],
) -> Iterable[_Visit]:
    """Its stays: a row that keeps the state (one SMS answer of several) continues one. A
    state is entered when its event says it happened (an SMS recorded late), and the states
    recorded before it end then (``entry_times``), as the filing page counts them."""
    starts = entry_times([at for _, at in steps])
    steps = list(zip((state for state, _ in steps), starts, strict=True))
    approved_at = steps[-1][1]
    entries = [steps[0], *(step for before, step in pairwise(steps) if step[0] != before[0])]
    for (stage, entered), (_, left) in pairwise(entries):
        if stage in TERMINAL_STATES:
            continue
        yield _Visit(
            filing_id,
            province,
            kind,
            stage,
            working_days_between(calendar, entered, left),
            working_days_between(calendar, entered, approved_at),
        )


def durations(session: Session, settings: Settings) -> list[DurationRow]:
    """Per province, order kind and stage: how many orders, the median and 90th percentile of
    their time there.

    Rows of a province come in the kinds' order (first filings first), each kind's stages
    together in the order an order goes through them, so a reader compares like with like.
    """
    stays = _time_per_order(_visits(session, settings))
    return [
        DurationRow(
            province=province,
            kind=OrderKind(kind),
            stage=State(stage),
            count=len(values),
            median_working_days=float(statistics.median(values)),
            p90_working_days=p90(values),
        )
        for (province, kind, stage), values in sorted(stays.items(), key=_row_order)
    ]


def _time_per_order(visits: Iterable[_Visit]) -> dict[tuple[str, str, str], list[float]]:
    """Per province, kind and stage, each order's whole time there: an order returned to a
    stage is one order that spent its visits' sum there, not one order per visit (which
    would count it twice and halve its time)."""
    totals: dict[tuple[str, str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for visit in visits:
        totals[(visit.province, visit.kind, visit.stage)][visit.filing_id] += visit.stay
    return {key: [float(days) for days in orders.values()] for key, orders in totals.items()}


_KIND_ORDER = {kind.value: i for i, kind in enumerate(OrderKind)}
_STAGE_ORDER = {spec.name.value: i for i, spec in enumerate(STATES)}


def _row_order(item: tuple[tuple[str, str, str], list[float]]) -> tuple[str, int, int]:
    province, kind, stage = item[0]
    return province, _KIND_ORDER[kind], _STAGE_ORDER[stage]


def no_forecast(state: str, *, purged: bool) -> Reason | None:
    """Why an order in ``state`` has no forecast, or ``None``: it ended; or nothing moves it
    towards approval, a lapsed order waiting to be filed again from its start, a purged one
    able only to be withdrawn."""
    if state in TERMINAL_STATES:
        return Reason("closed", f"the order is {state}: there is nothing to forecast")
    if state == State.LAPSED or purged:
        why = "purged of its data" if purged else "lapsed"
        return Reason("stalled", f"the order is {why}: no approval is in view")
    return None


def forecast(session: Session, filing_id: int, settings: Settings) -> ForecastOut:
    """The order's predicted approval date from the history of its kind, province and stage;
    refused, saying why, for an order that has none (``prediction``)."""
    predicted = prediction(session, filing_id, settings)
    if isinstance(predicted, Reason):
        raise GuardFailed(f"no forecast: {predicted.message}", [predicted])
    return predicted


def prediction(session: Session, filing_id: int, settings: Settings) -> ForecastOut | Reason:
    """The order's forecast, or why it has none: ``no_forecast``'s reasons, or too short a
    history in a stage the statutory basis does not cover (``too_few_orders``)."""
    filing = get_filing(session, filing_id)
    if reason := no_forecast(filing.state, purged=filing.personal_data_purged_at is not None):
        return reason
    observed = _observed(session, filing, settings)
    limit = _legal_limit(session, filing, settings)
    entered = as_utc(filing.state_entered_at)
    calendar = calendar_for(settings)
    if len(observed) >= settings.forecast_min_observations:
        basis = Basis.HISTORY
        median, late = (
            _counted(calendar, entered, math.ceil(days))
            for days in (statistics.median(observed), p90(observed))
        )
    elif limit is not None:  # the statutory basis: the legal limit's own last day
        basis, median, late = Basis.STATUTORY, limit, limit
    else:
        return _too_few(filing, len(observed), settings)
    today = get_clock().now().astimezone(CHINA).date()
    soonest = _first_working_day(calendar, today)
    median_date, p90_date = max(median.day, soonest.day), max(late.day, soonest.day)
    return ForecastOut(
        filing_id=filing_id,
        province=filing.province,
        kind=OrderKind(filing.kind),
        stage=State(filing.state),
        stage_entered_at=entered,
        basis=basis,
        observations=len(observed),
        min_observations=settings.forecast_min_observations,
        median_working_days=median.working_days,
        p90_working_days=late.working_days,
        median_date=median_date,
        p90_date=p90_date,
        past_median=median.day < soonest.day,
        past_p90=late.day < soonest.day,
        legal_limit_date=limit.day if limit else None,
        will_exceed_legal_limit=limit is not None and p90_date > limit.day,
        legal_limit_ended=limit is not None and limit.day < today,
        estimated=_estimated([median, late], soonest, limit),
    )


def _estimated(predicted: list[_Predicted], soonest: _Day, limit: _Predicted | None) -> bool:
    """Whether a date the forecast shows was counted in a year whose official holiday schedule
    is not known: a prediction's own day, or for one run out the soonest day shown instead,
    or the legal limit's (its deadline says so). Any one of them may move once ops load the
    year's schedule."""
    shown = [soonest.estimated if p.day < soonest.day else p.estimated for p in predicted]
    return any(shown) or (limit is not None and limit.estimated)


def _observed(session: Session, filing: Filing, settings: Settings) -> list[float]:
    """Working days to approval from the stage ``filing`` is in, of completed orders of its kind
    and province: one per order, its last stay in the stage, the one approval followed."""
    last_stays = {
        v.filing_id: float(v.to_approval)
        for v in _visits(session, settings, filing.province, filing.kind)
        if v.stage == filing.state
    }
    return list(last_stays.values())


def _too_few(filing: Filing, observations: int, settings: Settings) -> Reason:
    """Too few orders to forecast from, in a stage before the bureau: the statutory basis is
    the bureau's legal limit, which runs only once it has the order (Decree 33, Art. 12), so
    counting it from a draft or the host's review would promise an approval the order cannot
    have by then. Said in English then Chinese, each name as pages give it."""
    wanted = settings.forecast_min_observations
    en, zh = orders_counted(observations, filing.kind, filing.province, settings)
    stage = STATES_BY_NAME[filing.state]
    runs_in = [STATES_BY_NAME[state] for state in LEGAL_LIMIT.states]
    return Reason(
        "too_few_orders",
        f"{en} went through {stage.label}, fewer than {wanted}, and the statutory limit runs "
        f"only in {', '.join(spec.label for spec in runs_in)}. "
        f"经过{stage.label_zh}的{zh}，少于 {wanted} 个；"
        f"法定时限仅在{'、'.join(spec.label_zh for spec in runs_in)}计算。",
        details={"observations": observations, "min_observations": wanted},
    )


def orders_counted(
    observations: int, kind: str, province: str | None, settings: Settings
) -> tuple[str, str]:
    """The completed orders a forecast counts (or found too few), in English and in Chinese,
    the kind and the province named as pages name them: ``5 completed first_filing 首次备案
    orders of 京 北京 Beijing`` and ``北京已完成首次备案订单 5 个``; without ``province``,
    the kind's alone."""
    spec = kind_spec(kind)
    en = counted(observations, f"completed {spec.label} order")
    zh = f"已完成{spec.label_zh}订单 {observations} 个"
    if province is None:
        return en, zh
    named_en, named_zh = rules_for(settings).province_labels(province)
    return f"{en} of {named_en}", f"{named_zh}{zh}"


def basis_worded(predicted: ForecastOut, settings: Settings) -> str:
    """What a forecast is drawn from, as the filing's page and ``icpflow filings forecast``
    say it: the orders it counted, or the statutory limit (citing its source) and the orders
    found too few for history."""
    if predicted.basis is Basis.HISTORY:
        en, zh = orders_counted(
            predicted.observations, predicted.kind, predicted.province, settings
        )
        return f"{en} {zh}"
    en, zh = orders_counted(predicted.observations, predicted.kind, None, settings)
    fewer = predicted.min_observations
    return (
        f"statutory limit 法定时限 ({LEGAL_LIMIT.source}) "
        f"({en}, fewer than {fewer}; {zh}，少于 {fewer} 个)"
    )


@dataclass(frozen=True)
class _Predicted:
    """Working days from entering the stage and the Beijing day they end on, ``estimated``
    when counted through a year whose official holiday schedule is not known."""

    working_days: int
    day: date
    estimated: bool


def _legal_limit(session: Session, filing: Filing, settings: Settings) -> _Predicted | None:
    """The legal limit running for ``filing``, ``None`` in a state that does not arm it (before
    the bureau has the order). The deadline armed on entering the state says when it ends: it
    keeps the figure it was armed with and is counted again when a holiday schedule is loaded,
    and it is what fires, so the forecast never names another day. Only a state entered with
    none armed (history written by hand) has it counted here, as arming would count it."""
    if filing.state not in LEGAL_LIMIT.states:
        return None
    assert filing.id is not None
    armed = [d for d in open_deadlines(session, filing.id) if d.kind == LEGAL_LIMIT.kind]
    if armed:
        return _Predicted(int(armed[0].figure), due_day(armed[0].due_at), armed[0].estimated)
    [figure] = figures(LEGAL_LIMIT, filing.state, filing.kind, settings)
    at, estimated = due_time(LEGAL_LIMIT, figure, as_utc(filing.state_entered_at), settings)
    return _Predicted(int(figure), due_day(at), estimated)


@dataclass(frozen=True)
class _Day:
    """A day, ``estimated`` when told by a year whose official holiday schedule is not known."""

    day: date
    estimated: bool


def _first_working_day(calendar: WorkingCalendar, day: date) -> _Day:
    """``day``, or the working day after it: the bureau approves nothing on a holiday. Where
    the official schedule is not known, the day found may turn out a holiday."""
    first = day
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    years = range(first.year, day.year + 1)
    return _Day(day, any(calendar.is_estimated(year) for year in years))


def _counted(calendar: WorkingCalendar, start: datetime, days: int) -> _Predicted:
    """``days`` working days after ``start``, ending on its Beijing date for 0."""
    if days < 1:
        return _Predicted(days, start.astimezone(CHINA).date(), False)
    due = calendar.add_working_days(start, days)
    return _Predicted(days, due.at.astimezone(CHINA).date(), due.estimated)
