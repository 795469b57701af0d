"""``ThreadConnections``: the worker's single statements on a connection each thread keeps."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from models.engine import ThreadConnections, create_db_engine
from tests.databases import Database

# More threads than either backend's pool used to allow (SQLite 5 + 10, PostgreSQL 10 + 20).
THREADS = 32


@pytest.fixture(params=["autocommit", "transactional"])
def engine(request: pytest.FixtureRequest, db: Database) -> Iterator[Engine]:
    """The worker's autocommit engine, and the ordinary one its tests may hand instead."""
    made = create_db_engine(db.url, autocommit=request.param == "autocommit")
    yield made
    made.dispose()


def counted_checkouts(engine: Engine) -> list[object]:
    checkouts: list[object] = []
    event.listen(engine, "checkout", lambda *args: checkouts.append(args))
    return checkouts


def test_a_thread_keeps_its_connection_and_each_statement_is_committed(
    db: Database, engine: Engine
) -> None:
    with db.engine.begin() as setup:  # the PostgreSQL database is the whole session's
        setup.execute(sa.text("DROP TABLE IF EXISTS kept"))
        setup.execute(sa.text("CREATE TABLE kept (n INTEGER)"))
    statements = ThreadConnections(engine)
    checkouts = counted_checkouts(engine)
    for n in range(5):
        statements.run(sa.text("INSERT INTO kept (n) VALUES (:n)"), {"n": n})
        with db.engine.connect() as other:  # sees it at once: nothing is left uncommitted
            assert other.execute(sa.text("SELECT count(*) FROM kept")).scalar_one() == n + 1
    assert statements.run(sa.text("SELECT max(n) FROM kept"), {}) == (4,)
    assert len(checkouts) == 1


def test_a_failed_statement_gives_its_connection_back_and_the_next_one_runs(
    engine: Engine,
) -> None:
    statements = ThreadConnections(engine)
    checkouts = counted_checkouts(engine)
    statements.run(sa.select(sa.literal(1)), {})
    with pytest.raises(sa.exc.DBAPIError):
        statements.run(sa.text("SELECT * FROM no_such_table"), {})
    # On PostgreSQL a transaction that failed refuses every later statement: a new connection.
    assert statements.run(sa.select(sa.literal(2)), {}) == (2,)
    assert len(checkouts) == 2
    assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]  # QueuePool's


@pytest.mark.usefixtures("many_connections")
def test_on_an_autocommit_engine_every_thread_keeps_a_connection(db: Database) -> None:
    engine = create_db_engine(db.url, autocommit=True)
    statements = ThreadConnections(engine)
    everyone_holds_one = threading.Barrier(THREADS, timeout=10)
    answers: list[object] = []

    def hold() -> None:
        answer = statements.run(sa.select(sa.literal(1)), {})
        everyone_holds_one.wait()  # broken (raises) unless every thread got a connection
        answers.append(answer)

    threads = [threading.Thread(target=hold) for _ in range(THREADS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert answers == [(1,)] * THREADS
    finally:
        everyone_holds_one.abort()
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("autocommit", [True, False], ids=["autocommit", "transactional"])
def test_a_connection_the_database_dropped_is_replaced_and_the_statement_run_again(
    postgres_url: str, autocommit: bool
) -> None:
    """Only a server drops connections, so this one is PostgreSQL's alone."""
    engine, admin = (
        create_db_engine(postgres_url, autocommit=autocommit),
        sa.create_engine(postgres_url),
    )
    try:
        statements = ThreadConnections(engine)
        backend = sa.text("SELECT pg_backend_pid()")
        first = statements.run(backend, {})
        assert first is not None
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first[0]})
        second = statements.run(backend, {})
        assert second is not None and second[0] != first[0]
    finally:
        engine.dispose()
        admin.dispose()
