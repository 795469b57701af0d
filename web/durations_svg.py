"""Review times drawn as a bar chart in SVG written here: no charting library, no script.

One row per province and stage: a bar to the median, a tick at the 90th percentile, the count
beside it, and a dashed line at the statutory 20 working days. Colours come from the
stylesheet's classes (the CSP allows no inline styles).
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from workflow.domain.definition import STATES_BY_NAME
from workflow.forecast import DurationRow

LABEL_W, ROW_H, BAR_H, PLOT_W, MARGIN = 220, 26, 14, 460, 12


def durations_svg(rows: Sequence[DurationRow], statutory: int) -> Markup:
    """The chart of ``rows``; the scale fits the longest 90th percentile or the statutory limit."""
    longest = max([statutory, *(r.p90_working_days for r in rows)])
    scale = PLOT_W / longest
    height = MARGIN * 2 + ROW_H * (len(rows) + 1)
    width = LABEL_W + PLOT_W + 90
    parts = [
        f'<svg class="durations" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' role="img" aria-labelledby="durations-title">',
        '<title id="durations-title">Median and 90th percentile review times, working days</title>',
    ]
    for i, row in enumerate(rows):
        y = MARGIN + i * ROW_H
        label = f"{row.province} {STATES_BY_NAME[row.stage].label_zh} ({row.stage})"
        median_w, p90_x = row.median_working_days * scale, LABEL_W + row.p90_working_days * scale
        parts += [
            f'<text x="0" y="{y + BAR_H - 2}">{escape(label)}</text>',
            f'<rect class="bar" x="{LABEL_W}" y="{y}" width="{median_w:.1f}" height="{BAR_H}">'
            f"<title>median {row.median_working_days:g} wd</title></rect>",
            f'<line class="p90" x1="{p90_x:.1f}" x2="{p90_x:.1f}" y1="{y - 3}" '
            f'y2="{y + BAR_H + 3}"><title>p90 {row.p90_working_days:g} wd</title></line>',
            f'<text class="name" x="{p90_x + 6:.1f}" y="{y + BAR_H - 2}">'
            f"{row.median_working_days:g} / {row.p90_working_days:g} wd · n={row.count}</text>",
        ]
    limit_x = LABEL_W + statutory * scale
    bottom = MARGIN + ROW_H * len(rows)
    parts += [
        f'<line class="limit" x1="{limit_x:.1f}" x2="{limit_x:.1f}" y1="{MARGIN - 6}" '
        f'y2="{bottom}"/>',
        f'<text class="name" x="{limit_x + 4:.1f}" y="{bottom + 14}">statutory {statutory} wd '
        "法定时限</text>",
        "</svg>",
    ]
    return Markup("".join(parts))
