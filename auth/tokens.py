"""API tokens: stored hashed, shown once, each carrying one role.

Roles are ordered (viewer < case_manager < ops < admin); a route asks for the least role it
needs and anything above passes.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from sqlmodel import Session, select

from config.clock import get_clock
from models import ApiToken
from workflow.domain.errors import Forbidden, Reason, Unauthorized, ValidationError


class Role(StrEnum):
    """Declared in rank order: each role may do everything the roles before it may."""

    VIEWER = "viewer"
    CASE_MANAGER = "case_manager"
    OPS = "ops"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: Role | str) -> str:
    """Store a new token's hash and return the token itself, which is never stored."""
    if role not in set(Role):
        known = ", ".join(Role)
        raise ValidationError(
            f"unknown role {role!r}; choose one of {known}",
            [Reason("unknown_role", f"role must be one of {known}", field="role")],
        )
    token = "icp_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(name=name, role=role, token_hash=_digest(token), created_at=get_clock().now())
    )
    session.commit()
    return token


def authenticate(session: Session, token: str | None) -> ApiToken:
    if not token:
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _digest(token))).first()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("the bearer token is unknown or revoked")
    return row


def require_role(token: ApiToken, needed: Role) -> None:
    if Role(token.role).rank < needed.rank:
        raise Forbidden(f"this needs the {needed} role; token {token.name!r} has {token.role}")
