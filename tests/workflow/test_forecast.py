"""Forecasts and review times from a seeded history of completed orders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlmodel import Session, select

from config.clock import CHINA, FrozenClock
from config.settings import Settings
from models import Filing, HistoryEntry
from tests.factories import ORDER_PATHS, MakeFiling, commands_to, first_filing_order, order_on
from workflow import forecast, service
from workflow.domain.commands import EventCommand
from workflow.domain.definition import State
from workflow.domain.errors import GuardFailed
from workflow.domain.orders import OrderKind
from workflow.schemas import FilingOut
from workflow.sweeps import fire_due_deadlines

if TYPE_CHECKING:
    from tests.conftest import Open
    from tests.databases import Database

# Monday 3 November 2025, 10:00 in Beijing: two working days with the host, then ten with the
# bureau (two calendar weeks without a holiday).
START = datetime(2025, 11, 3, 2, 0, tzinfo=UTC)
STEPS = (("submitted", timedelta(0)), ("miit_pending", timedelta(days=2)))
APPROVED_AFTER = timedelta(days=16)


@pytest.fixture
def reviewing(session: Session, open_order: Open) -> FilingOut:
    """A first filing with the bureau (``miit_pending``) in Beijing."""
    order = open_order(**first_filing_order())
    for event, data in ORDER_PATHS["first_filing"][:-1]:
        command = EventCommand(event=event, data=data)
        order = service.fire_event(session, order.id, command, actor="t")
    assert order.state == "miit_pending"
    return order


@pytest.fixture
def cancelling(session: Session, open_order: Open, on_file: FilingOut) -> FilingOut:
    """An order cancelling ``on_file``'s entity (its one site with it), with the bureau."""
    order = open_order(**order_on("cancel_entity", on_file.entity_id, on_file.service_id or 0))
    for event, data in ORDER_PATHS["cancel_entity"][:-1]:
        command = EventCommand(event=event, data=data)
        order = service.fire_event(session, order.id, command, actor="t")
    assert order.state == "miit_pending"
    return order


def seed_history(
    session: Session,
    like: FilingOut,
    count: int,
    steps: tuple[tuple[str, timedelta], ...] = STEPS,
    *,
    kind: str | None = None,
    approved_after: timedelta = APPROVED_AFTER,
) -> None:
    """``count`` completed orders of ``like``'s province and kind (or ``kind``) with the
    timeline ``steps``, approved ``approved_after`` the start."""
    template = session.get(Filing, like.id)
    assert template is not None
    overrides = {"state": "approved", "version": 3, "kind": kind or template.kind}
    for _ in range(count):
        filing = Filing.model_validate(template.model_dump(exclude={"id"}) | overrides)
        session.add(filing)
        session.flush()
        assert filing.id is not None
        timeline = [*steps, ("approved", approved_after)]
        for version, (state, after) in enumerate(timeline, start=1):
            entry = HistoryEntry(
                filing_id=filing.id, version=version, event="seed", to_state=state,
                actor="seed", at=START + after, data={},
            )  # fmt: skip
            session.add(entry)
    session.commit()


