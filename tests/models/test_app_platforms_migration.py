"""Migration 0027 keeps an app's fingerprints by platform as its platforms, and names them so
in the change orders opened before it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from models import Filing, Service
from models.migrate import alembic_config, upgrade
from models.tables import table
from tests.conftest import Open
from tests.databases import Database
from tests.factories import ANDROID_MD5, order_on
from workflow.schemas import FilingOut

_FINGERPRINT = ANDROID_MD5.replace(":", "")
_SET_CHANGES = sa.text("UPDATE filings SET changes = :changes WHERE id = :id").bindparams(
    sa.bindparam("changes", type_=table(Filing).c.changes.type)  # sealed, as stored
)


def test_an_apps_fingerprints_and_an_open_change_of_them_are_kept_as_platforms(
    db: Database, session: Session, open_order: Open, on_file: FilingOut
) -> None:
    app = open_order(**order_on("new_service", on_file.entity_id, 0))
    session.close()
    try:
        command.downgrade(alembic_config(db.url), "0026")
        # A change of the app's platforms, as 0025 kept it (in SQL: the model is today's).
        changes = {"service_name": "Shop", "app_signatures": {"ios": "AB" * 20}}
        with db.engine.begin() as conn:
            conn.execute(_SET_CHANGES, {"changes": changes, "id": on_file.id})
        with db.engine.connect() as conn:
            kept = conn.execute(
                sa.text("SELECT app_signatures FROM services WHERE id = :id"),
                {"id": app.service_id},
            ).scalar_one()
        upgrade(db.url, "0027")
    finally:
        upgrade(db.url)  # later tests share the database

    assert "android" in str(kept)  # the downgrade put them back as fingerprints
    with Session(db.engine) as fresh:
        service = fresh.get(Service, app.service_id)
        filing = fresh.get(Filing, on_file.id)
        assert service is not None and filing is not None
        assert service.app_platforms == {"android": {"fingerprint": _FINGERPRINT}}
        assert filing.changes == {
            "service_name": "Shop",
            "app_platforms": {"ios": {"fingerprint": "AB" * 20}},
        }
