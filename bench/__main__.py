"""``python -m bench [--only NAME] [--quick | --tiny]``: run the bars, print their ratios,
keep the figures as JSON, and exit 1 when a bar is missed.

PostgreSQL is measured when it answers at ``BENCH_DATABASE_URL``; otherwise it is reported
as skipped, so a laptop without it still gets the SQLite figures.
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import Scale, api, lists, memory, notifications, sweeps, transitions
from bench.environment import BACKENDS, postgres_unreachable
from bench.results import Result, render_table, write_json

BENCHMARKS: dict[str, Callable[[Scale, Sequence[str]], list[Result]]] = {
    "transitions": transitions.run,
    "sweeps": sweeps.run,
    "lists": lists.run,
    "notifications": notifications.run,
    "memory": memory.run,
    "api": api.run,
}
NOT_YET: dict[str, str] = {}
LATEST = Path(__file__).parent / "results" / "latest.json"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    scale: Scale = "quick" if args.quick else "tiny" if args.tiny else "full"
    backends = list(args.backend or BACKENDS)
    skipped = {}
    if "postgres" in backends and (reason := postgres_unreachable()):
        backends.remove("postgres")
        skipped["postgres"] = reason
    names = [args.only] if args.only else list(BENCHMARKS)
    meta = {
        "scale": scale,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.platform(),
        "skipped": skipped,
        "not_measured": NOT_YET,
    }
    results: list[Result] = []
    for name in names:
        print(f"running {name} ({scale}) on {', '.join(backends)}...", file=sys.stderr, flush=True)
        measured = BENCHMARKS[name](scale, backends)
        results += measured
        # A complete run takes about 90 minutes: one stopped or broken midway keeps, and has
        # shown, every benchmark it finished.
        print(render_table(measured), file=sys.stderr, flush=True)
        write_json(args.output, results, {**meta, "complete": False})
    print(render_table(results))
    if scale != "full":
        print(f"\nscale {scale}: {_scale_note(scale)}")
    for backend, reason in skipped.items():
        print(f"skipped {backend}: {reason}")
    for name, reason in NOT_YET.items():
        print(f"not measured yet: {name} ({reason})")
    write_json(args.output, results, {**meta, "complete": True})
    return 0 if all(r.passed for r in results) else 1


def _scale_note(scale: Scale) -> str:
    size = sweeps.SIZES[scale]
    return (
        f"sweeps and lists compare {size.large:,} with {size.small:,} filings,"
        " not 1,000,000 with 10,000"
        + ("; sizes this small only prove the code runs" if scale == "tiny" else "")
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="run one benchmark")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes, for CI")
    size.add_argument("--tiny", action="store_true", help="smallest sizes: proves it runs")
    parser.add_argument(
        "--backend", action="append", choices=BACKENDS, help="repeatable; default: all"
    )
    parser.add_argument("--output", type=Path, default=LATEST, help=f"default: {LATEST}")
    return parser


if __name__ == "__main__":
    sys.exit(main())
