"""The shared machine answers from its own table: allowed events and the diagram's edges."""

from __future__ import annotations

from workflow.domain import diagram
from workflow.domain.definition import EVENTS, State
from workflow.domain.machine import allowed_events
from workflow.domain.orders import OrderKind


def test_allowed_events_leave_out_automatic_ones() -> None:
    """``expire_sms`` leaves the state too, but only the system fires it."""
    assert allowed_events(State.SMS_PENDING) == [
        "verify_sms",
        "sms_wrong_entry",
        "sms_resent",
        "withdraw",
    ]


def test_a_cancel_access_order_is_never_offered_the_sms() -> None:
    assert allowed_events(State.HOST_PRE_APPROVED, "cancel_access") == [
        "forward_to_miit",
        "withdraw",
    ]
    assert allowed_events(State.HOST_PRE_APPROVED, "first_filing") == ["sms_sent", "withdraw"]


def test_a_terminal_state_allows_no_event() -> None:
    assert allowed_events(State.APPROVED) == []


def test_the_diagram_has_one_edge_per_declared_source_of_each_event() -> None:
    declared = {(s.value, e.dest.value, e.name) for e in EVENTS for s in e.sources}
    staying = {(s.value, s.value, e.name) for e in EVENTS if e.until for s in e.sources}
    assert {(e.source, e.dest, e.event) for e in diagram.edges()} == declared | staying
    assert "expire_sms (automatic)" in diagram.mermaid()


def test_each_kind_draws_only_its_own_events() -> None:
    drawn = {e.event for e in diagram.edges(OrderKind.CANCEL_ACCESS)}
    assert "forward_to_miit" in drawn
    assert not drawn & {"sms_sent", "verify_sms", "expire_sms", "bind_service_number"}
    assert "[*] --> draft" in diagram.mermaid(OrderKind.CANCEL_ACCESS)


def test_the_readme_shows_the_diagram_the_declaration_draws(readme: str) -> None:
    """The README's diagram is ``icpflow diagram``'s output: a state or event added to the
    declaration and not to the README fails here, not in a reader's hands."""
    shown = readme.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert shown == diagram.mermaid()
