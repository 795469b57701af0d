"""The shared machine answers from its own table: allowed events and the diagram's edges."""

from __future__ import annotations

from workflow.domain import diagram
from workflow.domain.definition import EVENTS, State
from workflow.domain.machine import allowed_events


def test_allowed_events_leave_out_automatic_ones_unless_asked() -> None:
    assert allowed_events(State.HOST_PRE_APPROVED) == ["verify_sms", "withdraw"]
    assert allowed_events(State.HOST_PRE_APPROVED, include_automatic=True) == [
        "verify_sms",
        "expire_sms",
        "withdraw",
    ]


def test_a_terminal_state_allows_no_event() -> None:
    assert allowed_events(State.APPROVED) == []


def test_the_diagram_has_one_edge_per_declared_source_of_each_event() -> None:
    declared = {(s.value, e.dest.value, e.name) for e in EVENTS for s in e.sources}
    assert {(e.source, e.dest, e.event) for e in diagram.edges()} == declared
    assert "expire_sms (automatic)" in diagram.mermaid()
