"""The outbox hands a session's rows to its publisher when the transaction commits: savepoints
(a deadline's event fired inside another event) commit and roll back without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlmodel import Session

from config.clock import FrozenClock
from workflow import outbox


def publishing(session: Session) -> list[int]:
    """What the session's publisher was handed, in order."""
    handed: list[int] = []
    session.info.update(outbox.session_info(handed.extend))
    return handed


def test_rows_owed_in_a_savepoint_are_handed_over_when_the_transaction_commits(
    session: Session, clock: FrozenClock
) -> None:
    handed = publishing(session)
    before = outbox.owe_deliveries(session, [1], clock.now())
    with session.begin_nested():
        inside = outbox.owe_deliveries(session, [2], clock.now())
    assert handed == []  # not committed yet: a relay could not see them

    session.commit()

    assert handed == before + inside


def test_a_savepoint_rolled_back_keeps_the_rows_owed_before_it(
    session: Session, clock: FrozenClock
) -> None:
    handed = publishing(session)
    before = outbox.owe_deliveries(session, [1], clock.now())
    savepoint = session.begin_nested()
    outbox.owe_deliveries(session, [2], clock.now())
    savepoint.rollback()

    session.commit()

    assert set(before) <= set(handed)  # the row it took back may be handed too: it finds nothing


def test_a_transaction_rolled_back_hands_nothing_over(session: Session, clock: FrozenClock) -> None:
    handed = publishing(session)
    outbox.owe_deliveries(session, [1], clock.now())
    session.rollback()
    session.commit()

    assert handed == []


def test_a_transaction_rolled_back_inside_a_savepoint_hands_nothing_over(
    session: Session, clock: FrozenClock
) -> None:
    handed = publishing(session)
    outbox.owe_deliveries(session, [1], clock.now())
    session.begin_nested()
    outbox.owe_deliveries(session, [2], clock.now())
    session.rollback()  # the whole transaction, as an error escaping the savepoint does
    after = outbox.owe_deliveries(session, [3], clock.now())
    session.commit()

    assert handed == after


# Run in a process of its own: in this one, a test before may have asked for a publisher.
_LISTENERS_AFTER_IMPORT = """
from sqlmodel import Session
import workflow.outbox
session = Session()
print(len(session.dispatch.after_commit), len(session.dispatch.after_rollback))
"""


def test_importing_the_outbox_leaves_every_session_as_it_was() -> None:
    """A process that never relays at once (worker, scheduler, CLI) runs no outbox code when
    its sessions commit or roll back."""
    shown = subprocess.run(
        [sys.executable, "-c", _LISTENERS_AFTER_IMPORT],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )

    assert shown.stdout.split() == ["0", "0"]
