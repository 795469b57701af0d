"""The transactional outbox: background work is written with the change that causes it.

A transition never talks to the broker inside its transaction. It adds outbox rows; once
the transaction commits, the process's publisher (installed by the worker layer) relays them
at once, and the scheduler's relay sweep publishes whatever that missed (broker down,
process killed between commit and publish).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlmodel import Session

from icpflow.models import OutboxMessage

log = logging.getLogger(__name__)

Publisher = Callable[[Sequence[int]], None]
_publisher: Publisher | None = None
_ROWS = "icpflow.outbox_rows"


def add(session: Session, actor: str, args: list[Any], now: datetime) -> OutboxMessage:
    row = OutboxMessage(actor=actor, args=args, created_at=now)
    session.add(row)
    session.info.setdefault(_ROWS, []).append(row)
    return row


def set_publisher(publisher: Publisher | None) -> None:
    """Install what relays committed outbox rows right away (``None``: leave them to the sweep)."""
    global _publisher
    _publisher = publisher


@event.listens_for(Session, "after_commit")
def _relay_committed(session: Session) -> None:
    rows = session.info.pop(_ROWS, [])
    ids = [key[0] for row in rows if (key := inspect(row).identity) is not None]
    if not ids or _publisher is None:
        return
    try:
        _publisher(ids)
    except Exception:
        log.warning(
            "immediate relay of outbox rows %s failed; the relay sweep will retry",
            ids,
            exc_info=True,
        )


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_ROWS, None)
