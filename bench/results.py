"""What a bar measured, printed as a table and kept as JSON for comparing runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Result:
    """One bar on one backend: ``ratio`` is measured against ``baseline`` and held to ``limit``.

    ``at_least`` says which side of the limit passes (throughput ratios must stay above it,
    cost ratios below it).
    """

    bar: str
    backend: str
    metric: str
    unit: str
    baseline: float
    measured: float
    limit: float
    at_least: bool
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline

    @property
    def passed(self) -> bool:
        return self.ratio >= self.limit if self.at_least else self.ratio <= self.limit


def render_table(results: Sequence[Result]) -> str:
    header = ("bar", "backend", "metric", "baseline", "measured", "ratio", "bar", "ok")
    rows = [
        (
            r.bar,
            r.backend,
            r.metric,
            f"{r.baseline:,.4g} {r.unit}",
            f"{r.measured:,.4g} {r.unit}",
            f"{r.ratio:.3f}",
            f"{'≥' if r.at_least else '≤'} {r.limit}",
            "PASS" if r.passed else "FAIL",
        )
        for r in results
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def write_json(path: Path, results: Sequence[Result], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        **meta,
        "results": [{**asdict(r), "ratio": r.ratio, "passed": r.passed} for r in results],
    }
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False, default=str) + "\n")
