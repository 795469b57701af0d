"""Reading the record number off a home page: a reader sees the same number however the page
writes it, and the link must really go to the MIIT site."""

from __future__ import annotations

import pytest

from workflow.domain.footer import HomePage
from workflow.domain.rules import load_rules

NUMBER = "京ICP备2026000123号-1"
canonical = load_rules().canonical_province


def _problems(html: str, number: str) -> list[str]:
    """What is wrong with ``html`` as the home page of ``number``, linking no stylesheet."""
    return HomePage(html, "https://example.com/").footer_problems(number, canonical, {})


def _page(shown: str, href: str = "https://beian.miit.gov.cn/") -> str:
    return f'<html><body><footer><a href="{href}">{shown}</a></footer></body></html>'


def test_a_number_in_full_width_digits_is_the_same_number() -> None:
    assert _problems(_page("京ICP备２０２６０００１２３号-1"), NUMBER) == []


def test_a_number_in_full_width_letters_is_the_same_number() -> None:
    assert _problems(_page("京ＩＣＰ备2026000123号－1"), NUMBER) == []


def test_a_number_in_lower_case_is_the_same_number() -> None:
    assert _problems(_page("京icp备2026000123号-1"), NUMBER) == []


def test_a_number_with_the_province_alias_is_the_same_number() -> None:
    assert _problems(_page("蜀ICP备2026000123号-1"), "川ICP备2026000123号-1") == []


def test_an_alias_of_another_province_is_another_number() -> None:
    problems = _problems(_page("蜀ICP备2026000123号-1"), NUMBER)
    assert problems == [
        f"the record number {NUMBER} is not shown",
        "the link to https://beian.miit.gov.cn does not carry the record number",
    ]


def test_a_number_split_by_tags_and_spaces_is_the_same_number() -> None:
    shown = "京ICP备\u00a0<b>2026000123</b>\u3000号-1"
    assert _problems(_page(shown), NUMBER) == []


def test_the_entity_number_without_the_suffix_counts() -> None:
    assert _problems(_page("京ICP备2026000123号"), NUMBER) == []


def test_a_protocol_relative_or_http_link_counts() -> None:
    for href in ("//beian.miit.gov.cn/", "http://beian.miit.gov.cn"):
        assert _problems(_page(NUMBER, href), NUMBER) == []


def test_a_look_alike_host_is_no_link_to_the_miit_site() -> None:
    problems = _problems(_page(NUMBER, "https://beian.miit.gov.cn.evil.com/"), NUMBER)
    assert problems == ["no link to https://beian.miit.gov.cn"]


def test_a_telecom_licences_entity_number_counts_for_its_service() -> None:
    assert _problems(_page("粤B2-20090059"), "粤B2-20090059-3") == []


def test_part_of_a_telecom_licence_number_is_not_the_number() -> None:
    problems = _problems(_page("粤B2-2009"), "粤B2-20090059")
    assert problems == [
        "the record number 粤B2-20090059 is not shown",
        "the link to https://beian.miit.gov.cn does not carry the record number",
    ]


def _body(footer: str, head: str = "") -> str:
    return f"<html><head>{head}</head><body><p>Welcome</p>{footer}</body></html>"


def _hidden_by(why: str) -> list[str]:
    return [
        f"the record number {NUMBER} is not shown: hidden by {why}",
        f"the link to https://beian.miit.gov.cn is not shown: hidden by {why}",
    ]


def test_a_number_only_in_the_title_is_not_shown() -> None:
    page = _body(
        '<footer><a href="https://beian.miit.gov.cn/">备案</a></footer>',
        head=f"<title>Shop · {NUMBER}</title>",
    )
    assert _problems(page, NUMBER) == [
        f"the record number {NUMBER} is not shown: hidden by <title>",
        "the link to https://beian.miit.gov.cn does not carry the record number",
    ]


def test_a_footer_only_in_noscript_is_neither_shown_nor_linked() -> None:
    page = _body(f'<noscript><a href="https://beian.miit.gov.cn/">{NUMBER}</a></noscript>')
    assert _problems(page, NUMBER) == _hidden_by("<noscript>")


def test_a_footer_in_an_unused_template_is_not_shown() -> None:
    page = _body(f'<template><a href="https://beian.miit.gov.cn/">{NUMBER}</a></template>')
    assert _problems(page, NUMBER) == _hidden_by("<template>")


