"""What the declared deadlines tell people, checked against the hosts' published rules."""

from __future__ import annotations

import pytest

from workflow.domain.definition import DEADLINES_BY_KIND


@pytest.mark.parametrize("kind", ["idle_reminder", "idle_escalation"])
def test_idle_notices_say_the_order_lapses_not_that_it_is_deleted(kind: str) -> None:
    spec = DEADLINES_BY_KIND[kind]
    assert "lapses" in spec.description and "discard" not in spec.description
    assert "失效" in spec.zh and "清除" not in spec.zh
