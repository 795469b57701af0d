"""Valid filings for the benchmarks, taken from the test factories so that the benchmarks
break, loudly, the day the guards stop accepting what they feed the service."""

from __future__ import annotations

from tests.factories import ORG_MATERIALS, commands_to, make_command, make_payload

# One route of the filing's own on top of the team's, so notifying events write several rows.
NOTIFY = [{"channel": "email", "recipient": "case@example.cn"}]

__all__ = ["NOTIFY", "ORG_MATERIALS", "commands_to", "make_command", "make_payload"]
