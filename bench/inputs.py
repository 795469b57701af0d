"""Valid filings for the benchmarks, taken from the test factories so that the benchmarks
break, loudly, the day the guards stop accepting what they feed the service."""

from __future__ import annotations

import itertools

from tests.factories import (
    ORG_MATERIALS,
    another_organisation,
    commands_to,
    make_command,
    make_payload,
)

# One route of the filing's own on top of the team's, so notifying events write several rows.
NOTIFY = [{"channel": "email", "recipient": "case@example.cn"}]

_numbers = itertools.count(1)


def fresh_applicant() -> dict[str, object]:
    """An organisation of its own for each filing: one order is in flight per entity."""
    return another_organisation(next(_numbers))


__all__ = [
    "NOTIFY",
    "ORG_MATERIALS",
    "another_organisation",
    "commands_to",
    "fresh_applicant",
    "make_command",
    "make_payload",
]
