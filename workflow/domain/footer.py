"""What a home page must show: the record number, linked to the MIIT site.

Decree 33 art. 13 wants the number at the bottom of the home page linked to the bureau's
public query site. The page is parsed as a browser parses it (tinyhtml5, the WHATWG tree
construction, so broken markup ends where a browser ends it), and the style the page gives
itself, its ``<style>`` blocks, the stylesheets it links and its inline ``style``
attributes, is applied to each element as the cascade applies it (tinycss2 reads the rules,
cssselect2 matches their selectors and gives their specificity): a number a visitor cannot
see is not shown, whichever of them hides it.

Nothing here fetches: a ``HomePage`` names the stylesheets it links, the worker fetches them
and hands their text back to be judged with the page, parsed once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple, SupportsIndex, overload
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Comment, Element

import cssselect2
import tinycss2
import tinyhtml5

from workflow.domain.orders import split_number

MIIT_HOST = "beian.miit.gov.cn"
MIIT_URL = f"https://{MIIT_HOST}"


# Elements a browser running scripts never draws on the page: a number only in one of them
# (the tab's title, the fallback for browsers without scripts) is not shown to visitors.
_UNRENDERED = frozenset({"script", "style", "template", "title", "noscript"})
# The page itself: a page served hidden is shown by its scripts, or it would be blank.
_THE_PAGE = frozenset({"html", "head", "body"})
# Elements whose content is code, not text: never part of what a page says.
_CODE = frozenset({"script", "style"})


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
_DRAWN_AGAIN: dict[str, Callable[[str], bool]] = {
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
_READ = frozenset({*_HIDING_STYLES, *_DRAWN_AGAIN, _POSITION, *_OFFSETS})


# How much matching the page's rules to its elements may cost, in steps: a selector tried on
# an element, an element built or walked to (an ancestor, a sibling, a descendant of
# ``:has()``), a sibling compared (``:first-of-type``). An 800 KB page of 8,700 elements
# under two frameworks' stylesheets (swagger-ui's and rustdoc's) takes some 750,000, and
# the budget a few seconds; descendant combinators over deep nesting multiply (``x div div
# div div`` over 100 nested divs would take some 80 million, ``x div div div div div`` over
# 100 over a billion, minutes past the worker's time limit). Past this the page is read
# without its style rules (``_TooComplex``).
_MATCHING_STEPS = 5_000_000
# Building an element for a selector (``:has()`` walks the subtree, ``:nth-last-child`` the
# siblings, each built anew) costs about as much time as this many steps along elements
# already built.
_BUILT = 20


class _TooComplex(Exception):
    """The page's rules cost more than ``_MATCHING_STEPS`` to match; ``selector`` (and where
    it is written) was being matched when they ran out."""

    def __init__(self, selector: str) -> None:
        super().__init__(selector)
        self.selector = selector


class _Budget:
    """The steps left to match one page's rules (``_MATCHING_STEPS``), and the selector
    being matched, quoted with the stylesheet it is in, for the result of a page that runs
    out."""

    def __init__(self) -> None:
        self.left = _MATCHING_STEPS
        self.matching = ""

    def spend(self, steps: int = 1) -> None:
        self.left -= steps
        if self.left < 0:
            raise _TooComplex(self.matching)

    def counting(self, test: Callable[[Any], bool], selector: str) -> Callable[[Any], bool]:
        """``test``, a compiled selector, each call of it a step."""

        def counted(element: Any) -> bool:
            self.matching = selector
            self.spend()
            return bool(test(element))

        return counted


class _Declared(NamedTuple):
    """A property's value on an element, as the cascade picks it, and where it comes from,
    written as markup for the check's result."""

    value: str
    source: str


# What orders two declarations of one property on one element, the winner last: importance,
# then an inline style over any rule, then the rule's selector's specificity, then the order
# they are written in.
_Precedence = tuple[bool, bool, tuple[int, int, int], int, int]


def _declarations(content: str | list[Any]) -> list[tuple[str, str, bool]]:
    """(property, value, important) of each valid declaration in a style attribute or a
    rule's block, the value in lower case with its spaces collapsed."""
    parsed = tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True)
    return [
        (
            str(d.lower_name),
            " ".join(tinycss2.serialize(d.value).lower().split()),
            bool(d.important),
        )
        for d in parsed
        if d.type == "declaration"
    ]


