"""The stylesheets a home page links: which a browser applies on a screen, where they resolve,
and how their rules take their place in the cascade among the page's ``<style>`` blocks."""

from __future__ import annotations

import pytest

from workflow.domain.footer import HomePage, Stylesheet, Wanted
from workflow.domain.rules import load_rules

NUMBER = "京ICP备2026000123号-1"
PAGE_URL = "https://example.com/shop/index.html"
FOOTER = f'<footer class="icp"><a href="https://beian.miit.gov.cn/">{NUMBER}</a></footer>'
HIDE = ".icp { display: none }"
canonical = load_rules().canonical_province


def _linked(head: str) -> list[str]:
    return HomePage(f"<head>{head}</head><body>{FOOTER}</body>", PAGE_URL).linked_stylesheets


def _unmoved(texts: dict[str, str]) -> dict[str, Stylesheet]:
    """Stylesheets fetched, by URL, each read from where it was asked for (no redirect)."""
    return {url: Stylesheet(text, url) for url, text in texts.items()}


def _problems(page: str, fetched: dict[str, str]) -> list[str]:
    return HomePage(page, PAGE_URL).footer_problems(NUMBER, canonical, _unmoved(fetched))


@pytest.mark.parametrize(
    ("head", "url"),
    [
        pytest.param(
            '<link rel="stylesheet" href="a.css">', "https://example.com/shop/a.css", id="relative"
        ),
        pytest.param(
            '<link rel="Stylesheet Preload" href="/a.css">',
            "https://example.com/a.css",
            id="among other rels, in any case",
        ),
        pytest.param(
            '<link rel="stylesheet" href=" //cdn.example/a.css ">',
            "https://cdn.example/a.css",
            id="protocol-relative, spaced",
        ),
        pytest.param(
            '<link rel="stylesheet" href="a.css" media="screen">',
            "https://example.com/shop/a.css",
            id="for screens",
        ),
        pytest.param(
            '<base href="/static/"><link rel="stylesheet" href="a.css">',
            "https://example.com/static/a.css",
            id="against the base",
        ),
    ],
)
def test_a_stylesheet_link_resolves_against_the_page(head: str, url: str) -> None:
    assert _linked(head) == [url]


@pytest.mark.parametrize(
    "head",
    [
        pytest.param('<link rel="alternate stylesheet" href="a.css">', id="alternate"),
        pytest.param('<link rel="stylesheet" href="a.css" disabled>', id="disabled"),
        pytest.param('<link rel="stylesheet" href="a.css" media="print">', id="for print"),
        pytest.param('<link rel="stylesheet" href="a.css" type="text/plain">', id="not css"),
        pytest.param('<link rel="preload" href="a.css">', id="not a stylesheet"),
        pytest.param('<link rel="stylesheet" href="">', id="no href"),
        pytest.param('<link rel="stylesheet" href="data:text/css,x">', id="not over HTTP"),
        pytest.param('<noscript><link rel="stylesheet" href="a.css"></noscript>', id="noscript"),
    ],
)
def test_a_link_a_browser_applies_no_stylesheet_from_is_not_fetched(head: str) -> None:
    assert _linked(head) == []


def test_a_stylesheet_linked_twice_is_fetched_once() -> None:
    link = '<link rel="stylesheet" href="a.css">'
    assert _linked(link + '<link rel="stylesheet" href="b.css">' + link) == [
        "https://example.com/shop/a.css",
        "https://example.com/shop/b.css",
    ]


A_CSS = "https://example.com/shop/a.css"
LINK = '<link rel="stylesheet" href="a.css">'


def test_a_linked_stylesheet_after_a_style_block_wins_over_it() -> None:
    page = f"<head><style>{HIDE}</style>{LINK}</head><body>{FOOTER}</body>"
    assert _problems(page, {A_CSS: ".icp { display: block }"}) == []


def test_a_style_block_after_a_linked_stylesheet_wins_over_it() -> None:
    page = f"<head>{LINK}<style>.icp {{ display: block }}</style></head><body>{FOOTER}</body>"
    assert _problems(page, {A_CSS: HIDE}) == []


def test_a_stylesheet_linked_in_the_body_applies_where_it_stands() -> None:
    page = f"<head><style>{HIDE}</style></head><body>{LINK}{FOOTER}</body>"
    assert _problems(page, {A_CSS: ".icp { display: block }"}) == []


def test_a_linked_stylesheet_not_fetched_is_named_when_something_is_hidden() -> None:
    page = f"<head><style>{HIDE}</style>{LINK}</head><body>{FOOTER}</body>"
    assert _problems(page, {})[-1] == (
        f"stylesheets not fetched, which might show what is hidden: {A_CSS}"
    )


