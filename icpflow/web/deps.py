"""Request-scoped dependencies: a database session and the caller's token with its role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from icpflow.models import ApiToken, get_engine
from icpflow.workflow.tokens import authenticate, require_role

TOKEN_COOKIE = "icpflow_token"
_bearer = HTTPBearer(auto_error=False, description="A token from `icpflow tokens create`.")


def get_session() -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def role(needed: str) -> Callable[..., ApiToken]:
    """A dependency admitting tokens of ``needed`` or any higher role.

    The bearer header is what API clients send; the ops pages also accept the cookie their
    login form sets, so a browser need not craft headers.
    """

    def check(
        request: Request,
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiToken:
        token = credentials.credentials if credentials else request.cookies.get(TOKEN_COOKIE)
        found = authenticate(session, token)
        require_role(found, needed)
        return found

    return check


Viewer = Annotated[ApiToken, Depends(role("viewer"))]
CaseManager = Annotated[ApiToken, Depends(role("case_manager"))]
Ops = Annotated[ApiToken, Depends(role("ops"))]