@dataclass(frozen=True)
class _Rule:
    """A rule as the check reads it: ``sheet`` is the URL of the linked stylesheet it is
    written in, ``None`` in a ``<style>`` block, so a result names the file to mend."""

    selector: str
    declarations: list[tuple[str, str, bool]]
    sheet: str | None

    @property
    def origin(self) -> str:
        return f" in {self.sheet}" if self.sheet else ""


# A media query a screen always matches: the rules under it apply as if written outside (an
# empty list of queries matches every medium).
_ON_SCREEN = frozenset({"", "all", "screen", "only screen"})


def _on_screen(media: str) -> bool:
    """Whether a media query list, an ``@media`` rule's or a ``<style>``'s ``media``
    attribute, applies on every screen: one of its comma-separated queries does
    (``screen, print`` applies on a screen as ``screen`` does)."""
    return any(" ".join(query.lower().split()) in _ON_SCREEN for query in media.split(","))


class _Linked(NamedTuple):
    """A stylesheet the page links, by its URL: its text is the caller's to fetch."""

    url: str


# The schemes a linked stylesheet is fetched by; another (``data:``, ``file:``) is not.
_FETCHED = frozenset({"http", "https"})


def _screen_css(element: Element) -> bool:
    """Whether a ``<style>`` or ``<link>`` is CSS a browser applies on a screen: its
    ``media`` on every screen, its ``type`` CSS (none, empty or ``text/css`` in any case:
    another is a script's data, ``text/plain``, ``text/template``)."""
    css = element.get("type", "").lower() in ("", "text/css")
    return css and _on_screen(element.get("media", ""))


def _linked_url(link: Element, base: str) -> str | None:
    """The URL a ``<link>`` loads a stylesheet from, resolved against the page's ``base``;
    ``None`` for a link that loads none a browser applies: its ``rel`` not ``stylesheet``,
    or an ``alternate`` one (offered to the visitor, not applied), ``disabled``, no
    ``href``, or one that is no URL fetched over HTTP."""
    rel = link.get("rel", "").lower().split()
    href = link.get("href", "").strip()
    if "stylesheet" not in rel or "alternate" in rel or "disabled" in link.attrib or not href:
        return None
    try:
        url = urljoin(base, href)
        return url if urlsplit(url).scheme in _FETCHED else None
    except ValueError:  # an invalid host ("http://[::1")
        return None


def _base_url(root: Element, page_url: str) -> str:
    """What the page's relative URLs resolve against: its first ``<base href>``, itself
    resolved against the page's own URL, or the page's URL."""
    href = next((base.get("href") for base in root.iter("base") if "href" in base.attrib), None)
    try:
        return urljoin(page_url, href.strip()) if href else page_url
    except ValueError:  # an invalid host ("http://[::1"): ignored, as a browser ignores it
        return page_url


def _stylesheets(root: Element, page_url: str) -> list[str | _Linked]:
    """Each stylesheet a browser applies on a screen, in document order (a link in the body
    where it stands): the text of a ``<style>`` block, or a linked stylesheet's URL. Neither
    counts inside an element never drawn (``<noscript>``, read as markup only where scripts
    do not run, a ``<template>``'s inert content)."""
    base = _base_url(root, page_url)
    sheets: list[str | _Linked] = []
    left = [root]
    while left:
        element = left.pop()
        if element.tag == "style":
            if _screen_css(element):
                sheets.append(element.text or "")
        elif element.tag == "link":
            url = _linked_url(element, base)
            if url is not None and _screen_css(element):
                sheets.append(_Linked(url))
        elif element.tag not in _UNRENDERED:
            left.extend(reversed(element))
    return sheets


def _rules(css: str, sheet: str | None) -> Iterator[tuple[list[Any], _Rule]]:
    """The style rules of a stylesheet (``sheet``: its URL if linked) that apply on a screen
    and set a property the check reads (``_READ``), with only those declarations: (selector
    tokens, rule)."""
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "at-rule" and rule.lower_at_keyword == "media" and rule.content:
            if _on_screen(tinycss2.serialize(rule.prelude)):
                yield from _rules(tinycss2.serialize(rule.content), sheet)
        elif rule.type == "qualified-rule":
            declarations = [d for d in _declarations(rule.content) if d[0] in _READ]
            if declarations:
                selector = " ".join(tinycss2.serialize(rule.prelude).split())
                yield rule.prelude, _Rule(selector, declarations, sheet)


