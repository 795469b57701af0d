"""Ops endpoints: stuck, overdue and failed work, and retrying a failed job."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlmodel import Session, col, select

from config.clock import FrozenClock
from models import FailedJob, Job, Notification, NotificationStatus, OutboxMessage
from tests.factories import MakeFiling
from workflow import failures
from workflow.outbox import FooterCheck

if TYPE_CHECKING:
    from tests.web.conftest import Api, Headers


@pytest.fixture
def ops(as_role: Callable[[str], Headers]) -> dict[str, str]:
    return as_role("ops")


def test_stuck_lists_a_filing_past_its_states_threshold(
    api: Api, ops: dict[str, str], clock: FrozenClock
) -> None:
    filing = api.create()
    assert api.get("/api/v1/ops/stuck", ops).json()["total"] == 0
    clock.advance(timedelta(days=15))
    assert [f["id"] for f in api.get("/api/v1/ops/stuck", ops).json()["items"]] == [filing["id"]]


def test_stuck_says_which_deadline_put_each_filing_there_and_when_it_fell_due(
    api: Api, ops: dict[str, str], clock: FrozenClock
) -> None:
    api.create()
    clock.advance(timedelta(days=15))

    [listed] = api.get("/api/v1/ops/stuck", ops).json()["items"]

    [filing] = api.get("/api/v1/filings?stuck=true", ops).json()["items"]
    assert {k: v for k, v in listed.items() if k != "listed_for"} == filing
    assert listed["listed_for"] == next(d for d in filing["deadlines"] if d["kind"] == "stuck")


def test_overdue_reuses_the_list_filters(api: Api, ops: dict[str, str], clock: FrozenClock) -> None:
    api.drive("submitted", domain="beijing-site.cn")
    api.drive("submitted", domain="shanghai-site.cn", province="沪")
    clock.advance(timedelta(days=7))
    page = api.get("/api/v1/ops/overdue?province=沪", ops).json()
    assert [f["domain"] for f in page["items"]] == ["shanghai-site.cn"]


@pytest.fixture
def failed_delivery(session: Session, clock: FrozenClock, new_filing: MakeFiling) -> FailedJob:
    """A notification whose delivery failed for good (withdrawing notifies the case managers)."""
    new_filing("withdrawn")
    notification = session.exec(select(Notification)).first()
    assert notification is not None and notification.id is not None
    job = failures.record_final_failure(session, notification.id, "SMTP refused", clock.now())
    session.commit()
    return job


def test_failed_jobs_are_listed(api: Api, ops: dict[str, str], failed_delivery: FailedJob) -> None:
    listed = api.get("/api/v1/ops/failed", ops).json()
    assert [(j["job"], j["notification_id"], j["error"]) for j in listed["items"]] == [
        ("deliver_notification", failed_delivery.notification_id, "SMTP refused")
    ]
    assert listed["total"] == 1


def test_failed_jobs_are_paged_newest_first_with_the_total(
    api: Api, ops: dict[str, str], session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    new_filing("withdrawn")
    notification = session.exec(select(Notification)).first()
    assert notification is not None and notification.id is not None
    failed = [
        failures.record_final_failure(session, notification.id, f"SMTP refused {n}", clock.now())
        for n in range(3)
    ]
    session.commit()
    page = api.get("/api/v1/ops/failed?limit=2&offset=1", ops).json()
    assert ([j["id"] for j in page["items"]], page["total"]) == ([failed[1].id, failed[0].id], 3)


def test_retry_queues_a_failed_job_again(
    api: Api, ops: dict[str, str], session: Session, failed_delivery: FailedJob
) -> None:
    job_id, notification_id = failed_delivery.id, failed_delivery.notification_id
    owed_before = len(session.exec(select(OutboxMessage)).all())
    session.rollback()  # a transaction here would hold SQLite's lock the request needs
    response = api.client.post(f"/api/v1/ops/failed/{job_id}/retry", headers=ops)
    assert (response.status_code, response.json()["retried_at"] is not None) == (200, True)
    *_, owed = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    assert len(session.exec(select(OutboxMessage)).all()) == owed_before + 1
    assert owed.payload == {"notification_id": notification_id}
    notification = session.get(Notification, notification_id)
    assert notification is not None and notification.status == NotificationStatus.PENDING


def test_deliveries_failing_now_are_listed_with_their_run_s_attempts_and_next_try(
    api: Api, ops: dict[str, str], retrying_delivery: Notification
) -> None:
    page = api.get("/api/v1/ops/retrying", ops).json()

    assert page["items"] == [
        {
            "notification_id": retrying_delivery.id,
            "filing_id": retrying_delivery.filing_id,
            "kind": retrying_delivery.kind,
            "channel": "webhook",
            "recipient": retrying_delivery.recipient,
            "attempts": 4,
            "last_error": "webhook answered HTTP 501",
            "waiting_since": "2026-03-02T02:00:00Z",
            "run_attempts": 4,
            "max_attempts": 11,
            "failing_since": "2026-03-02T02:00:00Z",
            "next_attempt_at": "2026-03-02T02:00:40Z",
        }
    ]
    assert page["total"] == 1


def test_a_filing_s_notifications_give_each_delivery_s_run_as_the_retrying_list_does(
    api: Api, ops: dict[str, str], retrying_delivery: Notification
) -> None:
    [retrying] = api.get("/api/v1/ops/retrying", ops).json()["items"]

    owed = api.get(f"/api/v1/filings/{retrying_delivery.filing_id}/notifications", ops).json()

    [hook] = [n for n in owed if n["id"] == retrying_delivery.id]
    run = ("run_attempts", "max_attempts", "failing_since", "next_attempt_at")
    assert {field: hook[field] for field in run} == {field: retrying[field] for field in run}


def test_a_delivery_whose_retries_ran_out_is_a_failed_job_no_longer_retrying(
    api: Api,
    ops: dict[str, str],
    session: Session,
    clock: FrozenClock,
    retrying_delivery: Notification,
) -> None:
    assert retrying_delivery.id is not None
    failures.record_final_failure(session, retrying_delivery.id, "retries ran out", clock.now())
    session.commit()

    assert api.get("/api/v1/ops/retrying", ops).json()["total"] == 0


def test_a_delivery_ops_retried_is_not_listed_as_failing_until_its_new_run_fails(
    api: Api, ops: dict[str, str], retried_delivery: Notification
) -> None:
    assert api.get("/api/v1/ops/retrying", ops).json()["total"] == 0


@pytest.fixture
def failed_check(session: Session, clock: FrozenClock) -> FailedJob:
    """A scheduled footer check whose run failed for good (its site's result never recorded)."""
    check = FooterCheck(service_id=4, obligation_id=9)
    job = failures.record_failed_job(
        session, Job.CHECK_FOOTER, check, "no such table", 4, clock.now()
    )
    session.commit()
    return job


def test_a_failed_footer_check_is_listed_with_what_it_was_to_check(
    api: Api, ops: dict[str, str], failed_check: FailedJob
) -> None:
    [listed] = api.get("/api/v1/ops/failed", ops).json()["items"]
    assert (listed["job"], listed["notification_id"], listed["payload"]) == (
        "check_footer",
        None,
        {"service_id": 4, "obligation_id": 9},
    )


def test_a_retried_footer_check_is_owed_again_as_it_was(
    api: Api, ops: dict[str, str], session: Session, failed_check: FailedJob
) -> None:
    session.rollback()  # a transaction here would hold SQLite's lock the request needs
    response = api.client.post(f"/api/v1/ops/failed/{failed_check.id}/retry", headers=ops)
    assert response.status_code == 200
    [owed] = session.exec(select(OutboxMessage)).all()
    assert (owed.job, owed.payload) == (Job.CHECK_FOOTER, {"service_id": 4, "obligation_id": 9})


def test_failed_jobs_are_narrowed_to_one_kind_of_job(
    api: Api, ops: dict[str, str], failed_delivery: FailedJob, failed_check: FailedJob
) -> None:
    checks = api.get("/api/v1/ops/failed?job=check_footer", ops).json()
    deliveries = api.get("/api/v1/ops/failed?job=deliver_notification", ops).json()

    assert ([j["id"] for j in checks["items"]], checks["total"]) == ([failed_check.id], 1)
    assert [j["id"] for j in deliveries["items"]] == [failed_delivery.id]


def test_failed_deliveries_are_narrowed_to_a_recipient_holding_a_text_case_aside(
    api: Api, ops: dict[str, str], session: Session, failed_delivery: FailedJob
) -> None:
    notification = session.get(Notification, failed_delivery.notification_id)
    assert notification is not None
    part = notification.recipient[1:-1].upper()
    session.rollback()  # a transaction here would hold SQLite's lock the request needs

    found = api.get(f"/api/v1/ops/failed?to={part}", ops).json()["items"]
    other = api.get("/api/v1/ops/failed?to=nobody@else", ops).json()["items"]

    assert ([j["id"] for j in found], other) == ([failed_delivery.id], [])


def test_failed_jobs_of_a_kind_there_is_not_are_refused_naming_the_kinds_there_are(
    api: Api, ops: dict[str, str]
) -> None:
    response = api.client.get("/api/v1/ops/failed?job=send_fax", headers=ops)

    assert response.status_code == 422
    assert response.json()["reasons"] == [
        {
            "code": "invalid_field",
            "message": "query.job: Input should be 'deliver_notification' or 'check_footer'",
            "field": "query.job",
        }
    ]


def test_retry_of_an_unknown_job_is_404(api: Api, ops: dict[str, str]) -> None:
    response = api.client.post("/api/v1/ops/failed/9/retry", headers=ops)
    assert (response.status_code, response.json()["error"]) == (404, "not_found")
