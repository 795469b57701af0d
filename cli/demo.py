"""``icpflow demo``: weeks of a filing agency's life in seconds.

Runs on a throwaway SQLite database with a simulated clock: three sample filings take
different paths, the deadline sweep runs every simulated hour, and every reminder, the SMS
expiry and the SLA breach are printed as they happen.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from config.clock import CHINA, FrozenClock, set_clock
from config.settings import Settings
from models import HistoryEntry, Notification, create_db_engine
from models.migrate import upgrade
from workflow import service
from workflow.domain.commands import EventCommand, FilingCreate
from workflow.domain.rules import rules_for
from workflow.sweeps import fire_due_deadlines

console = Console()

SAMPLE_APPLICANT = {
    "type": "organisation",
    "name": "示例科技有限公司",
    "id_type": "business_licence",
    "id_number": "91110000MA01ABCD52",
    "phone": "13800138000",
    "email": "ops@example.cn",
}
MATERIALS = list(rules_for(Settings()).required_materials("organisation", "filing", "general"))
# domain -> events fired on day 0 (the rest happens by itself, or does not)
SCRIPTS: dict[str, list[tuple[str, dict[str, object]]]] = {
    "approved-on-time.cn": [
        ("bind_service_number", {"service_number": "BA2026000001", "server_ip": "8.8.8.8"}),
        ("submit", {"materials": MATERIALS}),
        ("host_approve", {}),
        ("sms_sent", {}),
        ("verify_sms", {}),
    ],
    "missed-the-sms.cn": [
        ("bind_service_number", {"service_number": "BA2026000002", "server_ip": "8.8.4.4"}),
        ("submit", {"materials": MATERIALS}),
        ("host_approve", {}),
        ("sms_sent", {}),
    ],
    "slow-bureau.cn": [
        ("bind_service_number", {"service_number": "BA2026000003", "server_ip": "1.1.1.1"}),
        ("submit", {"materials": MATERIALS}),
        ("host_approve", {}),
        ("sms_sent", {}),
        ("verify_sms", {}),
    ],
}
APPROVE_ON_DAY = {"approved-on-time.cn": 12}


def run_demo(weeks: int = 7) -> None:
    with tempfile.TemporaryDirectory(prefix="icpflow-demo-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        upgrade(url)
        settings = Settings(database_url=url, var_dir=Path(tmp))
        engine = create_db_engine(url)
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        clock = FrozenClock(start)
        set_clock(clock)
        try:
            ids = _start_filings(engine, settings)
            _simulate(engine, settings, clock, ids, timedelta(weeks=weeks))
        finally:
            set_clock(None)
            engine.dispose()


def _start_filings(engine: Engine, settings: Settings) -> dict[str, int]:
    ids: dict[str, int] = {}
    with Session(engine, expire_on_commit=False) as session:
        for domain, events in SCRIPTS.items():
            command = FilingCreate.model_validate(
                {
                    "domain": domain,
                    "domain_expires_on": "2030-01-01",
                    "province": "京",
                    "licence": "filing",
                    "applicant": SAMPLE_APPLICANT,
                    "website": {"name": domain, "sector": "general"},
                }
            )
            view = service.create_filing(session, command, actor="demo", settings=settings)
            for event, data in events:
                view = service.fire_event(
                    session,
                    view.id,
                    EventCommand(event=event, data=data),
                    actor="demo",
                    settings=settings,
                )
            ids[domain] = view.id
            console.print(f"[bold]{domain}[/] created as #{view.id}, now [cyan]{view.state}[/]")
    return ids


def _simulate(
    engine: Engine, settings: Settings, clock: FrozenClock, ids: dict[str, int], span: timedelta
) -> None:
    names = {v: k for k, v in ids.items()}
    seen_notifications = seen_history = 0
    start = clock.now()
    end = start + span
    while clock.now() < end:
        clock.advance(timedelta(hours=1))
        now = clock.now()
        with Session(engine, expire_on_commit=False) as session:
            for domain, day in APPROVE_ON_DAY.items():
                if now - timedelta(hours=1) < start + timedelta(days=day) <= now:
                    service.fire_event(
                        session,
                        ids[domain],
                        EventCommand(
                            event="miit_approve", data={"icp_number": "京ICP备2026000001号-1"}
                        ),
                        actor="demo",
                        settings=settings,
                    )
        fire_due_deadlines(engine, now, settings)
        with Session(engine) as session:
            seen_history = _print_new_history(session, names, now, seen_history)
            seen_notifications = _print_new_notifications(session, names, now, seen_notifications)


def _stamp(now: datetime) -> str:
    return now.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _print_new_history(session: Session, names: dict[int, str], now: datetime, after: int) -> int:
    rows = session.exec(
        select(HistoryEntry).where(col(HistoryEntry.id) > after).order_by(col(HistoryEntry.id))
    )
    for row in rows:
        if row.actor != "demo" or row.event == "miit_approve":
            console.print(
                f"{_stamp(now)}  [bold]{names[row.filing_id]}[/] {row.event}: "
                f"{row.from_state} → [cyan]{row.to_state}[/] (by {row.actor})"
            )
        after = row.id or after
    return after


def _print_new_notifications(
    session: Session, names: dict[int, str], now: datetime, after: int
) -> int:
    rows = session.exec(
        select(Notification).where(col(Notification.id) > after).order_by(col(Notification.id))
    )
    for row in rows:
        colour = (
            "red" if row.kind in {"miit_sla_breach", "sms_expiry", "miit_legal_limit"} else "yellow"
        )
        console.print(
            f"{_stamp(now)}  [bold]{names[row.filing_id]:<20}[/] [{colour}]{row.kind:<17}[/]"
            f" → {row.channel}:{row.recipient}"
        )
        after = row.id or after
    return after