def _matcher(stylesheets: Iterable[tuple[str, str | None]], budget: _Budget) -> cssselect2.Matcher:
    """Every rule of ``stylesheets`` (each its text and, if linked, its URL), in order, ready
    to match elements, each match a step of ``budget``; a selector the matcher cannot compile
    (a pseudo-class it does not know) is left out, as a browser drops a rule it cannot read."""
    matcher = cssselect2.Matcher()
    for css, sheet in stylesheets:
        for prelude, rule in _rules(css, sheet):
            try:
                selectors = cssselect2.compile_selector_list(prelude)
            except cssselect2.SelectorError:
                continue
            for selector in selectors:
                quoted = f'"{rule.selector}"{rule.origin}'
                selector.test = budget.counting(selector.test, quoted)
                matcher.add_selector(selector, rule)
    return matcher


def _cascaded(
    element: cssselect2.ElementWrapper, matcher: cssselect2.Matcher
) -> dict[str, _Declared]:
    """The value the cascade gives each property the page's style sets on ``element``: its
    inline style and the rules whose selectors match it (not those of its pseudo-elements)."""
    tag = element.local_name
    won: dict[str, tuple[_Precedence, _Declared]] = {}

    def offer(precedence: _Precedence, name: str, value: str, source: str) -> None:
        if name not in won or won[name][0] <= precedence:
            won[name] = (precedence, _Declared(value, source))

    for specificity, order, pseudo, rule in matcher.match(element):
        if pseudo is not None:
            continue
        for at, (name, value, important) in enumerate(rule.declarations):
            where = f"{rule.selector} {{ {name}: {value} }}{rule.origin} on <{tag}>"
            offer((important, False, specificity, order, at), name, value, where)
    inline = element.etree_element.get("style") or ""
    for at, (name, value, important) in enumerate(_declarations(inline)):
        offer((important, True, (0, 0, 0), 0, at), name, value, f'<{tag} style="{name}: {value}">')
    return {name: declared for name, (_, declared) in won.items()}


class _Children(list[Element]):
    """An element's children, as cssselect2 keeps them for each child's siblings: reading
    them through (``:only-of-type``) or a slice of them (``:first-of-type`` and
    ``:nth-last-of-type`` compare an element with the siblings before or after it) is a step
    a sibling, so thousands of siblings each compared with thousands run out the budget."""

    def __init__(self, children: Iterable[Element], budget: _Budget) -> None:
        super().__init__(children)
        self.budget = budget

    def __iter__(self) -> Iterator[Element]:
        self.budget.spend(len(self))
        return super().__iter__()

    @overload
    def __getitem__(self, index: SupportsIndex) -> Element: ...

    @overload
    def __getitem__(self, index: slice) -> list[Element]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> Element | list[Element]:
        if isinstance(index, slice):
            self.budget.spend(len(range(*index.indices(len(self)))))
        return super().__getitem__(index)


