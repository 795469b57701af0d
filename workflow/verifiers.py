"""The people answering MIIT's SMS, verifier by verifier: each SMS event's part in their
rows, written with statements built once, as they can run on every event."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Update, bindparam, update
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


class _Part(NamedTuple):
    """An SMS event's statement on the verifiers' rows when its data names a verifier, and
    when it names none (``None``: then it touches no row)."""

    named: Update
    unnamed: Update | None


# Each SMS event's part in the verifiers' rows, said here only: the window starts for
# everyone on sms_sent, and again for those yet to answer on sms_resent; an answer is the
# named person's (every pending one's when none is named), a wrong code the named person's;
# the window's end fails whoever had not answered. Other events touch no verifier.
_PARTS: dict[Event, _Part] = {
    Event.SMS_SENT: _Part(_START_WINDOW, _START_WINDOW),
    Event.SMS_RESENT: _Part(_RESTART_PENDING, _RESTART_PENDING),
    Event.VERIFY_SMS: _Part(_VERIFY_NAMED, _VERIFY_EVERY_PENDING),
    Event.SMS_WRONG_ENTRY: _Part(_COUNT_WRONG_ENTRY, None),
    Event.EXPIRE_SMS: _Part(_FAIL_EVERY_PENDING, _FAIL_EVERY_PENDING),
}


def record_sms(
    session: Session, filing_id: int, event: Event, data: Mapping[str, Any], at: datetime
) -> None:
    """Each verifier's part (``_PARTS``) of an SMS event, which happened ``at``."""
    role = data.get("verifier")
    part = _PARTS.get(event)
    statement = None if part is None else part.unnamed if role is None else part.named
    if statement is not None:
        params = {"b_filing": filing_id, "b_role": role, "b_now": at}
        session.connection().execute(statement, params)


def fail_verifier(session: Session, filing_id: int, role: str) -> None:
    """The fifth wrong code: that person failed, and the order went back."""
    session.connection().execute(_FAIL_NAMED, {"b_filing": filing_id, "b_role": role})
