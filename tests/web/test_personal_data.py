"""Personal data over HTTP: masked for every role, revealed in full to ops, each reveal recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from models import Disclosure

if TYPE_CHECKING:
    from tests.web.conftest import Api, Headers

PHONE, ID_NUMBER = "13800138000", "91110000MA01ABCD52"


def test_history_masks_the_numbers_a_reason_quotes(api: Api) -> None:
    filing = api.drive("submitted")
    api.step(filing, "host_return", {"reason": f"call {PHONE}, id {ID_NUMBER} unreadable"})

    reasons = [h["reason"] for h in api.get(f"/api/v1/filings/{filing['id']}/history").json()]

    assert reasons[-1] == "call 138****8000, id 911***********CD52 unreadable"


def test_a_case_manager_sees_masked_numbers_and_may_not_reveal_them(api: Api) -> None:
    filing = api.drive("sms_pending")

    shown = api.get(f"/api/v1/filings/{filing['id']}").json()["applicant"]
    verifiers = api.get(f"/api/v1/filings/{filing['id']}/verifiers").json()
    revealed = api.get(f"/api/v1/filings/{filing['id']}/personal-data")

    assert (shown["id_number"], shown["phone"]) == ("911***********CD52", "138****8000")
    assert [v["mobile"] for v in verifiers] == ["138****8000"]
    assert revealed.status_code == 403


def test_ops_reveal_the_numbers_and_the_reveal_is_recorded(
    api: Api, as_role: Callable[[str], Headers], session: Session
) -> None:
    filing = api.drive("sms_pending")

    revealed = api.get(f"/api/v1/filings/{filing['id']}/personal-data", as_role("ops"))

    assert revealed.status_code == 200
    applicant = revealed.json()["applicant"]
    assert (applicant["id_number"], applicant["phone"]) == (ID_NUMBER, PHONE)
    audit = session.exec(select(Disclosure)).one()
    assert (audit.filing_id, audit.actor) == (filing["id"], "token:test-ops")
    assert "applicant.id_number" in audit.fields