class _Element(cssselect2.ElementWrapper):  # type: ignore[misc]  # cssselect2 has no annotations
    """An element as selectors are matched on it, its ancestors (for a descendant
    combinator) and previous siblings (``~``, ``:nth-child``) walked link by link as a
    selector asks for them. cssselect2 builds each as a tuple from the parent's, or the
    previous sibling's, own, recursively: a rule such as ``.ad footer`` on a page nested a
    thousand deep, or ``.ad ~ p`` after a thousand siblings, would end in
    ``RecursionError``. Each element built or walked to is a step of the page's budget, the
    root's, handed down to every element."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget: _Budget = _Budget() if self.parent is None else self.parent.budget

    @cached_property
    def etree_children(self) -> _Children:
        return _Children(super().etree_children, self.budget)

    def iter_subtree(self) -> Iterator[_Element]:
        return self._built(super().iter_subtree())

    def iter_siblings(self) -> Iterator[_Element]:
        return self._built(super().iter_siblings())

    def _built(self, elements: Iterator[_Element]) -> Iterator[_Element]:
        """``elements``, built for a selector (``:has()``, ``:nth-last-child``), each
        ``_BUILT`` steps."""
        for element in elements:
            self.budget.spend(_BUILT)
            yield element

    # What cssselect2 works out from the parent's own, recursively up to the root (a ``:lang()``
    # selector's language, ``:enabled``'s disabled fieldset): each ancestor's is worked out
    # first, from the top down, so that no element recurses further than its parent.
    @cached_property
    def lang(self) -> str:
        self._ancestors_first("lang")
        return str(super().lang)

    @cached_property
    def in_disabled_fieldset(self) -> bool:
        self._ancestors_first("in_disabled_fieldset")
        return bool(super().in_disabled_fieldset)

    def _ancestors_first(self, name: str) -> None:
        """Work out ``name`` on each ancestor not yet knowing it, the topmost first, each a
        step of the budget."""
        unknown = []
        element = self.parent
        while element is not None and name not in element.__dict__:
            unknown.append(element)
            element = element.parent
        for ancestor in reversed(unknown):
            self.budget.spend()
            getattr(ancestor, name)

    @property
    def ancestors(self) -> Iterator[_Element]:
        element = self.parent
        while element is not None:
            self.budget.spend()
            yield element
            element = element.parent

    @property
    def previous_siblings(self) -> Iterator[_Element]:
        element = self.previous
        while element is not None:
            self.budget.spend()
            yield element
            element = element.previous


class _Hiding(NamedTuple):
    """What keeps an element's content off the page, as markup (for the check's result), and
    the inherited style property doing it, if one does (``_DRAWN_AGAIN``)."""

    markup: str
    inherited: str | None = None


def _hidden_by(element: cssselect2.ElementWrapper, style: dict[str, _Declared]) -> _Hiding | None:
    """What, in ``element`` with the ``style`` the cascade gives it, keeps what it holds off
    the page (written as the markup that does it), ``None`` when nothing does: never drawn, a
    dialog not open, its ``hidden`` attribute, or its style, the style's ``display`` having
    the last word over the attribute (which browsers apply as a stylesheet of their own),
    whether it comes from a rule or the inline style."""
    tag = element.local_name
    if tag in _THE_PAGE:
        return None
    if tag in _UNRENDERED:
        return _Hiding(f"<{tag}>")
    for name, hides in _HIDING_STYLES.items():
        if name in style and hides(style[name].value):
            return _Hiding(style[name].source, name if name in _DRAWN_AGAIN else None)
    position = style.get(_POSITION)
    if position is not None and position.value in _TAKEN_OUT:
        for name in _OFFSETS:
            if name in style and _off_the_page(style[name].value):
                return _Hiding(style[name].source)
    if "display" in style:
        return None
    attributes = element.etree_element.attrib
    if "hidden" in attributes:
        return _Hiding(f"<{tag} hidden>")
    if tag == "dialog" and "open" not in attributes:
        return _Hiding("<dialog> not open")
    return None


@dataclass
class _Link:
    """A link to the MIIT site: the text a visitor sees in it, or what hides it."""

    text: list[str] = field(default_factory=list)
    hidden_by: str | None = None


class _Open(NamedTuple):
    """An element still to read, inside an element ``around`` hides (or none) and inside
    ``link`` (or none)."""

    element: cssselect2.ElementWrapper
    around: _Hiding | None
    link: _Link | None


class _Piece(NamedTuple):
    """Text still to read, with what hides it (or ``None``), the MIIT link it is in (or
    none), and whether it is code."""

    text: str | None
    hidden_by: str | None
    link: _Link | None
    code: bool


@dataclass
class _Footer:
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
        self, element: cssselect2.ElementWrapper, around: _Hiding | None, link: _Link | None
    ) -> list[_Open | _Piece]:
        """Read ``element``'s own text and give what it holds, in document order, to read
        next. A descendant whose own style draws it again (``visibility: visible``, a font
        size of its own inside a ``font-size: 0`` wrapper) ends an inherited hiding there."""
        style = _cascaded(element, self.matcher)
        hiding = around
        if around is not None and around.inherited is not None:
            declared = style.get(around.inherited)
            if declared is not None and _DRAWN_AGAIN[around.inherited](declared.value):
                hiding = None
        hiding = hiding or _hidden_by(element, style)
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


class _Judged(NamedTuple):
    """What is wrong with a footer, and whether the number or the link is there but hidden."""

    problems: list[str]
    hidden: bool


def _judged(page: _Footer, record_number: str, canonical: Callable[[str], str | None]) -> _Judged:
    """What is wrong with the footer of ``page`` as read, for ``HomePage.footer_problems``."""
    entity_number = split_number(record_number)[0]
    accepted = (_normal(record_number, canonical), _normal(entity_number, canonical))
    shown = _normal(
        "".join(text for text, hidden_by in page.pieces if hidden_by is None), canonical
    )
    visible = [link for link in page.miit_links if link.hidden_by is None]
    linked = [_normal("".join(link.text), canonical) for link in visible]
    problems: list[str] = []
    hidden = False
    if not any(number in shown for number in accepted):
        hidden_by = _hiding_number(page.pieces, accepted, canonical)
        hidden = hidden_by is not None
        why = f": hidden by {hidden_by}" if hidden_by else ""
        problems.append(f"the record number {record_number} is not shown{why}")
    if page.miit_links and not visible:
        hidden = True
        problems.append(
            f"the link to {MIIT_URL} is not shown: hidden by {page.miit_links[0].hidden_by}"
        )
    elif not linked:
        problems.append(f"no link to {MIIT_URL}")
    elif not any(number in text for text in linked for number in accepted):
        problems.append(f"the link to {MIIT_URL} does not carry the record number")
    return _Judged(problems, hidden)


class HomePage:
    """A home page parsed once, as a browser parses it: first the stylesheets it links, for
    the caller to fetch (nothing here fetches), then what is wrong with its footer, with
    those fetched applied."""

    def __init__(self, html: str, url: str) -> None:
        """``url`` is where the page was read from, after redirects: its links resolve
        against it."""
        self._root: Element = tinyhtml5.parse(html, namespace_html_elements=False)
        self._sheets = _stylesheets(self._root, url)

    @property
    def linked_stylesheets(self) -> list[str]:
        """The URL of each stylesheet the page links and a browser applies on a screen,
        once each, in document order."""
        return list(
            dict.fromkeys(sheet.url for sheet in self._sheets if isinstance(sheet, _Linked))
        )

    def _read(self, stylesheets: Iterable[tuple[str, str | None]]) -> _Footer:
        """The page as a visitor sees it with ``stylesheets`` (text and, if linked, URL)
        applied, and its inline styles."""
        top = _Element.from_html_root(self._root)
        page = _Footer(_matcher(stylesheets, top.budget))
        page.read(top)
        return page

    def footer_problems(
        self,
        record_number: str,
        canonical: Callable[[str], str | None],
        fetched: Mapping[str, str],
    ) -> list[str]:
        """What is wrong with the page as the home page of the service numbered
        ``record_number`` (empty when the footer is right); ``canonical`` maps a province
        character or alias to its canonical one, ``fetched`` holds the text of each linked
        stylesheet fetched, by URL. The entity number alone (without the service's suffix)
        counts, as sites often show that. A number or link in the page but hidden from
        visitors says what hides it, so whoever reads the failure finds the markup to mend.

        A linked stylesheet not fetched is left out, as a browser renders the page without
        it: it is named only when something is hidden, as a rule of its might have shown
        it. A page whose rules cost too much to match (``_MATCHING_STEPS``) fails, saying
        so, after what is wrong with it read without them (its markup and inline styles):
        a number missing or unlinked is told all the same."""
        sheets = [
            (sheet, None) if isinstance(sheet, str) else (fetched[sheet.url], sheet.url)
            for sheet in self._sheets
            if isinstance(sheet, str) or sheet.url in fetched
        ]
        try:
            page, unchecked = self._read(sheets), []
        except _TooComplex as exc:
            page = self._read([])
            unchecked = [
                "the page is too complex to check its styles: matching its style rules to its"
                f" elements took more than {_MATCHING_STEPS:,} steps (at {exc.selector})"
            ]
        problems, hidden = _judged(page, record_number, canonical)
        missing = [url for url in self.linked_stylesheets if url not in fetched]
        if missing and hidden and not unchecked:
            unfetched = ", ".join(missing)
            problems.append(
                f"stylesheets not fetched, which might show what is hidden: {unfetched}"
            )
        return problems + unchecked
