"""Bar: a worker's and a web process's memory does not grow with the work they do: the web
process's resident memory after 100,000 events is at most 1.1x what it was after 10,000,
and the worker's after 100,000 deliveries at most 1.1x its own after 10,000.

Both run as the product runs them (``python -m cli web``, ``icpflow worker``) on a private
database and the embedded Redis. Real HTTP clients (``CLIENTS`` at once, each on filings of
its own) drive every filing through the API: created, moved along by five events and read
back. Two of the events notify, each to the team's default log route and to the filing's own
``EXTRA_ROUTES`` (log routes too), so the worker delivers six notifications per filing through
the log channel: ten times N filings is ten times the events and ten times the deliveries. A
warm-up first fills what is filled once (imports, pools, statement caches); memory is then
read (``VmRSS``) after N filings and at checkpoints up to 10N, each once the worker has
delivered everything owed, so that a queue still being worked through is not mistaken for
growth.

For the worker the Dramatiq processes that run jobs are measured, not their supervisor,
whose size does not depend on the jobs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
from sqlmodel import Session, col, func, select

from auth.tokens import Role, create_token
from bench import Scale
from bench.environment import Scratch, scratch
from bench.inputs import ORG_MATERIALS, another_organisation, make_payload
from bench.processes import (
    Child,
    child_env,
    descendants,
    embedded_redis,
    free_port,
    rss_mb,
    serves,
    spawned,
    wait_until,
)
from bench.results import Result
from models import Notification, NotificationStatus

LIMIT = 1.1
# Filings driven at once, each by its own request sequence, as a team's case managers would:
# the traffic is the same, only sooner done (a full run is 20,000 filings per database).
CLIENTS = 4
SETTLE_SECONDS = 0.2  # after the last delivery, for the worker's threads to go idle
START_TIMEOUT_SECONDS = 30.0
DRAIN_TIMEOUT_SECONDS = 120.0
# What a case manager does with one filing, in order: (event, data); None reads it back.
LIFE: tuple[tuple[str, dict[str, Any]] | None, ...] = (
    ("bind_service_number", {"server_ip": "8.8.8.8"}),  # and the filing's own number
    ("submit", {"materials": ORG_MATERIALS}),
    ("host_return", {"reason": "photo unclear"}),
    None,
    ("resubmit", {"materials": ORG_MATERIALS}),
    ("withdraw", {"reason": "project cancelled"}),
    None,
)
NOTIFYING_STEPS = 2  # host_return and withdraw
EXTRA_ROUTES = [{"channel": "log", "recipient": f"case{n}@example.cn"} for n in (1, 2)]
EVENTS_PER_FILING = sum(1 for step in LIFE if step)
DELIVERIES_PER_FILING = NOTIFYING_STEPS * (1 + len(EXTRA_ROUTES))  # and the team's route


@dataclass(frozen=True)
class Size:
    filings: int  # N
    warmup: int
    checkpoints: tuple[int, ...] = (1, 2, 4, 7, 10)  # multiples of N, from 1 to 10


SIZES: dict[Scale, Size] = {
    "full": Size(
        filings=2_000, warmup=200
    ),  # 10,000 and 100,000 events; 12,000 and 120,000 deliveries
    "quick": Size(filings=100, warmup=50),
    "tiny": Size(filings=1, warmup=1, checkpoints=(1, 10)),
}


def run(scale: Scale, backends: Sequence[str]) -> list[Result]:
    return [result for backend in backends for result in _measure(backend, SIZES[scale])]


def _measure(backend: str, size: Size) -> list[Result]:
    with ExitStack() as stack:
        db = stack.enter_context(scratch(backend))
        var_dir = db.settings.var_dir
        env = child_env(
            db.url,
            var_dir,
            stack.enter_context(embedded_redis(var_dir)),
            NOTIFY_LOG_FILE=str(var_dir / "notify.log"),
        )
        port = free_port()
        web = stack.enter_context(
            spawned(
                "web",
                ["-m", "cli", "web", "--host", "127.0.0.1", "--port", str(port)],
                env,
                var_dir,
            )
        )
        worker = stack.enter_context(spawned("worker", ["-m", "cli", "worker"], env, var_dir))
        with Session(db.engine) as session:
            token = create_token(session, "bench-memory", Role.CASE_MANAGER)
        client = stack.enter_context(
            httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
        )
        children = [web, worker]
        wait_until(lambda: serves(client), START_TIMEOUT_SECONDS, "the web process", children)
        traffic = Traffic(db, client, children)
        started = time.perf_counter()
        traffic.up_to(size.warmup)
        readings: dict[str, dict[int, float]] = {"web": {}, "worker": {}}
        for multiple in size.checkpoints:
            filings = size.filings * multiple
            traffic.up_to(size.warmup + filings)
            time.sleep(SETTLE_SECONDS)
            readings["web"][filings] = rss_mb(web.process.pid)
            readings["worker"][filings] = sum(rss_mb(p) for p in descendants(worker.process.pid))
        seconds = time.perf_counter() - started
    return [
        _result(backend, name, size, by_filings, seconds) for name, by_filings in readings.items()
    ]


def _result(
    backend: str, process: str, size: Size, rss_by_filings: dict[int, float], seconds: float
) -> Result:
    small, large = size.filings * size.checkpoints[0], size.filings * size.checkpoints[-1]
    growth = rss_by_filings[large] - rss_by_filings[small]
    work, per_filing = ("events", EVENTS_PER_FILING)
    if process == "worker":
        work, per_filing = ("deliveries", DELIVERIES_PER_FILING)
    return Result(
        bar="memory",
        backend=backend,
        metric=f"{process} RSS, {large * per_filing:,} vs {small * per_filing:,} {work}",
        unit="MiB",
        baseline=rss_by_filings[small],
        measured=rss_by_filings[large],
        limit=LIMIT,
        at_least=False,
        details={
            "rss_mib_after_filings": {n: round(mb, 1) for n, mb in rss_by_filings.items()},
            "growth_kib_per_filing": round(growth * 1024 / (large - small), 2),
            "warmup_filings": size.warmup,
            "requests_per_filing": 1 + sum(1 if step else 2 for step in LIFE),
            "events_per_filing": EVENTS_PER_FILING,
            "deliveries_per_filing": DELIVERIES_PER_FILING,
            "seconds": round(seconds, 1),
        },
    )


class Traffic:
    """Filings driven through the API, each counted once its notifications are delivered."""

    def __init__(self, db: Scratch, client: httpx.Client, children: Sequence[Child]) -> None:
        self.db, self.client, self.children = db, client, children
        self.handled = 0

    def up_to(self, total: int) -> None:
        with ThreadPoolExecutor(CLIENTS) as clients:
            for _ in clients.map(partial(_live, self.client), range(self.handled + 1, total + 1)):
                pass  # each result is None; iterating re-raises a client's error here
        self.handled = max(self.handled, total)
        wait_until(
            lambda: _undelivered(self.db) == 0,
            DRAIN_TIMEOUT_SECONDS,
            "the worker to deliver every notification",
            self.children,
            interval=0.05,
        )


def _live(client: httpx.Client, number: int) -> None:
    """One filing's life through the API."""
    applicant = another_organisation(number)  # one order in flight per entity
    payload = make_payload(domain=f"site{number}.cn", applicant=applicant, notify=EXTRA_ROUTES)
    created = _ok(client.post("/api/v1/filings", json=payload))
    path = f"/api/v1/filings/{created['id']}"
    for step in LIFE:
        if step is None:
            _ok(client.get(path))
            _ok(client.get(f"{path}/history"))
        else:
            event, data = step
            if event == "bind_service_number":  # a service number serves one order
                data = {**data, "service_number": f"BA{number:010d}"}
            _ok(client.post(f"{path}/events", json={"event": event, "data": data}))


def _ok(response: httpx.Response) -> Any:
    if response.is_error:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json()


def _undelivered(db: Scratch) -> int:
    with Session(db.engine) as session:
        query = select(func.count()).where(col(Notification.status) != NotificationStatus.DELIVERED)
        return int(session.exec(query).one())
