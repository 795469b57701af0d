"""One shared ``transitions`` machine for every filing.

Building a ``Machine`` per filing does not scale (the transitions FAQ says as much), and
registering each row as a model would mutate the shared machine from many threads. So the
machine is built once from ``definition`` and events are triggered on a short-lived
``Subject`` that mirrors the stored row's state column; the service writes the result back.

What ``transitions`` does here: it holds the transition table, runs the guards as
conditions, answers which triggers leave a state (``get_triggers``) and is what the diagram
is drawn from. What it deliberately does not do is arm deadlines in ``on_enter`` callbacks:
a callback runs inside the machine, before the service has written the new state under its
version check, and it would get only the ``Subject``; arming writes rows (disarm the old
state's, arm the new one's, fire those already due, which may apply another event on the
new version), so it needs the session and must run after the state write, in that order.
Passing the session through the ``Subject`` would put database writes into this package,
which imports no database code, so the service arms deadlines after the machine answers.

Order kinds share this one machine: a kind's path is the subset of events it declares
(``workflow.domain.orders.KINDS``), and an event outside it is refused here like one outside
the state. One machine keeps the transition table, the guards and the per-event data in one
place; per-kind machines would repeat every shared transition seven times. An event with
``until`` is two transitions: to its destination once the condition holds, otherwise an
internal one that records the event and stays (the service keeps the state's clocks then).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from transitions import Machine, MachineError, core

from config.clock import CHINA
from config.settings import Settings
from workflow.domain.definition import (
    EVENTS,
    EVENTS_BY_NAME,
    INITIAL_STATE,
    STATES,
    TERMINAL_STATES,
    Event,
    EventSpec,
)
from workflow.domain.errors import GuardFailed, Reason, TransitionNotAllowed, summarise
from workflow.domain.event_data import EventData
from workflow.domain.guards import GUARDS, ORDER_GUARDS, FilingFacts
from workflow.domain.orders import UNTIL, Departure, OrderFacts, kind_spec


class Subject:
    """What the machine drives for one event: the order's state plus what its guards read."""

    def __init__(
        self,
        filing: FilingFacts,
        order: OrderFacts,
        state: str,
        data: EventData,
        settings: Settings,
    ):
        self.state = state
        self.filing = filing
        self.order = order
        self.data = data
        self.settings = settings
        self.reasons: list[Reason] = []


def _guard_condition(spec: EventSpec) -> Any:
    """Run every guard of the event and keep every reason, so one reply lists them all."""

    def condition(event_data: core.EventData) -> bool:
        subject = event_data.model
        assert isinstance(subject, Subject)
        subject.reasons = []  # an event with ``until`` may ask twice
        for name in spec.guards:
            if name in ORDER_GUARDS:
                found = ORDER_GUARDS[name](
                    subject.order, subject.filing, subject.data, subject.settings
                )
            else:
                found = GUARDS[name](subject.filing, subject.data, subject.settings)
            subject.reasons.extend(found)
        return not subject.reasons

    condition.__name__ = f"guards_of_{spec.name}"
    return condition


def _until_condition(name: str) -> Any:
    def condition(event_data: core.EventData) -> bool:
        subject = event_data.model
        assert isinstance(subject, Subject)
        return UNTIL[name](subject.order, subject.data)

    condition.__name__ = f"until_{name}"
    return condition


def _transitions(spec: EventSpec) -> list[dict[str, Any]]:
    source = [s.value for s in spec.sources]
    guards = _guard_condition(spec)
    if spec.until is None:
        return [
            {
                "trigger": spec.name.value,
                "source": source,
                "dest": spec.dest.value,
                "conditions": [guards],
            }
        ]
    return [
        {
            "trigger": spec.name.value,
            "source": source,
            "dest": spec.dest.value,
            "conditions": [_until_condition(spec.until), guards],
        },
        {"trigger": spec.name.value, "source": source, "dest": None, "conditions": [guards]},
    ]


def _build_machine() -> Machine:
    transitions = [transition for spec in EVENTS for transition in _transitions(spec)]
    return Machine(
        model=None,
        states=[s.name.value for s in STATES],
        transitions=transitions,
        initial=INITIAL_STATE.value,
        auto_transitions=False,
        send_event=True,
    )


MACHINE = _build_machine()


def event_spec(event: str) -> EventSpec:
    """The declaration of ``event``; ``TransitionNotAllowed`` when no event has that name."""
    spec = EVENTS_BY_NAME.get(event)
    if spec is None:
        raise TransitionNotAllowed(
            f"unknown event {event!r}",
            [Reason("unknown_event", f"{event!r} is not an event", field="event")],
        )
    return spec


