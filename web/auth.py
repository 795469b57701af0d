"""Request-scoped dependencies: a database session and the caller's token with its role, and
``admit``, the one check of a token, for a route that checks it in its own transaction.

The API reads the token from the ``Authorization: Bearer`` header only, never from the pages'
cookie: a cookie rides along on cross-site requests, and the API's routes change filings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from auth.tokens import Caller, Role, authenticate, presented, record_use, require_role
from models import get_engine
from workflow import outbox

# auto_error=False: a missing header must reach ``authenticate`` and get our 401 body.
_bearer = HTTPBearer(auto_error=False, description="A token from `icpflow tokens create`.")


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; the service commits its own transactions, each relayed through
    the app's publisher (if it has one).

    Made on the event loop (a new session holds no connection yet), which saves a request a
    trip through the thread pool; so is the closing of one whose work was committed or rolled
    back. One still inside a transaction (a route that only read, one that failed midway) has
    a rollback to send, which a thread of its own sends, as FastAPI closes a sync dependency:
    waiting for one of the request threads, all busy with requests that wait for this one's
    lock or connection, would stall them all."""
    info = outbox.session_info(request.app.state.publisher)
    session = Session(get_engine(), expire_on_commit=False, info=info)
    try:
        yield session
    finally:
        if session.in_transaction():
            await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def end_read(session: Session) -> None:
    """End the token lookup's transaction before the route runs, so that a request holds a
    connection only while a thread works for it: on SQLite every transaction takes the write
    lock, which the relay thread or another session of this request may need; on PostgreSQL a
    request waiting for a thread with its connection checked out would take one more than the
    threads, and a burst of requests would wait for connections that nobody gives back."""
    session.commit()


# The ``Authorization: Bearer`` header as given, not yet checked (documented as the API's scheme).
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _presented(credentials: Bearer) -> HTTPAuthorizationCredentials:
    """The header, refused at once if absent. Dependencies run before the body is validated:
    a route that checks the token itself, later (the events route), still answers a request
    with no token 401, as every other route does, not with its body's problems."""
    presented(credentials.credentials if credentials else None)
    assert credentials is not None
    return credentials


PresentedBearer = Annotated[HTTPAuthorizationCredentials, Depends(_presented)]


def admit(session: Session, credentials: HTTPAuthorizationCredentials | None, role: Role) -> Caller:
    """The caller if it may act as ``role`` (``Unauthorized`` or ``Forbidden`` if not).

    Callable inside a route's own transaction, as the events route does, as well as from the
    ``at_least`` dependencies. A use worth recording (``last_used_at``, at most once a
    ``TOUCH_INTERVAL``) is committed before the role is checked, so that a refused request,
    or an event that fails, still records it."""
    caller = authenticate(session, credentials.credentials if credentials else None)
    if record_use(session, caller):
        session.commit()
    require_role(caller, role)
    return caller


def at_least(role: Role) -> Callable[..., Caller]:
    """A dependency admitting tokens of ``role`` or any role above it."""

    def check(session: SessionDep, credentials: Bearer) -> Caller:
        # A refusal leaves the read for ``get_session`` to roll back: committing it here would
        # hide a lost connection's error (503) behind "roll back first" (500).
        caller = admit(session, credentials, role)
        end_read(session)
        return caller

    return check


Viewer = Annotated[Caller, Depends(at_least(Role.VIEWER))]
CaseManager = Annotated[Caller, Depends(at_least(Role.CASE_MANAGER))]
Ops = Annotated[Caller, Depends(at_least(Role.OPS))]
