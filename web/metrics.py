"""Prometheus metrics: request latency, events fired, and database gauges read at scrape time.

The gauges count in the database when scraped, so every web process reports the same truth
instead of a per-process tally.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, event, func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.clock import as_utc, get_clock
from config.settings import get_settings
from models import (
    Deadline,
    DeadlineStatus,
    FailedJob,
    Filing,
    Notification,
    NotificationStatus,
    OutboxMessage,
    get_engine,
)
from web.auth import Viewer
from workflow import obligations
from workflow.domain.orders import KINDS
from workflow.views.held_up import flagged_by_kind, state_counts

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()
EVENTS_FIRED = Counter(
    "icpflow_events_fired_total", "Events fired through the API.", ["event"], registry=REGISTRY
)
REQUEST_SECONDS = Histogram(
    "icpflow_http_request_seconds",
    "HTTP request latency by route template (not raw path: ids would explode the series).",
    ["method", "route", "status"],
    registry=REGISTRY,
)


def orders_by_kind(session: Session) -> dict[tuple[str, str], int]:
    """Live counts per (order kind, state): every kind, with the states it has orders in."""
    rows = session.exec(
        select(Filing.kind, Filing.state, func.count()).group_by(Filing.kind, Filing.state)
    ).all()
    counts = {(kind, state): int(count) for kind, state, count in rows}
    for spec in KINDS:
        counts.setdefault((spec.kind.value, spec.initial.value), 0)
    return counts


def count_when_committed(session: Session, event_name: str) -> None:
    """Count ``event_name`` only if the session commits: an idempotent replay fires nothing."""
    event.listen(
        session, "after_commit", lambda _: EVENTS_FIRED.labels(event_name).inc(), once=True
    )


def _count(session: Session, table: type, condition: ColumnElement[bool]) -> int:
    return int(session.exec(select(func.count()).select_from(table).where(condition)).one())


def under_first_name(family: Metric, first: str) -> Metric:
    """``family`` again under ``first``, the name it had before it was renamed, with the same
    samples and a HELP saying it is deprecated and naming the new one: dashboards and alerts
    written against the first name keep working after an upgrade, and whoever reads the HELP
    learns where to move them (as ``web.renamed.get_renamed`` keeps a renamed route)."""
    twin = Metric(
        first,
        f"Deprecated, renamed {family.name} (same values): {family.documentation}",
        family.type,
    )
    # A sample's name is the family's with its suffix, if any (a counter's _total).
    twin.samples = [s._replace(name=first + s.name[len(family.name) :]) for s in family.samples]
    return twin


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        try:
            with Session(get_engine()) as session:
                now = get_clock().now()
                by_state = state_counts(session, now)
                by_flag = flagged_by_kind(session, now)
                by_kind = orders_by_kind(session)
                armed = col(Deadline.status) == DeadlineStatus.PENDING
                pending = _count(session, Deadline, armed & (col(Deadline.due_at) > now))
                # Due and not fired: the scheduler is down, or behind.
                unfired = _count(session, Deadline, armed & (col(Deadline.due_at) <= now))
                # Since it was last queued: a failed job ops retried waits from then, not from
                # when its notice was first owed days ago.
                queued = func.coalesce(Notification.queued_at, Notification.created_at)
                undelivered, oldest = session.exec(
                    select(func.count(), func.min(queued)).where(
                        col(Notification.status) == NotificationStatus.PENDING
                    )
                ).one()
                unpublished = _count(
                    session, OutboxMessage, col(OutboxMessage.published_at).is_(None)
                )
                failed = _count(session, FailedJob, col(FailedJob.retried_at).is_(None))
                duties = obligations.count_overdue(session, now, get_settings())
        except SQLAlchemyError as exc:
            # Keep serving the process's own metrics; /readyz reports the database.
            log.warning("metrics: database unavailable: %s", type(exc).__name__)
            return
        family = GaugeMetricFamily("icpflow_filings", "Filings by state.", labels=["state"])
        held_up = GaugeMetricFamily(
            "icpflow_filings_overdue",
            "Filings by state with an overdue deadline past due (the pipeline's overdue counts).",
            labels=["state"],
        )
        for row in by_state:
            family.add_metric([row.state.value], row.count)
            held_up.add_metric([row.state.value], row.overdue)
        yield family
        yield held_up
        yield under_first_name(held_up, "icpflow_filings_late")
        deadlines = GaugeMetricFamily(
            "icpflow_filings_held_up_by_deadline",
            "Filings held up, by the kind of deadline they are past (SLA health) and the flag "
            "its passing raises: overdue (a limit of its own broken) or stuck (no move in the "
            "state for too long).",
            labels=["flag", "kind"],
        )
        for flag, kinds in by_flag.items():
            for kind, count in kinds.items():
                deadlines.add_metric([flag.value, kind], count)
        yield deadlines
        # "late" misnamed the stuck flag's filings, which have broken no limit of their own.
        yield under_first_name(deadlines, "icpflow_late_filings_by_deadline")
        orders = GaugeMetricFamily(
            "icpflow_orders", "Orders by kind and state.", labels=["kind", "state"]
        )
        for (kind, state), count in sorted(by_kind.items()):
            orders.add_metric([kind, state], count)
        yield orders
        yield GaugeMetricFamily(
            "icpflow_deadlines_pending", "Armed deadlines not yet due.", value=pending
        )
        yield GaugeMetricFamily(
            "icpflow_deadlines_due_unfired",
            "Armed deadlines past due that no sweep has fired yet (the scheduler down or behind).",
            value=unfired,
        )
        yield GaugeMetricFamily(
            "icpflow_notifications_pending",
            "Notifications owed and not yet delivered (nor failed for good).",
            value=undelivered,
        )
        waited = (now - as_utc(oldest)).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "icpflow_notification_oldest_pending_seconds",
            "How long the undelivered notification queued longest ago has waited since (workers "
            "down, a peer failing: a minute or two at most when all is well).",
            value=max(waited, 0.0),
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
        yield GaugeMetricFamily(
            "icpflow_obligations_overdue",
            "Duties after approval past their time (PSB filing, cancel-access, rectification, "
            "an expired domain).",
            value=duties,
        )


REGISTRY.register(DatabaseCollector())


class RequestTimer:
    """Pure ASGI middleware timing each request by its route template. Starlette's
    ``@app.middleware("http")`` runs every request through a task group and memory streams,
    which cost more than the rest of a small request's routing (bench/api.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )


def install(app: FastAPI) -> None:
    app.add_middleware(RequestTimer)

    @app.get("/metrics", include_in_schema=False)
    def metrics(_: Viewer) -> Response:
        """Behind a viewer token like everything else (Prometheus sends it as
        ``authorization: {credentials: <token>}``): counts per state are business data."""
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
