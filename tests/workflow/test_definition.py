"""What the declared deadlines tell people, checked against the hosts' published rules."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from config.clock import get_clock
from config.settings import Settings, get_settings
from models import Filing
from tests.factories import MakeFiling
from workflow.domain.definition import (
    DEADLINES,
    DEADLINES_BY_KIND,
    EVENTS,
    EVENTS_BY_NAME,
    STATES,
    DeadlineSpec,
    Event,
    EventSpec,
    StateSpec,
)
from workflow.domain.event_data import FellDueData
from workflow.domain.obligations import OBLIGATIONS, ObligationSpec
from workflow.domain.orders import KINDS, ServiceKind
from workflow.domain.wording import worded, worded_by_default
from workflow.views import describing

DECLARED = (*STATES, *EVENTS, *DEADLINES, *KINDS, *OBLIGATIONS)


@pytest.mark.parametrize("kind", ["idle_reminder", "idle_escalation"])
def test_idle_notices_say_the_order_lapses_not_that_it_is_deleted(kind: str) -> None:
    spec = DEADLINES_BY_KIND[kind]
    assert "lapses" in spec.description and "discard" not in spec.description
    assert "失效" in spec.zh and "清除" not in spec.zh


def test_every_event_named_is_declared_once_in_the_order_it_is_named() -> None:
    """Code names an event by its member; what it does is its one declaration in ``EVENTS``."""
    assert [spec.name for spec in EVENTS] == list(Event)


@pytest.mark.parametrize("spec", EVENTS, ids=lambda spec: spec.name)
def test_data_an_event_stores_is_its_own_and_lands_on_filing_columns(spec: EventSpec) -> None:
    assert set(spec.data.stored) <= set(spec.data.model_fields)
    assert set(spec.data.stored.values()) <= set(Filing.model_fields)


def test_an_event_a_deadline_fires_leaves_the_telling_to_the_deadline() -> None:
    """The deadline's notice reaches the same people: the event's would say it twice."""
    told_twice = [d.event for d in DEADLINES if d.event and EVENTS_BY_NAME[d.event].notify]
    assert told_twice == []


def test_a_reminder_reminds_of_a_deadline_its_states_arm_too() -> None:
    """Its notice gives that deadline's due time, which must be there to read."""
    unarmed = [
        d.kind
        for d in DEADLINES
        if d.reminds_of and not set(d.states) <= set(DEADLINES_BY_KIND[d.reminds_of].states)
    ]
    assert unarmed == []


def test_a_deadline_awaits_an_event_that_leaves_the_states_arming_it() -> None:
    """Only that event ends the wait; one from elsewhere would leave the deadline armed."""
    unended = [
        d.kind
        for d in DEADLINES
        if d.awaits and not set(d.states) <= set(EVENTS_BY_NAME[d.awaits].sources)
    ]
    assert unended == []


def test_every_kind_of_service_has_a_label() -> None:
    assert all(kind.label for kind in ServiceKind)


@pytest.mark.parametrize(
    "spec", DECLARED, ids=lambda spec: str(getattr(spec, "name", None) or spec.kind)
)
def test_a_declared_text_names_only_settings_there_are(spec: object) -> None:
    """A figure an install sets is written as the setting's name, so it can be filled in."""
    for text in (
        getattr(spec, name, "") for name in ("description", "zh", "meaning", "meaning_zh")
    ):
        assert "{" not in worded_by_default(text)


def test_a_declared_figure_reads_as_this_install_sets_it(settings: Settings) -> None:
    later = settings.model_copy(update={"idle_lapse_days": 60, "sms_window_hours": 36.0})

    assert "lapses after 60 days" in worded(DEADLINES_BY_KIND["idle_reminder"].description, later)
    assert "在36小时内" in worded(EVENTS_BY_NAME["sms_sent"].zh, later)


def test_help_names_the_setting_behind_a_figure_and_its_default() -> None:
    assert "lapses after IDLE_LAPSE_DAYS (default 45) days" in worded_by_default(
        DEADLINES_BY_KIND["idle_reminder"].description
    )


def test_a_filings_deadline_says_the_figure_this_install_sets(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, new_filing: MakeFiling
) -> None:
    monkeypatch.setenv("IDLE_LAPSE_DAYS", "60")
    get_settings.cache_clear()

    returned = new_filing("host_returned")

    reminders = [d.description for d in returned.deadlines if d.kind == "idle_reminder"]
    assert reminders and all("lapses after 60 days" in told for told in reminders)


def test_a_deadline_armed_before_its_setting_changed_says_the_figure_it_was_armed_with(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, new_filing: MakeFiling, session: Session
) -> None:
    returned = new_filing("host_returned")  # armed with the default 45 days
    monkeypatch.setenv("IDLE_LAPSE_DAYS", "60")
    get_settings.cache_clear()

    shown = describing.filing(session, returned.id, get_clock().now(), get_settings())

    told = [(d.kind, d.description) for d in shown.deadlines]
    assert [kind for kind, text in told if "45 days" in text] == [
        *["idle_reminder"] * len(get_settings().idle_reminder_days),
        "idle_lapse",
    ]


@pytest.mark.parametrize("state", STATES, ids=lambda state: state.name.value)
def test_every_state_says_what_it_means_in_chinese_too(state: StateSpec) -> None:
    """The pipeline shows it beside the English, to case managers who read Chinese first."""
    assert state.meaning_zh and not state.meaning_zh.isascii()


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: event.name)
def test_every_event_says_what_it_records_in_chinese_too(event: EventSpec) -> None:
    """Its notice reaches case managers who read Chinese first, as a deadline's does."""
    assert event.zh and not event.zh.isascii()


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: event.name)
def test_every_event_has_a_short_chinese_name_for_its_forms_title(event: EventSpec) -> None:
    """The console names it in both languages, as it names states and order kinds."""
    assert event.label_zh and not event.label_zh.isascii()
    assert event.label.endswith(f" {event.label_zh}")


@pytest.mark.parametrize("deadline", DEADLINES, ids=lambda deadline: deadline.kind)
def test_every_deadline_has_a_short_chinese_name_for_the_pages_listing_it(
    deadline: DeadlineSpec,
) -> None:
    """The console names it in both languages, as it names the event it may fire."""
    assert deadline.label_zh and not deadline.label_zh.isascii()
    assert deadline.label.endswith(f" {deadline.label_zh}")


@pytest.mark.parametrize("deadline", DEADLINES, ids=lambda deadline: deadline.kind)
def test_no_deadline_is_named_as_late_while_it_is_still_ahead(deadline: DeadlineSpec) -> None:
    """Pages list it long before it passes ("Resubmission due: due in 6 d"); a flag says when
    it is late."""
    assert "overdue" not in deadline.label.casefold()


@pytest.mark.parametrize("duty", OBLIGATIONS, ids=lambda duty: duty.kind)
def test_every_duty_has_a_short_chinese_name_for_the_pages_listing_it(
    duty: ObligationSpec,
) -> None:
    """The console names it in both languages, as it names deadlines."""
    assert duty.label_zh and not duty.label_zh.isascii()
    assert duty.label.endswith(f" {duty.label_zh}")


def test_every_event_a_deadline_fires_is_automatic_and_told_when_it_fell_due() -> None:
    """The scheduler gives it ``fell_due_at``: another data model would refuse it, and its
    deadline would never be spent."""
    fired = {d.event for d in DEADLINES if d.event}
    assert fired == {e.name for e in EVENTS if e.automatic}
    assert all(issubclass(EVENTS_BY_NAME[name].data, FellDueData) for name in fired)
