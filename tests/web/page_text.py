"""A page's text as a person reads it, for specs that assert what a page says rather than
the markup that says it: a time's date is wrapped (``<span class="date">``, kept on one line)
and a spec reading raw HTML for "2026-03-02 10:00 Beijing" would fail on markup no reader sees.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements a browser draws apart from their neighbours (a cell, a line, a block): their text
# does not run into the next element's. Text of inline elements (``<span>``, ``<time>``,
# ``<a>``) joins its neighbours as it is written, no space invented.
_APART = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "option",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
_SPACES = re.compile(r"[ \t\n\r\f]+")


class _Reader(HTMLParser):
    """Collects a page's shown text: its elements' text and its cards' labels (``data-label``,
    what a phone shows beside each cell, kept apart from the cell's text), scripts and styles
    aside."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skipping += tag in ("script", "style")
        if tag in _APART:
            self.pieces.append(" ")
        self.pieces.extend(f" {value or ''} " for name, value in attrs if name == "data-label")

    def handle_endtag(self, tag: str) -> None:
        self._skipping -= tag in ("script", "style")
        if tag in _APART:
            self.pieces.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.pieces.append(data)


def shown_text(html: str) -> str:
    """The text ``html`` (a page or a fragment of one) shows, whitespace collapsed as a
    browser collapses it: ``<td>due <span class="date">2026-03-02</span> 10:00</td>`` reads
    ``due 2026-03-02 10:00``."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return _SPACES.sub(" ", "".join(reader.pieces)).strip()


def cells_shown(html: str) -> list[str]:
    """The shown text of each table cell (``<td>``) in ``html``, its card label aside."""
    return [shown_text(cell) for cell in re.findall(r"<td\b[^>]*>(.*?)</td>", html, re.DOTALL)]
