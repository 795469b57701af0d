"""The benchmarks still run: each at its smallest size, on each backend, reporting every bar.

Nothing here asserts speed (at these sizes the ratios are noise); holding the bars is
``python -m bench``'s job. This only keeps the benchmarks from rotting as the product moves.
The notification, memory and API bars start real Redis, worker and web processes; none may be
left running, whether the benchmark passed or raised.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import bench.__main__ as bench_main
from bench import api, environment, memory, notifications
from bench.__main__ import main
from bench.processes import descendants

pytestmark = [pytest.mark.slow, pytest.mark.redis]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_every_benchmark_runs_and_reports_its_ratio(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "postgres":
        request.getfixturevalue("many_connections")  # the API bar's concurrent clients
        # The suite's own fixture decides whether a missing server skips or fails (CI).
        admin_url = request.getfixturevalue("postgres_url")
        monkeypatch.setattr(environment, "POSTGRES_ADMIN_URL", admin_url)
    output = tmp_path / "latest.json"

    code = main(["--tiny", "--backend", backend, "--output", str(output)])

    report = json.loads(output.read_text())
    results = report["results"]
    assert code == (0 if all(r["passed"] for r in results) else 1)
    assert (report["scale"], report["skipped"], report["complete"]) == ("tiny", {}, True)
    embedded_default_only = [
        ("notifications", "p95 commit to delivery"),
        ("notifications", "p95 commit to delivery"),
        ("notifications", "worker msg/s"),
    ]
    assert sorted((r["bar"], r["metric"].split(",")[0]) for r in results) == [
        *([("api", "events/s")] if backend == "postgres" else []),
        ("lists", "page by ICP number"),
        ("lists", "page by domain prefix"),
        ("lists", "page by province"),
        ("lists", "page by state"),
        ("memory", "web RSS"),
        ("memory", "worker RSS"),
        *(embedded_default_only if backend == "sqlite" else []),
        ("sweeps", "find due"),
        ("sweeps", "fire due"),
        ("transitions", "events/s"),
    ]
    assert all(r["backend"] == backend and r["ratio"] > 0 for r in results)
    assert descendants(os.getpid()) == []


def _fail(*args: object) -> None:
    raise RuntimeError("the benchmark broke midway")


def test_a_run_broken_midway_keeps_what_it_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(bench_main.BENCHMARKS, "sweeps", _fail)  # the second, after transitions
    output = tmp_path / "latest.json"

    with pytest.raises(RuntimeError, match="broke midway"):
        main(["--tiny", "--backend", "sqlite", "--output", str(output)])

    report = json.loads(output.read_text())
    assert report["complete"] is False
    assert [(r["bar"], r["backend"]) for r in report["results"]] == [("transitions", "sqlite")]


@pytest.mark.parametrize(
    ("module", "step", "backend"),
    [
        (notifications, "_latencies", "sqlite"),
        (memory, "serves", "sqlite"),
        pytest.param(api, "serves", "postgres", marks=pytest.mark.postgres),
    ],
    ids=["notify", "memory", "api"],
)
def test_processes_are_stopped_when_a_benchmark_fails(
    module: object, step: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, step, _fail)

    with pytest.raises(RuntimeError, match="broke midway"):
        module.run("tiny", [backend])  # type: ignore[attr-defined]

    assert descendants(os.getpid()) == []
