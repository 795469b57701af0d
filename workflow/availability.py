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


def unavailable(error: BaseException) -> ServiceUnavailable | None:
    """The domain error ``error`` stands for, if it is the database being out of reach."""
    if not isinstance(error, UNAVAILABLE):
        return None
    return ServiceUnavailable(
        f"the database is unavailable ({type(error).__name__}); try again shortly",
        retry_after=get_settings().unavailable_retry_after_seconds,
    )
