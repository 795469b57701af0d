"""The engines' pools: sized for the threads a web process serves requests on."""

from __future__ import annotations

import pytest
from sqlalchemy.pool import QueuePool

from config.settings import Settings, get_settings
from models.engine import create_db_engine
from tests.databases import Database


def test_the_pool_keeps_a_connection_for_every_request_thread(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_THREADS", "7")
    get_settings.cache_clear()
    engine = create_db_engine(db.url)
    try:
        pool = engine.pool
        assert isinstance(pool, QueuePool)
        assert pool.size() == 7
    finally:
        engine.dispose()


def test_a_database_in_memory_still_makes_an_engine() -> None:
    engine = create_db_engine("sqlite:///:memory:")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()
