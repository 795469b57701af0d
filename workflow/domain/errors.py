"""Domain exceptions.

Every layer raises these and only the edges (CLI, HTTP) translate them, once, into
exit codes and status codes; see ``web.errors`` and ``cli.errors``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar


@dataclass(frozen=True)
class Reason:
    """One unmet condition, precise enough for a client to fix it without guessing.

    ``rule`` and ``source`` name the filing rule (in ``rules.toml``) that refused the input and
    where that rule comes from, so a disputed refusal can be traced to a bureau's page.
    """

    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    rule: str | None = None
    source: str | None = None
    # An unknown field's reason: the path of each key its message lists as allowed, to the
    # key as it says it, so an edge naming fields its own way (the CLI: options) can name
    # these too. Not sent: the message says them.
    allowed: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        out.update(self.details)
        if self.rule is not None:
            out["rule"] = self.rule
        if self.source is not None:
            out["source"] = self.source
        return out


def allowed_said(keys: Iterable[str]) -> str:
    """How an unknown field's reason lists the keys allowed beside it; ``renamed`` finds the
    list by these words to name its keys otherwise."""
    return f"; allowed: {', '.join(keys)}"


def summarise(prefix: str, reasons: list[Reason]) -> str:
    """A one-line headline: the reason itself when there is one, else how many (listed beside it)."""
    if len(reasons) == 1:
        return f"{prefix}: {reasons[0].message}"
    return f"{prefix}: {len(reasons)} problems"


def quoted_alone(headline: str, reasons: Sequence[str]) -> bool:
    """Whether ``headline`` ends quoting its one reason (of ``reasons``, their messages), as
    ``summarise`` and others write it: an edge then says that reason once, in the headline,
    instead of again beneath it, where it would read as a second problem."""
    return len(reasons) == 1 and headline.endswith(f": {reasons[0]}")


Error = TypeVar("Error", bound="IcpflowError")


def renamed(
    error: Error, names: Mapping[str, str], *, say_which: bool = False, allowed_too: bool = False
) -> Error:
    """A copy of ``error`` with each field named as its reader knows it (``names``: an
    option of the CLI, a label of a form), in its reasons and in the headline quoting one:
    ``domain_expires_on is required`` becomes ``--expires is required``, ``unknown field
    'data.foo'`` ``unknown field '--data foo'``. A message not naming its field keeps its
    words, the field renamed all the same; ``say_which`` puts the name before them (a rule's
    "fails the gb32100 check" says no field). ``allowed_too`` also renames the keys an
    unknown field's reason lists as allowed (``allowed: reason`` -> ``allowed: --reason``),
    for a reader who types keys as these names; a form's reader types none, so its labels
    would only hide the keys the API takes."""
    # Not copy.copy: it calls the class again with ``args``, which errors built from more
    # than a message (RulesError, RateLimited) cannot take.
    out = type(error).__new__(type(error))
    out.__dict__.update(vars(error))
    reasons = []
    for reason in error.reasons:
        field = reason.field or ""
        name = names.get(field)
        message = reason.message
        if name is not None and field and message.startswith(field):
            message = name + message[len(field) :]
        elif name is not None and field and repr(field) in message:
            message = message.replace(repr(field), repr(name))
        elif name is not None and say_which:
            message = f"{name}: {message}"
        if allowed_too and reason.allowed:
            said = allowed_said(reason.allowed.values())
            as_named = allowed_said(names.get(p, key) for p, key in reason.allowed.items())
            message = message.replace(said, as_named)
        if message != reason.message:
            out.message = out.message.replace(reason.message, message)
        reasons.append(dataclasses.replace(reason, message=message, field=name or reason.field))
    out.reasons = reasons
    out.args = (out.message,)
    return out


class IcpflowError(Exception):
    """Base of every domain error; ``code`` is the stable machine-readable name."""

    code = "error"

    def __init__(self, message: str, reasons: list[Reason] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reasons = list(reasons or [])

    def as_dict(self) -> dict[str, Any]:
        """The error's one JSON shape: the API's body, and the CLI's ``--json`` output."""
        return {
            "error": self.code,
            "message": self.message,
            "reasons": [reason.as_dict() for reason in self.reasons],
        }


class FilingNotFound(IcpflowError):
    code = "filing_not_found"


class NotFound(IcpflowError):
    code = "not_found"


class TransitionNotAllowed(IcpflowError):
    code = "transition_not_allowed"


class GuardFailed(IcpflowError):
    code = "guard_failed"


class ValidationError(IcpflowError):
    code = "validation_error"


class VersionConflict(IcpflowError):
    code = "version_conflict"


class IdempotencyKeyReused(IcpflowError):
    """The same Idempotency-Key was sent with a different request body."""

    code = "idempotency_key_reused"


class UnsafeSettings(IcpflowError):
    """Settings a process refuses to start with (``workflow.startup.check_settings``): routes
    or thresholds naming what does not exist, keys Fernet cannot use, a rules file it cannot
    read, and in production a secret still at its public, shipped default."""

    code = "unsafe_settings"


class Unauthorized(IcpflowError):
    code = "unauthorized"


class Forbidden(IcpflowError):
    code = "forbidden"


class UnreadableRequest(IcpflowError):
    """The request body could not be read at all (not JSON), so no field can be named."""

    code = "unreadable_request"


class UnsupportedMediaType(IcpflowError):
    """A JSON body was sent as something else (``curl -d`` sends a form unless told)."""

    code = "unsupported_media_type"


class RequestTooLarge(IcpflowError):
    """The request body is larger than the server accepts (``max_request_bytes``)."""

    code = "request_too_large"


class ServiceUnavailable(IcpflowError):
    """Something the request needs (the database) cannot be reached: try again later."""

    code = "service_unavailable"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InternalError(IcpflowError):
    """A bug: anything unexpected, answered without its details (they go to the log)."""

    code = "internal_error"


class RateLimited(IcpflowError):
    """Too many failed attempts from one client; it may try again after ``retry_after`` seconds."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(
            message,
            [
                Reason(
                    "retry_after",
                    f"try again in {retry_after} s",
                    details={"retry_after": retry_after},
                )
            ],
        )
        self.retry_after = retry_after
