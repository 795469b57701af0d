"""API tokens: stored hashed, shown once, each carrying one role and an optional expiry.

Roles are ordered (viewer < case_manager < ops < admin); a route asks for the least role it
needs and anything above passes. A token stops working when it is revoked or its expiry
passes; revoking one also ends the page sessions signed in with it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, computed_field
from sqlmodel import Session, col, delete, select

from config.clock import CHINA, as_utc, get_clock
from models import ApiToken, PageSession, table
from workflow import service
from workflow.domain.bounded import Person
from workflow.domain.commands import AssignCommand, parse
from workflow.domain.errors import Forbidden, NotFound, Reason, Unauthorized, ValidationError
from workflow.domain.event_data import STRICT
from workflow.schemas import FilingOut, UtcDateTime

# ``last_used_at`` and a session's ``last_seen_at`` are written at most this often, so an
# API request is not a database write every time.
TOUCH_INTERVAL = timedelta(minutes=1)


class Role(StrEnum):
    """Declared in rank order: each role may do everything the roles before it may."""

    VIEWER = "viewer"
    CASE_MANAGER = "case_manager"
    OPS = "ops"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    @property
    def label(self) -> str:
        """What pages call it: its key, which ``icpflow tokens create --role`` takes, and its
        Chinese name."""
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.VIEWER: "viewer 只读",
    Role.CASE_MANAGER: "case_manager 备案专员",
    Role.OPS: "ops 运维",
    Role.ADMIN: "admin 管理员",
}


@dataclass(frozen=True)
class Caller:
    """The usable token a request acts with, as it was read (``record_use`` does not update
    ``last_used_at`` here).

    A plain record, not the ORM row: every API request looks its token up, and reading these
    columns is cheaper than loading an instance (``bench/api.py``)."""

    id: int
    name: str
    role: Role
    last_used_at: datetime | None

    @property
    def actor(self) -> str:
        """How history records what it did, from the API and the pages alike."""
        return f"token:{self.name}"


class TokenStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class TokenInfo(BaseModel):
    """What ``tokens list`` shows of a token: everything but the secret and its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    created_at: UtcDateTime
    expires_at: UtcDateTime | None
    revoked_at: UtcDateTime | None
    last_used_at: UtcDateTime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> TokenStatus:
        """Whether the API takes it now: an expired token is refused as a revoked one is, and
        its expiry alone, in UTC, does not say so at a glance."""
        if self.revoked_at is not None:
            return TokenStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= get_clock().now():
            return TokenStatus.EXPIRED
        return TokenStatus.ACTIVE


def digest(secret: str) -> str:
    """What is stored of a token or a session id: enough to find it, useless to present."""
    return hashlib.sha256(secret.encode()).hexdigest()


def due_for_touch(last: datetime | None, now: datetime) -> bool:
    return last is None or now - as_utc(last) >= TOUCH_INTERVAL


def create_token(
    session: Session, name: str, role: Role, expires_at: datetime | None = None
) -> str:
    """Store a new token's hash and return the token itself, which is never stored."""
    token = _issue(session, token_name(name), role, expires_at)
    session.commit()
    return token


def replace_tokens_named(session: Session, name: str, role: Role) -> str:
    """Issue a token under ``name`` and revoke every earlier one still live under it, in one
    transaction: ``icpflow up`` prints a fresh admin token at each start, and the last start's
    must not stay usable for ever behind it."""
    name = token_name(name)
    live = select(ApiToken.id).where(ApiToken.name == name, col(ApiToken.revoked_at).is_(None))
    for token_id in session.exec(live).all():
        assert token_id is not None
        _revoke(session, token_id)
    token = _issue(session, name, role, None)
    session.commit()
    return token


class _TokenName(BaseModel):
    """A token's name is whom filings are assigned to: it is bounded as an assignee is."""

    model_config = STRICT

    name: Person


def token_name(name: str) -> str:
    """``name`` as a token is stored under (surrounding spaces dropped), or refused."""
    return parse(_TokenName, {"name": name}, "token refused").name


def _issue(session: Session, name: str, role: Role, expires_at: datetime | None) -> str:
    """``name`` as given: a new one checked by ``token_name``, a rotated one kept as it was."""
    now = get_clock().now()
    if expires_at is not None and as_utc(expires_at) <= now:
        raise ValidationError(
            "the expiry is in the past",
            [Reason("expiry_past", f"{expires_at.isoformat()} is not after now", "expires_at")],
        )
    token = "icp_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name=name,
            role=role,
            token_hash=digest(token),
            created_at=now,
            # SQLite keeps a time's digits and drops its zone, so store UTC digits.
            expires_at=as_utc(expires_at) if expires_at else None,
        )
    )
    return token


def caller_of(token: ApiToken | sa.Row[*tuple[Any, ...]], now: datetime) -> Caller:
    """The caller a token's row stands for: the one check of a token's standing, for the API
    and for page sessions alike."""
    if token.revoked_at is not None:
        raise Unauthorized("the bearer token is unknown or revoked")
    if token.expires_at is not None and as_utc(token.expires_at) <= now:
        expired = as_utc(token.expires_at).astimezone(CHINA)
        raise Unauthorized(f"the bearer token expired at {expired:%Y-%m-%d %H:%M} Beijing time")
    assert token.id is not None
    return Caller(token.id, token.name, Role(token.role), token.last_used_at)


