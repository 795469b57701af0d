"""Migration 0007 encrypts the identity and phone numbers already stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from models import Entity, Filing, SmsVerifier
from models.migrate import upgrade
from models.sealed import lookup
from tests.models.test_orders_migration import FILING

ID_NUMBER, PHONE = "91110000MA01ABCD52", "13900139000"
_CHANGES = '{"entity_responsible": {"name": "Han Mei", "mobile": "13600136000"}}'


@pytest.fixture
def migrated(blank_url: str) -> Iterator[sa.Engine]:
    """A database at 0006 holding an order waiting on its SMS, upgraded to 0007."""
    upgrade(blank_url, "0005")
    engine = sa.create_engine(blank_url)
    with engine.begin() as conn:
        row = {"id": 1, "domain": "waiting.cn", "name": "Waiting Ltd", "phone": PHONE}
        conn.execute(sa.text(FILING), {**row, "state": "host_pre_approved", "icp": None})
    upgrade(blank_url, "0006")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE filings SET changes = :c"), {"c": _CHANGES})
    upgrade(blank_url, "0007")
    yield engine
    engine.dispose()


def test_no_number_stays_in_clear(migrated: sa.Engine) -> None:
    with migrated.connect() as conn:
        stored = str(
            [
                conn.execute(sa.text(f"SELECT * FROM {table}")).all()
                for table in ("entities", "services", "filings", "sms_verifiers")
            ]
        )
    assert "Waiting Ltd" in stored  # the rows are there, their numbers are not
    assert ID_NUMBER not in stored
    assert PHONE not in stored
    assert "13600136000" not in stored


def test_the_numbers_read_back_and_are_found_by_their_hashes(
    migrated: sa.Engine, blank_url: str
) -> None:
    upgrade(blank_url)  # read through today's models, which need today's schema
    with Session(migrated) as session:
        filing = session.exec(select(Filing)).one()
        verifier = session.exec(select(SmsVerifier)).one()
        entity = session.exec(
            select(Entity).where(Entity.responsible_mobile_hash == lookup(PHONE))
        ).one()
    assert (filing.applicant_id_number, filing.applicant_phone) == (ID_NUMBER, PHONE)
    assert filing.changes["entity_responsible"]["mobile"] == "13600136000"
    assert verifier.mobile == PHONE
    assert entity.id_number_hash == lookup(ID_NUMBER)
