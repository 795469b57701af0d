"""Re-encrypting personal data under the newest data key (``icpflow keys rotate``).

A new key goes first in ``DATA_KEYS`` with the old ones after it: everything stays readable,
new values use the new key. Rotation then rewrites every sealed value the newest key cannot
open yet, one transaction per batch of rows; a value it already rewrote opens with the newest
key and is skipped, so a run that stops halfway is finished by running it again. Once it
reports nothing left, the old keys can leave ``DATA_KEYS``.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from models.sealed import Sealed, SealedJSON, newest, rotated


def sealed_columns() -> dict[str, list[str]]:
    """Every table's sealed columns, read from the models: nothing to list by hand."""
    found = {
        table.name: [c.name for c in table.columns if isinstance(c.type, Sealed | SealedJSON)]
        for table in SQLModel.metadata.sorted_tables
    }
    return {name: columns for name, columns in found.items() if columns}


def sealed_rows(engine: Engine) -> int:
    """How many rows ``rotate`` reads: what its progress is counted against."""
    with engine.connect() as connection:
        return sum(
            connection.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
            for name in sealed_columns()
        )


def rotate(engine: Engine, batch: int = 500, done: Callable[[int], None] | None = None) -> int:
    """Re-encrypt under the newest key every sealed value still under an older one; returns
    how many values were rewritten. ``done`` hears of each batch's rows once committed."""
    rewritten = 0
    for name, columns in sealed_columns().items():
        # Plain columns: the tokens as stored, not the values the models would decrypt.
        raw = sa.table(name, sa.column("id", sa.Integer), *(sa.column(c, sa.Text) for c in columns))
        last = 0
        while True:
            with engine.begin() as connection:
                rows = connection.execute(
                    sa.select(raw).where(raw.c.id > last).order_by(raw.c.id).limit(batch)
                ).all()
                for row in rows:
                    stale = {
                        column: rotated(token)
                        for column, token in zip(columns, row[1:], strict=True)
                        if token is not None and not _opens(newest(), token)
                    }
                    if stale:
                        connection.execute(sa.update(raw).where(raw.c.id == row.id).values(stale))
                        rewritten += len(stale)
            if done is not None:
                done(len(rows))
            if len(rows) < batch:
                break
            last = rows[-1].id
    return rewritten


def _opens(key: Fernet, token: str) -> bool:
    try:
        key.decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True
