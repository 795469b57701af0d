"""``icpflow keys|privacy``: the keys personal data is encrypted with, and its retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

import workflow.privacy
from cli.errors import App
from cli.output import JsonOption, count_option, emit, progress, whole_number
from config import bounds
from config.clock import get_clock
from config.settings import get_settings
from models import get_engine, session_scope
from models.rotation import rotate, sealed_rows
from workflow.domain.wording import counted

keys = App(help="The keys identity and phone numbers are encrypted with (DATA_KEYS).")
privacy = App(help="Personal data: how long it is kept.", checks_settings=True)


@keys.command("rotate")
def rotate_keys(
    batch: Annotated[
        int, count_option("Rows re-encrypted per transaction.", 1, bounds.MAX_BATCH)
    ] = 500,
    as_json: JsonOption = False,
) -> None:
    """Re-encrypt every identity and phone number under the first key of DATA_KEYS.

    Put the new key first and keep the old ones after it; run this; when it reports 0 the
    old keys can be removed. Stopped halfway, running it again carries on."""
    engine = get_engine()
    with progress() as bar:
        task = bar.add_task("re-encrypting", total=sealed_rows(engine))
        rewritten = rotate(engine, batch, lambda rows: bar.advance(task, rows))
    emit({"rewritten": rewritten}, as_json, lambda: f"re-encrypted {rewritten} values")


@privacy.command("purge")
def purge(
    older_than: Annotated[
        int,
        typer.Option(
            "--older-than",
            parser=whole_number(0, bounds.MAX_DAYS),
            metavar="DAYS",
            help="Purge orders withdrawn, rejected or lapsed more than this many days ago "
            "(0: every one ended so far); a rejected or lapsed one is withdrawn first.",
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Name the orders and entities it would purge; change nothing."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Remove the applicant's and verifiers' personal data (names, identity numbers, phones,
    emails) from orders that ended without a record, and their entity's and its services'
    once every order of it is purged and it holds no ICP number; their history stays, numbers
    masked.
    Names the orders and entities purged (--json: `purged`, how many orders, `filings` and
    `entities`, their ids); with --dry-run, those it would purge (`would_purge`)."""
    older, now = timedelta(days=older_than), get_clock().now()
    with session_scope() as session:
        if dry_run:
            done = workflow.privacy.to_purge(session, older, now)
        else:
            done = workflow.privacy.purge(session, older, now, get_settings())
    count = "would_purge" if dry_run else "purged"
    said = "would purge" if dry_run else "purged"
    emit(
        {count: len(done.filings), "filings": done.filings, "entities": done.entities},
        as_json,
        lambda: (
            f"{said} the personal data of {_listed(done.filings, 'order')}"
            + (f" and of {_listed(done.entities, 'entity', 'entities')}" if done.entities else "")
        ),
    )


def _listed(ids: list[int], singular: str, plural: str | None = None) -> str:
    """``2 orders: 3, 5``."""
    return counted(len(ids), singular, plural) + (f": {', '.join(map(str, ids))}" if ids else "")
