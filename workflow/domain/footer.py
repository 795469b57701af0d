"""What a home page must show: the record number, linked to the MIIT site.

Decree 33 art. 13 wants the number at the bottom of the home page linked to the bureau's
public query site; the check reads the page's text and links with the standard library's
HTML parser, which tolerates the broken markup real sites serve.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from html.parser import HTMLParser
from urllib.parse import urlsplit

from workflow.domain.orders import split_number

MIIT_HOST = "beian.miit.gov.cn"
MIIT_URL = f"https://{MIIT_HOST}"


# Elements a browser running scripts never draws on the page: a number only in one of them
# (the tab's title, the fallback for browsers without scripts) is not shown to visitors.
# Browsers read each of them to its own end tag, whatever stray tags it holds.
_UNRENDERED = frozenset({"script", "style", "template", "title", "noscript"})
# The page itself: a page served hidden is shown by its scripts, or it would be blank.
_THE_PAGE = frozenset({"html", "body"})
# fmt: off
# Elements with no content and no end tag: hiding one hides nothing after it.
_VOID = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
})
# Start tags that close an open paragraph (HTML's tree construction rules).
_CLOSE_P = frozenset({
    "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div",
    "dl", "dd", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hgroup", "hr", "li", "listing", "main", "menu", "nav", "ol",
    "p", "plaintext", "pre", "search", "section", "summary", "table", "ul", "xmp",
})
# fmt: on
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_TABLE_PARTS = frozenset({"caption", "colgroup", "tbody", "thead", "tfoot"})
_IN_TABLE = frozenset({"table"})
_Ending = tuple[frozenset[str], frozenset[str]]
_TERM: _Ending = (frozenset({"dt", "dd"}), frozenset({"dl"}))
_BY_CELL_OR_ROW: _Ending = (frozenset({"td", "th", "tr"}) | _TABLE_PARTS, _IN_TABLE)
_HEADING: _Ending = (_HEADINGS, frozenset())
# Elements a start tag can end without their end tag (HTML's tree construction rules): the
# start tags that end them, and the elements that, open inside them, keep those start tags
# to themselves (an item of a nested list ends no item of the outer one).
_ENDED_BY: dict[str, _Ending] = {
    "p": (_CLOSE_P, frozenset({"button"})),
    "li": (frozenset({"li"}), frozenset({"ul", "ol", "menu"})),
    "dt": _TERM,
    "dd": _TERM,
    "tr": (frozenset({"tr"}) | _TABLE_PARTS, _IN_TABLE),
    **dict.fromkeys(("td", "th", "caption", "colgroup"), _BY_CELL_OR_ROW),
    **dict.fromkeys(("thead", "tbody", "tfoot"), (_TABLE_PARTS, _IN_TABLE)),
    **dict.fromkeys(_HEADINGS, _HEADING),
    "a": (frozenset({"a"}), frozenset()),
    "button": (frozenset({"button"}), frozenset()),
}


def _display(style: str) -> str | None:
    """The inline style's ``display``, as the cascade picks it: the last declaration, the
    last ``!important`` one first."""
    plain: str | None = None
    important: str | None = None
    for declaration in style.split(";"):
        name, colon, value = declaration.partition(":")
        if not colon or name.strip().lower() != "display":
            continue
        value = value.strip().lower()
        if value.endswith("important") and "!" in value:
            important = value[: value.rindex("!")].strip()
        else:
            plain = value
    return important if important is not None else plain


def _hides(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    """Whether the element this start tag opens keeps what it holds off the page: never
    drawn, a dialog not open, or hidden by its ``hidden`` attribute or its inline style (the
    one kind of CSS the page's own markup carries), the style having the last word."""
    if tag in _VOID or tag in _THE_PAGE:
        return False
    if tag in _UNRENDERED:
        return True
    named = dict(attrs)
    display = _display(named.get("style") or "")
    if display is not None:
        return display == "none"
    return "hidden" in named or (tag == "dialog" and "open" not in named)


def _ends(hidden: str, tag: str, inside: list[str]) -> bool:
    """Whether ``tag``, starting, ends the ``hidden`` element left open with ``inside``
    opened within it."""
    if hidden not in _ENDED_BY:
        return False
    enders, scopes = _ENDED_BY[hidden]
    return tag in enders and not scopes.intersection(inside)


class _Footer(HTMLParser):
    """Collects the page's rendered text and, per link to the MIIT site, the text it wraps.

    The parser builds no tree, so a hidden element's extent is followed here: it ends at its
    own end tag, at an end tag closing an element around it (a stray end tag counts as one:
    showing too much costs less than a false alarm), or, for an element whose end tag may be
    left out, at a start tag that ends it.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.miit_links: list[list[str]] = []
        self._open_link: list[str] | None = None
        self._hiding: str | None = None  # the hidden element's tag
        self._inside: list[str] = []  # elements opened within it and not yet closed

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hiding is not None:
            if not _ends(self._hiding, tag, self._inside):
                self._inside.append(tag)  # a void one too: ``<br/>``'s end tag pops it
                return
            self._hiding, self._inside = None, []
        if _hides(tag, attrs):
            self._hiding, self._inside = tag, []
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self._open_link = [] if urlsplit(href.strip()).hostname == MIIT_HOST else None
            if self._open_link is not None:
                self.miit_links.append(self._open_link)

    def handle_endtag(self, tag: str) -> None:
        if self._hiding is not None:
            if tag in self._inside:
                self._close_inside(tag)
                return
            if tag != self._hiding and self._hiding in _UNRENDERED:
                return
            self._hiding, self._inside = None, []
        if tag == "a":
            self._open_link = None

    def _close_inside(self, tag: str) -> None:
        """Close the last ``tag`` opened within the hidden element, and what it holds."""
        while self._inside.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self._hiding is not None:
            return
        self.text.append(data)
        if self._open_link is not None:
            self._open_link.append(data)


# The province's character stands right before "ICP" (京ICP备…, 京ICP证…).
_PROVINCE = re.compile(r".(?=icp)")


def _normal(text: str, canonical: Callable[[str], str | None]) -> str:
    """``text`` as numbers are compared: a reader sees the same number whether it is spaced,
    split by tags, in full-width forms (京ＩＣＰ备２０２６…), in lower case, or written with
    the province's alias (蜀ICP备 for 川ICP备)."""
    squeezed = "".join(unicodedata.normalize("NFKC", text).casefold().split())
    return _PROVINCE.sub(lambda m: canonical(m[0]) or m[0], squeezed)


def footer_problems(
    html: str, record_number: str, canonical: Callable[[str], str | None]
) -> list[str]:
    """What is wrong with ``html`` as the home page of the service numbered ``record_number``
    (empty when the footer is right); ``canonical`` maps a province character or alias to its
    canonical one. The entity number alone (without the service's suffix) counts, as sites
    often show that."""
    page = _Footer()
    page.feed(html)
    page.close()
    entity_number = split_number(record_number)[0]
    accepted = {_normal(record_number, canonical), _normal(entity_number, canonical)}
    shown = _normal("".join(page.text), canonical)
    linked = [_normal("".join(link), canonical) for link in page.miit_links]
    problems: list[str] = []
    if not any(number in shown for number in accepted):
        problems.append(f"the record number {record_number} is not shown")
    if not linked:
        problems.append(f"no link to {MIIT_URL}")
    elif not any(number in text for text in linked for number in accepted):
        problems.append(f"the link to {MIIT_URL} does not carry the record number")
    return problems
