"""The pipeline drawn as the state diagram, in SVG written here (no Graphviz at run time).

States sit in columns by their distance from the initial state along the declared edges, so
the picture reads left to right as a filing moves. Each state is a link to its filings with
its live count and how many of them are overdue, shaded by that share like a heat map. An event
that leaves every open state (``withdraw``) is one note instead of an arrow from each box. An
edge forward is an S across the gap between two columns; any other keeps to the gutters between
the rows and columns, so no edge passes under a box it does not join. Each edge's label sits on it, where no other
edge passes near: near one it would be read as that one's.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from itertools import pairwise
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

# The rows' gap holds the lanes of the edges that run between two rows, and their labels.
BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 150, 78, 96, 64, 16
EVERYWHERE = tuple(e for e in EVENTS if set(e.sources) == set(NON_TERMINAL_STATES))


@dataclass(frozen=True)
class Box:
    state: str
    x: int
    y: int
    row: int  # within its column, from the top

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
    """Each state's box: its column by its rank, its row by declaration order within the
    column; with room above the first row for the loops of its states that have any."""
    ranks = _ranks(drawn)
    taken: dict[int, int] = {}
    rows = {}
    for spec in STATES:
        rank = ranks[spec.name.value]
        rows[spec.name.value] = taken.get(rank, 0)
        taken[rank] = rows[spec.name.value] + 1
    top = MARGIN + (
        LOOP_ROOM if any(e.source == e.dest and not rows[e.source] for e in drawn) else 0
    )
    return {
        state: Box(state, MARGIN + ranks[state] * (BOX_W + GAP_X), top + row * (BOX_H + GAP_Y), row)
        for state, row in rows.items()
    }


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
# Where along a stretch of its edge a label is tried: from the middle out, every so often.
ALONG = (0.5, *(0.5 + sign * step / 40 for step in range(1, 20) for sign in (-1, 1)))
# How far a label's middle keeps from every other edge where it can: near one it is read as
# that one's. A curve is measured as this many straight pieces.
CLEAR, CURVE_PIECES = 2 * LINE_H, 24
# Lanes in the gutters: the least room between two edges' runs along one lane, and the
# spacing of the lanes below the last row, where there is no box to fit between.
LANE_CLEAR, LANE_STEP = 10, 14
# A loop's control points stand this high over its box, and the first row this much lower when
# one of its states has a loop: room for the loop and two lines of label over it.
LOOP_H, LOOP_ROOM = 28, 40


class Side(Enum):
    TOP = "top"
    BOTTOM = "bottom"


@dataclass(frozen=True)
class Route:
    """The line an edge is drawn as: a cubic Bezier (start, two control points, end) when
    ``curved``, else the polyline through ``points``."""

    points: tuple[Point, ...]
    curved: bool

    def at(self, t: float) -> Point:
        """The point ``t`` of the way along (for a polyline, of its length)."""
        if self.curved:
            (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.points
            u = 1 - t
            weights = (u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t)
            return (
                sum(w * x for w, x in zip(weights, (x0, x1, x2, x3), strict=True)),
                sum(w * y for w, y in zip(weights, (y0, y1, y2, y3), strict=True)),
            )
        legs = list(zip(self.points, self.points[1:], strict=False))
        lengths = [abs(bx - ax) + abs(by - ay) for (ax, ay), (bx, by) in legs]  # orthogonal
        left = t * sum(lengths)
        for ((ax, ay), (bx, by)), length in zip(legs, lengths, strict=True):
            if left <= length and length:
                f = left / length
                return ax + f * (bx - ax), ay + f * (by - ay)
            left -= length
        return self.points[-1]

    @property
    def d(self) -> str:
        (x0, y0), *rest = self.points
        moves = " ".join(f"{x:g},{y:g}" for x, y in rest)
        return f"M{x0:g},{y0:g} {'C' if self.curved else 'L'}{moves}"


def _forward(a: Box, b: Box) -> Route:
    """Right side to left side, an S between the columns, which hold no box."""
    x1, y1, x2, y2 = a.x + BOX_W, a.middle_y, b.x, b.middle_y
    bend = (x2 - x1) / 2
    return Route(((x1, y1), (x1 + bend, y1), (x2 - bend, y2), (x2, y2)), curved=True)


@dataclass(frozen=True)
class _Plan:
    """An edge that goes back, up or down its column, or round to its own state, before its
    coordinates are known: the side of each box it leaves and enters by and the gutter
    between rows it runs along beside each (gutter ``k`` lies above row ``k``); where the two
    differ, it ``turns`` along the gutter between columns after the destination's."""

    edge: Edge
    leaves: Side
    enters: Side
    out_gutter: int
    in_gutter: int

    @property
    def turns(self) -> bool:
        return self.out_gutter != self.in_gutter and not self.loops

    @property
    def loops(self) -> bool:
        return self.edge.source == self.edge.dest