def test_a_province_with_enough_completed_orders_is_forecast_from_them(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    seed_history(session, reviewing, settings.forecast_min_observations)
    predicted = forecast.forecast(session, reviewing.id, settings)
    assert (predicted.basis, predicted.observations) == ("history", 5)
    assert (predicted.median_working_days, predicted.p90_working_days) == (10, 10)
    assert predicted.median_date == date(2026, 3, 16)  # ten working days after Monday 2 March
    assert not predicted.will_exceed_legal_limit


def test_a_province_with_too_few_falls_back_to_the_statutory_limit_and_says_so(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    seed_history(session, reviewing, settings.forecast_min_observations - 1)
    predicted = forecast.forecast(session, reviewing.id, settings)
    assert (predicted.basis, predicted.observations) == ("statutory", 4)
    assert predicted.median_working_days == predicted.p90_working_days == 20
    assert predicted.p90_date == predicted.legal_limit_date
    assert not predicted.will_exceed_legal_limit


# Orders the bureau kept 25 working days: five weeks from Wednesday 5 November 2025.
SLOW_REVIEW = timedelta(days=2, weeks=5)


def test_a_p90_past_the_legal_limit_says_it_will_exceed_it(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    seed_history(session, reviewing, 5, approved_after=SLOW_REVIEW)
    assert forecast.forecast(session, reviewing.id, settings).will_exceed_legal_limit


def test_the_legal_limit_is_the_deadline_armed_on_reaching_the_bureau(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    """Armed at 20 working days, the figure lowered to 15 since: the limit that fires is the
    armed one, and the forecast names its day, not 15 working days counted afresh."""
    settings.miit_legal_limit_working_days = 15

    predicted = forecast.forecast(session, reviewing.id, settings)

    # 20 working days from Monday 2 March (15 would end on Monday 23 March).
    assert (predicted.legal_limit_date, predicted.p90_date) == (date(2026, 3, 30),) * 2


# 2027's official holiday schedule is not known yet (neither packaged nor loaded).
UNKNOWN_YEAR = datetime(2027, 3, 3, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Beijing


def test_a_forecast_run_out_into_a_year_without_its_schedule_is_estimated(
    session: Session, reviewing: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    """Its dates counted in 2026 were sure; the soonest day it now shows is a working day only
    by the rules, until 2027's schedule is loaded."""
    clock.set(UNKNOWN_YEAR)

    predicted = forecast.forecast(session, reviewing.id, settings)

    assert predicted.median_date == date(2027, 3, 3) and predicted.past_median
    assert predicted.estimated


def test_a_forecast_whose_legal_limit_ends_in_a_year_without_its_schedule_is_estimated(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """With the bureau from Monday 14 December 2026: ten working days end in 2026, known; the
    legal limit's twenty end in January 2027, estimated."""
    clock.set(datetime(2026, 12, 14, 2, 0, tzinfo=UTC))
    reviewing = new_filing("miit_pending")
    seed_history(session, reviewing, 5)

    predicted = forecast.forecast(session, reviewing.id, settings)

    assert predicted.p90_date == date(2026, 12, 28)
    assert predicted.legal_limit_date is not None and predicted.legal_limit_date.year == 2027
    assert predicted.estimated


@pytest.mark.parametrize(
    ("later", "soonest"),
    [
        (timedelta(days=58), date(2026, 4, 29)),  # a Wednesday: today
        (timedelta(days=60), date(2026, 5, 6)),  # Labour Day's holidays: the day after them
    ],
    ids=["a working day", "a holiday"],
)
def test_an_order_past_its_legal_limit_exceeds_it_and_is_predicted_no_sooner_than_it_can_be(
    session: Session,
    reviewing: FilingOut,
    settings: Settings,
    clock: FrozenClock,
    later: timedelta,
    soonest: date,
) -> None:
    clock.advance(later)  # 20 working days were up long ago

    predicted = forecast.forecast(session, reviewing.id, settings)

    assert predicted.legal_limit_date is not None
    assert predicted.legal_limit_date < clock.now().astimezone(CHINA).date()
    assert (predicted.median_date, predicted.p90_date, predicted.will_exceed_legal_limit) == (
        soonest,
        soonest,
        True,
    )
    assert predicted.past_median and predicted.past_p90  # not read as N working days from entry
    assert predicted.legal_limit_ended  # ended already, not about to


def test_an_order_not_yet_with_the_bureau_has_no_legal_limit_to_exceed(
    session: Session, settings: Settings, new_filing: MakeFiling, clock: FrozenClock
) -> None:
    submitted = new_filing("submitted")
    seed_history(session, submitted, 5)
    clock.advance(timedelta(days=60))

    predicted = forecast.forecast(session, submitted.id, settings)

    assert predicted.legal_limit_date is None
    assert (predicted.will_exceed_legal_limit, predicted.legal_limit_ended) == (False, False)


def test_an_order_within_its_median_is_not_said_past_it(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    predicted = forecast.forecast(session, reviewing.id, settings)
    assert (predicted.past_median, predicted.past_p90) == (False, False)


def test_the_forecast_moves_with_the_order(
    session: Session, settings: Settings, new_filing: MakeFiling
) -> None:
    """Twelve working days from submission to approval, ten of them with the bureau."""
    submitted = new_filing("submitted")
    seed_history(session, submitted, 5)
    before = forecast.forecast(session, submitted.id, settings)
    for command in commands_to("miit_pending")[len(commands_to("submitted")) :]:
        service.fire_event(session, submitted.id, command, actor="t")
    after = forecast.forecast(session, submitted.id, settings)
    assert (before.stage, before.median_working_days) == ("submitted", 12)
    assert (after.stage, after.median_working_days) == ("miit_pending", 10)


@pytest.mark.parametrize(
    "stage", ["domain_registered", "submitted", "host_pre_approved", "sms_pending", "rejected"]
)
def test_an_order_before_the_bureau_with_too_few_orders_has_no_forecast(
    session: Session, settings: Settings, new_filing: MakeFiling, stage: str
) -> None:
    """The statutory basis is the bureau's legal limit, which runs only while the bureau has
    the order (``miit_legal_limit``): counted from a domain just registered it would promise
    approval within 20 working days of an order not even filled in."""
    order = new_filing(stage)

    with pytest.raises(GuardFailed) as refused:
        forecast.forecast(session, order.id, settings)

    [reason] = refused.value.reasons
    assert (reason.code, reason.details) == (
        "too_few_orders",
        {"observations": 0, "min_observations": 5},
    )


def test_one_order_before_the_bureau_is_counted_in_the_singular(
    session: Session, settings: Settings, new_filing: MakeFiling
) -> None:
    submitted = new_filing("submitted")
    seed_history(session, submitted, 1)

    with pytest.raises(GuardFailed) as refused:
        forecast.forecast(session, submitted.id, settings)

    assert refused.value.reasons[0].message.startswith(
        "1 completed first_filing 首次备案 order of 京 北京 Beijing "
    )


def test_an_approved_order_has_no_forecast(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    command = EventCommand(event="miit_approve", data={"icp_number": "京ICP备2026000123号-1"})
    service.fire_event(session, reviewing.id, command, actor="t")
    with pytest.raises(GuardFailed) as refused:
        forecast.forecast(session, reviewing.id, settings)
    assert [r.code for r in refused.value.reasons] == ["closed"]


def test_a_lapsed_order_has_no_forecast(
    db: Database, session: Session, clock: FrozenClock, new_filing: MakeFiling, settings: Settings
) -> None:
    """Nothing moves it towards approval: it is filed again from its start."""
    returned = new_filing("host_returned")
    clock.advance(timedelta(days=settings.idle_lapse_days + 1))
    session.commit()
    fire_due_deadlines(db.engine, clock.now(), settings)
    assert session.get_one(Filing, returned.id, populate_existing=True).state == State.LAPSED

    with pytest.raises(GuardFailed) as refused:
        forecast.forecast(session, returned.id, settings)
    assert [r.code for r in refused.value.reasons] == ["stalled"]


# Site cancellations the bureau cleared the day after it got them (Wednesday to Thursday).
CLEARED_NEXT_DAY = timedelta(days=3)


def test_a_forecast_is_drawn_from_orders_of_its_own_kind_only(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    """Five first filings ten working days with the bureau, five cancellations one: a first
    filing is forecast at ten, not at the six of all ten orders."""
    seed_history(session, reviewing, 5)
    seed_history(session, reviewing, 5, kind="cancel_service", approved_after=CLEARED_NEXT_DAY)
    predicted = forecast.forecast(session, reviewing.id, settings)
    assert (predicted.basis, predicted.observations) == ("history", 5)
    assert (predicted.median_working_days, predicted.p90_working_days) == (10, 10)
    assert predicted.kind == "first_filing"


def test_a_cancellation_is_forecast_from_cancellations(
    session: Session, cancelling: FilingOut, on_file: FilingOut, settings: Settings
) -> None:
    seed_history(session, on_file, 5)
    seed_history(session, cancelling, 5, approved_after=CLEARED_NEXT_DAY)
    predicted = forecast.forecast(session, cancelling.id, settings)
    assert (predicted.basis, predicted.observations) == ("history", 5)
    assert predicted.median_working_days == predicted.p90_working_days == 1
    assert predicted.kind == "cancel_entity"


def test_a_kind_with_too_few_orders_falls_back_to_the_statutory_limit_whatever_other_kinds_have(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    seed_history(session, reviewing, settings.forecast_min_observations - 1)
    seed_history(session, reviewing, 5, kind="cancel_service", approved_after=CLEARED_NEXT_DAY)
    predicted = forecast.forecast(session, reviewing.id, settings)
    assert (predicted.basis, predicted.observations) == ("statutory", 4)
    assert predicted.median_working_days == predicted.p90_working_days == 20


def test_review_times_per_province_kind_and_stage(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    seed_history(session, reviewing, 3)
    rows = {(r.province, r.kind, r.stage): (r.count, r.median_working_days) for r in
            forecast.durations(session, settings)}  # fmt: skip
    assert rows == {
        ("京", "first_filing", "submitted"): (3, 2.0),
        ("京", "first_filing", "miit_pending"): (3, 10.0),
    }


def test_review_times_list_each_kind_apart_first_filings_first(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    seed_history(session, reviewing, 5, kind="cancel_service", approved_after=CLEARED_NEXT_DAY)
    seed_history(session, reviewing, 5)
    rows = [(r.kind, r.stage, r.count, r.median_working_days) for r in
            forecast.durations(session, settings) if r.stage == "miit_pending"]  # fmt: skip
    assert rows == [
        ("first_filing", "miit_pending", 5, 10.0),
        ("cancel_service", "miit_pending", 5, 1.0),
    ]


def test_review_times_list_a_kinds_stages_in_the_order_an_order_goes_through_them(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    seed_history(session, reviewing, 5)
    stages = [r.stage for r in forecast.durations(session, settings) if r.kind == "first_filing"]
    assert stages == ["submitted", "miit_pending"]  # not in the alphabet's order


# Events that keep the state (one SMS answer of several, a wrong code) write history rows too;
# an order returned once visits a stage twice.
ANSWERED_IN_PARTS = (
    ("submitted", timedelta(0)),
    ("miit_pending", timedelta(days=2)),
    ("miit_pending", timedelta(days=4)),
    ("miit_pending", timedelta(days=7)),
)
RETURNED_ONCE = (
    ("submitted", timedelta(0)),
    ("host_returned", timedelta(days=1)),
    ("submitted", timedelta(days=2)),
    ("miit_pending", timedelta(days=2, hours=1)),
)


def test_rows_that_keep_the_state_are_one_stay(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    seed_history(session, reviewing, 3, ANSWERED_IN_PARTS)
    rows = {(r.province, r.kind, r.stage): (r.count, r.median_working_days) for r in
            forecast.durations(session, settings)}  # fmt: skip
    assert rows[("京", OrderKind.FIRST_FILING, State.MIIT_PENDING)] == (3, 10.0)


def test_review_times_count_an_order_back_in_a_stage_once_with_its_whole_time_there(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    """Submitted Monday, returned Tuesday, submitted again Wednesday and forwarded within the
    hour: five orders of one working day each in ``submitted``, not ten visits of 1 and 0."""
    seed_history(session, reviewing, 5, RETURNED_ONCE)
    rows = {(r.province, r.kind, r.stage): (r.count, r.median_working_days) for r in
            forecast.durations(session, settings)}  # fmt: skip
    assert rows[("京", OrderKind.FIRST_FILING, State.SUBMITTED)] == (5, 1.0)


# The host approved on Tuesday; MIIT's SMS came an hour later and was recorded on Thursday.
SMS_RECORDED_LATE = (
    ("submitted", timedelta(0)),
    ("host_pre_approved", timedelta(days=1)),
    ("sms_pending", timedelta(days=3)),
    ("miit_pending", timedelta(days=4)),
)


def test_review_times_count_an_sms_recorded_late_from_when_it_was_sent(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    seed_history(session, reviewing, 3, SMS_RECORDED_LATE)
    sent_at = (START + timedelta(days=1, hours=1)).isoformat()
    for entry in session.exec(select(HistoryEntry).where(HistoryEntry.to_state == "sms_pending")):
        entry.event, entry.data = "sms_sent", {"sent_at": sent_at}
        session.add(entry)
    session.commit()

    rows = {r.stage: r.median_working_days for r in forecast.durations(session, settings)}

    assert (rows[State.HOST_PRE_APPROVED], rows[State.SMS_PENDING]) == (0.0, 3.0)


def test_review_times_end_the_stages_recorded_before_a_late_sms_when_it_was_sent(
    session: Session, reviewing: FilingOut, settings: Settings
) -> None:
    """The SMS came on Tuesday; the host's approval and the SMS were both recorded on
    Thursday: one working day with the host, none pre-approved, three waiting on the SMS."""
    seed_history(session, reviewing, 3, SMS_RECORDED_LATE)
    sent_at = (START + timedelta(days=1)).isoformat()
    for entry in session.exec(select(HistoryEntry).where(HistoryEntry.to_state == "sms_pending")):
        entry.event, entry.data = "sms_sent", {"sent_at": sent_at}
        session.add(entry)
    for entry in session.exec(
        select(HistoryEntry).where(HistoryEntry.to_state == "host_pre_approved")
    ):
        entry.at = START + timedelta(days=3)
        session.add(entry)
    session.commit()

    rows = {r.stage: r.median_working_days for r in forecast.durations(session, settings)}

    assert (rows[State.SUBMITTED], rows[State.HOST_PRE_APPROVED], rows[State.SMS_PENDING]) == (
        1.0,
        0.0,
        3.0,
    )


def test_the_forecast_counts_orders_not_visits(
    session: Session, settings: Settings, new_filing: MakeFiling
) -> None:
    """Five orders through submission, each twice: still too few for a forecast from ten."""
    settings.forecast_min_observations = 6
    submitted = new_filing("submitted")
    seed_history(session, submitted, 5, RETURNED_ONCE)
    with pytest.raises(GuardFailed) as refused:
        forecast.forecast(session, submitted.id, settings)
    assert refused.value.reasons[0].details["observations"] == 5