# Built once: every API request looks its token up, and records its use once a TOUCH_INTERVAL.
_TOKENS = table(ApiToken)
_CALLER_BY_HASH = sa.select(  # sqlmodel's select types four columns at most
    _TOKENS.c.id,
    _TOKENS.c.name,
    _TOKENS.c.role,
    _TOKENS.c.expires_at,
    _TOKENS.c.last_used_at,
    _TOKENS.c.revoked_at,
).where(_TOKENS.c.token_hash == sa.bindparam("b_hash"))
_RECORD_USE = (
    sa.update(_TOKENS)
    .where(_TOKENS.c.id == sa.bindparam("b_id"))
    .values(last_used_at=sa.bindparam("b_now"))
)


def presented(token: str | None) -> str:
    """The token, if one was given at all: a check needing no database."""
    if not token:
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    return token


def authenticate(session: Session, token: str | None) -> Caller:
    """The caller ``token`` stands for, if it is usable."""
    token = presented(token)
    row = session.connection().execute(_CALLER_BY_HASH, {"b_hash": digest(token)}).first()
    if row is None:
        raise Unauthorized("the bearer token is unknown or revoked")
    return caller_of(row, get_clock().now())


def record_use(session: Session, caller: Caller) -> bool:
    """Write the caller's ``last_used_at`` if it is due (at most once a ``TOUCH_INTERVAL``);
    ``True`` when a write awaits the session's commit."""
    now = get_clock().now()
    if not due_for_touch(caller.last_used_at, now):
        return False
    session.connection().execute(_RECORD_USE, {"b_id": caller.id, "b_now": now})
    return True


def require_role(caller: Caller, needed: Role) -> None:
    if caller.role.rank < needed.rank:
        raise Forbidden(f"this needs the {needed} role; token {caller.name!r} has {caller.role}")


# The admin token ``icpflow up`` prints for its own run: no person, so no one to give work to.
UP_TOKEN_NAME = "icpflow-up"


def case_managers(session: Session) -> list[str]:
    """Names of the usable tokens that may work on filings: whom a filing can be assigned to."""
    now = get_clock().now()
    working = [role for role in Role if role.rank >= Role.CASE_MANAGER.rank]
    rows = session.exec(
        select(ApiToken).where(col(ApiToken.role).in_(working), col(ApiToken.revoked_at).is_(None))
    )
    usable = {row.name for row in rows if row.expires_at is None or as_utc(row.expires_at) > now}
    return sorted(usable - {UP_TOKEN_NAME})


def assign_filing(
    session: Session, filing_id: int, command: AssignCommand, actor: str
) -> FilingOut:
    """Give a filing to a case manager (a usable token's name, case manager or above) or to
    nobody, from the API, a page or the CLI alike."""
    name = command.assignee
    if name is not None and name not in case_managers(session):
        raise ValidationError(
            f"{name!r} cannot be assigned: no usable token of a case manager (or above) has that "
            "name; it may be unknown, revoked or expired",
            [Reason("unknown_assignee", "assign a case manager's token name", field="assignee")],
        )
    return service.assign(session, filing_id, command, actor=actor, now=get_clock().now())


def list_tokens(session: Session) -> list[TokenInfo]:
    rows = session.exec(select(ApiToken).order_by(col(ApiToken.id))).all()
    return [TokenInfo.model_validate(row) for row in rows]


def _get(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no token with id {token_id} (see `icpflow tokens list`)")
    return row


def revoke_token(session: Session, token_id: int) -> TokenInfo:
    """Revoke a token (a second revoke keeps the first time) and end its page sessions."""
    row = _revoke(session, token_id)
    session.commit()
    return TokenInfo.model_validate(row)


def _revoke(session: Session, token_id: int) -> ApiToken:
    row = _get(session, token_id)
    if row.revoked_at is None:
        row.revoked_at = get_clock().now()
    session.execute(delete(PageSession).where(col(PageSession.token_id) == token_id))
    return row


def rotate_token(session: Session, token_id: int) -> str:
    """Revoke a token and issue its successor in one transaction: same name, role and
    lifetime, new secret.

    An expired token may be rotated (that is how one renews it); a revoked one may not: it was
    withdrawn on purpose, and a successor would undo that.
    """
    row = _get(session, token_id)
    if row.revoked_at is not None:
        raise ValidationError(
            f"token {token_id} is revoked; issue a new one with `icpflow tokens create`",
            [Reason("token_revoked", "a revoked token cannot be rotated", "id")],
        )
    lifetime = as_utc(row.expires_at) - as_utc(row.created_at) if row.expires_at else None
    _revoke(session, token_id)
    token = _issue(
        session, row.name, Role(row.role), get_clock().now() + lifetime if lifetime else None
    )
    session.commit()
    return token
