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

from workflow.domain.definition import EVENTS_BY_NAME, INITIAL_STATE, STATES, TERMINAL_STATES
from workflow.domain.machine import MACHINE


@dataclass(frozen=True)
class Edge:
    source: str
    dest: str
    event: str
    automatic: bool


def edges() -> Iterator[Edge]:
    """One edge per (source, event) as the machine holds them, in declaration order;
    ``withdraw`` alone contributes one per non-terminal state."""
    for name, event in MACHINE.events.items():
        automatic = EVENTS_BY_NAME[name].automatic
        for source, transitions in event.transitions.items():
            for transition in transitions:
                yield Edge(source, transition.dest or source, name, automatic)  # None: internal


def _label(edge: Edge) -> str:
    return f"{edge.event} (automatic)" if edge.automatic else edge.event


def mermaid() -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {INITIAL_STATE.value}"]
    lines += [f"    {s.name.value} : {s.name.value} {s.label_zh}" for s in STATES]
    lines += [f"    {e.source} --> {e.dest} : {_label(e)}" for e in edges()]
    lines += [f"    {state.value} --> [*]" for state in TERMINAL_STATES]
    return "\n".join(lines) + "\n"


def dot() -> str:
    lines = [
        "digraph filing {",
        "    rankdir=LR;",
        '    node [shape=box, style=rounded, fontname="sans-serif"];',
        '    edge [fontname="sans-serif", fontsize=10];',
        "    start [shape=point];",
        f"    start -> {INITIAL_STATE.value};",
    ]
    for s in STATES:
        extra = ", peripheries=2" if s.terminal else ""
        lines.append(f'    {s.name.value} [label="{s.name.value}\\n{s.label_zh}"{extra}];')
    for e in edges():
        style = ", style=dashed" if e.automatic else ""
        lines.append(f'    {e.source} -> {e.dest} [label="{_label(e)}"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg() -> bytes | None:
    """The diagram rendered by Graphviz, or ``None`` if ``dot`` is not on PATH."""
    program = shutil.which("dot")
    if program is None:
        return None
    done = subprocess.run([program, "-Tsvg"], input=dot().encode(), capture_output=True, check=True)
    return done.stdout
