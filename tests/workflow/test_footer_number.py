"""Reading the record number off a home page: a reader sees the same number however the page
writes it, and the link must really go to the MIIT site."""

from __future__ import annotations

from workflow.domain.footer import footer_problems
from workflow.domain.rules import load_rules

NUMBER = "京ICP备2026000123号-1"
canonical = load_rules().canonical_province


def _page(shown: str, href: str = "https://beian.miit.gov.cn/") -> str:
    return f'<html><body><footer><a href="{href}">{shown}</a></footer></body></html>'


def test_a_number_in_full_width_digits_is_the_same_number() -> None:
    assert footer_problems(_page("京ICP备２０２６０００１２３号-1"), NUMBER, canonical) == []


def test_a_number_in_full_width_letters_is_the_same_number() -> None:
    assert footer_problems(_page("京ＩＣＰ备2026000123号－1"), NUMBER, canonical) == []


def test_a_number_in_lower_case_is_the_same_number() -> None:
    assert footer_problems(_page("京icp备2026000123号-1"), NUMBER, canonical) == []


def test_a_number_with_the_province_alias_is_the_same_number() -> None:
    assert footer_problems(_page("蜀ICP备2026000123号-1"), "川ICP备2026000123号-1", canonical) == []


def test_an_alias_of_another_province_is_another_number() -> None:
    problems = footer_problems(_page("蜀ICP备2026000123号-1"), NUMBER, canonical)
    assert problems == [
        f"the record number {NUMBER} is not shown",
        "the link to https://beian.miit.gov.cn does not carry the record number",
    ]


def test_a_number_split_by_tags_and_spaces_is_the_same_number() -> None:
    shown = "京ICP备\u00a0<b>2026000123</b>\u3000号-1"
    assert footer_problems(_page(shown), NUMBER, canonical) == []


def test_the_entity_number_without_the_suffix_counts() -> None:
    assert footer_problems(_page("京ICP备2026000123号"), NUMBER, canonical) == []


def test_a_protocol_relative_or_http_link_counts() -> None:
    for href in ("//beian.miit.gov.cn/", "http://beian.miit.gov.cn"):
        assert footer_problems(_page(NUMBER, href), NUMBER, canonical) == []


def test_a_look_alike_host_is_no_link_to_the_miit_site() -> None:
    problems = footer_problems(
        _page(NUMBER, "https://beian.miit.gov.cn.evil.com/"), NUMBER, canonical
    )
    assert problems == ["no link to https://beian.miit.gov.cn"]


def test_a_telecom_licences_entity_number_counts_for_its_service() -> None:
    assert footer_problems(_page("粤B2-20090059"), "粤B2-20090059-3", canonical) == []


def test_part_of_a_telecom_licence_number_is_not_the_number() -> None:
    problems = footer_problems(_page("粤B2-2009"), "粤B2-20090059", canonical)
    assert problems == [
        "the record number 粤B2-20090059 is not shown",
        "the link to https://beian.miit.gov.cn does not carry the record number",
    ]


def _body(footer: str, head: str = "") -> str:
    return f"<html><head>{head}</head><body><p>Welcome</p>{footer}</body></html>"


def test_a_number_only_in_the_title_is_not_shown() -> None:
    page = _body(
        '<footer><a href="https://beian.miit.gov.cn/">备案</a></footer>',
        head=f"<title>Shop · {NUMBER}</title>",
    )
    assert footer_problems(page, NUMBER, canonical) == [
        f"the record number {NUMBER} is not shown",
        "the link to https://beian.miit.gov.cn does not carry the record number",
    ]


def test_a_footer_only_in_noscript_is_neither_shown_nor_linked() -> None:
    page = _body(f'<noscript><a href="https://beian.miit.gov.cn/">{NUMBER}</a></noscript>')
    assert footer_problems(page, NUMBER, canonical) == [
        f"the record number {NUMBER} is not shown",
        "no link to https://beian.miit.gov.cn",
    ]


def test_a_footer_in_an_unused_template_is_not_shown() -> None:
    page = _body(f'<template><a href="https://beian.miit.gov.cn/">{NUMBER}</a></template>')
    assert footer_problems(page, NUMBER, canonical) == [
        f"the record number {NUMBER} is not shown",
        "no link to https://beian.miit.gov.cn",
    ]


def test_the_footer_after_a_title_and_a_script_is_read() -> None:
    page = _body(
        f'<script>var n = "</p>";</script><footer><a href="https://beian.miit.gov.cn/">'
        f"{NUMBER}</a></footer>",
        head="<title>Shop</title><style>footer { color: #333 }</style>",
    )
    assert footer_problems(page, NUMBER, canonical) == []


FOOTER = f'<footer><a href="https://beian.miit.gov.cn/">{NUMBER}</a></footer>'
NOT_SHOWN = [f"the record number {NUMBER} is not shown", "no link to https://beian.miit.gov.cn"]


def test_a_footer_under_the_hidden_attribute_is_neither_shown_nor_linked() -> None:
    page = _body(f"<div hidden><div>{FOOTER}</div></div>")
    assert footer_problems(page, NUMBER, canonical) == NOT_SHOWN


def test_a_footer_in_an_inline_display_none_is_neither_shown_nor_linked() -> None:
    page = _body(f'<div class="f" style="color: #333; Display: None !important">{FOOTER}</div>')
    assert footer_problems(page, NUMBER, canonical) == NOT_SHOWN


def test_a_style_that_only_mentions_none_hides_nothing() -> None:
    page = _body(f'<div style="border: none; display: block">{FOOTER}</div>')
    assert footer_problems(page, NUMBER, canonical) == []


def test_the_footer_after_a_hidden_element_with_nested_ones_is_read() -> None:
    page = _body(f"<div hidden><div><span>menu</span></div><br></div>{FOOTER}")
    assert footer_problems(page, NUMBER, canonical) == []


def test_a_hidden_paragraph_left_open_ends_at_the_next_block() -> None:
    page = _body(f"<p hidden>old notice{FOOTER}")
    assert footer_problems(page, NUMBER, canonical) == []


def test_a_hidden_list_item_left_open_ends_with_its_list() -> None:
    page = _body(f"<ul><li>home<li hidden>admin</ul>{FOOTER}")
    assert footer_problems(page, NUMBER, canonical) == []


def test_a_hidden_form_field_hides_nothing_after_it() -> None:
    page = _body(f'<form><input type="hidden" name="t" hidden></form>{FOOTER}')
    assert footer_problems(page, NUMBER, canonical) == []