def test_a_linked_stylesheet_not_fetched_is_not_named_when_nothing_is_hidden() -> None:
    page = f"<head>{LINK}</head><body><footer>{NUMBER}</footer></body>"
    assert _problems(page, {}) == ["no link to https://beian.miit.gov.cn"]


def _imported(css: str) -> list[str]:
    """The stylesheets to fetch for a page whose only style is a ``<style>`` block of ``css``."""
    return _linked(f"<style>{css}</style>")


@pytest.mark.parametrize(
    "css",
    [
        pytest.param('@import url("a.css");', id="url() quoted"),
        pytest.param("@import url(a.css);", id="url() bare"),
        pytest.param('@import "a.css";', id="a string"),
        pytest.param('@charset "utf-8"; @layer base; @import "a.css" screen;', id="for screens"),
        pytest.param('@import "a.css" layer(base) supports(display: grid);', id="layered"),
    ],
)
def test_a_style_block_s_import_is_fetched_resolved_against_the_page(css: str) -> None:
    assert _imported(css) == [A_CSS]


@pytest.mark.parametrize(
    "css",
    [
        pytest.param('@import "b.css" print;', id="for print"),
        pytest.param('@import "b.css" screen and (max-width: 600px);', id="for some screens"),
        pytest.param('.x { color: red } @import "b.css";', id="after a rule"),
        pytest.param('@import "data:text/css,x";', id="not over HTTP"),
    ],
)
def test_an_import_a_browser_applies_no_stylesheet_from_is_not_fetched(css: str) -> None:
    """Beside one that is, so that a page whose imports are not read at all fails this."""
    assert _imported(f'@import "a.css"; {css}') == [A_CSS]


B_CSS = "https://example.com/shop/b.css"
IMPORT_A = '<style>@import "a.css";</style>'


def test_a_stylesheet_fetched_names_those_it_imports_resolved_against_itself() -> None:
    page = HomePage(f'<head><link rel="stylesheet" href="/css/site.css"></head>{FOOTER}', PAGE_URL)
    site = "https://example.com/css/site.css"
    fetched = _unmoved({site: '@import "parts/footer.css";'})
    assert page.stylesheets_wanted(fetched) == [
        Wanted("https://example.com/css/parts/footer.css", importer=site)
    ]


def test_an_imported_stylesheet_comes_before_the_rules_of_the_one_importing_it() -> None:
    """The importing block's ``display`` wins over the imported one's; the imported
    ``visibility``, set by nothing after it, still hides."""
    page = f'<style>@import "a.css"; .icp {{ display: block }}</style><body>{FOOTER}</body>'
    imported = ".icp { display: none; visibility: hidden }"
    assert _problems(page, {A_CSS: imported})[0].endswith(
        f"hidden by .icp {{ visibility: hidden }} in {A_CSS} on <footer>"
    )


def test_a_number_an_imported_stylesheet_hides_fails_naming_it() -> None:
    page = f"<head>{LINK}</head><body>{FOOTER}</body>"
    assert _problems(page, {A_CSS: '@import "b.css";', B_CSS: HIDE})[0].endswith(
        f"hidden by .icp {{ display: none }} in {B_CSS} on <footer>"
    )


def test_an_import_cycle_ends_where_a_stylesheet_would_import_itself() -> None:
    page = f"{IMPORT_A}<body>{FOOTER}</body>"
    fetched = {A_CSS: '@import "b.css";', B_CSS: f'@import "a.css"; {HIDE}'}
    assert HomePage(page, PAGE_URL).stylesheets_wanted(_unmoved(fetched)) == []
    assert _problems(page, fetched)[0].endswith(f"in {B_CSS} on <footer>")


def test_imports_are_followed_no_deeper_than_the_bound() -> None:
    """a0 imports a1, which imports a2, ...: a5, five imports below the page's, is the last."""
    urls = [f"https://example.com/shop/a{i}.css" for i in range(8)]
    fetched = _unmoved({url: f'@import "a{i + 1}.css";' for i, url in enumerate(urls)})
    page = HomePage(f'<style>@import "a0.css";</style>{FOOTER}', PAGE_URL)
    first_five = {url: fetched[url] for url in urls[:5]}
    assert page.stylesheets_wanted(first_five) == [Wanted(urls[5], importer=urls[4])]
    assert page.stylesheets_wanted(fetched) == []


def test_an_imported_stylesheet_not_fetched_is_named_when_something_is_hidden() -> None:
    page = f"<head><style>{HIDE}</style>{LINK}</head><body>{FOOTER}</body>"
    assert _problems(page, {A_CSS: '@import "b.css";'})[-1] == (
        f"stylesheets not fetched, which might show what is hidden: {B_CSS}"
    )