def _plan(edge: Edge, boxes: dict[str, Box]) -> _Plan:
    """Out of the side facing the destination's row and in by the side facing the source's;
    between states in one row, out of the bottom and in by the bottom; a loop, out of the top
    and back in by it, clear of the edges to the box below."""
    ra, rb = boxes[edge.source].row, boxes[edge.dest].row
    if edge.source == edge.dest:
        return _Plan(edge, Side.TOP, Side.TOP, ra, ra)
    if rb < ra:
        return _Plan(edge, Side.TOP, Side.BOTTOM, ra, rb + 1)
    if rb > ra:
        return _Plan(edge, Side.BOTTOM, Side.TOP, ra + 1, rb)
    return _Plan(edge, Side.BOTTOM, Side.BOTTOM, ra + 1, ra + 1)


def _lanes(spans: Sequence[tuple[float, float]]) -> list[int]:
    """Each span's lane, the fewest lanes such that spans sharing one are ``LANE_CLEAR``
    apart: runs that do not meet along a gutter share its lane."""
    ends: list[float] = []  # per lane, where its last span ends
    found = [0] * len(spans)
    for i in sorted(range(len(spans)), key=lambda i: min(spans[i])):
        lo, hi = sorted(spans[i])
        lane = next((k for k, end in enumerate(ends) if end + LANE_CLEAR <= lo), len(ends))
        if lane == len(ends):
            ends.append(hi)
        ends[lane] = hi
        found[i] = lane
    return found


def _gutter_lanes(
    keys: Sequence[int], spans: Sequence[tuple[float, float]]
) -> tuple[list[int], dict[int, int]]:
    """The lane of each span within its gutter ``keys[i]``, and how many lanes each gutter
    holds."""
    lanes = [0] * len(spans)
    counts: dict[int, int] = {}
    for key in set(keys):
        mine = [i for i, k in enumerate(keys) if k == key]
        for i, lane in zip(mine, _lanes([spans[i] for i in mine]), strict=True):
            lanes[i] = lane
        counts[key] = 1 + max(lanes[i] for i in mine)
    return lanes, counts


def _around(plans: Sequence[_Plan], boxes: dict[str, Box]) -> list[Route]:
    """Each plan drawn along the gutters, where no box is: out of its box to the row gutter
    beside it, along it (to the gutter after the destination's column, then along that to the
    destination's row gutter, if the two differ) and into the destination. The ends along a
    box's side are spread evenly, ordered by where their other ends lie; the runs along a
    gutter each get a lane of their own where they would meet."""
    ends: dict[tuple[str, Side], list[tuple[float, int, bool]]] = {}
    for i, plan in enumerate(plans):
        a, b = boxes[plan.edge.source], boxes[plan.edge.dest]
        ends.setdefault((a.state, plan.leaves), []).append((b.x, i, True))
        ends.setdefault((b.state, plan.enters), []).append((a.x, i, False))
    xs: dict[tuple[int, bool], float] = {}
    for (state, _), attached in ends.items():
        for k, (_, i, leaving) in enumerate(sorted(attached)):
            xs[i, leaving] = boxes[state].x + BOX_W * (k + 1) / (len(attached) + 1)
    row_y = {b.row: b.y for b in boxes.values()}
    bottom_row = max(row_y)

    def gutter_y(gutter: int, lane: int, lanes: int) -> float:
        if gutter > bottom_row:  # below the last row: as deep as it takes
            return row_y[bottom_row] + BOX_H + LANE_STEP * (lane + 1)
        return row_y[gutter - 1] + BOX_H + GAP_Y * (lane + 1) / (lanes + 1)

    turning = [i for i, p in enumerate(plans) if p.turns]
    column_of = [boxes[plans[i].edge.dest].x for i in turning]
    v_lanes, v_counts = _gutter_lanes(
        column_of, [(plans[i].out_gutter, plans[i].in_gutter) for i in turning]
    )
    turn_x = {
        i: x + BOX_W + GAP_X * (lane + 1) / (v_counts[x] + 1)
        for i, x, lane in zip(turning, column_of, v_lanes, strict=True)
    }
    runs: list[tuple[int, int, float, float]] = []  # plan, gutter, from x, to x
    for i, plan in enumerate(plans):
        if plan.loops:
            continue
        far = turn_x.get(i, xs[i, False])
        runs.append((i, plan.out_gutter, xs[i, True], far))
        if plan.turns:
            runs.append((i, plan.in_gutter, far, xs[i, False]))
    h_lanes, h_counts = _gutter_lanes([g for _, g, _, _ in runs], [(x1, x2) for *_, x1, x2 in runs])
    along: dict[tuple[int, int], float] = {
        (i, g): gutter_y(g, lane, h_counts[g])
        for (i, g, _, _), lane in zip(runs, h_lanes, strict=True)
    }
    routes = []
    for i, plan in enumerate(plans):
        a, b = boxes[plan.edge.source], boxes[plan.edge.dest]
        xa, xb = xs[i, True], xs[i, False]
        if plan.loops:  # its two ends are neighbours along the top: bulging out over them
            bulge = (xa - xb) / 2
            controls = ((xa + bulge, a.y - LOOP_H), (xb - bulge, a.y - LOOP_H))
            routes.append(Route(((xa, a.y), *controls, (xb, a.y)), curved=True))
            continue
        ya = a.y if plan.leaves is Side.TOP else a.y + BOX_H
        yb = b.y if plan.enters is Side.TOP else b.y + BOX_H
        out_y, in_y = along[i, plan.out_gutter], along[i, plan.in_gutter]
        middle = [(turn_x[i], out_y), (turn_x[i], in_y)] if plan.turns else []
        points = [(xa, ya), (xa, out_y), *middle, (xb, in_y), (xb, yb)]
        routes.append(Route(tuple(points), curved=False))
    return routes


