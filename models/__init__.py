"""Tables, engine and sessions: the only layer that knows how filings are stored."""

from models.engine import create_db_engine, get_engine, session_scope
from models.tables import (
    ApiToken,
    Deadline,
    DeadlineStatus,
    Entity,
    FailedJob,
    Filing,
    HistoryEntry,
    IdempotencyRecord,
    Job,
    Notification,
    NotificationStatus,
    OutboxMessage,
    PageSession,
    Service,
    SmsVerifier,
    table,
)

__all__ = [
    "ApiToken",
    "Deadline",
    "DeadlineStatus",
    "Entity",
    "FailedJob",
    "Filing",
    "HistoryEntry",
    "IdempotencyRecord",
    "Job",
    "Notification",
    "NotificationStatus",
    "OutboxMessage",
    "PageSession",
    "Service",
    "SmsVerifier",
    "create_db_engine",
    "get_engine",
    "session_scope",
    "table",
]
