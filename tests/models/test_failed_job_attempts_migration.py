"""Migration 0026 gives the failed jobs recorded before it their notification's attempts."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from config.clock import FrozenClock
from models import FailedJob, Job
from models.migrate import alembic_config, upgrade
from tests.databases import Database
from tests.delivery_kit import owe_notifications
from workflow.failures import record_final_failure


def test_a_failed_delivery_recorded_before_takes_its_notifications_attempts(
    db: Database, session: Session, clock: FrozenClock
) -> None:
    [notification_id] = owe_notifications(session, 1)
    record_final_failure(session, notification_id, "SMTP refused", clock.now())
    session.add(FailedJob(job=Job.CHECK_FOOTER, payload={}, error="gone", failed_at=clock.now()))
    session.commit()
    session.close()
    try:
        command.downgrade(alembic_config(db.url), "0025")
        with db.engine.begin() as conn:  # tried three times, as the worker counted them
            conn.execute(sa.text("UPDATE notifications SET attempts = 3"))
        upgrade(db.url, "0026")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT job, attempts FROM failed_jobs ORDER BY id")).all()
    finally:
        upgrade(db.url)  # later tests share the database

    assert [tuple(row) for row in rows] == [
        (Job.DELIVER_NOTIFICATION.value, 3),
        (Job.CHECK_FOOTER.value, 0),
    ]