def label_rect(lines: Sequence[str], cx: float, cy: float) -> Rect:
    """The box a label of ``lines`` centred on (cx, cy) covers, its halo included."""
    w = CHAR_W * max(len(line) for line in lines) + 2 * HALO
    h = LINE_H * len(lines) + 2 * HALO
    return Rect(cx - w / 2, cy - h / 2, w, h)


def _pieces(route: Route) -> list[tuple[Point, Point]]:
    """The straight pieces of ``route``, a curve's short enough to measure by."""
    points = (
        [route.at(step / CURVE_PIECES) for step in range(CURVE_PIECES + 1)]
        if route.curved
        else list(route.points)
    )
    return list(pairwise(points))


def _distance(point: Point, pieces: Sequence[tuple[Point, Point]]) -> float:
    """How far ``point`` is from the nearest of the straight ``pieces``."""
    px, py = point
    nearest = math.inf
    for (ax, ay), (bx, by) in pieces:
        dx, dy = bx - ax, by - ay
        square = dx * dx + dy * dy
        f = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / square)) if square else 0.0
        nearest = min(nearest, math.hypot(px - ax - f * dx, py - ay - f * dy))
    return nearest


def _along(route: Route) -> list[Point]:
    """Where an edge's label may go: on it, a curve from its middle out, a polyline along its
    longest straight stretch first. Off it, it would be read as another's."""
    if route.curved:
        return [route.at(t) for t in ALONG]
    legs = sorted(_pieces(route), key=lambda leg: -math.dist(*leg))
    return [(ax + t * (bx - ax), ay + t * (by - ay)) for (ax, ay), (bx, by) in legs for t in ALONG]


def _beside(loop: Route, lines: Sequence[str], nth: int, of: int) -> list[Point]:
    """Where a loop's label may go: beside it, just above the box, on the side away from the
    box's other loops (its left for the first of them, its right for the last), or over it;
    else stacked further up. Along the loop would put it on the box or on the next loop's."""
    traced = [loop.at(step / 20) for step in range(21)]
    left, right = min(x for x, _ in traced), max(x for x, _ in traced)
    top = min(y for _, y in traced)
    size = label_rect(lines, 0, 0)
    level = max(y for _, y in traced) - size.h / 2 - 1  # just above the box
    sides = [(left - size.w / 2, level), (right + size.w / 2, level)]
    over = [((left + right) / 2, top - size.h / 2 - step * LINE_H) for step in range(60)]
    if 2 * nth < of - 1:
        return [sides[0], over[0], sides[1], *over[1:]]
    if 2 * nth > of - 1:
        return [sides[1], over[0], sides[0], *over[1:]]
    return [over[0], *sides, *over[1:]]


def _place(
    tried: Sequence[tuple[list[str], Point]],
    taken: list[Rect],
    others: Sequence[Sequence[tuple[Point, Point]]],
) -> tuple[list[str], Rect]:
    """Where a label goes, as which lines: of the ``tried`` where it covers no state box nor
    label already placed, the first ``CLEAR`` of the ``others`` edges, else the clearest."""
    placed, clearest = None, -1.0
    for lines, at in tried:
        rect = label_rect(lines, *at)
        if rect.x < 0 or rect.y < 0 or any(rect.overlaps(r) for r in taken):
            continue
        clearance = min((_distance(at, pieces) for pieces in others), default=math.inf)
        if clearance >= CLEAR:
            return lines, rect
        if clearance > clearest:
            placed, clearest = (lines, rect), clearance
    if placed:
        return placed
    lines, at = tried[0]  # nowhere free: on its edge all the same, where it is read as its own
    return lines, label_rect(lines, *at)


