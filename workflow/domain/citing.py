"""Citing a rule from ``rules.toml`` in a refusal, and refusing a value the rules do not know.

Separate from the checks because every kind of check (on a new filing, a person, an ICP
number, an event's data) cites the same way: one place keeps refusals traceable alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypedDict

from workflow.domain.errors import Reason
from workflow.domain.rules import Source


class _Rule(Protocol):
    """A rule from ``rules.toml``: its name there and where it comes from."""

    @property
    def name(self) -> str: ...

    @property
    def source(self) -> Source: ...


class Cited(TypedDict):
    """A cited rule, as ``Reason``'s keywords: typed by key so ``**cite(rule)`` fills only
    ``rule`` and ``source`` (a plain ``dict[str, str]`` could fill any of its keywords)."""

    rule: str
    source: str


def cite(rule: _Rule) -> Cited:
    """The ``rule`` and ``source`` a refusal names, so it can be traced to a bureau's page."""
    return {"rule": rule.name, "source": str(rule.source)}


def check_known(value: str, field: str, known: Mapping[str, Any], code: str) -> list[Reason]:
    if value in known:
        return []
    return [
        Reason(
            code,
            f"{value!r} is not one of {', '.join(known)}",
            field=field,
            details={"value": value},
        )
    ]
