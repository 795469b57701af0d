"""The people answering MIIT's SMS, verifier by verifier: each SMS event's part in their
rows, written with statements built once, as they can run on every event."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session

from models import SmsVerifier, table
from workflow.domain.definition import Event
from workflow.domain.orders import VerifierResult

_VERIFIERS = table(SmsVerifier)
_OF_FILING = _VERIFIERS.c.filing_id == bindparam("b_filing")
_NAMED = _VERIFIERS.c.role == bindparam("b_role")
_PENDING = _VERIFIERS.c.result == VerifierResult.PENDING
# Built once, as the other statements that can run on every event.
_START_WINDOW = (
    update(_VERIFIERS)
    .where(_OF_FILING)
    .values(
        window_started_at=bindparam("b_now"),
        result=VerifierResult.PENDING,
        wrong_entries=0,
        answered_at=None,
    )
)
# A code sent again restarts the window of those still to answer. Wrong codes before it
# still count towards the five in a row: the rules say nothing of a resend clearing them,
# and the stricter reading never promises a sixth try the bureau may refuse.
_RESTART_PENDING = (
    update(_VERIFIERS).where(_OF_FILING, _PENDING).values(window_started_at=bindparam("b_now"))
)
_VERIFY_NAMED = (
    update(_VERIFIERS)
    .where(_OF_FILING, _PENDING, _NAMED)
    .values(result=VerifierResult.VERIFIED, answered_at=bindparam("b_now"))
)
_VERIFY_EVERY_PENDING = (
    update(_VERIFIERS)
    .where(_OF_FILING, _PENDING)
    .values(result=VerifierResult.VERIFIED, answered_at=bindparam("b_now"))
)
_COUNT_WRONG_ENTRY = (
    update(_VERIFIERS)
    .where(_OF_FILING, _NAMED)
    .values(wrong_entries=_VERIFIERS.c.wrong_entries + 1)
)
_FAIL_NAMED = update(_VERIFIERS).where(_OF_FILING, _NAMED).values(result=VerifierResult.FAILED)
_FAIL_EVERY_PENDING = (
    update(_VERIFIERS).where(_OF_FILING, _PENDING).values(result=VerifierResult.FAILED)
)


def record_sms(
    session: Session, filing_id: int, event: Event, data: Mapping[str, Any], at: datetime
) -> None:
    """Each verifier's part of an SMS event, which happened ``at``: the window starts for
    everyone on ``sms_sent``, and again for those yet to answer on ``sms_resent``; an answer
    or a wrong code is the named person's (every pending one's when none is named); the
    window's end fails whoever had not answered. Other events touch no verifier."""
    role = data.get("verifier")
    if event is Event.SMS_SENT:
        statement = _START_WINDOW
    elif event is Event.SMS_RESENT:
        statement = _RESTART_PENDING
    elif event is Event.VERIFY_SMS:
        statement = _VERIFY_EVERY_PENDING if role is None else _VERIFY_NAMED
    elif event is Event.SMS_WRONG_ENTRY and role is not None:
        statement = _COUNT_WRONG_ENTRY
    elif event is Event.EXPIRE_SMS:
        statement = _FAIL_EVERY_PENDING
    else:
        return
    session.connection().execute(statement, {"b_filing": filing_id, "b_role": role, "b_now": at})


def fail_verifier(session: Session, filing_id: int, role: str) -> None:
    """The fifth wrong code: that person failed, and the order went back."""
    session.connection().execute(_FAIL_NAMED, {"b_filing": filing_id, "b_role": role})
