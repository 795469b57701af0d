"""The pipeline drawn as the state diagram, in SVG written here (no Graphviz at run time).

States sit in columns by their distance from the initial state along the declared edges, so
the picture reads left to right as a filing moves. Each state is a link to its filings with
its live count and how many of them are overdue, shaded by that share like a heat map. An event
that leaves every open state (``withdraw``) is one note instead of an arrow from each box.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from markupsafe import Markup, escape

from workflow.domain.definition import (
    EVENTS,
    INITIAL_STATE,
    NON_TERMINAL_STATES,
    STATES,
    STATES_BY_NAME,
    Flag,
    State,
)
from workflow.domain.diagram import Edge, edges
from workflow.schemas import StateCount

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 150, 78, 96, 34, 16
EVERYWHERE = tuple(e for e in EVENTS if set(e.sources) == set(NON_TERMINAL_STATES))


@dataclass(frozen=True)
class Box:
    state: str
    x: int
    y: int

    @property
    def middle_y(self) -> int:
        return self.y + BOX_H // 2


def _ranks(drawn: Sequence[Edge]) -> dict[str, int]:
    """Breadth-first distance from the initial state. A state the initial one does not lead to
    but that leads on (``draft``, where filings are imported) goes one column before the
    furthest state it leads to, so none of its edges spans a column; states only an
    everywhere-event reaches go to the last column, with the other ends."""
    ranks = {INITIAL_STATE.value: 0}
    queue = deque([INITIAL_STATE.value])
    while queue:
        source = queue.popleft()
        for edge in drawn:
            if edge.source == source and edge.dest not in ranks:
                ranks[edge.dest] = ranks[source] + 1
                queue.append(edge.dest)
    last = max(ranks.values())
    for edge in drawn:
        if edge.source not in ranks:
            leads = [ranks[e.dest] for e in drawn if e.source == edge.source and e.dest in ranks]
            ranks[edge.source] = max(0, max(leads, default=last + 1) - 1)
    return {s.name.value: ranks.get(s.name.value, last) for s in STATES}


def layout(drawn: Sequence[Edge]) -> dict[str, Box]:
    ranks = _ranks(drawn)
    rows: dict[int, int] = {}
    boxes = {}
    for spec in STATES:  # declaration order within a column
        rank = ranks[spec.name.value]
        row = rows.get(rank, 0)
        rows[rank] = row + 1
        x = MARGIN + rank * (BOX_W + GAP_X)
        boxes[spec.name.value] = Box(spec.name.value, x, MARGIN + row * (BOX_H + GAP_Y))
    return boxes


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: Rect) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


Point = tuple[float, float]
# An edge label's size as drawn (11px type, 12px lines): a character's width, generously, and
# the halo its stroke paints round it.
CHAR_W, LINE_H, HALO = 6.6, 12, 3
# Where along its edge a label is tried first (the middle), then either side of it.
ALONG = (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8)


def _curve(edge: Edge, boxes: dict[str, Box], lane: int) -> tuple[Point, Point, Point, Point]:
    """The cubic Bezier an edge is drawn as: start, two control points, end."""
    a, b = boxes[edge.source], boxes[edge.dest]
    if b.x > a.x:  # forward: right side to left side
        x1, y1, x2, y2 = a.x + BOX_W, a.middle_y, b.x, b.middle_y
        bend = (x2 - x1) / 2
        return (x1, y1), (x1 + bend, y1), (x2 - bend, y2), (x2, y2)
    if b.x == a.x and abs(b.y - a.y) == BOX_H + GAP_Y:  # next in the column: straight across
        x = a.x + (BOX_W * 3 // 5 if b.y > a.y else BOX_W * 2 // 5)
        start, end = (x, a.y + BOX_H), (x, b.y)
        if b.y < a.y:
            start, end = (x, a.y), (x, b.y + BOX_H)
        return start, start, end, end
    if b.x == a.x and b.y != a.y:  # further down or up the column: round its left side
        y1, y2, bulge = a.y + BOX_H - 16, b.y + BOX_H - 16, a.x - 24 - 14 * lane
        return (a.x, y1), (bulge, y1), (bulge, y2), (b.x, y2)
    # back or sideways: under the boxes, bottom to bottom, each in its own lane
    x1, y1 = a.x + BOX_W * 3 // 5, a.y + BOX_H
    x2, y2 = b.x + BOX_W * 2 // 5, b.y + BOX_H
    depth = max(y1, y2) + 18 + 14 * lane
    return (x1, y1), (x1, depth), (x2, depth), (x2, y2)


def _at(curve: tuple[Point, Point, Point, Point], t: float) -> Point:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = curve
    u = 1 - t
    weights = (u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t)
    return (
        sum(w * x for w, x in zip(weights, (x0, x1, x2, x3), strict=True)),
        sum(w * y for w, y in zip(weights, (y0, y1, y2, y3), strict=True)),
    )


def label_rect(lines: Sequence[str], cx: float, cy: float) -> Rect:
    """The box a label of ``lines`` centred on (cx, cy) covers, its halo included."""
    w = CHAR_W * max(len(line) for line in lines) + 2 * HALO
    h = LINE_H * len(lines) + 2 * HALO
    return Rect(cx - w / 2, cy - h / 2, w, h)


def _place(
    curve: tuple[Point, Point, Point, Point], lines: Sequence[str], taken: list[Rect]
) -> Rect:
    """Where a label goes: the first point along its edge, from the middle out, where it
    covers no state box nor label already placed; else stacked above or below the middle."""
    tried = [_at(curve, t) for t in ALONG]
    mx, my = tried[0]
    tried += [(mx, my + sign * step * LINE_H) for step in range(1, 60) for sign in (1, -1)]
    for cx, cy in tried:
        rect = label_rect(lines, cx, cy)
        if rect.x >= 0 and rect.y >= 0 and not any(rect.overlaps(r) for r in taken):
            return rect
    return label_rect(lines, mx, my)  # not reached: the space below the boxes is free


def _label(rect: Rect, lines: Sequence[str]) -> str:
    cx = rect.x + rect.w / 2
    spans = "".join(
        f'<tspan x="{cx:.0f}" dy="{0 if i == 0 else LINE_H}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    first = rect.y + HALO + 9  # the first line's baseline, under its ascent
    return f'<text class="edge-label" y="{first:.0f}" text-anchor="middle">{spans}</text>'


def _edges(drawn: Sequence[Edge], boxes: dict[str, Box]) -> tuple[list[str], list[Rect]]:
    """The edges' paths and labels, the labels placed clear of the boxes and of each other
    (the forward edges' first, their gaps being narrowest); and the labels' boxes."""
    backs = [e for e in drawn if boxes[e.dest].x <= boxes[e.source].x]
    curves = [_curve(e, boxes, backs.index(e) % 3 if e in backs else 0) for e in drawn]
    taken = [Rect(b.x, b.y, BOX_W, BOX_H) for b in boxes.values()]
    labels: dict[int, str] = {}
    rects = []
    for i in sorted(range(len(drawn)), key=lambda i: drawn[i] in backs):
        lines = _wrap(drawn[i].event)
        rect = _place(curves[i], lines, taken)
        taken.append(rect)
        rects.append(rect)
        labels[i] = _label(rect, lines)
    paths = [
        f'<path class="{"edge auto" if e.automatic else "edge"}" '
        f'd="M{p0[0]},{p0[1]} C{p1[0]},{p1[1]} {p2[0]},{p2[1]} {p3[0]},{p3[1]}" '
        'marker-end="url(#arrow)"/>'
        for e, (p0, p1, p2, p3) in zip(drawn, curves, strict=True)
    ]
    return paths + [labels[i] for i in range(len(drawn))], rects


def _wrap(name: str, width: int = 12) -> list[str]:
    """An event's name on lines of about ``width`` characters, broken after underscores, so
    it fits the gap between two columns."""
    lines = [""]
    for word in name.split("_"):
        piece = word if not lines[-1] else f"_{word}"
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines[-1] += "_"
            lines.append(word)
        else:
            lines[-1] += piece
    return lines


def _heat(count: StateCount) -> int:
    """0 when nothing is overdue, else 1-3 by the share of the state's filings that are."""
    if not count.overdue or not count.count:
        return 0
    return min(3, 1 + (3 * count.overdue) // (count.count + 1))


def _box(box: Box, count: StateCount, kind: str | None) -> str:
    spec = STATES_BY_NAME[box.state]
    listed = {"state": box.state, **({"kind": kind} if kind else {})}
    state_link = "/filings?" + urlencode(listed)
    overdue_link = "/filings?" + urlencode({**listed, "overdue": "true"})
    terminal = " terminal" if spec.terminal else ""
    cx = box.x + BOX_W // 2
    overdue = (
        f'<a href="{overdue_link}"><text class="overdue" x="{cx}" y="{box.y + 70}" '
        f'text-anchor="middle">{count.overdue} {Flag.OVERDUE.label}</text></a>'
        if count.overdue
        else ""
    )
    return (
        f'<g class="state" id="state-{box.state}">'
        f'<a href="{state_link}" aria-label="{escape(spec.label_zh)} {box.state}: '
        f'{count.count} filings, {count.overdue} {Flag.OVERDUE}">'
        f'<rect class="node heat-{_heat(count)}{terminal}" x="{box.x}" y="{box.y}" '
        f'width="{BOX_W}" height="{BOX_H}" rx="6"/>'
        f'<text class="zh" x="{cx}" y="{box.y + 18}" text-anchor="middle">'
        f"{escape(spec.label_zh)}</text>"
        f'<text class="name" x="{cx}" y="{box.y + 33}" text-anchor="middle">{box.state}</text>'
        f'<text class="count" x="{cx}" y="{box.y + 56}" text-anchor="middle" '
        f'data-state="{box.state}">{count.count}</text></a>{overdue}</g>'
    )


def pipeline_svg(counts: Sequence[StateCount], kind: str | None = None) -> Markup:
    """The diagram with ``counts``; its boxes link to their filings, of ``kind`` only when the
    counts are that kind's."""
    drawn = [e for e in edges() if e.event not in {x.name for x in EVERYWHERE}]
    boxes = layout(drawn)
    by_state = {c.state: c for c in counts}
    parts, labels = _edges(drawn, boxes)
    parts += [_box(box, by_state[State(name)], kind) for name, box in boxes.items()]
    width = max(b.x for b in boxes.values()) + BOX_W + MARGIN
    below = max([b.y + BOX_H + 18 + 14 * 3 for b in boxes.values()] + [r.y + r.h for r in labels])
    bottom = int(below) + 10
    notes = "; ".join(f"{e.name}: any open state → {e.dest.value}" for e in EVERYWHERE)
    parts.append(f'<text class="edge-label" x="{MARGIN}" y="{bottom}">{escape(notes)}</text>')
    height = bottom + MARGIN
    return Markup(
        f'<svg class="pipeline" viewBox="0 0 {width} {height}" role="group" '
        f'aria-label="Pipeline: the filing states and their counts">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path class="arrowhead" '
        'd="M0,0 L10,5 L0,10 z"/></marker></defs>' + "".join(parts) + "</svg>"
    )
