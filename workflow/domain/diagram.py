"""The state diagram, drawn from the shared machine's own transitions so that it can never
disagree with what the machine allows.

Mermaid feeds Markdown docs; DOT feeds Graphviz, which is optional: ``svg()`` returns
``None`` rather than failing when the ``dot`` program is not installed.

Both texts are written here rather than by ``transitions.extensions.diagrams``. Its DOT
needs the ``graphviz`` or ``pygraphviz`` package (and falls back to Mermaid without them),
which would make Graphviz a dependency of ``icpflow diagram --format dot``. Its Mermaid
(0.9.3, ``graph_engine="mermaid"``) was tried and draws less: no final-state markers, a
front-matter title that is not a ``title:`` key (so Mermaid ignores it), active-state styling
meant for a live model, and state labels only through a custom ``State`` subclass and its
internal ``graph_cls`` for a model-less machine. A dozen lines here draw the same diagram
with the Chinese labels, the automatic events and the terminal states.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from workflow.domain.definition import (
    EVENTS_BY_NAME,
    INITIAL_STATE,
    STATES,
    TERMINAL_STATES,
    State,
    StateSpec,
)
from workflow.domain.machine import MACHINE
from workflow.domain.orders import OrderKind, kind_spec


@dataclass(frozen=True)
class Edge:
    source: str
    dest: str
    event: str
    automatic: bool


def edges(kind: OrderKind | None = None) -> Iterator[Edge]:
    """One edge per (source, event) as the machine holds them, in declaration order;
    ``withdraw`` alone contributes one per non-terminal state. With ``kind``, only the
    transitions between states that kind reaches through its own events."""
    reached = _reached(kind) if kind else None
    for name, event in MACHINE.events.items():
        if kind is not None and name not in kind_spec(kind).events:
            continue
        automatic = EVENTS_BY_NAME[name].automatic
        for source, transitions in event.transitions.items():
            if reached is not None and source not in reached:
                continue
            for transition in transitions:
                yield Edge(source, transition.dest or source, name, automatic)  # None: internal


def _reached(kind: OrderKind) -> set[str]:
    """The states a kind's events lead to from its initial state."""
    spec = kind_spec(kind)
    reached, frontier = {spec.initial.value}, [spec.initial.value]
    while frontier:
        state = frontier.pop()
        for name in spec.events:
            for transition in MACHINE.events[name].transitions.get(state, []):
                dest = transition.dest or state
                if dest not in reached:
                    reached.add(dest)
                    frontier.append(dest)
    return reached


def _states(kind: OrderKind | None) -> tuple[State, tuple[StateSpec, ...]]:
    if kind is None:
        return INITIAL_STATE, STATES
    reached = _reached(kind)
    return kind_spec(kind).initial, tuple(s for s in STATES if s.name.value in reached)


def _label(edge: Edge) -> str:
    return f"{edge.event} (automatic)" if edge.automatic else edge.event


def mermaid(kind: OrderKind | None = None) -> str:
    """The whole machine, or one order kind's part of it."""
    initial, states = _states(kind)
    lines = ["stateDiagram-v2", f"    [*] --> {initial.value}"]
    lines += [f"    {s.name.value} : {s.name.value} {s.label_zh}" for s in states]
    lines += [f"    {e.source} --> {e.dest} : {_label(e)}" for e in edges(kind)]
    lines += [f"    {s.name.value} --> [*]" for s in states if s.name in TERMINAL_STATES]
    return "\n".join(lines) + "\n"


def dot(kind: OrderKind | None = None) -> str:
    initial, states = _states(kind)
    lines = [
        f"digraph {kind or 'filing'} {{",
        "    rankdir=LR;",
        '    node [shape=box, style=rounded, fontname="sans-serif"];',
        '    edge [fontname="sans-serif", fontsize=10];',
        "    start [shape=point];",
        f"    start -> {initial.value};",
    ]
    for s in states:
        extra = ", peripheries=2" if s.terminal else ""
        lines.append(f'    {s.name.value} [label="{s.name.value}\\n{s.label_zh}"{extra}];')
    for e in edges(kind):
        style = ", style=dashed" if e.automatic else ""
        lines.append(f'    {e.source} -> {e.dest} [label="{_label(e)}"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg(kind: OrderKind | None = None) -> bytes | None:
    """The diagram rendered by Graphviz, or ``None`` if ``dot`` is not on PATH."""
    program = shutil.which("dot")
    if program is None:
        return None
    source = dot(kind).encode()
    done = subprocess.run([program, "-Tsvg"], input=source, capture_output=True, check=True)
    return done.stdout