def test_a_footer_commented_out_is_neither_shown_nor_linked() -> None:
    page = _body(f'<!-- <a href="https://beian.miit.gov.cn/">{NUMBER}</a> -->')
    assert _problems(page, NUMBER) == [
        f"the record number {NUMBER} is not shown: hidden by an HTML comment",
        "no link to https://beian.miit.gov.cn",
    ]


def test_the_footer_after_a_title_and_a_script_is_read() -> None:
    page = _body(
        f'<script>var n = "</p>";</script><footer><a href="https://beian.miit.gov.cn/">'
        f"{NUMBER}</a></footer>",
        head="<title>Shop</title><style>footer { color: #333 }</style>",
    )
    assert _problems(page, NUMBER) == []


FOOTER = f'<footer><a href="https://beian.miit.gov.cn/">{NUMBER}</a></footer>'


@pytest.mark.parametrize(
    ("body", "why"),
    [
        pytest.param(f"<div hidden>{FOOTER}</div>", "<div hidden>", id="the hidden attribute"),
        pytest.param(
            f'<div class="f" style="color: #333; Display: None !important">{FOOTER}</div>',
            '<div style="display: none">',
            id="an inline display none",
        ),
        pytest.param(
            f"<div hidden><div>a</div>{FOOTER}</div>", "<div hidden>", id="after a nested element"
        ),
        pytest.param(
            f"<div hidden>a<br/><img src=x />{FOOTER}</div>",
            "<div hidden>",
            id="after void elements",
        ),
        pytest.param(f"<dialog>{FOOTER}</dialog>", "<dialog> not open", id="a dialog not open"),
        pytest.param(
            f'<div style="display: none !important; display: block">{FOOTER}</div>',
            '<div style="display: none">',
            id="an important display none",
        ),
        pytest.param(
            f"<ul><li hidden><ul><li>{FOOTER}</ul></ul>", "<li hidden>", id="in a nested list"
        ),
        pytest.param(
            f'<div style="visibility: hidden">{FOOTER}</div>',
            '<div style="visibility: hidden">',
            id="an invisible ancestor",
        ),
        pytest.param(
            f'<section style="VISIBILITY:collapse">{FOOTER}</section>',
            '<section style="visibility: collapse">',
            id="a collapsed ancestor",
        ),
        pytest.param(
            f'<div style="opacity: 0">{FOOTER}</div>',
            '<div style="opacity: 0">',
            id="a transparent ancestor",
        ),
        pytest.param(
            f'<div style="opacity:0%">{FOOTER}</div>', '<div style="opacity: 0%">', id="0 percent"
        ),
        pytest.param(
            f'<div style="opacity: -1">{FOOTER}</div>',
            '<div style="opacity: -1">',
            id="a negative opacity, clamped to 0",
        ),
        pytest.param(
            f'<div style="font-size: 0">{FOOTER}</div>',
            '<div style="font-size: 0">',
            id="a font size of 0",
        ),
        pytest.param(
            f'<span style="font-size:0.0px">{FOOTER}</span>',
            '<span style="font-size: 0.0px">',
            id="a font size of 0 pixels",
        ),
        pytest.param(
            f'<a href="https://beian.miit.gov.cn/" style="opacity: 0">{NUMBER}</a>',
            '<a style="opacity: 0">',
            id="the link itself",
        ),
    ],
)
def test_a_footer_in_a_hidden_element_is_neither_shown_nor_linked(body: str, why: str) -> None:
    assert _problems(_body(body), NUMBER) == _hidden_by(why)


def test_a_size_relative_to_a_font_size_of_0_stays_hidden() -> None:
    body = f'<div style="font-size: 0"><span style="font-size: 1.2em">{FOOTER}</span></div>'
    assert _problems(_body(body), NUMBER) == _hidden_by('<div style="font-size: 0">')


