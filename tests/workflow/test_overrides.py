"""Figures set per state or per kind: one default each, declared with it, and documented so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workflow.domain import overrides
from workflow.domain.overrides import PER_KEY


def test_every_state_a_stuck_deadline_is_armed_in_has_a_default() -> None:
    stuck = PER_KEY["stuck"]
    assert set(stuck.defaults) == set(stuck.deadline.states)


@pytest.mark.parametrize("deadline", PER_KEY)
def test_the_readme_gives_every_default_the_declaration_holds(deadline: str) -> None:
    """Its settings table shows each setting's defaults whole, as JSON one would set."""
    readme = (Path(overrides.__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    per_key = PER_KEY[deadline]
    listed = json.dumps(dict(per_key.defaults), separators=(",", ":"))
    assert f"| `{per_key.deadline.setting.upper()}`" in readme
    assert f"`{listed}`" in readme
