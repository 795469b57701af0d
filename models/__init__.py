"""Tables, engine and sessions: the only layer that knows how filings are stored."""

from models.engine import create_db_engine, get_engine, session_scope
from models.tables import (
    ApiToken,
    Deadline,
    FailedJob,
    Filing,
    HistoryEntry,
    IdempotencyRecord,
    Notification,
    OutboxMessage,
    table,
)

__all__ = [
    "ApiToken",
    "Deadline",
    "FailedJob",
    "Filing",
    "HistoryEntry",
    "IdempotencyRecord",
    "Notification",
    "OutboxMessage",
    "create_db_engine",
    "get_engine",
    "session_scope",
    "table",
]
