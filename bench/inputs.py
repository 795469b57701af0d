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
from workflow.domain.commands import FilingCreate

# One route of the filing's own on top of the team's, so notifying events write several rows.
NOTIFY = [{"channel": "email", "recipient": "case@example.cn"}]

_numbers = itertools.count(1)


def fresh_filing(**overrides: object) -> FilingCreate:
    """A filing of an organisation and a domain of its own: one order is in flight per entity,
    and a domain is filed by one entity."""
    number = next(_numbers)
    applicant = another_organisation(number)
    return make_command(domain=f"site{number}.cn", applicant=applicant, **overrides)


__all__ = [
    "NOTIFY",
    "ORG_MATERIALS",
    "another_organisation",
    "commands_to",
    "fresh_filing",
    "make_payload",
]
