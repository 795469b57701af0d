"""The pipeline diagram reads: its edge labels clear of each other and of the state boxes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from web.pipeline_svg import pipeline_svg
from workflow.domain.definition import State
from workflow.schemas import StateCount

SVG = "{http://www.w3.org/2000/svg}"
# An edge label as drawn: 11px type on 12px lines, a character at most ~6.6px wide, a 2px halo.
CHAR_W, LINE_H, HALO = 6.6, 12, 2
Rect = tuple[float, float, float, float]  # left, top, right, bottom


def _overlap(r: Rect, s: Rect) -> bool:
    return r[0] < s[2] and s[0] < r[2] and r[1] < s[3] and s[1] < r[3]


def _drawn() -> ET.Element:
    counts = [StateCount(state=s, count=3, late=1, by_kind={}) for s in State]
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
