"""Bar: 32 clients firing events through HTTP, each on a filing of its own, reach at least
half the rate of the service called in-process by 32 threads doing the same; p95 reported.

Measured on PostgreSQL (the bar's database: SQLite has one writer, so its concurrency is not
what is measured here). The web process runs as the README runs it (``icpflow web``: uvicorn,
one process) on a private database and the embedded Redis, relaying the notifying events'
outbox rows after commit as it always does (no worker runs: messages wait in Redis). Each
side has filings of its own, one per client, and fires ``bench.transitions.CYCLE`` on it, so
runs can repeat; runs of the two sides alternate.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from auth.tokens import Role, create_token
from bench import Scale
from bench.environment import Scratch, scratch
from bench.processes import child_env, embedded_redis, free_port, serves, spawned, wait_until
from bench.results import Result
from bench.timing import percentile
from bench.transitions import ACTOR, CYCLE, submitted_filings
from models.engine import create_db_engine
from workflow import service

CLIENTS = 32
LIMIT = 0.5
START_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Size:
    cycles: int  # per client and run: each fires every step of CYCLE
    warmup: int
    repeat: int


SIZES: dict[Scale, Size] = {
    "full": Size(cycles=10, warmup=1, repeat=5),
    "quick": Size(cycles=5, warmup=1, repeat=3),
    "tiny": Size(cycles=1, warmup=0, repeat=1),
}

# One client's run: it fires on its filing and returns each event's seconds.
Client = Callable[[int], list[float]]


def run(scale: Scale, backends: Sequence[str]) -> list[Result]:
    return _measure(SIZES[scale]) if "postgres" in backends else []


def _measure(size: Size) -> list[Result]:
    with ExitStack() as stack:
        db = stack.enter_context(scratch("postgres"))
        var_dir = db.settings.var_dir
        env = child_env(db.url, var_dir, stack.enter_context(embedded_redis(var_dir)))
        port = free_port()
        args = ["-m", "cli", "web", "--host", "127.0.0.1", "--port", str(port)]
        web = stack.enter_context(spawned("web", args, env, var_dir))
        with Session(db.engine) as session:
            token = create_token(session, "bench-api", Role.CASE_MANAGER)
        probe = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}"))
        wait_until(lambda: serves(probe), START_TIMEOUT_SECONDS, "the web process", [web])
        # The in-process side's pool holds a connection for each of its threads, as the web
        # process's holds one for each of its request threads: neither waits for the other.
        engine = create_db_engine(db.url, pool_size=CLIENTS)
        stack.callback(engine.dispose)
        in_process = _in_process_clients(db, engine, submitted_filings(db, CLIENTS))
        over_http = [
            _http_client(stack, f"http://127.0.0.1:{port}", token, filing_id)
            for filing_id in submitted_filings(db, CLIENTS)
        ]
        runs = {"in-process": in_process, "http": over_http}
        for _ in range(size.warmup):
            for clients in runs.values():
                _concurrently(clients, size.cycles)
        rates: dict[str, list[float]] = {name: [] for name in runs}
        latencies: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(size.repeat):
            for name, clients in runs.items():
                seconds, each = _concurrently(clients, size.cycles)
                rates[name].append(len(each) / seconds)
                latencies[name] += each
    return [_result(size, rates, latencies)]


def _in_process_clients(db: Scratch, engine: Engine, filing_ids: Sequence[int]) -> list[Client]:
    def client(filing_id: int) -> Client:
        def fire(cycles: int) -> list[float]:
            took = []
            for _ in range(cycles):
                for step in CYCLE:
                    started = time.perf_counter()
                    with Session(engine, expire_on_commit=False) as session:
                        service.fire_event(
                            session, filing_id, step.command, actor=ACTOR, settings=db.settings
                        )
                    took.append(time.perf_counter() - started)
            return took

        return fire

    return [client(filing_id) for filing_id in filing_ids]


def _http_client(stack: ExitStack, base_url: str, token: str, filing_id: int) -> Client:
    """A client of its own (its own keep-alive connection), as 32 users would have."""
    http = stack.enter_context(
        httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    )

    def fire(cycles: int) -> list[float]:
        took = []
        for _ in range(cycles):
            for step in CYCLE:
                body = {"event": step.event, "data": dict(step.data)}
                started = time.perf_counter()
                response = http.post(f"/api/v1/filings/{filing_id}/events", json=body)
                took.append(time.perf_counter() - started)
                if response.is_error:
                    raise RuntimeError(f"event {step.event} on {filing_id}: {response.text}")
        return took

    return fire


def _concurrently(clients: Sequence[Client], cycles: int) -> tuple[float, list[float]]:
    """All clients at once, started together; the wall-clock seconds and every event's."""
    each: list[list[float]] = [[] for _ in clients]
    failures: list[BaseException] = []
    start = threading.Barrier(len(clients) + 1)

    def work(n: int) -> None:
        start.wait()
        try:
            each[n] = clients[n](cycles)
        except BaseException as exc:  # re-raised below, in the benchmark's thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise failures[0]
    return seconds, [s for client in each for s in client]


def _result(size: Size, rates: dict[str, list[float]], latencies: dict[str, list[float]]) -> Result:
    def ms(name: str, percent: float) -> float:
        return round(percentile(sorted(latencies[name]), percent) * 1000, 1)

    return Result(
        bar="api",
        backend="postgres",
        metric=f"events/s, {CLIENTS} HTTP clients vs in-process (p95 {ms('http', 95)} ms)",
        unit="ev/s",
        baseline=statistics.median(rates["in-process"]),
        measured=statistics.median(rates["http"]),
        limit=LIMIT,
        at_least=True,
        details={
            "clients": CLIENTS,
            "events_per_run": CLIENTS * size.cycles * len(CYCLE),
            "repeat": size.repeat,
            **{f"{name}_p{p}_ms": ms(name, p) for name in latencies for p in (50, 95)},
        },
    )
