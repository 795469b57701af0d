"""Prometheus metrics: request latency, events fired, and filings per state read at scrape time.

Filings per state is a collector that counts in the database when scraped, so every web
process reports the same truth instead of a per-process tally.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import Session, select

from icpflow.models import Deadline, FailedJob, Filing, OutboxMessage, get_engine
from icpflow.workflow.definition import STATES

REGISTRY = CollectorRegistry()
EVENTS_FIRED = Counter(
    "icpflow_events_fired_total", "Events fired through the API.", ["event"], registry=REGISTRY
)
REQUEST_SECONDS = Histogram(
    "icpflow_http_request_seconds",
    "HTTP request latency.",
    ["method", "route", "status"],
    registry=REGISTRY,
)


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        with Session(get_engine()) as session:
            counts = dict(
                session.exec(select(Filing.state, func.count()).group_by(Filing.state)).all()
            )
            pending_deadlines = session.exec(
                select(func.count()).select_from(Deadline).where(Deadline.status == "pending")
            ).one()
            unpublished = session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.published_at == None)  # noqa: E711
            ).one()
            failed = session.exec(
                select(func.count()).select_from(FailedJob).where(FailedJob.retried_at == None)  # noqa: E711
            ).one()
        by_state = GaugeMetricFamily("icpflow_filings", "Filings by state.", labels=["state"])
        for spec in STATES:
            by_state.add_metric([spec.name.value], counts.get(spec.name.value, 0))
        yield by_state
        yield GaugeMetricFamily(
            "icpflow_deadlines_pending",
            "Armed deadlines not yet due or fired.",
            value=pending_deadlines,
        )
        yield GaugeMetricFamily(
            "icpflow_outbox_unpublished",
            "Outbox rows not yet relayed to the broker.",
            value=unpublished,
        )
        yield GaugeMetricFamily(
            "icpflow_failed_jobs",
            "Jobs that exhausted their retries, not yet retried.",
            value=failed,
        )


REGISTRY.register(DatabaseCollector())


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def time_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        REQUEST_SECONDS.labels(request.method, path, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
