"""Alembic environment: the URL comes from icpflow's settings unless the caller set one."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from config.settings import get_settings
from models.engine import create_db_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().effective_database_url
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """On SQLite, foreign keys are off while migrating and checked after it: altering a table
    there copies it, and dropping the original would trip the rows pointing at it. Long DDL
    must finish, so the statement timeout is off."""
    engine = create_db_engine(url, statement_timeouts=False)
    sqlite = url.startswith("sqlite")
    with engine.connect() as connection:
        # On the driver's connection: the engine's BEGIN IMMEDIATE would make it a no-op.
        driver = connection.connection.driver_connection
        if sqlite and driver is not None:
            driver.execute("PRAGMA foreign_keys = OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite and driver is not None:
            broken = driver.execute("PRAGMA foreign_key_check").fetchall()
            driver.execute("PRAGMA foreign_keys = ON")
            if broken:
                raise RuntimeError(f"migrating left rows pointing nowhere: {broken}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
