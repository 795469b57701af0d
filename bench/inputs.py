"""Valid filings for the benchmarks, taken from the test factories so that the benchmarks
break, loudly, the day the guards stop accepting what they feed the service."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1] / "tests")
if _TESTS not in sys.path:
    sys.path.append(_TESTS)

from factories import ORG_MATERIALS, commands_to, make_command, make_payload  # noqa: E402

# One route of the filing's own on top of the team's, so notifying events write several rows.
NOTIFY = [{"channel": "email", "recipient": "case@example.cn"}]

__all__ = ["NOTIFY", "ORG_MATERIALS", "commands_to", "make_command", "make_payload"]