def test_a_number_partly_hidden_is_not_shown_and_says_what_hides_it() -> None:
    shown = '京ICP备2026<span style="font-size: 0">000123</span>号-1'
    assert _problems(_page(shown), NUMBER) == [
        f'the record number {NUMBER} is not shown: hidden by <span style="font-size: 0">',
        "the link to https://beian.miit.gov.cn does not carry the record number",
    ]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(f'<div style="border: none; display: block">{FOOTER}</div>', id="no none"),
        pytest.param(f'<div hidden style="display: flex">{FOOTER}</div>', id="style overrides"),
        pytest.param(
            f'<div style="display: none; display: block">{FOOTER}</div>', id="last display wins"
        ),
        pytest.param(f"<dialog open>{FOOTER}</dialog>", id="an open dialog"),
        pytest.param(f'<dialog style="display: block">{FOOTER}</dialog>', id="a dialog shown"),
        pytest.param(f'<div style="opacity: 0.8">{FOOTER}</div>', id="translucent"),
        pytest.param(f'<div style="font-size: 0.8em">{FOOTER}</div>', id="a small font"),
        pytest.param(f'<div style="visibility: visible">{FOOTER}</div>', id="visible"),
        pytest.param(
            f'<div style="font-size: 0"><span style="font-size: 14px">{FOOTER}</span></div>',
            id="a size of its own inside a font size of 0",
        ),
        pytest.param(
            f'<div style="visibility: hidden"><div style="visibility: visible">{FOOTER}</div></div>',
            id="visible inside an invisible ancestor",
        ),
        pytest.param(f'<div aria-hidden="true">{FOOTER}</div>', id="drawn, if not read aloud"),
    ],
)
def test_an_element_its_style_or_state_shows_is_read(body: str) -> None:
    assert _problems(_body(body), NUMBER) == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(f"<p hidden>old notice<center>{FOOTER}</center>", id="p ended by a block"),
        pytest.param(f"<p hidden><span>old<div>{FOOTER}</div>", id="p ended with what it holds"),
        pytest.param(f"<ul><li hidden>admin<li>{FOOTER}</ul>", id="li ended by the next"),
        pytest.param(f"<ul><li hidden>a<ul><li>b</ul><li>{FOOTER}</ul>", id="nested list"),
        pytest.param(f"<ul><li>home<li hidden>admin</ul>{FOOTER}", id="li ended by its list"),
        pytest.param(
            f"<table><tr hidden><td>a<td>b<tr><td>{FOOTER}</table>", id="tr ended by the next"
        ),
        pytest.param(f"<table><tr><td hidden>a<td>{FOOTER}</table>", id="td ended by the next"),
        pytest.param(f"<table><tr><th hidden>a<th>{FOOTER}</table>", id="th ended by the next"),
        pytest.param(f"<dl><dt hidden>a<dd>{FOOTER}</dl>", id="dt ended by its dd"),
        pytest.param(f"<dl><dd hidden>a<dt>{FOOTER}</dl>", id="dd ended by the next dt"),
        pytest.param(
            f"<table><caption hidden>old<tr><td>{FOOTER}</table>", id="caption ended by a row"
        ),
        pytest.param(
            f"<table><colgroup hidden><col><tr><td>{FOOTER}</table>", id="colgroup ended by a row"
        ),
        pytest.param(f"<button hidden>x<button>{FOOTER}</button>", id="button ended by the next"),
        pytest.param(
            f'<table><thead style="display:none"><tr><th>h<tbody><tr><td>{FOOTER}</table>',
            id="thead ended by the tbody",
        ),
        pytest.param(f"<h1 hidden>Shop<h2>{FOOTER}</h2>", id="heading ended by the next"),
        pytest.param(f'<a href="#top" hidden>top{FOOTER}', id="a ended by the next"),
        pytest.param(f"<div hidden><p>x<br>menu</div>{FOOTER}", id="div ended by its end tag"),
        pytest.param(f'<input type="hidden" name="t" hidden>{FOOTER}', id="a hidden form field"),
    ],
)
def test_a_hidden_element_ends_where_a_browser_ends_it(body: str) -> None:
    assert _problems(_body(body), NUMBER) == []


@pytest.mark.parametrize(
    ("head", "before"),
    [
        pytest.param("", "<div>" * 990, id="nested a thousand deep"),
        pytest.param(
            "<style>.ad footer { display: none }</style>",
            "<div>" * 1500,
            id="nested deep under a rule for its ancestors",
        ),
        pytest.param(
            "<style>.ad ~ footer { display: none }</style>",
            "<br>" * 1500,
            id="after many siblings under a rule for them",
        ),
        pytest.param(
            "<style>:lang(en) footer { display: none }</style>",
            "<div>" * 1500,
            id="nested deep under a rule for a language",
        ),
        pytest.param(
            "<style>input:enabled { opacity: 0 }</style>",
            "<div>" * 1500 + "<input>",
            id="nested deep under a rule for enabled inputs",
        ),
    ],
)
def test_a_footer_however_deep_or_far_down_is_read(head: str, before: str) -> None:
    assert _problems(_body(before + FOOTER, head=head), NUMBER) == []


