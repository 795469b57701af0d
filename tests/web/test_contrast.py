"""The stylesheet's text colours stay readable: every --fg-* on every --bg-* reaches 4.5:1
(WCAG 2 AA for body text), and so does every --fg-inverse-* on every --bg-inverse-*; a focus
ring stands out 3:1 from each background it is drawn on (WCAG 2 non-text contrast)."""

from __future__ import annotations

import re
from importlib.resources import files
from itertools import product

import pytest

from tests.colours import contrast

CSS = (files("web") / "static" / "icpflow.css").read_text()
COLOURS = dict(re.findall(r"--([a-z0-9-]+):\s*(#[0-9a-fA-F]{6})", CSS))

PAIRS = [
    (fg, bg)
    for fg, bg in product(COLOURS, COLOURS)
    if fg.startswith("fg-")
    and bg.startswith("bg-")
    and fg.startswith("fg-inverse") == bg.startswith("bg-inverse")
]


def test_the_stylesheet_declares_its_colours_as_fg_and_bg_variables() -> None:
    assert len(PAIRS) >= 10


@pytest.mark.parametrize(("fg", "bg"), PAIRS)
def test_text_contrast_is_at_least_4_5_to_1(fg: str, bg: str) -> None:
    assert contrast(COLOURS[fg], COLOURS[bg]) >= 4.5


def test_the_contrast_formula_matches_wcag() -> None:
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54


FOCUS_RINGS = [
    (ring, bg)
    for ring, bg in product(("focus", "focus-inverse"), COLOURS)
    if bg.startswith("bg-") and ring.endswith("inverse") == bg.startswith("bg-inverse")
]


@pytest.mark.parametrize(("ring", "bg"), FOCUS_RINGS)
def test_a_focus_ring_stands_out_3_to_1_from_its_background(ring: str, bg: str) -> None:
    assert contrast(COLOURS[ring], COLOURS[bg]) >= 3
