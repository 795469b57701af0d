"""The page read from the top down as a visitor sees it: its text, each piece with what hides it
from visitors, and the links to the MIIT site with the text shown in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urlsplit
from xml.etree.ElementTree import Comment

import cssselect2

from workflow.domain.footer.cascade import cascaded
from workflow.domain.footer.hiding import DRAWN_AGAIN, Hiding, what_hides

MIIT_HOST = "beian.miit.gov.cn"
MIIT_URL = f"https://{MIIT_HOST}"

# Elements whose content is code, not text: never part of what a page says.
_CODE = frozenset({"script", "style"})


@dataclass
class _Link:
    """A link to the MIIT site: the text a visitor sees in it, or what hides it."""

    text: list[str] = field(default_factory=list)
    hidden_by: str | None = None


class _Open(NamedTuple):
    """An element still to read, inside an element ``around`` hides (or none) and inside
    ``link`` (or none)."""

    element: cssselect2.ElementWrapper
    around: Hiding | None
    link: _Link | None


class _Piece(NamedTuple):
    """Text still to read, with what hides it (or ``None``), the MIIT link it is in (or
    none), and whether it is code."""

    text: str | None
    hidden_by: str | None
    link: _Link | None
    code: bool


@dataclass
class Footer:
    """The page's text, each piece with what hides it from visitors (``None`` for the
    rendered text), and the links to the MIIT site."""

    matcher: cssselect2.Matcher
    pieces: list[tuple[str, str | None]] = field(default_factory=list)
    miit_links: list[_Link] = field(default_factory=list)

    def read(self, root: cssselect2.ElementWrapper) -> None:
        """Read the page from ``root`` down, in document order. What is left to read is kept
        on a stack, each element with the hiding and the link it inherits, not on Python's
        call stack: a page nested thousands of elements deep is read as any other, where a
        recursion ends in ``RecursionError`` and the check never records a result."""
        left: list[_Open | _Piece] = [_Open(root, None, None)]
        while left:
            item = left.pop()
            if isinstance(item, _Piece):
                self._text(*item)
            else:
                left.extend(reversed(self._open(*item)))

    def _open(
        self, element: cssselect2.ElementWrapper, around: Hiding | None, link: _Link | None
    ) -> list[_Open | _Piece]:
        """Read ``element``'s own text and give what it holds, in document order, to read
        next. A descendant whose own style draws it again (``visibility: visible``, a font
        size of its own inside a ``font-size: 0`` wrapper) ends an inherited hiding there."""
        style = cascaded(element, self.matcher)
        hiding = around
        if around is not None and around.inherited is not None:
            declared = style.get(around.inherited)
            if declared is not None and DRAWN_AGAIN[around.inherited](declared.value):
                hiding = None
        hiding = hiding or what_hides(element, style)
        hidden_by = hiding.markup if hiding else None
        tag = element.local_name
        href = element.etree_element.get("href") or ""
        if tag == "a" and urlsplit(href.strip()).hostname == MIIT_HOST:
            link = _Link(hidden_by=hidden_by)
            self.miit_links.append(link)
        code = tag in _CODE
        self._text(element.etree_element.text, hidden_by, link, code)
        held: list[_Open | _Piece] = []
        children = element.iter_children()
        for child in element.etree_element:
            if child.tag is Comment:
                held.append(_Piece(child.text or "", "an HTML comment", None, False))
            else:
                held.append(_Open(next(children), hiding, link))
            held.append(_Piece(child.tail, hidden_by, link, code))
        return held

    def _text(
        self, text: str | None, hidden_by: str | None, link: _Link | None, code: bool
    ) -> None:
        if not text or code:
            return
        self.pieces.append((text, hidden_by))
        if link is not None and hidden_by is None:
            link.text.append(text)