def test_a_page_served_hidden_is_read_as_its_scripts_show_it() -> None:
    page = (
        f'<html><body style="display: none">{FOOTER}'
        '<script>document.body.style.display = ""</script></body></html>'
    )
    assert _problems(page, NUMBER) == []


def test_a_stray_end_tag_does_not_end_the_title() -> None:
    page = _body(FOOTER.replace(NUMBER, "备案"), head=f"<title>Shop</b> · {NUMBER}</title>")
    assert _problems(page, NUMBER) == [
        f"the record number {NUMBER} is not shown: hidden by <title>",
        "the link to https://beian.miit.gov.cn does not carry the record number",
    ]


def _styled(css: str, attributes: str, inline: str = "") -> str:
    """A page whose ``<style>`` holds ``css`` and whose footer has ``attributes``."""
    style = f' style="{inline}"' if inline else ""
    footer = (
        f'<footer {attributes}{style}><a href="https://beian.miit.gov.cn/">{NUMBER}</a></footer>'
    )
    return _body(footer, head=f"<style>{css}</style>")


@pytest.mark.parametrize(
    ("css", "attributes", "why"),
    [
        pytest.param(
            ".icp { display: none }",
            'class="icp"',
            ".icp { display: none } on <footer>",
            id="class",
        ),
        pytest.param(
            "#beian{visibility:hidden}",
            'id="beian"',
            "#beian { visibility: hidden } on <footer>",
            id="id",
        ),
        pytest.param(
            "body > footer { font-size: 0 }",
            "",
            "body > footer { font-size: 0 } on <footer>",
            id="element",
        ),
        pytest.param(
            ".f { opacity: 0 !important }",
            'class="f"',
            ".f { opacity: 0 } on <footer>",
            id="opacity",
        ),
        pytest.param(
            ".sr { position: absolute; left: -9999px }",
            'class="sr"',
            ".sr { left: -9999px } on <footer>",
            id="off the page",
        ),
        pytest.param(
            "@media screen { .icp { display: none } }",
            'class="icp"',
            ".icp { display: none } on <footer>",
            id="a media query every screen matches",
        ),
    ],
)
def test_a_footer_a_style_rule_hides_is_neither_shown_nor_linked(
    css: str, attributes: str, why: str
) -> None:
    assert _problems(_styled(css, attributes), NUMBER) == _hidden_by(why)


def test_an_important_rule_wins_over_the_inline_style() -> None:
    page = _styled(".icp { display: none !important }", 'class="icp"', "display: block")
    assert _problems(page, NUMBER) == _hidden_by(".icp { display: none } on <footer>")


@pytest.mark.parametrize(
    ("css", "attributes", "inline"),
    [
        pytest.param(
            ".icp { display: none } footer.icp { display: block }",
            'class="icp"',
            "",
            id="a more specific rule",
        ),
        pytest.param(
            "#f { display: block } .icp { display: none }",
            'class="icp" id="f"',
            "",
            id="an id over a later class",
        ),
        pytest.param(
            ".icp { display: none } .icp { display: block }",
            'class="icp"',
            "",
            id="the later of two equal rules",
        ),
        pytest.param(".icp { display: none }", 'class="icp"', "display: flex", id="inline style"),
        pytest.param(
            "[hidden].icp { display: block }",
            'class="icp" hidden',
            "",
            id="over the hidden attribute",
        ),
        pytest.param(".icp { display: none }", 'class="other"', "", id="a class it has not"),
        pytest.param("@media print { footer { display: none } }", "", "", id="only when printed"),
        pytest.param("footer::before { display: none }", "", "", id="a pseudo-element"),
        pytest.param(".sr { position: absolute; left: -20px }", 'class="sr"', "", id="nudged"),
        pytest.param(".sr { left: -9999px }", 'class="sr"', "", id="an offset not positioned"),
        pytest.param("footer:unknown-state { display: none }", "", "", id="an unknown selector"),
    ],
)
def test_a_footer_the_cascade_shows_is_read(css: str, attributes: str, inline: str) -> None:
    assert _problems(_styled(css, attributes, inline), NUMBER) == []


