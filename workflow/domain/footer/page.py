"""A home page parsed once, as a browser parses it: the stylesheets it links for the caller to
fetch, then what is wrong with its footer with those fetched applied."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple
from xml.etree.ElementTree import Element

import tinyhtml5

from workflow.domain.footer.cascade import MATCHING_STEPS, StyledElement, TooComplex, compiled_rules
from workflow.domain.footer.reading import Footer
from workflow.domain.footer.stylesheets import (
    MAX_IMPORT_DEPTH,
    Linked,
    Stylesheet,
    Wanted,
    applied_stylesheets,
    base_url,
    imported_urls,
)
from workflow.domain.footer.verdict import judged


class _Placed(NamedTuple):
    """A stylesheet in its place in the cascade: its URL (``None`` for a ``<style>`` block),
    its text (``None`` while not fetched) and the URL of the stylesheet importing it
    (``Wanted.importer``)."""

    url: str | None
    css: str | None
    importer: str | None


class HomePage:
    """A home page parsed once, as a browser parses it: first the stylesheets it links, for
    the caller to fetch (nothing here fetches), then what is wrong with its footer, with
    those fetched applied."""

    def __init__(self, html: str, url: str) -> None:
        """``url`` is where the page was read from, after redirects: its links resolve
        against it."""
        self._root: Element = tinyhtml5.parse(html, namespace_html_elements=False)
        self._sheets = applied_stylesheets(self._root, url)
        self._base = base_url(self._root, url)
        # Each stylesheet's imports, by its text and where it is: asked again each time
        # the caller has fetched one more, without parsing the others again.
        self._imports: dict[Stylesheet, list[str]] = {}

    @property
    def linked_stylesheets(self) -> list[str]:
        """The URL of each stylesheet the page links, or its ``<style>`` blocks import, and a
        browser applies on a screen, once each, in cascade order: the stylesheets to fetch
        before any other is known."""
        return [wanted.url for wanted in self.stylesheets_wanted({})]

    def stylesheets_wanted(self, fetched: Mapping[str, Stylesheet]) -> list[Wanted]:
        """Each stylesheet the page applies on a screen that is not in ``fetched`` (by the
        URL it was asked for), once each (where first asked for), in cascade order: those it
        links, those its ``<style>`` blocks import, and those the stylesheets fetched import.
        Fetching the first, then asking again, fetches them depth first, each before what
        follows it in the cascade."""
        wanted: dict[str, str | None] = {}
        for url, css, importer in self._cascade_order(fetched):
            if url is not None and css is None:
                wanted.setdefault(url, importer)
        return [Wanted(url, importer) for url, importer in wanted.items()]

    def _cascade_order(self, fetched: Mapping[str, Stylesheet]) -> list[_Placed]:
        """Each stylesheet the page applies, in cascade order: a stylesheet's imports come
        before its own rules, each imported one applied where it is first imported (once, so
        a page importing one sheet again and again costs one), never inside itself (an
        import cycle ends there), at most ``MAX_IMPORT_DEPTH`` deep. A fetched stylesheet's
        imports resolve against where it was read from, after its redirects."""
        order: list[_Placed] = []
        imported: set[str] = set()

        def add(
            url: str | None, sheet: Stylesheet | None, importer: str | None, chain: tuple[str, ...]
        ) -> None:
            if sheet is not None and len(chain) <= MAX_IMPORT_DEPTH:
                for child in self._imported(sheet):
                    if child not in imported and child not in chain:
                        imported.add(child)
                        add(child, fetched.get(child), url, (*chain, child))
            order.append(_Placed(url, None if sheet is None else sheet.text, importer))

        for sheet in self._sheets:
            if isinstance(sheet, Linked):
                add(sheet.url, fetched.get(sheet.url), None, (sheet.url,))
            else:  # a <style> block's imports resolve against the page's base
                add(None, Stylesheet(sheet, self._base), None, ())
        return order

    def _imported(self, sheet: Stylesheet) -> list[str]:
        if sheet not in self._imports:
            self._imports[sheet] = imported_urls(sheet.text, sheet.url)
        return self._imports[sheet]

    def _read(self, stylesheets: Iterable[tuple[str, str | None]]) -> Footer:
        """The page as a visitor sees it with ``stylesheets`` (text and, if linked, URL)
        applied, and its inline styles."""
        top = StyledElement.from_html_root(self._root)
        page = Footer(compiled_rules(stylesheets, top.budget))
        page.read(top)
        return page

    def footer_problems(
        self,
        record_number: str,
        canonical: Callable[[str], str | None],
        fetched: Mapping[str, Stylesheet],
    ) -> list[str]:
        """What is wrong with the page as the home page of the service numbered
        ``record_number`` (empty when the footer is right); ``canonical`` maps a province
        character or alias to its canonical one, ``fetched`` holds each stylesheet fetched
        (linked or imported, ``stylesheets_wanted``), by the URL it was asked for. The
        entity number alone (without the service's suffix) counts, as sites often show that.
        A number or link in the page but hidden from visitors says what hides it, so whoever
        reads the failure finds the markup to mend.

        A stylesheet not fetched is left out, as a browser renders the page without
        it: it is named only when something is hidden, as a rule of its might have shown
        it. A page whose rules cost too much to match (``MATCHING_STEPS``) fails, saying
        so, after what is wrong with it read without them (its markup and inline styles):
        a number missing or unlinked is told all the same."""
        order = self._cascade_order(fetched)
        sheets = [(css, url) for url, css, _importer in order if css is not None]
        try:
            page, unchecked = self._read(sheets), []
        except TooComplex as exc:
            page = self._read([])
            unchecked = [
                "the page is too complex to check its styles: matching its style rules to its"
                f" elements took more than {MATCHING_STEPS:,} steps (at {exc.selector})"
            ]
        problems, hidden = judged(page, record_number, canonical)
        missing = self.stylesheets_wanted(fetched)
        if missing and hidden and not unchecked:
            unfetched = ", ".join(wanted.url for wanted in missing)
            problems.append(
                f"stylesheets not fetched, which might show what is hidden: {unfetched}"
            )
        return problems + unchecked
