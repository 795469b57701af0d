"""Transactions that must not interleave, taking turns by name (an identity, a domain, a
mobile, a service number): the later one waits for the earlier to commit, then reads it."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from models.sealed import lookup


def take_turns(session: Session, names: list[str]) -> None:
    """Hold ``names`` until this transaction ends, so another transaction naming one of them
    waits for it to commit and then reads what it wrote. SQLite's writers take turns already
    (every transaction begins by taking the write lock); on PostgreSQL transaction-scoped
    advisory locks on the names' hashes do it, taken in one order so two transactions cannot
    each hold one and wait for the other."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(int(lookup(name)[:15], 16) for name in names):  # 60-bit keys
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
