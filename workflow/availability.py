"""Which database failures mean "unavailable, try again" rather than a bug.

A refused or timed-out connection, a dropped one, an exhausted pool or a cancelled statement
says nothing about the request: the same request may succeed in a moment, so every edge answers
``ServiceUnavailable`` (HTTP 503 with ``Retry-After``) instead of an internal error.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from sqlalchemy import exc

from config.settings import Settings
from workflow.domain.errors import ServiceUnavailable

UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)

# SQLite's codes for a lock another connection holds, which passes by itself. Its other
# operational errors (no such table, a read-only or corrupt file) stay until someone acts.
_SQLITE_PASSING = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED"})

# PostgreSQL refuses a role or a database it does not have with an SQLSTATE (28000, 3D000),
# but a connection that fails never reaches psycopg's ``sqlstate``: only the server's words
# ("FATAL:  database "x" does not exist") tell it from a restart. A server speaking another
# language (``lc_messages``) is not recognised, and told as an outage, as before.
_NOT_ON_SERVER = re.compile(r'\b(role|database) "([^"]+)" does not exist')


def passes_by_itself(error: BaseException) -> bool:
    """Whether ``error`` is an outage that ends without anyone acting (a server or network down,
    a lock held too long): what a job may wait out for as long as it lasts. A request is answered
    503 for any ``UNAVAILABLE`` error; a job waiting for ever on a database never upgraded would
    hide it from ops, who see a failed job instead; likewise a role or database DATABASE_URL
    names that the server does not have (``not_on_server``): someone must create it."""
    if not isinstance(error, UNAVAILABLE) or not_on_server(error) is not None:
        return False
    code = getattr(getattr(error, "orig", None), "sqlite_errorname", None)
    return code is None or code in _SQLITE_PASSING


def unavailable(error: BaseException, settings: Settings) -> ServiceUnavailable | None:
    """The domain error ``error`` stands for, if it is the database being out of reach; the
    caller's ``settings`` say how long to ask the client to wait."""
    if not isinstance(error, UNAVAILABLE):
        return None
    return ServiceUnavailable(
        f"the database is unavailable ({type(error).__name__}); try again shortly",
        retry_after=settings.unavailable_retry_after_seconds,
    )


@dataclass(frozen=True)
class NotOnServer:
    """A role or database named in DATABASE_URL that the PostgreSQL server does not have: the
    set-up's fault, which no retry mends, so each edge says what is missing and how to create
    it instead of "try again shortly". Only names the server gave: never the URL, whose
    password would go with it."""

    what: str  # "role" or "database"
    name: str
    server: str  # "host:port", or the socket directory
    host: str
    port: str
    user: str  # the role DATABASE_URL names, who should own a database created for it

    @property
    def message(self) -> str:
        return f'the PostgreSQL server at {self.server} has no {self.what} "{self.name}"'

    @property
    def remedy(self) -> str:
        at = f"-h {shlex.quote(self.host)} -p {shlex.quote(self.port)}"
        name = shlex.quote(self.name)
        if self.what == "database":
            return (
                f"create it (`createdb {at} -O {shlex.quote(self.user)} {name}`, as a role "
                "allowed to create databases), then run `icpflow db upgrade`; or correct the "
                "database name in DATABASE_URL"
            )
        return (
            f"create it (`createuser {at} --pwprompt {name}`, as a role allowed to create "
            "roles); or correct the user in DATABASE_URL"
        )


def not_on_server(error: BaseException) -> NotOnServer | None:
    """The role or database ``error`` says the server refused a connection for not having it."""
    if not isinstance(error, exc.OperationalError):
        return None
    cause = getattr(error, "orig", None)
    said = _NOT_ON_SERVER.search(str(cause))
    if said is None:
        return None
    connection = getattr(cause, "pgconn", None)
    host = _text(getattr(connection, "host", b"")) or "localhost"
    port = _text(getattr(connection, "port", b"")) or "5432"
    user = _text(getattr(connection, "user", b"")) or "USER"
    server = host if host.startswith("/") else f"{host}:{port}"
    return NotOnServer(said[1], said[2], server, host, port, user)


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else value or ""
