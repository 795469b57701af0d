"""What a home page must show: the record number, linked to the MIIT site.

Decree 33 art. 13 wants the number at the bottom of the home page linked to the bureau's
public query site; the check reads the page's text and links with the standard library's
HTML parser, which tolerates the broken markup real sites serve.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import NamedTuple
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


def _declared(style: str, name: str) -> str | None:
    """The inline style's value for the property ``name``, as the cascade picks it: the last
    declaration, the last ``!important`` one first."""
    plain: str | None = None
    important: str | None = None
    for declaration in style.split(";"):
        prop, colon, value = declaration.partition(":")
        if not colon or prop.strip().lower() != name:
            continue
        value = " ".join(value.lower().split())
        if value.endswith("important") and "!" in value:
            important = value[: value.rindex("!")].strip()
        else:
            plain = value
    return important if important is not None else plain


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


# Inline declarations that keep an element's text from a visitor's eyes whatever it holds:
# not laid out, invisible, fully transparent (opacity below 0 is clamped to 0), or drawn at
# no size (a negative font size is invalid and ignored, so only zero hides).
_HIDING_STYLES: dict[str, Callable[[str], bool]] = {
    "display": lambda value: value == "none",
    "visibility": lambda value: value in ("hidden", "collapse"),
    "opacity": _nothing,
    "font-size": lambda value: _amount(value) == 0,
}


# Of those, the inherited ones a descendant's own inline style undoes: text it holds is drawn
# again at a visibility of its own, or at a font size not relative to the 0 it inherits.
_DRAWN_AGAIN: dict[str, Callable[[str], bool]] = {
    "visibility": lambda value: value == "visible",
    "font-size": lambda value: (
        value not in ("inherit", "unset", "revert", "revert-layer")
        and not re.search(r"(em|ex|ch|%)$", value)
        and _amount(value) != 0
    ),
}


def _drawn_again(inherited: str | None, attrs: list[tuple[str, str | None]]) -> bool:
    """Whether this start tag, inside an element an ``inherited`` inline style hides, draws
    what it holds again with a value of its own (the inline-block gap trick: a ``font-size:
    0`` row whose links set their size)."""
    if inherited is None:
        return False
    value = _declared(dict(attrs).get("style") or "", inherited)
    return value is not None and _DRAWN_AGAIN[inherited](value)


class _Hiding(NamedTuple):
    """What keeps an element's content off the page, as markup (for the check's result), and
    the inherited style property doing it, if one does (``_DRAWN_AGAIN``)."""

    markup: str
    inherited: str | None = None


def _hidden_by(tag: str, attrs: list[tuple[str, str | None]]) -> _Hiding | None:
    """What, in the element this start tag opens, keeps what it holds off the page (written
    as the markup that does it, for the check's result), ``None`` when nothing does: never
    drawn, a dialog not open, its ``hidden`` attribute or its inline style (the one kind of
    CSS the page's own markup carries), the style's ``display`` having the last word over
    the attribute. A descendant whose own inline style draws it again (``visibility:
    visible``, a font size of its own inside a ``font-size: 0`` wrapper) ends the hiding
    there (``_drawn_again``; what follows it inside counts as shown too: showing too much
    costs less than a false alarm). A stylesheet cannot be judged without rendering the
    page: a number it hides passes, and a descendant it draws again is reported hidden,
    naming the inline style to look at."""
    if tag in _VOID or tag in _THE_PAGE:
        return None
    if tag in _UNRENDERED:
        return _Hiding(f"<{tag}>")
    named = dict(attrs)
    style = named.get("style") or ""
    for name, hides in _HIDING_STYLES.items():
        value = _declared(style, name)
        if value is not None and hides(value):
            inherited = name if name in _DRAWN_AGAIN else None
            return _Hiding(f'<{tag} style="{name}: {value}">', inherited)
    if _declared(style, "display") is not None:
        return None
    if "hidden" in named:
        return _Hiding(f"<{tag} hidden>")
    if tag == "dialog" and "open" not in named:
        return _Hiding("<dialog> not open")
    return None


def _ends(hidden: str, tag: str, inside: list[str]) -> bool:
    """Whether ``tag``, starting, ends the ``hidden`` element left open with ``inside``
    opened within it."""
    if hidden not in _ENDED_BY:
        return False
    enders, scopes = _ENDED_BY[hidden]
    return tag in enders and not scopes.intersection(inside)


# Elements whose content is code, not text: never part of what a page says.
_CODE = frozenset({"script", "style"})


@dataclass
class _Link:
    """A link to the MIIT site: the text a visitor sees in it, or what hides it."""

    text: list[str] = field(default_factory=list)
    hidden_by: str | None = None


class _Footer(HTMLParser):
    """Collects the page's text, each piece with what hides it from visitors (``None`` for
    the rendered text), and the links to the MIIT site.

    The parser builds no tree, so a hidden element's extent is followed here: it ends at its
    own end tag, at an end tag closing an element around it (a stray end tag counts as one:
    showing too much costs less than a false alarm), or, for an element whose end tag may be
    left out, at a start tag that ends it.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[tuple[str, str | None]] = []
        self.miit_links: list[_Link] = []
        self._open_link: _Link | None = None
        self._hiding: str | None = None  # the hidden element's tag
        self._hidden_by = _Hiding("")  # and what hides it
        self._inside: list[str] = []  # elements opened within it and not yet closed

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hiding is not None:
            if not _ends(self._hiding, tag, self._inside) and not _drawn_again(
                self._hidden_by.inherited, attrs
            ):
                self._inside.append(tag)  # a void one too: ``<br/>``'s end tag pops it
                self._note_link(tag, attrs, self._hidden_by.markup)
                return
            self._hiding, self._inside = None, []
        hidden_by = _hidden_by(tag, attrs)
        if hidden_by is not None:
            self._hiding, self._hidden_by, self._inside = tag, hidden_by, []
        link = self._note_link(tag, attrs, hidden_by.markup if hidden_by else None)
        if tag == "a" and hidden_by is None:
            self._open_link = link

    def _note_link(
        self, tag: str, attrs: list[tuple[str, str | None]], hidden_by: str | None
    ) -> _Link | None:
        """Note this start tag when it opens a link to the MIIT site."""
        href = dict(attrs).get("href") or ""
        if tag != "a" or urlsplit(href.strip()).hostname != MIIT_HOST:
            return None
        link = _Link(hidden_by=hidden_by)
        self.miit_links.append(link)
        return link

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
            if self._hiding not in _CODE:
                self.pieces.append((data, self._hidden_by.markup))
            return
        self.pieces.append((data, None))
        if self._open_link is not None:
            self._open_link.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.pieces.append((data, "an HTML comment"))


# The province's character stands right before "ICP" (京ICP备…, 京ICP证…).
_PROVINCE = re.compile(r".(?=icp)")


def _squeezed(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _provinces(squeezed: str, canonical: Callable[[str], str | None]) -> str:
    """Each province character or alias before "ICP" replaced by its canonical character, one
    character for one."""
    return _PROVINCE.sub(lambda m: canonical(m[0]) or m[0], squeezed)


def _normal(text: str, canonical: Callable[[str], str | None]) -> str:
    """``text`` as numbers are compared: a reader sees the same number whether it is spaced,
    split by tags, in full-width forms (京ＩＣＰ备２０２６…), in lower case, or written with
    the province's alias (蜀ICP备 for 川ICP备)."""
    return _provinces(_squeezed(text), canonical)


def _hiding_number(
    pieces: list[tuple[str, str | None]],
    numbers: tuple[str, ...],
    canonical: Callable[[str], str | None],
) -> str | None:
    """What hides the first of ``numbers`` (normalised) found in the page's text, shown and
    hidden alike; ``None`` when none is there or no hidden piece holds part of it."""
    squeezed = [(_squeezed(text), hidden_by) for text, hidden_by in pieces]
    everything = _provinces("".join(text for text, _ in squeezed), canonical)
    for number in numbers:
        start = everything.find(number)
        if start < 0:
            continue
        end, at = start + len(number), 0
        for text, hidden_by in squeezed:
            if hidden_by is not None and at < end and start < at + len(text):
                return hidden_by
            at += len(text)
    return None


def footer_problems(
    html: str, record_number: str, canonical: Callable[[str], str | None]
) -> list[str]:
    """What is wrong with ``html`` as the home page of the service numbered ``record_number``
    (empty when the footer is right); ``canonical`` maps a province character or alias to its
    canonical one. The entity number alone (without the service's suffix) counts, as sites
    often show that. A number or link in the page but hidden from visitors says what hides
    it, so whoever reads the failure finds the markup to mend."""
    page = _Footer()
    page.feed(html)
    page.close()
    entity_number = split_number(record_number)[0]
    accepted = (_normal(record_number, canonical), _normal(entity_number, canonical))
    shown = _normal(
        "".join(text for text, hidden_by in page.pieces if hidden_by is None), canonical
    )
    visible = [link for link in page.miit_links if link.hidden_by is None]
    linked = [_normal("".join(link.text), canonical) for link in visible]
    problems: list[str] = []
    if not any(number in shown for number in accepted):
        hidden_by = _hiding_number(page.pieces, accepted, canonical)
        why = f": hidden by {hidden_by}" if hidden_by else ""
        problems.append(f"the record number {record_number} is not shown{why}")
    if page.miit_links and not visible:
        problems.append(
            f"the link to {MIIT_URL} is not shown: hidden by {page.miit_links[0].hidden_by}"
        )
    elif not linked:
        problems.append(f"no link to {MIIT_URL}")
    elif not any(number in text for text in linked for number in accepted):
        problems.append(f"the link to {MIIT_URL} does not carry the record number")
    return problems
