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

from sqlalchemy import event, insert
from sqlmodel import Session

from models import OutboxMessage, table

log = logging.getLogger(__name__)

Publisher = Callable[[Sequence[int]], None]
_publisher: Publisher | None = None
_IDS = "icpflow.outbox_ids"
_OUTBOX = table(OutboxMessage)
_INSERT = insert(_OUTBOX).returning(_OUTBOX.c.id, sort_by_parameter_order=True)


def add(session: Session, actor: str, args: list[Any], now: datetime) -> int:
    return add_many(session, actor, [args], now)[0]


def add_many(session: Session, actor: str, args: list[list[Any]], now: datetime) -> list[int]:
    """Queue one job per argument list; their ids are relayed once the transaction commits."""
    if not args:
        return []
    rows = [{"actor": actor, "args": a, "created_at": now, "attempts": 0} for a in args]
    ids = list(session.connection().execute(_INSERT, rows).scalars())
    session.info.setdefault(_IDS, []).extend(ids)
    return ids


def set_publisher(publisher: Publisher | None) -> None:
    """Install what relays committed outbox rows right away (``None``: leave them to the sweep)."""
    global _publisher
    _publisher = publisher


@event.listens_for(Session, "after_commit")
def _relay_committed(session: Session) -> None:
    ids = session.info.pop(_IDS, [])
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
    session.info.pop(_IDS, None)
