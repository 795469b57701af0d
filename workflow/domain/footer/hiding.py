"""What keeps an element's content from a visitor's eyes: elements never drawn, and the
style declarations that hide what an element holds (``what_hides``), or draw it again inside
a hiding ancestor (``DRAWN_AGAIN``). ``READ`` names every property the check reads, so that
a rule setting none of them is never matched."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

import cssselect2

# Elements a browser running scripts never draws on the page: a number only in one of them
# (the tab's title, the fallback for browsers without scripts) is not shown to visitors.
UNRENDERED = frozenset({"script", "style", "template", "title", "noscript"})
# The page itself: a page served hidden is shown by its scripts, or it would be blank.
_THE_PAGE = frozenset({"html", "head", "body"})


_LENGTH = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[a-z]+|%)?")


def _amount(value: str) -> float | None:
    """The number a CSS length, percentage or plain number starts with; ``None`` for a
    keyword or a ``calc()``, which are not judged."""
    if not _LENGTH.fullmatch(value):
        return None
    return float(re.sub(r"[a-z%]+$", "", value))


def _nothing(value: str) -> bool:
    amount = _amount(value)
    return amount is not None and amount <= 0


# CSS pixels per unit, for an offset judged off the page (an em taken at browsers' default
# 16px); a percentage or viewport unit of -100 or less is past the edge whatever the screen.
_PIXELS = {"px": 1.0, "em": 16.0, "rem": 16.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0}
_WHOLE = frozenset({"%", "vw", "vh"})


def _off_the_page(value: str) -> bool:
    """Whether an offset moves a positioned element past the page's top or left edge: 1000
    CSS pixels or more, where no footer's few words reach back onto a screen (the
    ``left: -9999px`` of "visually hidden" text)."""
    amount = _amount(value)
    unit = re.sub(r"^[-+.\d]+", "", value)
    if amount is None:
        return False
    if unit in _WHOLE:
        return amount <= -100
    return unit in _PIXELS and amount * _PIXELS[unit] <= -1000


# Declarations that keep an element's text from a visitor's eyes whatever it holds: not laid
# out, invisible, fully transparent (opacity below 0 is clamped to 0), or drawn at no size (a
# negative font size is invalid and ignored, so only zero hides).
_HIDING_STYLES: dict[str, Callable[[str], bool]] = {
    "display": lambda value: value == "none",
    "visibility": lambda value: value in ("hidden", "collapse"),
    "opacity": _nothing,
    "font-size": lambda value: _amount(value) == 0,
}
# Offsets that hide an element taken out of the flow (``position``) past the page's edge.
_POSITION = "position"
_OFFSETS = ("left", "top")
_TAKEN_OUT = frozenset({"absolute", "fixed"})


# Of those, the inherited ones a descendant's own style undoes: text it holds is drawn again
# at a visibility of its own, or at a font size not relative to the 0 it inherits.
DRAWN_AGAIN: dict[str, Callable[[str], bool]] = {
    "visibility": lambda value: value == "visible",
    "font-size": lambda value: (
        value not in ("inherit", "unset", "revert", "revert-layer")
        and not re.search(r"(em|ex|ch|%)$", value)
        and _amount(value) != 0
    ),
}


# Every property the check reads off an element's style: a rule setting none of them can
# neither hide nor show anything, and is not matched to elements at all (most of a real
# page's rules: colours, margins, fonts).
READ = frozenset({*_HIDING_STYLES, *DRAWN_AGAIN, _POSITION, *_OFFSETS})


class Declared(NamedTuple):
    """A property's value on an element, as the cascade picks it, and where it comes from,
    written as markup for the check's result."""

    value: str
    source: str


class Hiding(NamedTuple):
    """What keeps an element's content off the page, as markup (for the check's result), and
    the inherited style property doing it, if one does (``DRAWN_AGAIN``)."""

    markup: str
    inherited: str | None = None


def what_hides(element: cssselect2.ElementWrapper, style: dict[str, Declared]) -> Hiding | None:
    """What, in ``element`` with the ``style`` the cascade gives it, keeps what it holds off
    the page (written as the markup that does it), ``None`` when nothing does: never drawn, a
    dialog not open, its ``hidden`` attribute, or its style, the style's ``display`` having
    the last word over the attribute (which browsers apply as a stylesheet of their own),
    whether it comes from a rule or the inline style."""
    tag = element.local_name
    if tag in _THE_PAGE:
        return None
    if tag in UNRENDERED:
        return Hiding(f"<{tag}>")
    for name, hides in _HIDING_STYLES.items():
        if name in style and hides(style[name].value):
            return Hiding(style[name].source, name if name in DRAWN_AGAIN else None)
    position = style.get(_POSITION)
    if position is not None and position.value in _TAKEN_OUT:
        for name in _OFFSETS:
            if name in style and _off_the_page(style[name].value):
                return Hiding(style[name].source)
    if "display" in style:
        return None
    attributes = element.etree_element.attrib
    if "hidden" in attributes:
        return Hiding(f"<{tag} hidden>")
    if tag == "dialog" and "open" not in attributes:
        return Hiding("<dialog> not open")
    return None
