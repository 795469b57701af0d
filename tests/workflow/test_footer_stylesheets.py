"""The stylesheets a home page links: which a browser applies on a screen, where they resolve,
and how their rules take their place in the cascade among the page's ``<style>`` blocks."""

from __future__ import annotations

import pytest

from workflow.domain.footer import HomePage
from workflow.domain.rules import load_rules

NUMBER = "京ICP备2026000123号-1"
PAGE_URL = "https://example.com/shop/index.html"
FOOTER = f'<footer class="icp"><a href="https://beian.miit.gov.cn/">{NUMBER}</a></footer>'
HIDE = ".icp { display: none }"
canonical = load_rules().canonical_province


def _linked(head: str) -> list[str]:
    return HomePage(f"<head>{head}</head><body>{FOOTER}</body>", PAGE_URL).linked_stylesheets


def _problems(page: str, fetched: dict[str, str]) -> list[str]:
    return HomePage(page, PAGE_URL).footer_problems(NUMBER, canonical, fetched)


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
