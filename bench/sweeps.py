"""Bar: finding the due deadlines among 1,000,000 filings costs at most 1.5× what it costs
among 10,000, with the same deadlines due in both (work follows what is due, not the table).

Both sizes hold the very same due set, on their first filings. Every filing also carries a
pending deadline in the future and a disarmed one in the past: a query that leaned on
``due_at`` alone, or on ``status`` alone, would have to wade through those. Rows are
bulk-loaded in SQL (going through the service would take hours at this size). Beside the
bar's query, a full ``fire_due_deadlines`` over the due set is timed too, restoring the set
(untimed) before each run, since a sweep that finds fast but fires slowly still misses.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench import Scale
from bench.bulk import load_filings, replicate
from bench.environment import BENCH_NOW, Scratch, scratch
from bench.results import Result
from bench.timing import interleaved_medians
from models import Deadline
from workflow.sweeps import due_deadline_ids, fire_due_deadlines


@dataclass(frozen=True)
class Size:
    small: int
    large: int
    due: int
    find_repeat: int
    fire_repeat: int


SIZES: dict[Scale, Size] = {
    "full": Size(small=10_000, large=1_000_000, due=200, find_repeat=200, fire_repeat=3),
    "quick": Size(small=10_000, large=100_000, due=200, find_repeat=100, fire_repeat=3),
    "tiny": Size(small=100, large=1_000, due=10, find_repeat=5, fire_repeat=1),
}

_PLAN_SQL = {
    "sqlite": "EXPLAIN QUERY PLAN ",
    "postgresql": "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) ",
}


def run(scale: Scale, backends: Sequence[str]) -> list[Result]:
    return [result for backend in backends for result in _measure(backend, SIZES[scale])]


def _measure(backend: str, size: Size) -> list[Result]:
    """Both sizes live side by side and are timed in turn, so drift hits both alike."""
    with scratch(backend) as small, scratch(backend) as large:
        dbs = {"small": small, "large": large}
        loads = {
            name: _load(db.engine, count, size.due)
            for (name, db), count in zip(dbs.items(), (size.small, size.large), strict=True)
        }
        plans = {}
        for name, db in dbs.items():
            _settle(db.engine)
            plans[name] = _plan(db, size.due)
        found = interleaved_medians(
            {name: partial(_find, db, size.due) for name, db in dbs.items()},
            warmup=5,
            repeat=size.find_repeat,
        )
        fired = interleaved_medians(
            {name: partial(_fire, db, size.due) for name, db in dbs.items()},
            warmup=1,
            repeat=size.fire_repeat,
            setup=lambda name: _restore(dbs[name].engine),
        )
    common = {
        "filings": [size.small, size.large],
        "due": size.due,
        "load_seconds": [round(loads["small"], 1), round(loads["large"], 1)],
    }
    return [
        _result(
            backend,
            size,
            "find due",
            found,
            {**common, "repeat": size.find_repeat, "query_plans": plans},
        ),
        _result(backend, size, "fire due", fired, {**common, "repeat": size.fire_repeat}),
    ]


def _result(
    backend: str, size: Size, label: str, seconds: Mapping[str, float], details: dict[str, Any]
) -> Result:
    return Result(
        bar="sweeps",
        backend=backend,
        metric=f"{label}, {size.large:,} vs {size.small:,} filings",
        unit="ms",
        baseline=seconds["small"] * 1000,
        measured=seconds["large"] * 1000,
        limit=1.5,
        at_least=False,
        details=details,
    )


def _find(db: Scratch, due: int) -> None:
    """What each sweep pass starts with: a session, the batch query, the session closed."""
    with Session(db.engine) as session:
        found = due_deadline_ids(session, BENCH_NOW, db.settings.sweep_batch_size)
    if len(found) != due:
        raise AssertionError(f"found {len(found)} due deadlines, loaded {due}")


def _fire(db: Scratch, due: int) -> None:
    fired = fire_due_deadlines(db.engine, BENCH_NOW, db.settings)
    if fired != due:
        raise AssertionError(f"fired {fired} due deadlines, loaded {due}")


def _restore(engine: Engine) -> None:
    """Make the due set pending again and forget what firing it owed."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM outbox"))
        conn.execute(text("DELETE FROM notifications"))
        conn.execute(
            text("UPDATE deadlines SET status = 'pending', fired_at = NULL WHERE status = 'fired'")
        )
    _settle(engine)


def _settle(engine: Engine) -> None:
    """Fresh statistics, and on PostgreSQL no dead index entries left by earlier runs: the
    state autovacuum keeps a live database in, so that neither size pays for the other."""
    statement = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(statement))


def _plan(db: Scratch, due: int) -> list[str]:
    """How the database runs the sweep's query, as the sweep sends it (caught on its way to
    the driver, parameters and all): the figures mean little without it."""
    sent: list[tuple[str, Any]] = []

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", catch)
    try:
        _find(db, due)
    finally:
        event.remove(db.engine, "before_cursor_execute", catch)
    [(statement, parameters)] = sent
    with db.engine.connect() as conn:
        explained = conn.exec_driver_sql(_PLAN_SQL[db.engine.dialect.name] + statement, parameters)
        return [" ".join(str(cell) for cell in row) for row in explained]


def _load(engine: Engine, filings: int, due: int) -> float:
    """Load ``filings`` filings with their background deadlines, and a due deadline on the
    first ``due`` of them; returns the seconds it took.

    As ``bench.bulk`` loads rows: one template through SQLAlchemy, copied by the database.
    """
    started = time.perf_counter()
    deadline_table = Deadline.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        load_filings(conn, filings, {"domain": "'site' || n.i || '.cn'"})
        for template, count in (
            (_deadline("stuck", -timedelta(days=10), status="disarmed"), filings),
            (_deadline("idle_escalation", timedelta(days=30)), filings),
            (_deadline("idle_reminder", -timedelta(hours=1)), due),
        ):
            template_id = conn.execute(
                insert(deadline_table).values(template).returning(deadline_table.c.id)
            ).scalar_one()
            replicate(conn, "deadlines", template_id, count, {"filing_id": "n.i"})
    return time.perf_counter() - started


def _deadline(kind: str, due_in: timedelta, *, status: str = "pending") -> dict[str, Any]:
    armed = BENCH_NOW - timedelta(days=1)
    return {
        "filing_id": 1,
        "kind": kind,
        "state": "submitted",
        "figure": 1.0,
        "due_at": BENCH_NOW + due_in,
        "status": status,
        "estimated": False,
        "armed_at": armed,
        "disarmed_at": armed if status == "disarmed" else None,
    }
