"""The benchmarks still run: each at its smallest size, on each backend, reporting every bar.

Nothing here asserts speed (at these sizes the ratios are noise); holding the bars is
``python -m bench``'s job. This only keeps the benchmarks from rotting as the product moves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import environment
from bench.__main__ import main


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_every_benchmark_runs_and_reports_its_ratio(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "postgres":
        # The suite's own fixture decides whether a missing server skips or fails (CI).
        admin_url = request.getfixturevalue("postgres_url")
        monkeypatch.setattr(environment, "POSTGRES_ADMIN_URL", admin_url)
    output = tmp_path / "latest.json"

    code = main(["--tiny", "--backend", backend, "--output", str(output)])

    report = json.loads(output.read_text())
    results = report["results"]
    assert code == (0 if all(r["passed"] for r in results) else 1)
    assert report["scale"] == "tiny" and report["skipped"] == {}
    assert sorted((r["bar"], r["metric"].split(",")[0]) for r in results) == [
        ("sweeps", "find due"),
        ("sweeps", "fire due"),
        ("transitions", "events/s"),
    ]
    assert all(r["backend"] == backend and r["ratio"] > 0 for r in results)
