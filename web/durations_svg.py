"""Review times drawn as a bar chart in SVG written here: no charting library, no script.

Rows come grouped under a heading per province and order kind, because kinds are not
comparable (a cancellation clears in days, a first filing can take the full 20): within a
group, one row per stage with a bar to the median, a tick at the 90th percentile and the count
beside it; across the chart, a dashed line at the statutory 20 working days. Colours come from
the stylesheet's classes (the CSP allows no inline styles).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from markupsafe import Markup, escape

from workflow.domain.definition import STATES_BY_NAME
from workflow.domain.orders import kind_spec
from workflow.forecast import DurationRow

LABEL_W, ROW_H, BAR_H, PLOT_W, MARGIN, INDENT = 220, 26, 14, 460, 12, 12
# A stage's row holds its label on two lines, the Chinese name over the state's key: on one
# line the longest ("已绑定备案服务号 (service_number_bound)") ran under the bar.
STAGE_H = 36


def durations_svg(rows: Sequence[DurationRow], statutory: int) -> Markup:
    """The chart of ``rows`` in their order (``forecast.durations`` keeps each province's kinds
    together); the scale fits the longest 90th percentile or the statutory limit."""
    longest = max([statutory, *(r.p90_working_days for r in rows)])
    scale = PLOT_W / longest
    groups = [(key, list(members)) for key, members in groupby(rows, _group)]
    height = MARGIN * 2 + ROW_H * (len(groups) + 1) + STAGE_H * len(rows)
    width = LABEL_W + PLOT_W + 90
    parts = [
        f'<svg class="durations" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' role="img" aria-labelledby="durations-title">',
        '<title id="durations-title">Median and 90th percentile review times by order kind, '
        "working days</title>",
    ]
    y = MARGIN
    for (province, kind), members in groups:
        heading = f"{province} {kind_spec(kind).label_zh} ({kind})"
        parts.append(f'<text class="zh" x="0" y="{y + BAR_H - 2}">{escape(heading)}</text>')
        y += ROW_H
        for row in members:
            parts += _bar(row, y, scale)
            y += STAGE_H
    limit_x = LABEL_W + statutory * scale
    parts += [
        f'<line class="limit" x1="{limit_x:.1f}" x2="{limit_x:.1f}" y1="{MARGIN - 6}" y2="{y}"/>',
        # Ending at the line, not starting there: at the plot's right edge it would run off.
        f'<text class="name" x="{limit_x - 4:.1f}" y="{y + 14}" text-anchor="end">statutory '
        f"{statutory} wd 法定时限</text>",
        "</svg>",
    ]
    return Markup("".join(parts))


def _group(row: DurationRow) -> tuple[str, str]:
    return row.province, row.kind


def _bar(row: DurationRow, y: int, scale: float) -> list[str]:
    """One stage of a group: its label, the median bar, the p90 tick, the figures."""
    median_w, p90_x = row.median_working_days * scale, LABEL_W + row.p90_working_days * scale
    return [
        f'<text x="{INDENT}" y="{y + BAR_H - 2}">{escape(STATES_BY_NAME[row.stage].label_zh)}'
        f'<tspan class="name" x="{INDENT}" dy="14">{escape(row.stage)}</tspan></text>',
        f'<rect class="bar" x="{LABEL_W}" y="{y}" width="{median_w:.1f}" height="{BAR_H}">'
        f"<title>median {row.median_working_days:g} wd</title></rect>",
        f'<line class="p90" x1="{p90_x:.1f}" x2="{p90_x:.1f}" y1="{y - 3}" '
        f'y2="{y + BAR_H + 3}"><title>p90 {row.p90_working_days:g} wd</title></line>',
        f'<text class="name" x="{p90_x + 6:.1f}" y="{y + BAR_H - 2}">'
        f"{row.median_working_days:g} / {row.p90_working_days:g} wd · n={row.count}</text>",
    ]
