"""``icpflow demo``: weeks of a host's filing team in seconds.

Runs on a throwaway SQLite database with a simulated clock. The team's orders are declared
once in ``STORIES``: three first filings taking different paths (approved, the SMS missed,
the bureau slow) and, during the first week, one order of each other kind for entities
already on file. Those entities are put on file quietly at the start, as a user would: a
first filing taken to approval through the service. Each story's events fire at their hour,
the deadline sweep runs every simulated hour, and every event, reminder and escalation of
the stories' orders is printed as it happens, with the order's kind and, on approval, the
record number issued or cancelled.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from config.clock import CHINA, FrozenClock, set_clock
from config.settings import Settings
from models import Filing, HistoryEntry, Notification, create_db_engine
from models.migrate import upgrade
from workflow import service
from workflow.domain.commands import EventCommand, OrderCreate
from workflow.domain.definition import DEADLINES_BY_KIND, Event, State
from workflow.domain.guards import required_materials
from workflow.domain.orders import Effect, OrderKind, kind_spec
from workflow.domain.rules import rules_for
from workflow.schemas import FilingOut
from workflow.sweeps import fire_due_deadlines, fire_due_obligations
from workflow.views import entities

ACTOR = "demo"


@dataclass(frozen=True)
class Entity:
    """A customer of the host. Credit codes are Beijing's (110000) and pass GB 32100 and the
    GB 11714 check of the organisation code they embed (computed with ``credit_code`` of
    tests/workflow/test_guards.py); the domain is its website's and names it in the output."""

    name: str
    credit_code: str
    domain: str


def at(day: int, hour: int = 0) -> int:
    """Hours since the demo starts."""
    return day * 24 + hour


@dataclass(frozen=True)
class Story:
    """One order: whose, of which kind, the hour it is opened and the hour of each event the
    team fires on it (the rest, such as an SMS expiring, happens by itself)."""

    entity: Entity
    kind: OrderKind
    opens: int
    steps: tuple[tuple[int, Event], ...]


# Events that take a first filing from a registered domain to approval.
FIRST_FILING_PATH = (
    Event.BIND_SERVICE_NUMBER,
    Event.SUBMIT,
    Event.HOST_APPROVE,
    Event.SMS_SENT,
    Event.VERIFY_SMS,
    Event.MIIT_APPROVE,
)

