"""What operators and tooling see: health, readiness, metrics, OpenAPI and the relay hook."""

from __future__ import annotations

import gc
import weakref
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine
from sqlmodel import Session

from config.clock import FrozenClock
from config.settings import Settings, get_settings
from web import app as app_module
from web.app import create_app
from workflow import privacy
from workflow.domain.definition import DEADLINES
from workflow.domain.errors import UnsafeSettings

if TYPE_CHECKING:
    from tests.web.conftest import Api


def test_healthz_answers(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_a_load_balancers_head_probe_is_answered(client: TestClient, path: str) -> None:
    assert client.head(path).status_code == 200


def test_requests_run_on_as_many_threads_as_the_pool_keeps_connections(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_THREADS", "7")
    get_settings.cache_clear()
    with TestClient(create_app(relay=False)) as client:
        assert client.portal is not None  # the app's event loop, running its lifespan
        limit = client.portal.call(request_threads)
    assert limit == 7


def request_threads() -> float:
    return anyio.to_thread.current_default_thread_limiter().total_tokens


def test_an_app_dropped_after_serving_is_freed(settings: Settings) -> None:
    """Nothing process-wide keeps an app built and served: FastAPI caches what it learns of
    an endpoint by its function, and a route closing over its app kept every app ever built
    (a test process held a thousand, and collecting them cost a fifth of its time)."""
    app = create_app(relay=False)
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
    freed = weakref.ref(app)
    del app, client

    gc.collect()

    assert freed() is None


def test_readyz_is_200_with_the_database_up(client: TestClient) -> None:
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_with_a_reason_when_the_database_is_down(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    unreachable = create_engine(f"sqlite:///{tmp_path}/missing/dir/icpflow.db")
    monkeypatch.setattr(app_module, "get_engine", lambda: unreachable)
    response = client.get("/readyz")
    assert (response.status_code, response.json()["reason"]) == (
        503,
        "database unreachable: OperationalError",
    )


def test_readyz_is_503_naming_the_keys_when_they_cannot_open_the_data_stored(
    api: Api, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database restored from another install without its keys: every page showing a
    person would fail, so a load balancer should not route here."""
    api.create()
    monkeypatch.setenv("DATA_KEYS", Fernet.generate_key().decode())
    get_settings.cache_clear()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert "DATA_KEYS" in response.json()["reason"]


def test_readyz_judges_the_keys_by_a_number_purge_left_alone(
    api: Api, client: TestClient, session: Session, settings: Settings, clock: FrozenClock
) -> None:
    """A purged entity's blank number has a look-up hash of its own, which no key makes."""
    first = api.create()
    assert api.fire(first, "withdraw", {"reason": "dropped"}).status_code == 200
    api.create()
    clock.advance(timedelta(days=31))
    assert len(privacy.purge(session, timedelta(days=30), clock.now(), settings).filings) == 1
    session.rollback()  # a SQLite transaction holds the write lock the app needs

    assert client.get("/readyz").status_code == 200


def test_a_filing_its_keys_cannot_open_is_answered_503_naming_them_not_as_a_bug(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    filing = api.create()
    monkeypatch.setenv("DATA_KEYS", Fernet.generate_key().decode())
    get_settings.cache_clear()

    response = api.get(f"/api/v1/filings/{filing['id']}")

    assert response.status_code == 503
    assert "DATA_KEYS" in response.json()["message"]


def test_metrics_expose_filings_by_state(api: Api) -> None:
    api.create()
    assert 'icpflow_filings{state="domain_registered"} 1.0' in api.get("/metrics").text


def test_metrics_expose_orders_by_kind(api: Api) -> None:
    api.create()
    text = api.get("/metrics").text
    assert 'icpflow_orders{kind="first_filing",state="domain_registered"} 1.0' in text
    assert 'icpflow_orders{kind="cancel_access",state="draft"} 0.0' in text


def test_metrics_count_overdue_filings_by_state_and_by_the_deadline_they_are_past(
    api: Api, clock: FrozenClock
) -> None:
    api.drive("submitted")
    api.create(domain="on-time.cn")
    clock.advance(timedelta(days=7))  # past the host's 3 working days
    text = api.get("/metrics").text
    assert 'icpflow_filings_overdue{state="submitted"} 1.0' in text
    assert 'icpflow_filings_overdue{state="domain_registered"} 0.0' in text
    held_up = _held_up_by_deadline(text)
    assert held_up[("overdue", "host_review_overdue")] == 1
    assert held_up[("overdue", "miit_sla_breach")] == 0


@pytest.mark.parametrize(
    ("new", "first"),
    [
        ("icpflow_filings_overdue", "icpflow_filings_late"),
        ("icpflow_filings_held_up_by_deadline", "icpflow_late_filings_by_deadline"),
    ],
)
def test_metrics_still_export_a_renamed_family_under_its_first_name_deprecated(
    api: Api, clock: FrozenClock, new: str, first: str
) -> None:
    """Dashboards and alerts on the first name keep working after the rename."""
    api.drive("submitted")
    clock.advance(timedelta(days=7))  # past the host's 3 working days
    families = {f.name: f for f in text_string_to_metric_families(api.get("/metrics").text)}

    def samples(family: Metric) -> dict[tuple[tuple[str, str], ...], float]:
        return {tuple(sorted(s.labels.items())): s.value for s in family.samples}

    assert samples(families[first]) == samples(families[new])
    assert 1 in samples(families[new]).values()
    assert families[first].documentation.startswith(f"Deprecated, renamed {new} ")


def test_metrics_count_a_filing_only_stuck_under_the_stuck_flag_not_overdue(
    api: Api, clock: FrozenClock
) -> None:
    """An alert on flag="overdue" pages for limits broken, never for work merely idle."""
    api.create()
    clock.advance(timedelta(days=15))  # past the stuck threshold; no deadline of its own passed

    held_up = _held_up_by_deadline(api.get("/metrics").text)

    assert {labels: n for labels, n in held_up.items() if n} == {("stuck", "stuck"): 1}


def test_metrics_label_each_kind_of_deadline_with_the_flag_its_passing_raises(api: Api) -> None:
    held_up = _held_up_by_deadline(api.get("/metrics").text)
    declared = [(d.flag.value, d.kind) for d in DEADLINES if d.flag is not None]
    assert sorted(held_up) == sorted(declared)


def _held_up_by_deadline(text: str) -> dict[tuple[str, str], float]:
    """``icpflow_filings_held_up_by_deadline``'s samples by their (flag, kind) labels."""
    [family] = (f for f in text_string_to_metric_families(text) if f.name == _HELD_UP)
    return {(s.labels["flag"], s.labels["kind"]): s.value for s in family.samples}


_HELD_UP = "icpflow_filings_held_up_by_deadline"


def test_metrics_show_deadlines_no_sweep_fired_and_notifications_not_delivered(
    api: Api, clock: FrozenClock
) -> None:
    """What ops watch for a scheduler or the workers down: here, neither has run at all."""
    route = {"channel": "email", "recipient": "ops@example.cn"}
    api.drive("sms_pending", notify=[route])  # its notices owed, its SMS window armed
    clock.advance(timedelta(days=7))  # the window closed a week ago, no sweep since

    assert _sample(api, "icpflow_deadlines_due_unfired") >= 1
    assert _sample(api, "icpflow_notifications_pending") >= 1
    assert _sample(api, "icpflow_notification_oldest_pending_seconds") >= 7 * 86_400


def test_metrics_need_a_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401


def test_metrics_count_a_replayed_event_once(api: Api) -> None:
    filing = api.create()
    headers = {**api.headers, "Idempotency-Key": "metrics-once"}
    before = _sample(api, 'icpflow_events_fired_total{event="withdraw"}')
    for _ in range(2):
        api.fire(filing, "withdraw", {"reason": "x"}, headers)
    assert _sample(api, 'icpflow_events_fired_total{event="withdraw"}') == before + 1


def test_an_answer_after_the_sms_window_is_a_conflict_naming_the_expiry_and_counts_nothing(
    api: Api, clock: FrozenClock
) -> None:
    """The console and careful clients send the version they saw: the window's expiry, fired
    for the sweep that had not come round, moved it on; the refused answer is no event fired."""
    filing = api.drive("sms_pending")
    before = _sample(api, 'icpflow_events_fired_total{event="verify_sms"}')
    clock.advance(timedelta(hours=25))

    answer = api.fire(filing, "verify_sms")

    assert answer.status_code == 409
    assert "last expire_sms by system" in answer.json()["message"]
    assert _sample(api, 'icpflow_events_fired_total{event="verify_sms"}') == before


def test_metrics_time_requests_by_route_template(api: Api) -> None:
    api.get("/api/v1/filings/1")
    text = api.get("/metrics").text
    assert 'route="/api/v1/filings/{filing_id}"' in text


def _sample(api: Api, name: str) -> float:
    lines = api.get("/metrics").text.splitlines()
    return next((float(line.split()[-1]) for line in lines if line.startswith(name + " ")), 0.0)


def test_openapi_lists_the_event_names(client: TestClient) -> None:
    event = client.get("/openapi.json").json()["components"]["schemas"]["EventIn"]
    assert "miit_approve" in event["properties"]["event"]["description"]


def test_openapi_documents_error_responses_with_the_error_model(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    responses = spec["paths"]["/api/v1/filings/{filing_id}/events"]["post"]["responses"]
    assert {"401", "403", "404", "409", "422"} <= set(responses)
    assert responses["409"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")


def test_openapi_documents_the_bearer_scheme(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_the_app_refuses_to_start_in_production_with_the_shipped_secret(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICPFLOW_ENV", "production")
    get_settings.cache_clear()

    with pytest.raises(UnsafeSettings, match="WEBHOOK_SECRET"):
        create_app(relay=False)
