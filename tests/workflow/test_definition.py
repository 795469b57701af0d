"""What the declared deadlines tell people, checked against the hosts' published rules."""

from __future__ import annotations

import pytest

from models import Filing
from workflow.domain.definition import (
    DEADLINES,
    DEADLINES_BY_KIND,
    EVENTS,
    EVENTS_BY_NAME,
    EventSpec,
)
from workflow.domain.orders import ServiceKind


@pytest.mark.parametrize("kind", ["idle_reminder", "idle_escalation"])
def test_idle_notices_say_the_order_lapses_not_that_it_is_deleted(kind: str) -> None:
    spec = DEADLINES_BY_KIND[kind]
    assert "lapses" in spec.description and "discard" not in spec.description
    assert "失效" in spec.zh and "清除" not in spec.zh


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


def test_every_kind_of_service_has_a_label() -> None:
    assert all(kind.label for kind in ServiceKind)