STORIES: tuple[Story, ...] = (
    Story(
        Entity("Approved On Time Ltd", "91110000MA01DEM15M", "approved-on-time.cn"),
        OrderKind.FIRST_FILING,
        at(0),
        (
            (at(0, 1), Event.BIND_SERVICE_NUMBER),
            (at(0, 2), Event.SUBMIT),
            (at(0, 5), Event.HOST_APPROVE),
            (at(0, 6), Event.SMS_SENT),
            (at(0, 8), Event.VERIFY_SMS),
            (at(12), Event.MIIT_APPROVE),
        ),
    ),
    Story(
        Entity("Missed The SMS Ltd", "91110000MA01DEM23G", "missed-the-sms.cn"),
        OrderKind.FIRST_FILING,
        at(0),
        (
            (at(0, 1), Event.BIND_SERVICE_NUMBER),
            (at(0, 2), Event.SUBMIT),
            (at(0, 6), Event.HOST_APPROVE),
            (at(1, 2), Event.SMS_SENT),
        ),
    ),
    Story(
        Entity("Slow Bureau Ltd", "91110000MA01DEM31B", "slow-bureau.cn"),
        OrderKind.FIRST_FILING,
        at(0),
        (
            (at(0, 1), Event.BIND_SERVICE_NUMBER),
            (at(0, 3), Event.SUBMIT),
            (at(0, 7), Event.HOST_APPROVE),
            (at(0, 8), Event.SMS_SENT),
            (at(1, 1), Event.VERIFY_SMS),
        ),
    ),
    Story(
        Entity("Adds An App Ltd", "91110000MA01DEM4X3", "adds-an-app.cn"),
        OrderKind.NEW_SERVICE,
        at(1, 1),
        (
            (at(1, 2), Event.BIND_SERVICE_NUMBER),
            (at(1, 3), Event.SUBMIT),
            (at(2, 1), Event.HOST_APPROVE),
            (at(2, 4), Event.SMS_SENT),
            (at(3, 1), Event.VERIFY_SMS),
            (at(6, 2), Event.MIIT_APPROVE),
        ),
    ),
    Story(
        Entity("Moves A Site In Ltd", "91110000MA01DEM583", "moves-a-site-in.cn"),
        OrderKind.NEW_ACCESS,
        at(1, 3),
        (
            (at(1, 4), Event.BIND_SERVICE_NUMBER),
            (at(1, 5), Event.SUBMIT),
            (at(2, 2), Event.HOST_APPROVE),
            (at(2, 3), Event.SMS_SENT),
            (at(2, 6), Event.VERIFY_SMS),
            (at(5, 3), Event.MIIT_APPROVE),
        ),
    ),
    Story(
        Entity("Renames Itself Ltd", "91110000MA01DEM66X", "renames-itself.cn"),
        OrderKind.CHANGE,
        at(2, 1),
        (
            (at(2, 2), Event.SUBMIT),
            (at(3, 1), Event.HOST_APPROVE),
            (at(3, 2), Event.SMS_SENT),
            (at(3, 3), Event.VERIFY_SMS),
            (at(6, 5), Event.MIIT_APPROVE),
        ),
    ),
    Story(
        Entity("Leaves This Host Ltd", "91110000MA01DEM74Q", "leaves-this-host.cn"),
        OrderKind.CANCEL_ACCESS,
        at(2, 6),
        (
            (at(2, 7), Event.SUBMIT),
            (at(3, 3), Event.HOST_APPROVE),
            (at(3, 4), Event.FORWARD_TO_MIIT),
            (at(4, 2), Event.MIIT_APPROVE),
        ),
    ),
    Story(
        Entity("Closes A Site Ltd", "91110000MA01DEM82K", "closes-a-site.cn"),
        OrderKind.CANCEL_SERVICE,
        at(3, 1),
        (
            (at(3, 2), Event.SUBMIT),
            (at(3, 5), Event.HOST_APPROVE),
            (at(4, 1), Event.SMS_SENT),
            (at(4, 3), Event.VERIFY_SMS),
            (at(6, 4), Event.MIIT_APPROVE),
        ),
    ),
    Story(
        Entity("Winds Up Ltd", "91110000MA01DEM90E", "winds-up.cn"),
        OrderKind.CANCEL_ENTITY,
        at(4, 1),
        (
            (at(4, 2), Event.SUBMIT),
            (at(5, 1), Event.HOST_APPROVE),
            (at(5, 2), Event.SMS_SENT),
            (at(5, 4), Event.VERIFY_SMS),
            (at(6, 7), Event.MIIT_APPROVE),
        ),
    ),
)

# What an approval did to the record, told from the order, its entity and its service.
OUTCOMES: dict[Effect, str] = {
    Effect.ISSUE_NUMBERS: "{order} issued",
    Effect.ADD_SERVICE: "{order} issued",
    Effect.ADD_ACCESS: "{service} now served by this host",
    Effect.APPLY_CHANGES: "details changed, {entity} kept",
    Effect.CANCEL_ENTITY: "{entity} and all its services cancelled",
    Effect.CANCEL_SERVICE: "{service} cancelled",
    Effect.REMOVE_ACCESS: "{service} no longer served by this host",
}


@dataclass(frozen=True)
class OnFile:
    """An approved entity and its website, as the quiet set-up left them."""

    entity_id: int
    service_id: int


