"""One way to time things, so every bar reports medians taken the same way.

Candidates measured against each other are interleaved run by run: drift on a shared
machine (other processes, page cache, CPU frequency) then hits both sides alike instead of
whichever happened to run second.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence


def interleaved_medians(
    candidates: Mapping[str, Callable[[], object]],
    *,
    warmup: int,
    repeat: int,
    setup: Callable[[str], object] = lambda name: None,
) -> dict[str, float]:
    """Median wall-clock seconds per candidate, after ``warmup`` untimed rounds; ``setup``
    runs untimed before every run of the candidate it names (e.g. to restore what a run
    consumes)."""
    for _ in range(warmup):
        for name, run in candidates.items():
            setup(name)
            run()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeat):
        for name, run in candidates.items():
            setup(name)
            started = time.perf_counter()
            run()
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(times) for name, times in samples.items()}


def percentile(ordered: Sequence[float], percent: float) -> float:
    """Nearest rank: a value that was measured, however few there are."""
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]
