"""Request-scoped dependencies: a database session and the caller's token with its role.

The API reads the token from the ``Authorization: Bearer`` header only, never from the pages'
cookie: a cookie rides along on cross-site requests, and the API's routes change filings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from auth.tokens import Role, authenticate, require_role
from models import ApiToken, get_engine
from workflow import outbox

# auto_error=False: a missing header must reach ``authenticate`` and get our 401 body.
_bearer = HTTPBearer(auto_error=False, description="A token from `icpflow tokens create`.")


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; the service commits its own transactions, each relayed through
    the app's publisher (if it has one).

    Made and closed on the event loop, which saves a request two trips through the thread pool:
    a new session holds no connection yet, and one whose work was committed or rolled back
    holds none any more. Only one left inside a transaction (a request that failed midway)
    has a rollback to send, and sends it from a thread."""
    info = outbox.session_info(request.app.state.publisher)
    session = Session(get_engine(), expire_on_commit=False, info=info)
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def end_read(session: Session) -> None:
    """End the token lookup's transaction where it must end before the route runs: on SQLite,
    whose every transaction takes the write lock, which the relay thread or another session of
    this request may need; and when the token's last use is to be recorded, which a route that
    only reads would roll back. Otherwise (PostgreSQL, most requests) the route goes on in the
    lookup's transaction, saving a commit, a BEGIN and the connection's return to the pool
    and its checkout again with its liveness ping."""
    if session.dirty or session.get_bind().dialect.name == "sqlite":
        session.commit()


def at_least(role: Role) -> Callable[..., ApiToken]:
    """A dependency admitting tokens of ``role`` or any role above it."""

    def check(
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiToken:
        token = authenticate(session, credentials.credentials if credentials else None)
        end_read(session)
        require_role(token, role)
        return token

    return check


Viewer = Annotated[ApiToken, Depends(at_least(Role.VIEWER))]
CaseManager = Annotated[ApiToken, Depends(at_least(Role.CASE_MANAGER))]
Ops = Annotated[ApiToken, Depends(at_least(Role.OPS))]
