"""Which stylesheets a page applies on a screen, in document order (its ``<style>`` blocks'
text, the URLs of those it links), and the rules in them that set a property the check reads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element

import tinycss2

from workflow.domain.footer.hiding import READ, UNRENDERED


def parse_declarations(content: str | list[Any]) -> list[tuple[str, str, bool]]:
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
class Rule:
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


class Linked(NamedTuple):
    """A stylesheet the page links, by its URL: its text is the caller's to fetch, as is
    that of each stylesheet it imports (``imported_urls``)."""

    url: str


class Stylesheet(NamedTuple):
    """A stylesheet the caller fetched: its ``text``, and ``url``, where it was read from once
    its redirects ended, which the URLs in it (its ``@import`` rules) resolve against, as a
    browser resolves them (CSS Values: a URL in a stylesheet is relative to the stylesheet's
    own URL, the one its response came from)."""

    text: str
    url: str


class Wanted(NamedTuple):
    """A stylesheet to fetch, by ``url``, and ``importer``: the URL of the fetched stylesheet
    whose ``@import`` asks for it, ``None`` when the page asks (a ``<link>``, or a
    ``<style>`` block's ``@import``), as one naming no charset is read in its importer's
    encoding, or the page's (CSS Syntax: the environment encoding)."""

    url: str
    importer: str | None


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
    return _fetched_url(base, href)


def _fetched_url(base: str, href: str) -> str | None:
    """``href`` resolved against ``base``; ``None`` when it is no URL fetched over HTTP."""
    try:
        url = urljoin(base, href.strip())
        return url if urlsplit(url).scheme in _FETCHED else None
    except ValueError:  # an invalid host ("http://[::1")
        return None


def base_url(root: Element, page_url: str) -> str:
    """What the page's relative URLs resolve against, a link's and a ``<style>`` block's
    ``@import`` alike: its first ``<base href>``, itself resolved against the page's own
    URL, or the page's URL."""
    href = next((base.get("href") for base in root.iter("base") if "href" in base.attrib), None)
    try:
        return urljoin(page_url, href.strip()) if href else page_url
    except ValueError:  # an invalid host ("http://[::1"): ignored, as a browser ignores it
        return page_url


def applied_stylesheets(root: Element, page_url: str) -> list[str | Linked]:
    """Each stylesheet a browser applies on a screen, in document order (a link in the body
    where it stands): the text of a ``<style>`` block, or a linked stylesheet's URL. Neither
    counts inside an element never drawn (``<noscript>``, read as markup only where scripts
    do not run, a ``<template>``'s inert content)."""
    base = base_url(root, page_url)
    sheets: list[str | Linked] = []
    left = [root]
    while left:
        element = left.pop()
        if element.tag == "style":
            if _screen_css(element):
                sheets.append(element.text or "")
        elif element.tag == "link":
            url = _linked_url(element, base)
            if url is not None and _screen_css(element):
                sheets.append(Linked(url))
        elif element.tag not in UNRENDERED:
            left.extend(reversed(element))
    return sheets


def style_rules(css: str, sheet: str | None) -> Iterator[tuple[list[Any], Rule]]:
    """The style rules of a stylesheet (``sheet``: its URL if linked) that apply on a screen
    and set a property the check reads (``READ``), with only those declarations: (selector
    tokens, rule)."""
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "at-rule" and rule.lower_at_keyword == "media" and rule.content:
            if _on_screen(tinycss2.serialize(rule.prelude)):
                yield from style_rules(tinycss2.serialize(rule.content), sheet)
        elif rule.type == "qualified-rule":
            declarations = [d for d in parse_declarations(rule.content) if d[0] in READ]
            if declarations:
                selector = " ".join(tinycss2.serialize(rule.prelude).split())
                yield rule.prelude, Rule(selector, declarations, sheet)


# How deep ``@import`` rules are followed: a stylesheet imported by one imported by one ...
# this many times. No site's CSS nests so deep; a cycle ends sooner, as a stylesheet is never
# imported inside itself.
MAX_IMPORT_DEPTH = 5
# Before an ``@import``, only these may stand; one after any other rule is invalid, and
# ignored as a browser ignores it (CSS Cascade: ``@import`` must precede all other rules).
_BEFORE_IMPORTS = frozenset({"charset", "layer"})


def imported_urls(css: str, base: str) -> list[str]:
    """The URL of each stylesheet ``css`` imports that a browser applies on a screen, in
    order, resolved against ``base`` (where the importing stylesheet is, or the page's base
    for a ``<style>`` block): its leading ``@import`` rules, by ``url(...)`` or a string,
    whose media list (what follows the URL, after an optional ``layer`` and ``supports()``,
    which are not judged) applies on every screen, as a ``<link media>``'s does."""
    urls: list[str] = []
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "at-rule" and rule.lower_at_keyword in _BEFORE_IMPORTS:
            if rule.content is not None:
                break  # a @layer block is a rule like any other
            continue
        if rule.type != "at-rule" or rule.lower_at_keyword != "import":
            break
        url = _import_url(rule.prelude, base)
        if url is not None:
            urls.append(url)
    return urls


def _import_url(prelude: list[Any], base: str) -> str | None:
    """The URL an ``@import``'s ``prelude`` loads, resolved against ``base``; ``None`` when
    it names none, one not fetched over HTTP, or when its media list does not apply on
    every screen."""
    tokens = [token for token in prelude if token.type != "comment"]
    while tokens and tokens[0].type == "whitespace":
        tokens.pop(0)
    if not tokens:
        return None
    first = tokens.pop(0)
    if first.type in ("url", "string"):
        href = str(first.value)
    elif first.type == "function" and first.lower_name == "url":
        strings = [a for a in first.arguments if a.type == "string"]
        if not strings:
            return None
        href = str(strings[0].value)
    else:
        return None
    while tokens and (
        tokens[0].type == "whitespace"
        or (tokens[0].type == "ident" and tokens[0].lower_value == "layer")
        or (tokens[0].type == "function" and tokens[0].lower_name in ("layer", "supports"))
    ):
        tokens.pop(0)
    if not _on_screen(tinycss2.serialize(tokens)):
        return None
    return _fetched_url(base, href)
