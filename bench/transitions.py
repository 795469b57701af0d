"""Bar: firing an event through the service (guards, audit, outbox) runs at no less than 0.8
of the rate of raw SQL doing the same writes on the same database.

The baseline is what the service would cost if it were free: the same statements (read the
version, conditional state update, history row, disarm and arm deadlines, notifications and
their outbox rows) as ``text()`` SQL on a connection of the same engine, so the same driver
and transaction setup (``BEGIN IMMEDIATE`` on SQLite), with every value precomputed. The
two write the same rows; this is checked by counting them before anything is timed.

Filings alternate ``host_return`` (notifies) and ``resubmit`` (stores materials), each
leaving one state and arming the next one's deadlines, so runs can repeat indefinitely.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, TextClause, bindparam, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import TypeEngine
from sqlmodel import Session

from bench import Scale
from bench.environment import BENCH_NOW, Scratch, scratch
from bench.inputs import NOTIFY, ORG_MATERIALS, commands_to, fresh_filing
from bench.results import Result
from bench.timing import interleaved_medians
from models import Filing, Job
from workflow import deadlines, notices, service
from workflow.domain.commands import EventCommand
from workflow.domain.definition import EVENTS_BY_NAME, Audience, deadlines_for
from workflow.outbox import Delivery

ACTOR = "bench"
LIMIT = 0.8


@dataclass(frozen=True)
class Step:
    event: str
    data: Mapping[str, Any]
    stored: Mapping[str, str]  # filing column -> data key the service keeps on the filing

    @property
    def command(self) -> EventCommand:
        return EventCommand(event=self.event, data=dict(self.data))


CYCLE = (
    Step("host_return", {"reason": "photo unclear"}, {}),
    Step("resubmit", {"materials": ORG_MATERIALS}, {"materials": "materials"}),
)


@dataclass(frozen=True)
class Size:
    filings: int  # per side
    cycles: int  # each fires every step of CYCLE on every filing
    warmup: int
    repeat: int


SIZES: dict[Scale, Size] = {
    "full": Size(filings=50, cycles=2, warmup=1, repeat=7),
    "quick": Size(filings=20, cycles=2, warmup=1, repeat=5),
    "tiny": Size(filings=2, cycles=1, warmup=0, repeat=1),
}

_TYPES: dict[str, TypeEngine[Any]] = {
    "now": DateTime(timezone=True),
    "due_at": DateTime(timezone=True),
    "data": JSON(),
    "materials": JSON(),
    "payload": JSON(),
    "estimated": Boolean(),
}


def _sql(statement: str) -> TextClause:
    """Raw SQL whose datetimes and JSON are stored exactly as the ORM stores them."""
    clause = text(statement)
    return clause.bindparams(
        *(bindparam(name, type_=kind) for name, kind in _TYPES.items() if f":{name}" in statement)
    )


_READ = _sql("SELECT state, version FROM filings WHERE id = :id")
_HISTORY = _sql(
    "INSERT INTO history (filing_id, version, event, from_state, to_state, actor, at, data, reason)"
    " VALUES (:id, :version, :event, :from_state, :to_state, :actor, :now, :data, :reason)"
)
_DISARM = _sql(
    "UPDATE deadlines SET disarmed_at = :now,"
    " status = CASE WHEN status = 'pending' THEN 'disarmed' ELSE status END"
    " WHERE filing_id = :id AND disarmed_at IS NULL"
)
_ARM = _sql(
    "INSERT INTO deadlines (filing_id, kind, state, figure, due_at, status, estimated, armed_at)"
    " VALUES (:id, :kind, :state, :figure, :due_at, 'pending', :estimated, :now)"
)
_NOTIFY = _sql(
    "INSERT INTO notifications (filing_id, kind, channel, recipient, subject, body,"
    " idempotency_key, status, attempts, created_at, queued_at)"
    " VALUES (:id, :kind, :channel, :recipient, :subject, :body, :key, 'pending', 0, :now, :now)"
    " RETURNING id"
)
_OUTBOX = _sql(
    "INSERT INTO outbox (job, payload, created_at, attempts) VALUES (:job, :payload, :now, 0)"
)


@dataclass(frozen=True)
class PlannedStep:
    """Everything the baseline writes for one step, worked out before the clock starts."""

    step: Step
    to_state: str
    update: TextClause
    deadlines: list[dict[str, Any]]
    recipients: list[tuple[str, str]]


def run(scale: Scale, backends: Sequence[str]) -> list[Result]:
    return [_measure(backend, SIZES[scale]) for backend in backends]


def _measure(backend: str, size: Size) -> Result:
    with scratch(backend) as db:
        by_service = submitted_filings(db, size.filings)
        by_sql = submitted_filings(db, size.filings)
        plan = _plan(db, by_sql[0])
        runs: dict[str, Callable[[], None]] = {
            "service": lambda: _fire_with_service(db, by_service, size.cycles),
            "sql": lambda: _fire_with_sql(db.engine, plan, by_sql, size.cycles),
        }
        writes = _check_same_writes(db.engine, runs)
        medians = interleaved_medians(runs, warmup=size.warmup, repeat=size.repeat)
    events = size.filings * size.cycles * len(CYCLE)
    return Result(
        bar="transitions",
        backend=backend,
        metric="events/s, service vs raw SQL",
        unit="ev/s",
        baseline=events / medians["sql"],
        measured=events / medians["service"],
        limit=LIMIT,
        at_least=True,
        details={"events_per_run": events, "repeat": size.repeat, "rows_per_run": writes},
    )


def submitted_filings(db: Scratch, count: int) -> list[int]:
    """Filings created and submitted through the service, as a user would."""
    ids = []
    for _ in range(count):
        with Session(db.engine, expire_on_commit=False) as session:
            opening = fresh_filing(notify=NOTIFY)
            view = service.create_filing(session, opening, ACTOR, settings=db.settings)
            for command in commands_to("submitted"):
                service.fire_event(session, view.id, command, actor=ACTOR, settings=db.settings)
        ids.append(view.id)
    return ids


def _plan(db: Scratch, filing_id: int) -> list[PlannedStep]:
    with Session(db.engine) as session:
        filing = session.get(Filing, filing_id)
        assert filing is not None
        return [_plan_step(filing, step, db) for step in CYCLE]


def _plan_step(filing: Filing, step: Step, db: Scratch) -> PlannedStep:
    spec = EVENTS_BY_NAME[step.event]
    armed = []
    for deadline in deadlines_for(spec.dest):
        for figure in deadlines.figures(deadline, spec.dest, filing.kind, db.settings):
            due_at, estimated = deadlines.due_time(deadline, figure, BENCH_NOW, db.settings)
            armed.append(
                {
                    "kind": deadline.kind,
                    "state": spec.dest.value,
                    "figure": figure,
                    "due_at": due_at,
                    "estimated": estimated,
                }
            )
    stored = "".join(f", {column} = :{key}" for column, key in step.stored.items())
    return PlannedStep(
        step=step,
        to_state=spec.dest.value,
        update=_sql(
            f"UPDATE filings SET state = :to_state, version = :version + 1,"
            f" state_entered_at = :now{stored} WHERE id = :id AND version = :version"
        ),
        deadlines=armed,
        recipients=notices.recipients(filing, Audience.CASE_MANAGER, db.settings)
        if spec.notify
        else [],
    )


def _fire_with_service(db: Scratch, filing_ids: Sequence[int], cycles: int) -> None:
    for _ in range(cycles):
        for step in CYCLE:
            for filing_id in filing_ids:
                with Session(db.engine, expire_on_commit=False) as session:
                    service.fire_event(
                        session, filing_id, step.command, actor=ACTOR, settings=db.settings
                    )


def _fire_with_sql(
    engine: Engine, plan: Sequence[PlannedStep], filing_ids: Sequence[int], cycles: int
) -> None:
    for _ in range(cycles):
        for planned in plan:
            for filing_id in filing_ids:
                with engine.begin() as conn:
                    _write_step(conn, planned, filing_id)


def _write_step(conn: Connection, planned: PlannedStep, filing_id: int) -> None:
    step = planned.step
    from_state, version = conn.execute(_READ, {"id": filing_id}).one()
    moved = conn.execute(
        planned.update,
        {
            "id": filing_id,
            "version": version,
            "to_state": planned.to_state,
            "now": BENCH_NOW,
            **step.data,
        },
    )
    if moved.rowcount != 1:
        raise RuntimeError(f"filing {filing_id} moved under the baseline")
    reason = step.data.get("reason")
    conn.execute(
        _HISTORY,
        {
            "id": filing_id,
            "version": version + 1,
            "event": step.event,
            "from_state": from_state,
            "to_state": planned.to_state,
            "actor": ACTOR,
            "now": BENCH_NOW,
            "data": dict(step.data),
            "reason": reason,
        },
    )
    conn.execute(_DISARM, {"id": filing_id, "now": BENCH_NOW})
    conn.execute(_ARM, [{**row, "id": filing_id, "now": BENCH_NOW} for row in planned.deadlines])
    notification_ids = [
        conn.execute(
            _NOTIFY,
            {
                "id": filing_id,
                "kind": step.event,
                "channel": channel,
                "recipient": recipient,
                "subject": f"[icpflow] #{filing_id}: {step.event} → {planned.to_state}",
                "body": f"{EVENTS_BY_NAME[step.event].description}\n原因 Reason: {reason}",
                "key": f"{filing_id}:{step.event}:v{version + 1}:{channel}:{recipient}",
                "now": BENCH_NOW,
            },
        ).scalar_one()
        for channel, recipient in planned.recipients
    ]
    if notification_ids:
        conn.execute(
            _OUTBOX,
            [
                {
                    "job": Job.DELIVER_NOTIFICATION,
                    "payload": Delivery(notification_id=nid).model_dump(),
                    "now": BENCH_NOW,
                }
                for nid in notification_ids
            ],
        )


_COUNTS = {
    "history": "SELECT count(*) FROM history",
    "deadlines": "SELECT count(*) FROM deadlines",
    "disarmed": "SELECT count(*) FROM deadlines WHERE status = 'disarmed'",
    "notifications": "SELECT count(*) FROM notifications",
    "outbox": "SELECT count(*) FROM outbox",
    "versions": "SELECT sum(version) FROM filings",
}


def _check_same_writes(engine: Engine, runs: Mapping[str, Callable[[], None]]) -> dict[str, int]:
    """Run each side once and insist both added the same rows (a baseline doing less would
    flatter it); returns what one run writes."""
    added = {}
    for name, fire in runs.items():
        before = _counts(engine)
        fire()
        after = _counts(engine)
        added[name] = {table: after[table] - before[table] for table in _COUNTS}
    first, *others = added.values()
    if any(other != first for other in others):
        raise AssertionError(f"service and baseline wrote different rows: {added}")
    return first


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table: int(conn.execute(text(sql)).scalar_one()) for table, sql in _COUNTS.items()}