def apply_event(
    filing: FilingFacts,
    order: OrderFacts,
    state: str,
    event: Event,
    data: EventData,
    settings: Settings,
) -> str:
    """Validate ``event`` from ``state`` for the order's kind and return the state it leads to
    (``state`` itself when the event records something and stays).

    Raises ``TransitionNotAllowed`` for an unknown event or one not allowed from ``state``
    or for the kind, and ``GuardFailed`` listing every unmet condition.
    """
    spec = event_spec(event)
    if event not in kind_spec(order.kind).events:
        raise TransitionNotAllowed(
            f"event {event.value!r} is not part of a {order.kind} order",
            [Reason("not_allowed_for_kind", f"{order.kind} orders have no {event}", field="event")],
        )
    purged = filing.personal_data_purged_at is not None
    if purged and state in spec.sources and not _ends_order(event):
        raise TransitionNotAllowed(
            f"event {event.value!r} refused: the order's personal data was purged after its "
            "retention; withdraw it and open a new order",
            [Reason("personal_data_purged", "a purged order can only be withdrawn", field="event")],
        )
    subject = Subject(filing, order, state, data, settings)
    try:
        moved = MACHINE.events[event].trigger(subject)
    except MachineError as exc:
        allowed = ", ".join(allowed_events(state, order.kind, purged=purged)) or "none"
        raise TransitionNotAllowed(
            f"event {event.value!r} is not allowed from state {state!r} (allowed: {allowed})",
            [_not_from_state(spec, order.left_by_deadline)],
        ) from exc
    if not moved:
        raise GuardFailed(
            summarise(f"event {event.value!r} refused", subject.reasons), subject.reasons
        )
    return subject.state


def _not_from_state(spec: EventSpec, left: Departure | None) -> Reason:
    """Why ``spec``'s event is refused from the order's state: the states it leaves from and,
    when a deadline moved the order out of one of them, when it fell due. Recorded late, an
    event that happened before then is still refused (the deadline's event cannot be undone),
    but the refusal says the order moved on meanwhile, not just that it is elsewhere."""
    message = f"{spec.name} leaves from {', '.join(spec.sources)} only"
    if left is None or left.from_state not in spec.sources:
        return Reason("not_allowed_from_state", message, field="event")
    at = left.fell_due_at.astimezone(CHINA)
    return Reason(
        "not_allowed_from_state",
        f"{message}, and {left.event} moved the order out of {left.from_state} when its "
        f"deadline fell due at {at:%Y-%m-%d %H:%M:%S} Beijing time, before this was recorded",
        field="event",
        details={"left": left.from_state, "by": left.event, "at": left.fell_due_at.isoformat()},
    )


def allowed_events(state: str, kind: str | None = None, *, purged: bool = False) -> list[str]:
    """Events a person may fire from ``state`` (for ``kind``, when given) in declaration order
    (guards not evaluated; automatic ones are the system's); of an order whose personal data
    was ``purged``, only those that end it."""
    return list(_allowed_events(str(state), kind, purged))


@cache
def _allowed_events(state: str, kind: str | None, purged: bool) -> tuple[str, ...]:
    """Every filing described asks this; the machine never changes while running."""
    events = kind_spec(kind).events if kind else None
    return tuple(
        name
        # str(): ``get_triggers`` reads an enum's ``.name``, and ``State.X.name`` is "X"
        for name in MACHINE.get_triggers(state)
        if not EVENTS_BY_NAME[name].automatic
        and (events is None or name in events)
        and (not purged or _ends_order(name))
    )


def offered_events(filing: FilingFacts, state: str, settings: Settings) -> list[str]:
    """What the filing is offered to do: ``allowed_events`` for its state and kind, less
    those its own facts already refuse (an event's ``offered_if`` guards, the only ones run
    here). A case manager is not shown an action that could only come back refused; firing
    it anyway is refused by the same guard, with the same reason. Every reply describes its
    filing, so only the few events that declare such guards cost anything."""
    purged = filing.personal_data_purged_at is not None
    return [
        name
        for name in _allowed_events(str(state), filing.kind, purged)
        if name not in _OFFERED_IF or not _refused_by_facts(name, filing, settings)
    ]


# The events whose offer a guard decides, and those guards: looked up once per allowed event.
_OFFERED_IF: dict[str, tuple[str, ...]] = {
    spec.name.value: spec.offered_if for spec in EVENTS if spec.offered_if
}
# What a guard of ``offered_if`` is given as the event's data, which it does not read.
_NO_DATA = EventData()


def _refused_by_facts(event: str, filing: FilingFacts, settings: Settings) -> bool:
    return any(GUARDS[name](filing, _NO_DATA, settings) for name in _OFFERED_IF[event])


def _ends_order(event: str) -> bool:
    """Whether ``event`` leads to a terminal state: all a purged order may still do, as every
    other would go on with the applicant's data gone (a lapsed order resubmitted blank)."""
    return EVENTS_BY_NAME[event].dest in TERMINAL_STATES
