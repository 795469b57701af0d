"""Migration 0006 turns each filing into an entity, one service and one first-filing order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from models.migrate import upgrade

FILING = (
    "INSERT INTO filings (id, domain, domain_expires_on, province, licence, applicant_type, "
    "applicant_name, applicant_id_type, applicant_id_number, applicant_phone, applicant_email, "
    "website_name, sector, notify, state, version, state_entered_at, created_at, created_by, "
    "materials, icp_number) VALUES (:id, :domain, '2028-06-30', '京', 'filing', 'organisation', "
    ":name, 'business_licence', '91110000MA01ABCD52', :phone, 'ops@example.cn', 'Example', "
    "'general', '[]', :state, 3, '2026-03-02 02:00:00+00', '2026-03-01 02:00:00+00', 'test', "
    "'[]', :icp)"
)


@pytest.fixture
def migrated(blank_url: str) -> Iterator[sa.Connection]:
    """A database at 0005 (the revision before) holding an approved filing and one waiting on its SMS, upgraded."""
    upgrade(blank_url, "0005")
    engine = sa.create_engine(blank_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(FILING),
            [
                {
                    "id": 1,
                    "domain": "done.cn",
                    "name": "Done Ltd",
                    "phone": "13800138000",
                    "state": "approved",
                    "icp": "京ICP备2026000123号-1",
                },
                {
                    "id": 2,
                    "domain": "waiting.cn",
                    "name": "Waiting Ltd",
                    "phone": "13900139000",
                    "state": "host_pre_approved",
                    "icp": None,
                },
            ],
        )
        conn.execute(
            sa.text(
                "INSERT INTO history (filing_id, version, event, to_state, actor, at, data) "
                "VALUES (2, 1, 'create', 'domain_registered', 'test', '2026-03-01 02:00:00+00', '{}')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO deadlines (filing_id, kind, state, figure, due_at, status, "
                "estimated, armed_at) VALUES (2, 'sms_expiry', 'host_pre_approved', 24, "
                "'2026-03-03 02:00:00+00', 'pending', false, '2026-03-02 02:00:00+00')"
            )
        )
    upgrade(blank_url, "0006")
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def test_each_filing_becomes_a_first_filing_order_of_its_own_entity_and_service(
    migrated: sa.Connection,
) -> None:
    orders = migrated.execute(
        sa.text(
            "SELECT f.id, f.kind, e.name, e.responsible_mobile, s.domain FROM filings f "
            "JOIN entities e ON e.id = f.entity_id JOIN services s ON s.id = f.service_id "
            "ORDER BY f.id"
        )
    ).all()
    assert [tuple(row) for row in orders] == [
        (1, "first_filing", "Done Ltd", "13800138000", "done.cn"),
        (2, "first_filing", "Waiting Ltd", "13900139000", "waiting.cn"),
    ]


def test_an_approved_number_is_split_into_the_entity_number_and_the_suffix(
    migrated: sa.Connection,
) -> None:
    row = migrated.execute(
        sa.text(
            "SELECT e.icp_number, s.record_number, s.suffix, s.status FROM filings f "
            "JOIN entities e ON e.id = f.entity_id JOIN services s ON s.id = f.service_id "
            "WHERE f.id = 1"
        )
    ).one()
    assert tuple(row) == ("京ICP备2026000123号", "京ICP备2026000123号-1", 1, "active")


def test_a_filing_waiting_on_its_sms_keeps_its_history_and_its_running_window(
    migrated: sa.Connection,
) -> None:
    state = migrated.execute(sa.text("SELECT state FROM filings WHERE id = 2")).scalar_one()
    deadline = migrated.execute(
        sa.text("SELECT state, status FROM deadlines WHERE filing_id = 2")
    ).one()
    history = migrated.execute(sa.text("SELECT event FROM history WHERE filing_id = 2")).all()
    verifier = migrated.execute(
        sa.text("SELECT role, mobile, result FROM sms_verifiers WHERE filing_id = 2")
    ).one()
    assert state == "sms_pending"
    assert tuple(deadline) == ("sms_pending", "pending")
    assert [row[0] for row in history] == ["create"]
    assert tuple(verifier) == ("entity", "13900139000", "pending")
