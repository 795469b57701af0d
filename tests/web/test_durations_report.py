"""The review-times report by order kind: the REST rows, the console page and its chart."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.testclient import TestClient

from web.durations_svg import INDENT, LABEL_W, durations_svg
from workflow.domain.definition import STATES, State
from workflow.domain.orders import OrderKind
from workflow.forecast import DurationRow
from workflow.schemas import FilingOut

if TYPE_CHECKING:
    from tests.web.conftest import Api


def _row(kind: str, median: float) -> DurationRow:
    return DurationRow(
        province="京", kind=OrderKind(kind), stage=State.MIIT_PENDING, count=5,
        median_working_days=median, p90_working_days=median,
    )  # fmt: skip


def test_each_row_of_the_report_names_its_order_kind(api: Api, on_file: FilingOut) -> None:
    report = api.client.get("/api/v1/reports/durations", headers=api.headers).json()
    assert ("京", "first_filing", "miit_pending") in {
        (r["province"], r["kind"], r["stage"]) for r in report
    }


def test_the_chart_heads_each_province_and_kind_and_draws_its_stages_under_it() -> None:
    svg = str(durations_svg([_row("first_filing", 10), _row("cancel_service", 1)], 20))
    in_reading_order = [
        "京 首次备案 (first_filing)",
        ">10 / 10 wd",
        "京 注销网站/App (cancel_service)",
        ">1 / 1 wd",
    ]
    assert [svg.index(text) for text in in_reading_order] == sorted(
        svg.index(text) for text in in_reading_order
    )
    assert svg.count('<rect class="bar"') == 2


def test_the_page_shows_the_kind_in_the_chart_and_the_table(
    client: TestClient, tokens: dict[str, str], on_file: FilingOut
) -> None:
    client.post("/login", data={"token": tokens["viewer"]})
    page = client.get("/reports/durations").text
    assert "京 首次备案 (first_filing)" in page and "<td>first_filing 首次备案</td>" in page
    assert "<script>" not in page and " style=" not in page


def test_a_stages_label_puts_its_key_under_its_chinese_name_left_of_the_bars() -> None:
    """At the chart's sizes a Chinese character takes 12 px and a key's letter at most 7 (11 px
    type): on two lines every state's label fits; on one, the longest ran under its bar."""
    svg = str(durations_svg([_row("first_filing", 10)], 20))
    assert f'管局审核中<tspan class="name" x="{INDENT}" dy="14">miit_pending</tspan>' in svg
    for state in STATES:
        assert INDENT + 12 * len(state.label_zh) < LABEL_W
        assert INDENT + 7 * len(state.name.value) < LABEL_W


def test_the_statutory_line_is_labelled_inside_the_chart() -> None:
    svg = str(durations_svg([_row("first_filing", 10)], 20))
    assert 'text-anchor="end">statutory 20 wd 法定时限' in svg


def _page_of_an_order_with_the_bureau(api: Api, client: TestClient, viewer: str) -> str:
    order = api.drive("miit_pending")
    client.post("/login", data={"token": viewer})
    page: str = client.get(f"/filings/{order['id']}").text
    return page


def test_an_orders_page_says_which_kind_its_forecast_counts(
    api: Api, client: TestClient, tokens: dict[str, str]
) -> None:
    page = _page_of_an_order_with_the_bureau(api, client, tokens["viewer"])
    assert "(0 completed first_filing 首次备案 orders, fewer than" in page


def test_the_table_names_each_stage_with_its_chinese_label(
    client: TestClient, tokens: dict[str, str], on_file: FilingOut
) -> None:
    client.post("/login", data={"token": tokens["viewer"]})
    page = client.get("/reports/durations").text
    assert "<td>miit_pending 管局审核中</td>" in page


def test_an_orders_forecast_names_the_stage_it_counts_from_with_its_chinese_label(
    api: Api, client: TestClient, tokens: dict[str, str]
) -> None:
    page = _page_of_an_order_with_the_bureau(api, client, tokens["viewer"])
    assert "working days from entering miit_pending 管局审核中" in page
