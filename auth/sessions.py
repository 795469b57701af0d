"""Page sessions: what a browser holds instead of the API token it signed in with.

The cookie carries a random id that means nothing to the API, so a stolen cookie cannot call
it, and signing out or revoking the token ends the session on the server (a cookie holding
the token itself would stay valid as long as the token). Only the id's hash is stored.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlmodel import Session, col, delete, select

from auth.tokens import Caller, caller_of, digest, due_for_touch, record_use
from config.clock import as_utc, get_clock
from models import ApiToken, PageSession
from workflow.domain.errors import Unauthorized


def open_session(session: Session, caller: Caller, lifetime: timedelta) -> str:
    """Start a session for a caller already authenticated, recording the token's use; returns
    the id for the cookie.

    Sessions past their expiry are removed here, so the table holds only live ones plus
    whatever expired since the last sign-in.
    """
    now = get_clock().now()
    session.execute(delete(PageSession).where(col(PageSession.expires_at) <= now))
    session_id = secrets.token_urlsafe(32)
    session.add(
        PageSession(
            session_hash=digest(session_id),
            token_id=caller.id,
            created_at=now,
            expires_at=now + lifetime,
            last_seen_at=now,
        )
    )
    record_use(session, caller)
    session.commit()
    return session_id


def resume_session(session: Session, session_id: str | None) -> Caller:
    """The caller behind a live session; Unauthorized when the session or its token is over.

    A due ``last_seen_at`` is left for the request's commit to record."""
    found = (
        session.exec(
            select(PageSession, ApiToken)
            .join(ApiToken, col(ApiToken.id) == col(PageSession.token_id))
            .where(PageSession.session_hash == digest(session_id))
        ).first()
        if session_id
        else None
    )
    if found is None:
        raise Unauthorized("not signed in")
    page_session, token = found
    now = get_clock().now()
    if as_utc(page_session.expires_at) <= now:
        raise Unauthorized("the sign-in expired; sign in again")
    caller = caller_of(token, now)
    if due_for_touch(page_session.last_seen_at, now):
        page_session.last_seen_at = now
    return caller


def form_token(session_id: str) -> str:
    """The session's CSRF token, for the hidden field of every form it posts.

    Derived from the session id rather than stored: only the id's hash is stored, so the
    database cannot give it away, and another site cannot read the cookie to derive it."""
    return digest(f"form:{session_id}")


def close_session(session: Session, session_id: str | None) -> None:
    """Sign out: the id stops working at once, whoever else holds a copy of the cookie."""
    if session_id:
        session.execute(
            delete(PageSession).where(col(PageSession.session_hash) == digest(session_id))
        )
        session.commit()
