"""Migration 0029 gives the notifications stored before it their run."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from models.migrate import alembic_config, upgrade
from tests.databases import Database
from tests.delivery_kit import owe_notifications


def test_a_pending_notification_that_failed_is_failing_since_it_was_queued(
    db: Database, session: Session
) -> None:
    failing, delivered = owe_notifications(session, 2)[:2]
    session.close()
    try:
        command.downgrade(alembic_config(db.url), "0028")
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE notifications SET attempts = 3"))
            conn.execute(
                sa.text("UPDATE notifications SET last_error = 'HTTP 503' WHERE id = :id"),
                {"id": failing},
            )
            conn.execute(
                sa.text("UPDATE notifications SET status = 'delivered' WHERE id = :id"),
                {"id": delivered},
            )
        upgrade(db.url, "0029")
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT id, run_attempts, failing_since IS NOT NULL,"
                    " failing_since = queued_at FROM notifications WHERE id IN (:a, :b) ORDER BY id"
                ),
                {"a": failing, "b": delivered},
            ).all()
    finally:
        upgrade(db.url)  # later tests share the database

    assert [tuple(row) for row in rows] == [(failing, 3, True, True), (delivered, 3, False, None)]


def test_a_pending_notification_ops_sent_back_starts_its_run_afresh(
    db: Database, session: Session
) -> None:
    """Its attempts and error carried over from the run that failed for good: "attempt 14 of
    11" and that run's error shown as today's, until it is next tried."""
    [retried] = owe_notifications(session, 1)
    session.close()
    try:
        command.downgrade(alembic_config(db.url), "0028")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE notifications SET attempts = 11, last_error = 'HTTP 503' WHERE id = :id"
                ),
                {"id": retried},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO failed_jobs (job, notification_id, error, attempts, failed_at,"
                    " retried_at) VALUES ('deliver_notification', :id, 'HTTP 503', 11, :at, :at)"
                ),
                {"id": retried, "at": "2026-03-02 02:00:00+00:00"},
            )
        upgrade(db.url, "0029")
        with db.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT run_attempts, failing_since FROM notifications WHERE id = :id"),
                {"id": retried},
            ).one()
    finally:
        upgrade(db.url)  # later tests share the database

    assert tuple(row) == (0, None)


def test_a_notification_sent_back_that_failed_again_since_is_failing_since_it_was_queued(
    db: Database, session: Session
) -> None:
    """Its new job's first attempt failed and Dramatiq holds a retry: read as never failed, the
    lost-delivery sweep would owe it a duplicate job a minute on, on a run begun afresh. One
    not tried since, or whose attempt is still running (its lease held), has not failed yet."""
    failed_again, untried, running = owe_notifications(session, 3)[:3]
    session.close()
    retried = "2026-03-02 02:00:00+00:00"
    try:
        command.downgrade(alembic_config(db.url), "0028")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE notifications SET attempts = 11, last_error = 'HTTP 503',"
                    " queued_at = :at"
                ),
                {"at": retried},
            )
            for notification in (failed_again, untried, running):
                conn.execute(
                    sa.text(
                        "INSERT INTO failed_jobs (job, notification_id, error, attempts,"
                        " failed_at, retried_at) VALUES ('deliver_notification', :id,"
                        " 'HTTP 503', 11, :at, :at)"
                    ),
                    {"id": notification, "at": retried},
                )
            conn.execute(  # tried once since it was sent back, and failed: its lease given back
                sa.text("UPDATE notifications SET attempts = 12 WHERE id = :id"),
                {"id": failed_again},
            )
            conn.execute(
                sa.text(
                    "UPDATE notifications SET attempts = 12, claimed_until = :until WHERE id = :id"
                ),
                {"id": running, "until": "2026-03-02 02:05:00+00:00"},
            )
        upgrade(db.url, "0029")
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT id, run_attempts, failing_since IS NOT NULL,"
                    " failing_since = queued_at FROM notifications WHERE id IN (:a, :b, :c)"
                    " ORDER BY id"
                ),
                {"a": failed_again, "b": untried, "c": running},
            ).all()
    finally:
        upgrade(db.url)  # later tests share the database

    assert [tuple(row) for row in rows] == [
        (failed_again, 1, True, True),
        (untried, 0, False, None),
        (running, 1, False, None),
    ]
