"""The stylesheet's text colours stay readable: every --fg-* on every --bg-* reaches 4.5:1
(WCAG 2 AA for body text), and so does every --fg-inverse-* on every --bg-inverse-*."""

from __future__ import annotations

import re
from importlib.resources import files
from itertools import product

import pytest

CSS = (files("web") / "static" / "icpflow.css").read_text()
COLOURS = dict(re.findall(r"--([a-z0-9-]+):\s*(#[0-9a-fA-F]{6})", CSS))


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


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
