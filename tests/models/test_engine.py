"""The engines' pools: sized for the threads a web process serves requests on."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import anyio.to_thread
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

from models.engine import create_db_engine
from tests.databases import Database


@pytest.fixture
def engine(db: Database) -> Iterator[Engine]:
    made = create_db_engine(db.url)
    yield made
    made.dispose()


async def request_threads() -> float:
    return anyio.to_thread.current_default_thread_limiter().total_tokens


def test_the_pool_keeps_a_connection_for_every_request_thread(engine: Engine) -> None:
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.size() >= anyio.run(request_threads)
