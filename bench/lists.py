"""Bar: a page of the filings list (by state, by province, by domain prefix, by ICP number; 50
to a page, through ``workflow.views.search.filing_page``, the read side behind the API's and the
console's lists) costs among 1,000,000 filings at most 1.5x what it costs among 10,000.

Filings are bulk-loaded (``bench.bulk``) with their states, provinces and ICP numbers spread
evenly, so a state or a province filter matches the same share of the table at either size
(a tenth or so: what a count would have to wade through grows), while a domain prefix or an ICP number matches a handful.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench import Scale
from bench.bulk import load_filings
from bench.environment import BENCH_NOW, Scratch, scratch
from bench.results import Result
from bench.timing import interleaved_medians
from workflow.domain.definition import STATES as DECLARED_STATES
from workflow.views.search import FilingFilters, filing_page

LIMIT = 1.5
PAGE = 50
STATES = tuple(s.name.value for s in DECLARED_STATES)
PROVINCES = ("京", "沪", "粤", "浙", "苏", "川", "鄂", "闽")
FIRST_SERIAL = 2026000000


@dataclass(frozen=True)
class Size:
    small: int
    large: int
    repeat: int


SIZES: dict[Scale, Size] = {
    "full": Size(small=10_000, large=1_000_000, repeat=60),
    "quick": Size(small=10_000, large=100_000, repeat=30),
    "tiny": Size(small=100, large=1_000, repeat=3),
}


def _cycle(values: Sequence[str]) -> str:
    """SQL giving filing ``n.i`` the ``i mod len``-th of ``values``."""
    cases = " ".join(f"WHEN {n} THEN '{value}'" for n, value in enumerate(values))
    return f"CASE n.i % {len(values)} {cases} END"


def _icp_number(filing: int) -> str:
    return f"{PROVINCES[filing % len(PROVINCES)]}ICP备{FIRST_SERIAL + filing}号-1"


# The filing number ``n.i`` decides its domain, state, province and ICP number.
VARYING = {
    "domain": "'site' || n.i || '.cn'",
    "state": _cycle(STATES),
    "province": _cycle(PROVINCES),
    "icp_number": f"{_cycle(PROVINCES)} || 'ICP备' || ({FIRST_SERIAL} + n.i) || '号-1'",
}
# What each measured page asks for: ``FilingFilters``' fields.
SEARCHES: dict[str, dict[str, Any]] = {
    "by state": {"state": "submitted"},
    "by province": {"province": "粤"},
    "by domain prefix": {"domain": "site12"},
    "by ICP number": {"icp_number": _icp_number(42).removesuffix("号-1")},
}


def run(scale: Scale, backends: Sequence[str]) -> list[Result]:
    return [result for backend in backends for result in _measure(backend, SIZES[scale])]


def _measure(backend: str, size: Size) -> list[Result]:
    """Both sizes live side by side and each search is timed on both in turn."""
    with scratch(backend) as small, scratch(backend) as large:
        dbs = {"small": small, "large": large}
        loads = {
            name: _load(db.engine, count)
            for (name, db), count in zip(dbs.items(), (size.small, size.large), strict=True)
        }
        results = []
        for label, search in SEARCHES.items():
            found: dict[str, tuple[int, bool]] = {}
            pages: dict[str, Callable[[], None]] = {
                name: partial(_page, db, search, found, name) for name, db in dbs.items()
            }
            seconds = interleaved_medians(pages, warmup=3, repeat=size.repeat)
            results.append(
                Result(
                    bar="lists",
                    backend=backend,
                    metric=f"page {label}, {size.large:,} vs {size.small:,} filings",
                    unit="ms",
                    baseline=seconds["small"] * 1000,
                    measured=seconds["large"] * 1000,
                    limit=LIMIT,
                    at_least=False,
                    details={
                        "search": search,
                        "filings": [size.small, size.large],
                        "total_and_exact": [found["small"], found["large"]],
                        "load_seconds": [round(loads["small"], 1), round(loads["large"], 1)],
                        "repeat": size.repeat,
                    },
                )
            )
    return results


def _page(
    db: Scratch, search: dict[str, Any], found: dict[str, tuple[int, bool]], name: str
) -> None:
    """One page as the API serves it: a session, the page, the session closed."""
    with Session(db.engine) as session:
        filters = FilingFilters.model_validate(search)
        page = filing_page(session, BENCH_NOW, filters, settings=db.settings, limit=PAGE)
    if not page.items:
        raise AssertionError(f"{search} found no filings")
    found[name] = (page.total, page.total_is_exact)


def _load(engine: Engine, filings: int) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        load_filings(conn, filings, VARYING)
    statement = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(statement))
    return time.perf_counter() - started
