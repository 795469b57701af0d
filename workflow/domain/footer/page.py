"""A home page parsed once, as a browser parses it: the stylesheets it links for the caller to
fetch, then what is wrong with its footer with those fetched applied."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from xml.etree.ElementTree import Element

import tinyhtml5

from workflow.domain.footer.cascade import MATCHING_STEPS, StyledElement, TooComplex, compiled_rules
from workflow.domain.footer.reading import Footer
from workflow.domain.footer.stylesheets import Linked, applied_stylesheets
from workflow.domain.footer.verdict import judged


class HomePage:
    """A home page parsed once, as a browser parses it: first the stylesheets it links, for
    the caller to fetch (nothing here fetches), then what is wrong with its footer, with
    those fetched applied."""

    def __init__(self, html: str, url: str) -> None:
        """``url`` is where the page was read from, after redirects: its links resolve
        against it."""
        self._root: Element = tinyhtml5.parse(html, namespace_html_elements=False)
        self._sheets = applied_stylesheets(self._root, url)

    @property
    def linked_stylesheets(self) -> list[str]:
        """The URL of each stylesheet the page links and a browser applies on a screen,
        once each, in document order."""
        return list(dict.fromkeys(sheet.url for sheet in self._sheets if isinstance(sheet, Linked)))

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
        it. A page whose rules cost too much to match (``MATCHING_STEPS``) fails, saying
        so, after what is wrong with it read without them (its markup and inline styles):
        a number missing or unlinked is told all the same."""
        sheets = [
            (sheet, None) if isinstance(sheet, str) else (fetched[sheet.url], sheet.url)
            for sheet in self._sheets
            if isinstance(sheet, str) or sheet.url in fetched
        ]
        try:
            page, unchecked = self._read(sheets), []
        except TooComplex as exc:
            page = self._read([])
            unchecked = [
                "the page is too complex to check its styles: matching its style rules to its"
                f" elements took more than {MATCHING_STEPS:,} steps (at {exc.selector})"
            ]
        problems, hidden = judged(page, record_number, canonical)
        missing = [url for url in self.linked_stylesheets if url not in fetched]
        if missing and hidden and not unchecked:
            unfetched = ", ".join(missing)
            problems.append(
                f"stylesheets not fetched, which might show what is hidden: {unfetched}"
            )
        return problems + unchecked
