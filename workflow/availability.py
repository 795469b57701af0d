"""Which database failures mean "unavailable, try again" rather than a bug.

A refused or timed-out connection, a dropped one, an exhausted pool or a cancelled statement
says nothing about the request: the same request may succeed in a moment, so every edge answers
``ServiceUnavailable`` (HTTP 503 with ``Retry-After``) instead of an internal error.
"""

from __future__ import annotations

from sqlalchemy import exc

from config.settings import get_settings
from workflow.domain.errors import ServiceUnavailable

UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)

# SQLite's codes for a lock another connection holds, which passes by itself. Its other
# operational errors (no such table, a read-only or corrupt file) stay until someone acts.
_SQLITE_PASSING = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED"})


def passes_by_itself(error: BaseException) -> bool:
    """Whether ``error`` is an outage that ends without anyone acting (a server or network down,
    a lock held too long): what a job may wait out for as long as it lasts. A request is answered
    503 for any ``UNAVAILABLE`` error; a job waiting for ever on a database never upgraded would
    hide it from ops, who see a failed job instead."""
    if not isinstance(error, UNAVAILABLE):
        return False
    code = getattr(getattr(error, "orig", None), "sqlite_errorname", None)
    return code is None or code in _SQLITE_PASSING


def unavailable(error: BaseException) -> ServiceUnavailable | None:
    """The domain error ``error`` stands for, if it is the database being out of reach."""
    if not isinstance(error, UNAVAILABLE):
        return None
    return ServiceUnavailable(
        f"the database is unavailable ({type(error).__name__}); try again shortly",
        retry_after=get_settings().unavailable_retry_after_seconds,
    )