HIDE = "footer { display: none }"


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(f'<style media="print">{HIDE}</style>', id="for print"),
        pytest.param(f'<style media="(max-width: 600px)">{HIDE}</style>', id="for a width"),
        pytest.param(f'<style type="text/plain">{HIDE}</style>', id="not css"),
        pytest.param(f"<noscript><style>{HIDE}</style></noscript>", id="in noscript"),
        pytest.param(f"<template><style>{HIDE}</style></template>", id="in a template"),
    ],
)
def test_a_style_block_a_browser_does_not_apply_on_screen_hides_nothing(head: str) -> None:
    assert _problems(_body(FOOTER, head=head), NUMBER) == []


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(f'<style media="Screen">{HIDE}</style>', id="for screens"),
        pytest.param(f'<style media="all">{HIDE}</style>', id="for all media"),
        pytest.param(f'<style media="">{HIDE}</style>', id="for no media named"),
        pytest.param(f'<style type="TEXT/CSS">{HIDE}</style>', id="typed css"),
        pytest.param(f'<style type="">{HIDE}</style>', id="typed empty"),
        pytest.param(f"<style>@media {{ {HIDE} }}</style>", id="a rule for no media named"),
        pytest.param(f'<style media="screen, print">{HIDE}</style>', id="for screens and print"),
        pytest.param(
            f"<style>@media all, print {{ {HIDE} }}</style>", id="a rule for all and print"
        ),
    ],
)
def test_a_style_block_for_every_screen_is_applied(head: str) -> None:
    assert _problems(_body(FOOTER, head=head), NUMBER) == _hidden_by(
        "footer { display: none } on <footer>"
    )


def test_a_rule_drawing_a_footer_again_inside_an_invisible_wrapper_shows_it() -> None:
    footer = f'<div style="visibility: hidden"><div class="in">{FOOTER}</div></div>'
    css = ".in { visibility: visible }"
    assert _problems(_body(footer, head=f"<style>{css}</style>"), NUMBER) == []


def _too_complex(selector: str) -> list[str]:
    return [
        "the page is too complex to check its styles: matching its style rules to its"
        f' elements took more than 5,000,000 steps (at "{selector}")'
    ]


# Each page would keep the worker for minutes, past its time limit, if its rules were matched
# to the end: combinators over deep nesting multiply, and so does comparing each of many
# elements with all the others.
@pytest.mark.parametrize(
    ("css", "before", "selector"),
    [
        pytest.param(
            "x div div div div div { display: block }",
            "<div>" * 100,
            "x div div div div div",
            id="descendant combinators over deep nesting",
        ),
        pytest.param("div:has(span) { display: block }", "<div>" * 3000, "div:has(span)", id="has"),
        pytest.param(
            "p:first-of-type { display: block }",
            "<p>" * 100_000,
            "p:first-of-type",
            id="of type among many siblings",
        ),
    ],
)
def test_a_page_whose_rules_cost_too_much_to_match_fails_saying_its_styles_were_not_checked(
    css: str, before: str, selector: str
) -> None:
    page = _body(before + FOOTER, head=f"<style>{css}</style>")
    assert _problems(page, NUMBER) == _too_complex(selector)


TOO_COMPLEX = "x div div div div div { display: none }"


def test_a_page_too_complex_to_check_its_styles_still_says_its_number_is_missing() -> None:
    page = _body("<div>" * 100 + "<footer>© Example</footer>", head=f"<style>{TOO_COMPLEX}</style>")
    assert _problems(page, NUMBER) == [
        f"the record number {NUMBER} is not shown",
        "no link to https://beian.miit.gov.cn",
        *_too_complex("x div div div div div"),
    ]


def test_a_page_too_complex_to_check_its_styles_is_still_read_for_its_markup() -> None:
    page = _body(f"<div hidden>{'<div>' * 100}{FOOTER}", head=f"<style>{TOO_COMPLEX}</style>")
    assert _problems(page, NUMBER) == [
        *_hidden_by("<div hidden>"),
        *_too_complex("x div div div div div"),
    ]


def test_a_rule_setting_nothing_that_hides_or_shows_is_not_matched() -> None:
    css = "x div div div div div { color: red; margin: 0 }"
    page = _body("<div>" * 100 + FOOTER, head=f"<style>{css}</style>")
    assert _problems(page, NUMBER) == []
