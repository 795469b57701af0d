"""Fixtures of the workflow tests: orders opened and driven through the service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session

from config.clock import FrozenClock
from tests.factories import ORDER_PATHS, first_filing_order
from workflow import service
from workflow.domain.commands import EventCommand, OrderCreate
from workflow.schemas import FilingOut

Open = Callable[..., FilingOut]


@pytest.fixture
def open_order(session: Session, clock: FrozenClock) -> Open:
    def make(**body: Any) -> FilingOut:
        return service.create_order(session, OrderCreate.model_validate(body), actor="t")

    return make


@pytest.fixture
def on_file(session: Session, open_order: Open) -> FilingOut:
    """An entity's approved first filing: the entity number and its site's -1 issued."""
    order = open_order(**first_filing_order())
    for event, data in ORDER_PATHS["first_filing"]:
        command = EventCommand(event=event, data=data)
        order = service.fire_event(session, order.id, command, actor="t")
    return order