def run_demo(weeks: int = 7) -> None:
    with tempfile.TemporaryDirectory(prefix="icpflow-demo-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        upgrade(url)
        settings = Settings(database_url=url, var_dir=Path(tmp))
        engine = create_db_engine(url)
        clock = FrozenClock(datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
        set_clock(clock)
        try:
            _Demo(engine, settings, clock).run(timedelta(weeks=weeks))
        finally:
            set_clock(None)
            engine.dispose()


class _Demo:
    """The stories' orders on one database: who each is, and what has been printed."""

    def __init__(self, engine: Engine, settings: Settings, clock: FrozenClock) -> None:
        self.engine, self.settings, self.clock = engine, settings, clock
        self.expires_on = (clock.now() + timedelta(days=3 * 365)).date().isoformat()
        self.orders: dict[int, int] = {}  # story index -> order id
        self.stories: dict[int, Story] = {}  # order id -> story
        self.seen_history = self.seen_notifications = 0
        self.console = Console()

    def run(self, span: timedelta) -> None:
        agenda = _agenda()
        with Session(self.engine, expire_on_commit=False) as session:
            on_file = {
                n: self._put_on_file(session, n)
                for n, story in enumerate(STORIES)
                if story.kind is not OrderKind.FIRST_FILING
            }
            self.seen_history = session.exec(select(func.max(HistoryEntry.id))).one() or 0
            self.seen_notifications = session.exec(select(func.max(Notification.id))).one() or 0
        start = self.clock.now()
        for hour in range(int(span / timedelta(hours=1)) + 1):
            self.clock.set(start + timedelta(hours=hour))
            with Session(self.engine, expire_on_commit=False) as session:
                for n, step in agenda.pop(hour, []):
                    if step is None:
                        self._open(session, n, on_file.get(n))
                    else:
                        self._fire(session, self.orders[n], n, STORIES[n].kind, step)
            fire_due_deadlines(self.engine, self.clock.now(), self.settings)
            fire_due_obligations(self.engine, self.clock.now(), self.settings)  # as the leader
            with Session(self.engine) as session:
                self._print_new_history(session)
                self._print_new_notifications(session)

    # -- orders ---------------------------------------------------------------------------

    def _put_on_file(self, session: Session, n: int) -> OnFile:
        """Story ``n``'s entity with its website approved, nothing printed."""
        order = service.create_order(
            session, self._first_filing(n), actor=ACTOR, settings=self.settings
        )
        for event in FIRST_FILING_PATH:
            order = self._fire(session, order.id, n, OrderKind.FIRST_FILING, event)
        assert order.service_id is not None
        if STORIES[n].kind is OrderKind.CANCEL_SERVICE:
            self._put_second_site_on_file(session, n, order.entity_id)
        return OnFile(order.entity_id, order.service_id)

    def _put_second_site_on_file(self, session: Session, n: int, entity_id: int) -> None:
        """Cancelling an entity's last site is refused (it would leave an empty entity), so
        the entity that cancels one has another, filed as a new service."""
        stem = STORIES[n].entity.domain.removesuffix(".cn")
        site = self._website(n, f"{stem}.com.cn", STORIES[n].entity.name, person=2)
        command = OrderCreate.model_validate(
            {"kind": OrderKind.NEW_SERVICE, "entity_id": entity_id, "service": site}
        )
        order = service.create_order(session, command, actor=ACTOR, settings=self.settings)
        for event in FIRST_FILING_PATH:  # a new service's path is a first filing's
            self._fire(session, order.id, n, OrderKind.NEW_SERVICE, event)

    def _open(self, session: Session, n: int, on_file: OnFile | None) -> None:
        story = STORIES[n]
        command = self._first_filing(n) if on_file is None else self._order_on(n, on_file)
        order = service.create_order(session, command, actor=ACTOR, settings=self.settings)
        self.orders[n], self.stories[order.id] = order.id, story

    def _fire(
        self, session: Session, order_id: int, n: int, kind: OrderKind, event: Event
    ) -> FilingOut:
        command = EventCommand(event=event, data=self._data(session, order_id, n, kind, event))
        return service.fire_event(session, order_id, command, actor=ACTOR, settings=self.settings)

    def _first_filing(self, n: int) -> OrderCreate:
        entity = STORIES[n].entity
        return OrderCreate.model_validate(
            {
                "kind": OrderKind.FIRST_FILING,
                "entity": {
                    "type": "organisation",
                    "name": entity.name,
                    "id_type": "business_licence",
                    "id_number": entity.credit_code,
                    "province": "京",
                    "responsible": {
                        "name": f"Legal rep of {entity.name}",
                        "mobile": _mobile(n, 0),
                        "email": f"filing@{entity.domain}",
                    },
                },
                "service": self._website(n, entity.domain, entity.name, person=1),
            }
        )

    def _order_on(self, n: int, on_file: OnFile) -> OrderCreate:
        story = STORIES[n]
        entity, stem = story.entity, story.entity.domain.removesuffix(".cn")
        bodies: dict[OrderKind, dict[str, object]] = {
            OrderKind.NEW_SERVICE: {
                "service": self._website(n, entity.domain, f"{entity.name} App", person=2)
                | {
                    "kind": "app",
                    "app_identifier": f"cn.{stem.replace('-', '')}.app",
                    "app_platforms": {"android": _app_on_android(n)},
                }
            },
            OrderKind.NEW_ACCESS: {
                "service": self._website(n, f"{stem}.com.cn", entity.name, person=2)
                | {"record_number": f"{_entity_number(n)}-2"}
            },
            OrderKind.CHANGE: {"changes": {"entity_name": f"{entity.name} Group"}},
            OrderKind.CANCEL_ENTITY: {},
            OrderKind.CANCEL_SERVICE: {"service_id": on_file.service_id},
            OrderKind.CANCEL_ACCESS: {"service_id": on_file.service_id},
        }
        return OrderCreate.model_validate(
            {"kind": story.kind, "entity_id": on_file.entity_id} | bodies[story.kind]
        )

    def _website(self, n: int, domain: str, name: str, *, person: int) -> dict[str, object]:
        return {
            "kind": "website",
            "name": name,
            "domain": domain,
            "domain_expires_on": self.expires_on,
            "domain_registrant": STORIES[n].entity.name,
            "domain_real_name_verified": True,
            "responsible": {"name": f"Person {person} of {name}", "mobile": _mobile(n, person)},
        }

    def _data(
        self, session: Session, order_id: int, n: int, kind: OrderKind, event: Event
    ) -> dict[str, object]:
        """The data the team enters with ``event`` on story ``n``'s order of ``kind``."""
        if event is Event.BIND_SERVICE_NUMBER:
            # One number per order: a service number is used once.
            return {"service_number": f"BA2026{order_id:06d}", "server_ip": f"101.200.{n}.10"}
        if event is Event.SUBMIT:
            order = session.get(Filing, order_id)
            assert order is not None
            required = required_materials(
                order.kind,
                order.changes,
                order.applicant_type,
                order.service_kind,
                order.licence,
                order.sector,
                rules_for(self.settings),
            )
            return {"materials": list(required)}
        if event is Event.MIIT_APPROVE and kind is OrderKind.FIRST_FILING:
            return {"icp_number": f"{_entity_number(n)}-1"}
        return {}

    # -- output ---------------------------------------------------------------------------

    def _label(self, order_id: int) -> str:
        story = self.stories[order_id]
        return f"[bold]{story.entity.domain:<20}[/] [magenta]{story.kind:<14}[/]"

    def _print_new_history(self, session: Session) -> None:
        rows = session.exec(
            select(HistoryEntry)
            .where(col(HistoryEntry.id) > self.seen_history)
            .order_by(col(HistoryEntry.id))
        )
        for row in rows:
            self.seen_history = row.id or self.seen_history
            if row.filing_id not in self.stories:
                continue
            move = "opened" if row.from_state is None else f"{row.event}: {row.from_state} →"
            line = f"{_stamp(self.clock.now())}  {self._label(row.filing_id)} {move}"
            line += f" [cyan]{row.to_state}[/] (by {row.actor})"
            if row.to_state == State.APPROVED:
                line += f" — [green]{self._outcome(session, row.filing_id)}[/]"
            self.console.print(line)

    def _outcome(self, session: Session, order_id: int) -> str:
        order = session.get(Filing, order_id)
        assert order is not None
        entity = entities.entity(session, order.entity_id)
        subject = next((s for s in entity.services if s.id == order.service_id), None)
        return OUTCOMES[kind_spec(order.kind).effect].format(
            order=order.icp_number,
            entity=entity.icp_number,
            service=subject.record_number if subject else None,
        )

    def _print_new_notifications(self, session: Session) -> None:
        rows = session.exec(
            select(Notification)
            .where(col(Notification.id) > self.seen_notifications)
            .order_by(col(Notification.id))
        )
        for row in rows:
            self.seen_notifications = row.id or self.seen_notifications
            if row.filing_id not in self.stories:
                continue
            deadline = DEADLINES_BY_KIND.get(row.kind)
            colour = "red" if deadline is not None and deadline.overdue else "yellow"
            self.console.print(
                f"{_stamp(self.clock.now())}  {self._label(row.filing_id)}"
                f" [{colour}]{row.kind:<17}[/] → {row.channel}:{row.recipient}"
            )


def _agenda() -> dict[int, list[tuple[int, Event | None]]]:
    """Hour -> what the team does then, in story order: (story index, event), the event
    ``None`` for opening the story's order."""
    agenda: dict[int, list[tuple[int, Event | None]]] = defaultdict(list)
    for n, story in enumerate(STORIES):
        agenda[story.opens].append((n, None))
        for hour, event in story.steps:
            agenda[hour].append((n, event))
    return agenda


def _app_on_android(n: int) -> dict[str, str]:
    """The n-th story's app on Android: its signing certificate's public key and MD5 (made up,
    of the right form)."""
    key = hashlib.sha512(f"story {n} key".encode()).hexdigest().upper()
    return {
        "public_key": key,
        "fingerprint": hashlib.md5(f"story {n}".encode()).hexdigest().upper(),
    }


def _mobile(n: int, person: int) -> str:
    """Story ``n``'s entity's person ``person`` (0 the entity's, then its services'): every
    listed person needs their own mobile, and no mobile is shared between entities."""
    return f"13{person + 7}0000{n:04d}"


def _entity_number(n: int) -> str:
    return f"京ICP备2026{n:04d}号"


def _stamp(now: datetime) -> str:
    return now.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