def _label(rect: Rect, lines: Sequence[str]) -> str:
    cx = rect.x + rect.w / 2
    spans = "".join(
        f'<tspan x="{cx:.0f}" dy="{0 if i == 0 else LINE_H}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    first = rect.y + HALO + 9  # the first line's baseline, under its ascent
    return f'<text class="edge-label" y="{first:.0f}" text-anchor="middle">{spans}</text>'


def _edges(
    drawn: Sequence[Edge], boxes: dict[str, Box]
) -> tuple[list[str], list[Rect], list[Route]]:
    """The edges' paths and labels, the labels placed clear of the boxes and of each other
    (the forward edges' first, their gaps being narrowest); the labels' boxes and the routes."""
    plans = [_plan(e, boxes) for e in drawn if boxes[e.dest].x <= boxes[e.source].x]
    around = dict(zip([p.edge for p in plans], _around(plans, boxes), strict=True))
    routes = [around[e] if e in around else _forward(boxes[e.source], boxes[e.dest]) for e in drawn]
    loops = [p.edge for p in plans if p.loops]
    pieces = [_pieces(route) for route in routes]
    taken = [Rect(b.x, b.y, BOX_W, BOX_H) for b in boxes.values()]
    labels: dict[int, str] = {}
    rects = []
    # forward edges' labels first, then the loops', then those going round
    for i in sorted(
        range(len(drawn)),
        key=lambda i: (drawn[i] in around, drawn[i] not in loops),
    ):
        own = [e for e in loops if e.source == drawn[i].source]
        if drawn[i] in own:  # beside its loop, not on it: no other edge is that near
            lines = _wrap(drawn[i].event)
            beside = _beside(routes[i], lines, own.index(drawn[i]), len(own))
            lines, rect = _place([(lines, at) for at in beside], taken, [])
        else:
            along = _along(routes[i])
            tried = [(lines, at) for lines in _wraps(drawn[i].event) for at in along]
            others = [pieces[j] for j in range(len(drawn)) if j != i]
            lines, rect = _place(tried, taken, others)
        taken.append(rect)
        rects.append(rect)
        labels[i] = _label(rect, lines)
    paths = [
        f'<path class="{"edge auto" if e.automatic else "edge"}" d="{route.d}" '
        'marker-end="url(#arrow)"/>'
        for e, route in zip(drawn, routes, strict=True)
    ]
    return paths + [labels[i] for i in range(len(drawn))], rects, routes


def _wraps(name: str) -> list[list[str]]:
    """The lines an event's label is tried as: of about 12 characters, then, where that is
    narrower, a word a line, to fit between edges that pass near."""
    lines, narrow = _wrap(name), _wrap(name, width=0)
    return [lines, narrow] if narrow != lines else [lines]


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


@cache
def _drawing() -> tuple[dict[str, Box], tuple[str, ...], tuple[Rect, ...], tuple[Route, ...]]:
    """The boxes, and the edges drawn with their labels' boxes and routes: the workflow's
    alone, so worked out once (placing the labels clear of every edge takes a while)."""
    drawn = [e for e in edges() if e.event not in {x.name for x in EVERYWHERE}]
    boxes = layout(drawn)
    parts, labels, routes = _edges(drawn, boxes)
    return boxes, tuple(parts), tuple(labels), tuple(routes)


def pipeline_svg(counts: Sequence[StateCount], kind: str | None = None) -> Markup:
    """The diagram with ``counts``; its boxes link to their filings, of ``kind`` only when the
    counts are that kind's."""
    boxes, drawn, labels, routes = _drawing()
    by_state = {c.state: c for c in counts}
    parts = [*drawn, *(_box(box, by_state[State(name)], kind) for name, box in boxes.items())]
    width = max(b.x for b in boxes.values()) + BOX_W + MARGIN
    below = max(
        [b.y + BOX_H for b in boxes.values()]
        + [y for route in routes for _, y in route.points]
        + [r.y + r.h for r in labels]
    )
    bottom = int(below) + 10
    notes = "; ".join(f"{e.name}: any open state → {e.dest.value}" for e in EVERYWHERE)
    parts.append(f'<text class="edge-label" x="{MARGIN}" y="{bottom}">{escape(notes)}</text>')
    height = bottom + MARGIN
    return Markup(
        # its own size, at which a phone shows it (scrolling in its frame); wider screens fit it
        f'<svg class="pipeline" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="group" '
        f'aria-label="Pipeline: the filing states and their counts">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path class="arrowhead" '
        'd="M0,0 L10,5 L0,10 z"/></marker></defs>' + "".join(parts) + "</svg>"
    )
