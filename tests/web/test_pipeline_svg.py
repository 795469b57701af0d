"""The pipeline diagram reads: its edge labels clear of each other and of the state boxes,
its edges clear of the boxes they do not join."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

from web.pipeline_svg import BOX_H, BOX_W, EVERYWHERE, pipeline_svg
from workflow.domain.definition import State
from workflow.domain.diagram import Edge, edges
from workflow.schemas import StateCount

SVG = "{http://www.w3.org/2000/svg}"
# An edge label as drawn: 11px type on 12px lines, a character at most ~6.6px wide, a 2px halo.
CHAR_W, LINE_H, HALO = 6.6, 12, 2
Rect = tuple[float, float, float, float]  # left, top, right, bottom


def _overlap(r: Rect, s: Rect) -> bool:
    return r[0] < s[2] and s[0] < r[2] and r[1] < s[3] and s[1] < r[3]


def _drawn() -> ET.Element:
    counts = [StateCount(state=s, count=3, overdue=1, by_kind={}) for s in State]
    markup = str(pipeline_svg(counts)).replace("&", "&amp;")  # HTML's bare & in the links
    return ET.fromstring(markup.replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1))


def _labels(svg: ET.Element) -> list[tuple[str, Rect]]:
    """Each edge label's text and the box it covers, read back from its drawn position."""
    found = []
    for text in svg.iter(f"{SVG}text"):
        lines = [span.text or "" for span in text.iter(f"{SVG}tspan")]
        if text.get("class") != "edge-label" or not lines:
            continue
        cx, first = float(text.findall(f"{SVG}tspan")[0].get("x", 0)), float(text.get("y", 0))
        half = CHAR_W * max(len(line) for line in lines) / 2 + HALO
        last = first + LINE_H * (len(lines) - 1)
        found.append(("".join(lines), (cx - half, first - 9 - HALO, cx + half, last + 3 + HALO)))
    return found


def test_no_two_edge_labels_overlap() -> None:
    labels = _labels(_drawn())
    assert len(labels) > 20
    clashes = [
        (a, b) for i, (a, r) in enumerate(labels) for b, s in labels[i + 1 :] if _overlap(r, s)
    ]
    assert clashes == []


def test_no_edge_label_covers_a_state_box() -> None:
    svg = _drawn()
    states = [
        (x, y, x + float(rect.get("width", 0)), y + float(rect.get("height", 0)))
        for rect in svg.iter(f"{SVG}rect")
        for x, y in [(float(rect.get("x", 0)), float(rect.get("y", 0)))]
    ]
    assert len(states) == len(State)
    covering = [name for name, r in _labels(svg) for s in states if _overlap(r, s)]
    assert covering == []


def _along(d: str, steps: int = 100) -> list[tuple[float, float]]:
    """Points every ``steps``-th of the way along each piece of the path ``d``: its cubic
    Beziers (``C``) and straight lines (``L``), each command taking as many points as follow."""
    found = []
    x, y = 0.0, 0.0
    for command, numbers in re.findall(r"([MLC])([^MLC]*)", d):
        values = [float(n) for n in re.findall(r"-?[\d.]+", numbers)]
        points = list(zip(values[::2], values[1::2], strict=True))
        size = {"M": 1, "L": 1, "C": 3}[command]
        for i in range(0, len(points), size):
            piece = [(x, y), *points[i : i + size]]
            for step in range(1, steps) if command != "M" else ():
                t, u = step / steps, 1 - step / steps
                w = (u**3, 3 * u * u * t, 3 * u * t * t, t**3) if command == "C" else (u, t)
                found.append(
                    (
                        sum(a * px for a, (px, _) in zip(w, piece, strict=True)),
                        sum(a * py for a, (_, py) in zip(w, piece, strict=True)),
                    )
                )
            x, y = piece[-1]
    return found


def _boxes(svg: ET.Element) -> dict[str, Rect]:
    return {
        group.get("id", "").removeprefix("state-"): (x, y, x + BOX_W, y + BOX_H)
        for group in svg.iter(f"{SVG}g")
        for rect in group.iter(f"{SVG}rect")
        for x, y in [(float(rect.get("x", 0)), float(rect.get("y", 0)))]
    }


def _edges(svg: ET.Element) -> list[tuple[Edge, str]]:
    """Each drawn edge with its path, in the order both are drawn."""
    everywhere = {e.name for e in EVERYWHERE}
    drawn = [e for e in edges() if e.event not in everywhere]
    paths = [
        path.get("d", "") for path in svg.iter(f"{SVG}path") if "edge" in path.get("class", "")
    ]
    assert len(paths) == len(drawn)
    return list(zip(drawn, paths, strict=True))


def test_no_edge_crosses_a_state_box_but_its_own_two() -> None:
    svg = _drawn()
    boxes = _boxes(svg)
    crossing = {
        (e.source, e.event, e.dest): sorted(
            {
                name
                for x, y in _along(d)
                for name, (left, top, right, bottom) in boxes.items()
                if name not in {e.source, e.dest} and left < x < right and top < y < bottom
            }
        )
        for e, d in _edges(svg)
    }
    assert {edge: states for edge, states in crossing.items() if states} == {}


def _gap(rect: Rect, points: list[tuple[float, float]]) -> float:
    """How far ``rect`` is from the nearest of ``points``, across and down (0 if it covers it)."""
    return min(
        max(rect[0] - x, x - rect[2], 0) + max(rect[1] - y, y - rect[3], 0) for x, y in points
    )


def test_each_loops_label_sits_beside_its_loop() -> None:
    svg = _drawn()
    drawn = _edges(svg)
    labels = _labels(svg)[: len(drawn)]  # one per edge, in their order; then the note
    gaps = {
        e.event: _gap(rect, _along(d))
        for (e, d), (_, rect) in zip(drawn, labels, strict=True)
        if e.source == e.dest
    }
    assert len(gaps) == 3
    assert {event: round(gap) for event, gap in gaps.items() if gap > LINE_H} == {}


def test_each_edges_label_sits_on_its_edge_nearer_to_it_than_to_any_other() -> None:
    """Its middle within a line of its edge and at least half a line nearer to it than to any
    other edge: a label off its edge, or as near another, is read as that one's. A loop's sits
    beside it (above)."""
    svg = _drawn()
    drawn = _edges(svg)
    traced = [_along(d, steps=1000) for _, d in drawn]
    labels = _labels(svg)[: len(drawn)]
    misplaced = {}
    for i, ((e, _), (_, (left, top, right, bottom))) in enumerate(zip(drawn, labels, strict=True)):
        if e.source == e.dest:
            continue
        middle = ((left + right) / 2, (top + bottom) / 2)
        own, *others = (
            min(math.dist(middle, point) for point in traced[j])
            for j in [i, *(j for j in range(len(drawn)) if j != i)]
        )
        if own > LINE_H or min(others) < own + LINE_H / 2:
            misplaced[e.source, e.event, e.dest] = (round(own), round(min(others)))
    assert misplaced == {}
