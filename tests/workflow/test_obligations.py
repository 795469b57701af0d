"""A record's life after approval: the PSB filing, expiry reminders, leaving the host and
rectification notices, as obligations of the approved service."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col, select, update

from config.clock import CHINA, FrozenClock, as_utc, get_clock
from config.settings import Settings, get_settings
from models import Entity, Notification, Obligation, Service
from tests.databases import POSTGRES_ONLY, second_of_two_at_once, wait_for_a_lock_wait
from tests.factories import ENTITY_NUMBER, ORDER_PATHS, first_filing_order, order_on, service_in
from workflow import obligations, service
from workflow.domain.commands import EventCommand
from workflow.domain.errors import GuardFailed, NotFound
from workflow.domain.errors import ValidationError as DomainValidationError
from workflow.domain.obligations import (
    ExtensionIn,
    GoLive,
    LeftHost,
    ObligationKind,
    PsbNumberIn,
    RectificationIn,
    Renewal,
    ServerRenewal,
)
from workflow.obligations import reading
from workflow.records import service_named
from workflow.schemas import FilingOut
from workflow.sweeps import fire_due_deadlines, fire_due_obligations
from workflow.views import describing

if TYPE_CHECKING:
    from tests.conftest import Open
    from tests.databases import Database

PSB = "京公网安备11010502030143号"


def _site(order: FilingOut) -> int:
    assert order.service_id is not None
    return order.service_id


def _named(session: Session, service_id: int) -> str:
    """The service as refusals name it (``records.service_named``), not as ``service 12``."""
    row = session.get(Service, service_id)
    assert row is not None
    return service_named(row)


def _notices(session: Session, kind: str) -> list[Notification]:
    query = select(Notification).where(Notification.kind == kind).order_by(col(Notification.id))
    found = list(session.exec(query).all())
    session.commit()  # end the read: SQLite's sweeps write from their own connections
    return found


def _late(
    session: Session, settings: Settings, clock: FrozenClock
) -> list[obligations.ObligationOut]:
    """What ops see overdue now (one page holds them all here)."""
    return obligations.overdue(session, clock.now(), settings, limit=100).items


def _sweep(session: Session, clock: FrozenClock, settings: Settings) -> int:
    engine = session.get_bind()
    return fire_due_obligations(engine, clock.now(), settings)  # type: ignore[arg-type]


def _approved(session: Session, order: FilingOut) -> FilingOut:
    for event, data in ORDER_PATHS[order.kind]:
        order = service.fire_event(
            session, order.id, EventCommand(event=event, data=data), actor="t"
        )
    return order


def _live(session: Session, order: FilingOut, settings: Settings, clock: FrozenClock) -> None:
    today = clock.now().date()
    obligations.go_live(session, _site(order), GoLive(live_on=today), settings, actor="alice")


def test_an_approved_filing_is_not_overdue_a_month_later_without_a_go_live(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    clock.advance(timedelta(days=31))
    fire_due_deadlines(session.get_bind(), clock.now(), settings)  # type: ignore[arg-type]
    assert not describing.filing(session, on_file.id, clock.now(), get_settings()).overdue
    assert _late(session, settings, clock) == []


def test_a_site_live_without_its_psb_number_is_overdue_after_30_days_and_told_once(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _live(session, on_file, settings, clock)
    clock.advance(timedelta(days=31))
    _sweep(session, clock, settings)
    _sweep(session, clock, settings)
    late = _late(session, settings, clock)
    assert [(o.service_id, o.kind) for o in late] == [(_site(on_file), "psb_filing")]
    assert len(_notices(session, "obligation_psb_filing")) == 1  # one route: the team's log


def _psb_filing_told_overdue(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> Notification:
    """Live on 2026-03-02, its PSB filing due by the end of 2026-04-01, told the next morning."""
    obligations.go_live(
        session, _site(on_file), GoLive(live_on=date(2026, 3, 2)), settings, actor="alice"
    )
    clock.set(datetime.fromisoformat("2026-04-02T09:00+08:00"))
    _sweep(session, clock, settings)
    [told] = _notices(session, "obligation_psb_filing")
    return told


def test_an_overdue_psb_filing_is_told_due_by_the_end_of_its_last_day(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    """Not "2026-04-02 00:00", a day its reader would miss."""
    told = _psb_filing_told_overdue(session, on_file, clock, settings)

    assert "到期 Due: 2026-04-01 24:00 北京时间" in told.body


def test_a_duty_notice_names_its_service_by_kind_name_and_number(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    """An app and the site on its domain share the domain: the number tells their duties apart."""
    told = _psb_filing_told_overdue(session, on_file, clock, settings)

    assert told.subject.endswith(f"— Website 网站 Example (example.cn) {ENTITY_NUMBER}-1")
    assert f"服务 Service: Website 网站 Example (example.cn) {ENTITY_NUMBER}-1" in told.body


def test_a_duty_moved_later_after_the_sweep_listed_it_is_not_fired(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    """A corrected go-live, or a recount, moved it between the sweep's list and its claim."""
    _live(session, on_file, settings, clock)
    [psb] = _open(session, on_file, "psb_filing")
    assert psb.id is not None

    assert not obligations.fire(session, psb.id, clock.now(), settings)  # due in 30 days
    session.refresh(psb)
    assert psb.status == "pending" and psb.fired_at is None


def test_psb_reminders_come_7_and_2_days_before_the_psb_filing_is_due(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _live(session, on_file, settings, clock)  # due by the end of 2026-04-01, Beijing
    told = []
    for day in ("2026-03-25", "2026-03-26", "2026-03-30", "2026-03-31"):
        clock.set(datetime.fromisoformat(f"{day}T09:00+08:00").astimezone(UTC))
        _sweep(session, clock, settings)
        told.append(len(_notices(session, "obligation_psb_filing_reminder")))
    assert told == [1, 1, 2, 2]
    assert {n.recipient for n in _notices(session, "obligation_psb_filing_reminder")} == {
        "case-managers"
    }
    assert _late(session, settings, clock) == []


def test_psb_reminders_fall_at_9_in_beijing_and_name_the_day_the_filing_is_due(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    duties = obligations.go_live(
        session, _site(on_file), GoLive(live_on=date(2026, 3, 2)), settings, actor="alice"
    )
    reminders = [(o.due_at, o.data) for o in duties.obligations if o.kind == "psb_filing_reminder"]
    assert reminders == [
        (
            datetime.fromisoformat("2026-03-25T09:00+08:00"),
            {"due_on": "2026-04-01", "days_before": 7, "psb_filing_days": 30},
        ),
        (
            datetime.fromisoformat("2026-03-30T09:00+08:00"),
            {"due_on": "2026-04-01", "days_before": 2, "psb_filing_days": 30},
        ),
    ]


def test_a_psb_reminder_gives_the_day_the_filing_is_due_not_its_own_time(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    obligations.go_live(
        session, _site(on_file), GoLive(live_on=date(2026, 3, 2)), settings, actor="alice"
    )
    clock.set(datetime.fromisoformat("2026-03-25T09:01+08:00"))
    _sweep(session, clock, settings)
    [body] = {n.body for n in _notices(session, "obligation_psb_filing_reminder")}
    assert "到期 Due: 2026-04-01" in body
    assert "2026-03-25" not in body and "days_before" not in body


def test_a_sweep_back_between_two_psb_reminders_sends_only_the_later(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _live(session, on_file, settings, clock)
    clock.set(datetime.fromisoformat("2026-03-31T09:00+08:00").astimezone(UTC))
    _sweep(session, clock, settings)
    [told] = _notices(session, "obligation_psb_filing_reminder")
    assert ":2026-03-30T01:00:00+00:00:" in told.idempotency_key  # two days before, at 9:00


def test_a_sweep_back_after_the_psb_due_day_tells_it_overdue_not_due_soon(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _live(session, on_file, settings, clock)
    clock.advance(timedelta(days=31))
    _sweep(session, clock, settings)
    assert len(_notices(session, "obligation_psb_filing")) == 1
    assert _notices(session, "obligation_psb_filing_reminder") == []


def _open(session: Session, on_file: FilingOut, kind: str) -> list[Obligation]:
    rows = session.exec(
        select(Obligation).where(
            Obligation.service_id == _site(on_file),
            Obligation.kind == kind,
            col(Obligation.closed_at).is_(None),
        )
    ).all()
    session.commit()  # end the read: SQLite's sweeps write from their own connections
    return list(rows)


def _open_psb_filing_due(session: Session, on_file: FilingOut) -> list[str]:
    rows = _open(session, on_file, "psb_filing")
    return [as_utc(row.due_at).astimezone(CHINA).isoformat() for row in rows]


def test_a_go_live_naming_no_home_page_is_audited_with_the_page_checked(
    session: Session, on_file: FilingOut, settings: Settings
) -> None:
    live = GoLive(live_on=date(2026, 3, 2))

    obligations.go_live(session, _site(on_file), live, settings, actor="alice")

    [audited] = obligations.audit_trail(session, _site(on_file), limit=10).items
    assert audited.data["home_url"] == "https://example.cn/"


def test_a_go_live_corrected_naming_no_home_page_is_audited_with_the_page_on_file(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    clock.advance(timedelta(days=4))  # Friday 6 March
    site = _site(on_file)
    obligations.go_live(session, site, GoLive(live_on=date(2026, 3, 6)), settings, actor="alice")
    fixed = GoLive(live_on=date(2026, 3, 3), replaces=date(2026, 3, 6))

    obligations.go_live(session, site, fixed, settings, actor="alice")

    corrected, _ = obligations.audit_trail(session, site, limit=10).items
    assert corrected.data["home_url"] == "https://example.cn/"


def test_a_go_live_day_corrected_naming_the_one_on_file_moves_the_psb_filing_due(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    clock.advance(timedelta(days=5))
    mistyped, corrected = date(2026, 3, 6), date(2026, 3, 3)
    obligations.go_live(session, _site(on_file), GoLive(live_on=mistyped), settings, actor="alice")
    fixed = GoLive(live_on=corrected, replaces=mistyped)
    duties = obligations.go_live(session, _site(on_file), fixed, settings, actor="alice")
    assert duties.live_on == corrected
    assert _open_psb_filing_due(session, on_file) == ["2026-04-03T00:00:00+08:00"]
    reminders = _open(session, on_file, "psb_filing_reminder")
    assert {r.data["due_on"] for r in reminders} == {"2026-04-02"} and len(reminders) == 2
    assert len(_open(session, on_file, "footer_check")) == 1


def _replaced_by_the_last_record(session: Session, on_file: FilingOut) -> object:
    """What the service's latest audit row says its write replaced."""
    latest = obligations.audit_trail(session, _site(on_file), limit=1).items[0]
    return latest.replaced


def test_the_go_live_day_a_correction_replaced_is_kept_once_by_its_audit_not_the_psb_row(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    clock.advance(timedelta(days=5))
    mistyped, corrected = date(2026, 3, 6), date(2026, 3, 3)
    obligations.go_live(session, _site(on_file), GoLive(live_on=mistyped), settings, actor="alice")

    fixed = GoLive(live_on=corrected, replaces=mistyped)
    obligations.go_live(session, _site(on_file), fixed, settings, actor="alice")

    [psb] = _open(session, on_file, "psb_filing")
    replaced = _replaced_by_the_last_record(session, on_file)
    assert isinstance(replaced, dict) and replaced["live_on"] == "2026-03-06"
    assert "replaced_live_on" not in psb.data


def _psb_days_become(monkeypatch: pytest.MonkeyPatch, days: int) -> Settings:
    monkeypatch.setenv("PSB_FILING_DAYS", str(days))
    get_settings.cache_clear()
    return get_settings()


def test_a_psb_filing_opened_before_its_setting_changed_says_the_days_it_was_opened_with(
    monkeypatch: pytest.MonkeyPatch,
    session: Session,
    on_file: FilingOut,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    _live(session, on_file, settings, clock)  # due within the default 30 days
    later = _psb_days_become(monkeypatch, 45)

    shown = obligations.duties(session, _site(on_file), clock.now(), later).obligations
    session.commit()  # end the read: SQLite's sweeps write from their own connections

    told = {o.kind: o.description for o in shown}
    assert "within 30 days" in told[ObligationKind.PSB_FILING]
    assert "30 days after" in told[ObligationKind.PSB_FILING_REMINDER]
    clock.advance(timedelta(days=31))
    _sweep(session, clock, later)
    [notice] = _notices(session, "obligation_psb_filing")
    assert "30日内" in notice.subject and "within 30 days" in notice.body


def test_a_go_live_corrected_after_the_psb_days_changed_counts_the_days_it_was_opened_with(
    monkeypatch: pytest.MonkeyPatch,
    session: Session,
    on_file: FilingOut,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    clock.advance(timedelta(days=5))
    obligations.go_live(
        session, _site(on_file), GoLive(live_on=date(2026, 3, 6)), settings, actor="alice"
    )
    later = _psb_days_become(monkeypatch, 45)

    fixed = GoLive(live_on=date(2026, 3, 3), replaces=date(2026, 3, 6))
    obligations.go_live(session, _site(on_file), fixed, later, actor="alice")

    assert _open_psb_filing_due(session, on_file) == ["2026-04-03T00:00:00+08:00"]


def test_a_psb_filing_told_overdue_is_not_told_again_when_the_go_live_is_corrected(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    clock.advance(timedelta(days=5))
    obligations.go_live(
        session, _site(on_file), GoLive(live_on=date(2026, 3, 6)), settings, actor="alice"
    )
    clock.advance(timedelta(days=40))
    _sweep(session, clock, settings)
    fixed = GoLive(live_on=date(2026, 3, 3), replaces=date(2026, 3, 6))
    obligations.go_live(session, _site(on_file), fixed, settings, actor="alice")
    _sweep(session, clock, settings)
    assert len(_notices(session, "obligation_psb_filing")) == 1
    assert [o.kind for o in _late(session, settings, clock)] == ["psb_filing"]


def test_a_corrected_home_page_is_checked_at_once_and_alone(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    live = date(2026, 3, 2)
    obligations.go_live(session, _site(on_file), GoLive(live_on=live), settings, actor="alice")
    clock.advance(timedelta(days=1))
    fixed = GoLive(live_on=live, replaces=live, home_url="https://example.cn/home")
    assert (
        obligations.go_live(session, _site(on_file), fixed, settings, actor="alice").home_url
        == fixed.home_url
    )
    [check] = _open(session, on_file, "footer_check")
    assert as_utc(check.due_at) == clock.now()


def test_a_second_go_live_not_naming_the_day_on_file_is_refused(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    obligations.go_live(
        session, _site(on_file), GoLive(live_on=date(2026, 3, 2)), settings, actor="alice"
    )
    with pytest.raises(GuardFailed) as refused:
        obligations.go_live(
            session, _site(on_file), GoLive(live_on=date(2026, 3, 1)), settings, actor="alice"
        )
    assert [(r.code, r.field, r.details) for r in refused.value.reasons] == [
        ("already_live", "replaces", {"live_on": "2026-03-02"})
    ]
    message = refused.value.reasons[0].message
    assert message.startswith(f"{_named(session, _site(on_file))} went live on 2026-03-02;")


def test_a_go_live_corrected_after_the_psb_filing_was_made_owes_no_new_one(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    clock.advance(timedelta(days=5))
    obligations.go_live(
        session, _site(on_file), GoLive(live_on=date(2026, 3, 6)), settings, actor="alice"
    )
    obligations.psb_number(
        session, _site(on_file), PsbNumberIn(psb_number=PSB), settings, actor="alice"
    )
    fixed = GoLive(live_on=date(2026, 3, 3), replaces=date(2026, 3, 6))
    assert obligations.go_live(
        session, _site(on_file), fixed, settings, actor="alice"
    ).live_on == date(2026, 3, 3)
    assert _open_psb_filing_due(session, on_file) == []


def test_a_go_live_recorded_late_skips_the_psb_reminders_already_past(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    clock.advance(timedelta(days=26))
    live_on = date(2026, 3, 2)
    duties = obligations.go_live(
        session, _site(on_file), GoLive(live_on=live_on), settings, actor="alice"
    )
    reminders = [o.data for o in duties.obligations if o.kind == "psb_filing_reminder"]
    assert reminders == [{"due_on": "2026-04-01", "days_before": 2, "psb_filing_days": 30}]


def test_a_psb_reminder_on_or_after_its_due_day_is_a_bad_setting() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(psb_reminder_days=[7, 0])
    [error] = refused.value.errors()
    assert error["loc"] == ("psb_reminder_days", 1)


def test_recording_the_psb_number_ends_its_reminders(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _live(session, on_file, settings, clock)
    obligations.psb_number(
        session, _site(on_file), PsbNumberIn(psb_number=PSB), settings, actor="alice"
    )
    clock.advance(timedelta(days=29))
    _sweep(session, clock, settings)
    assert _notices(session, "obligation_psb_filing_reminder") == []


def test_recording_the_psb_number_closes_the_psb_filing(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _live(session, on_file, settings, clock)
    duties = obligations.psb_number(
        session, _site(on_file), PsbNumberIn(psb_number=PSB), settings, actor="alice"
    )
    psb = next(o for o in duties.obligations if o.kind == "psb_filing")
    assert (duties.psb_number, psb.status, psb.closed_at) == (PSB, "disarmed", clock.now())
    clock.advance(timedelta(days=31))
    _sweep(session, clock, settings)
    assert _late(session, settings, clock) == []
    assert _notices(session, "obligation_psb_filing") == []


def test_a_duty_notice_after_a_change_goes_to_the_routes_of_the_order_that_filed_the_site(
    session: Session, open_order: Open, clock: FrozenClock, settings: Settings
) -> None:
    """The change order names no routes of its own: the customer's are the filing's."""
    customer = {"channel": "log", "recipient": "customer-beta"}
    filed = _approved(session, open_order(**first_filing_order(notify=[customer])))
    change = {"kind": "change", "entity_id": filed.entity_id, "service_id": _site(filed)}
    _approved(session, open_order(**change, changes={"service_name": "Renamed"}))
    _live(session, filed, settings, clock)
    clock.advance(timedelta(days=31))
    _sweep(session, clock, settings)

    told = _notices(session, "obligation_psb_filing")

    assert {(n.filing_id, n.recipient) for n in told} >= {(filed.id, "customer-beta")}


def _second_site(session: Session, open_order: Open, on_file: FilingOut) -> int:
    """The entity's app, approved beside its site."""
    app = _approved(session, open_order(**order_on("new_service", on_file.entity_id, 0)))
    assert app.service_id is not None
    return app.service_id


def test_lists_of_duties_name_a_site_by_its_domain_and_an_app_by_its_identifier(
    session: Session, on_file: FilingOut, open_order: Open
) -> None:
    """The app uses the site's domain: by it, the two rows would read alike."""
    app = _second_site(session, open_order, on_file)

    named = obligations.services_named(session, {_site(on_file), app})

    assert named == {_site(on_file): "example.cn", app: "app cn.example.app"}


def test_a_psb_number_another_site_keeps_is_refused(
    session: Session, on_file: FilingOut, open_order: Open, settings: Settings
) -> None:
    other = _second_site(session, open_order, on_file)
    obligations.psb_number(
        session, _site(on_file), PsbNumberIn(psb_number=PSB), settings, actor="alice"
    )
    with pytest.raises(GuardFailed) as refused:
        obligations.psb_number(session, other, PsbNumberIn(psb_number=PSB), settings, actor="alice")
    assert [(r.code, r.details) for r in refused.value.reasons] == [
        ("psb_number_of_another_service", {"service_id": _site(on_file)})
    ]
    assert refused.value.reasons[0].message == (
        f"{PSB} is the PSB number of {_named(session, _site(on_file))}: each site has its own"
    )


def test_a_site_back_through_a_new_access_takes_the_psb_number_it_had_before_it_left(
    session: Session, on_file: FilingOut, open_order: Open, settings: Settings
) -> None:
    """Its PSB filing is the site's, not the host's: the service whose access was removed
    keeps it no more, as it keeps its record number no more."""
    _second_site(session, open_order, on_file)  # the entity keeps a service here meanwhile
    obligations.psb_number(
        session, _site(on_file), PsbNumberIn(psb_number=PSB), settings, actor="alice"
    )
    _approved(session, open_order(**order_on("cancel_access", on_file.entity_id, _site(on_file))))
    back = service_in(record_number=f"{ENTITY_NUMBER}-1")
    again = _approved(
        session, open_order(kind="new_access", entity_id=on_file.entity_id, service=back)
    )

    shown = obligations.psb_number(
        session, _site(again), PsbNumberIn(psb_number=PSB), settings, actor="alice"
    )

    assert shown.psb_number == PSB


def test_a_site_whose_access_was_removed_keeps_its_psb_number_from_another_site(
    session: Session, on_file: FilingOut, open_order: Open, settings: Settings
) -> None:
    """It is still on record, through another host."""
    other = _second_site(session, open_order, on_file)
    obligations.psb_number(
        session, _site(on_file), PsbNumberIn(psb_number=PSB), settings, actor="alice"
    )
    _approved(session, open_order(**order_on("cancel_access", on_file.entity_id, _site(on_file))))

    with pytest.raises(GuardFailed) as refused:
        obligations.psb_number(session, other, PsbNumberIn(psb_number=PSB), settings, actor="alice")

    assert [r.code for r in refused.value.reasons] == ["psb_number_of_another_service"]


def test_a_psb_number_is_told_apart_by_its_digits_not_the_way_its_province_is_written(
    session: Session, on_file: FilingOut, open_order: Open, settings: Settings
) -> None:
    """蜀 and 川, 黔 and 贵 write one province: the same digits under either are one number."""
    other = session.get_one(Service, _second_site(session, open_order, on_file))
    other.psb_number = "蜀公网安备11010502030143号"
    session.add(other)
    session.commit()
    with pytest.raises(GuardFailed) as refused:
        obligations.psb_number(
            session, _site(on_file), PsbNumberIn(psb_number=PSB), settings, actor="alice"
        )
    assert [r.code for r in refused.value.reasons] == ["psb_number_of_another_service"]


@POSTGRES_ONLY
def test_one_psb_number_recorded_for_two_sites_at_once_is_kept_by_one(
    db: Database, session: Session, on_file: FilingOut, open_order: Open, settings: Settings
) -> None:
    """The second waits for the first's turn on the number, then finds it taken."""
    other = _second_site(session, open_order, on_file)
    number = PsbNumberIn(psb_number=PSB)
    refused = second_of_two_at_once(
        db,
        lambda own: obligations.psb_number(own, _site(on_file), number, settings, actor="alice"),
        lambda own: obligations.psb_number(own, other, number, settings, actor="alice"),
    )
    assert isinstance(refused, GuardFailed)
    assert [r.code for r in refused.reasons] == ["psb_number_of_another_service"]


CORRECTED = "京公网安备11010502030144号"


def _psb(
    session: Session, on_file: FilingOut, settings: Settings, **given: str
) -> obligations.ServiceDutiesOut:
    return obligations.psb_number(
        session, _site(on_file), PsbNumberIn(**given), settings, actor="alice"
    )


def test_a_second_psb_number_is_refused_naming_the_one_on_file(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _live(session, on_file, settings, clock)
    _psb(session, on_file, settings, psb_number=PSB)
    with pytest.raises(GuardFailed) as refused:
        _psb(session, on_file, settings, psb_number=CORRECTED)
    [reason] = refused.value.reasons
    assert (reason.code, reason.field, reason.details) == (
        "psb_number_on_file",
        "replaces",
        {"psb_number": PSB},
    )
    assert reason.message.startswith(f"{_named(session, _site(on_file))} has PSB number {PSB!r}")
    assert obligations.duties(session, _site(on_file), clock.now(), settings).psb_number == PSB


def test_the_same_psb_number_again_changes_nothing(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _live(session, on_file, settings, clock)
    first = _psb(session, on_file, settings, psb_number=PSB)
    assert _psb(session, on_file, settings, psb_number=PSB) == first


def test_a_psb_number_on_file_again_with_its_province_written_otherwise_changes_nothing(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    entity = session.get_one(Entity, on_file.entity_id)
    entity.province = "川"
    session.add(entity)
    session.commit()
    _live(session, on_file, settings, clock)
    first = _psb(session, on_file, settings, psb_number="蜀公网安备51010702001234号")

    again = _psb(session, on_file, settings, psb_number="川公网安备51010702001234号")

    assert again == first


def test_the_digits_on_file_after_another_provinces_prefix_are_refused_not_taken_as_them(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _live(session, on_file, settings, clock)
    _psb(session, on_file, settings, psb_number=PSB)

    with pytest.raises(GuardFailed) as refused:
        _psb(session, on_file, settings, psb_number=PSB.replace("京", "沪"))

    assert [r.code for r in refused.value.reasons] == [
        "psb_number_region_mismatch",  # 沪 before Beijing's digits
        "psb_number_province_mismatch",
    ]


def test_a_correction_naming_the_digits_on_file_under_another_province_is_refused(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _live(session, on_file, settings, clock)
    _psb(session, on_file, settings, psb_number=PSB)

    with pytest.raises(GuardFailed) as refused:
        _psb(session, on_file, settings, psb_number=CORRECTED, replaces=PSB.replace("京", "沪"))

    assert [r.code for r in refused.value.reasons] == ["psb_number_on_file"]


def test_a_psb_number_naming_the_one_it_replaces_corrects_it_on_the_service_and_filing_row(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _live(session, on_file, settings, clock)
    _psb(session, on_file, settings, psb_number=PSB)

    duties = _psb(session, on_file, settings, psb_number=CORRECTED, replaces=PSB)

    psb = next(o for o in duties.obligations if o.kind == "psb_filing")
    assert (duties.psb_number, psb.data["psb_number"]) == (CORRECTED, CORRECTED)


def test_the_psb_number_a_correction_replaced_is_kept_once_by_its_audit_not_the_filing_row(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _live(session, on_file, settings, clock)
    _psb(session, on_file, settings, psb_number=PSB)

    duties = _psb(session, on_file, settings, psb_number=CORRECTED, replaces=PSB)

    psb = next(o for o in duties.obligations if o.kind == "psb_filing")
    assert duties.recorded[0].replaced == {"psb_number": PSB}
    assert "replaced" not in psb.data


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("京公网安备1101050203014号", "invalid_psb_number"),  # 13 digits
        ("京ICP备2026000123号", "invalid_psb_number"),
        ("沪公网安备31010502030143号", "psb_number_province_mismatch"),
    ],
)
def test_a_bad_psb_number_is_refused_with_the_rule_and_its_source(
    session: Session,
    on_file: FilingOut,
    clock: FrozenClock,
    settings: Settings,
    number: str,
    code: str,
) -> None:
    with pytest.raises(GuardFailed) as refused:
        obligations.psb_number(
            session, _site(on_file), PsbNumberIn(psb_number=number), settings, actor="alice"
        )
    [reason] = refused.value.reasons
    assert (reason.code, reason.rule) == (code, "psb_number")
    assert reason.source is not None and "pingan" in reason.source


def test_a_psb_number_whose_region_digits_lie_in_another_province_is_refused_unrecorded(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    """京 leads it but 310105 is Shanghai's: one of the two is mistyped."""
    _live(session, on_file, settings, clock)
    with pytest.raises(GuardFailed) as refused:
        _psb(session, on_file, settings, psb_number="京公网安备31010502030143号")
    [reason] = refused.value.reasons
    assert (reason.code, reason.field, reason.rule, reason.details) == (
        "psb_number_region_mismatch",
        "psb_number",
        "psb_number_region",
        {"region": "310105", "expected_prefix": "11", "found": "京"},
    )
    assert "lie in Shanghai (沪), but it reads 京 (Beijing)" in reason.message
    assert "a 京 number's digits begin 11" in reason.message
    assert reason.source is not None and "GB/T 2260" in reason.source
    duties = obligations.duties(session, _site(on_file), clock.now(), settings)
    assert duties.psb_number is None
    [psb] = [o for o in duties.obligations if o.kind == ObligationKind.PSB_FILING]
    assert psb.closed_at is None


@pytest.mark.parametrize("digits", ["99010502030143", "10000002030143"], ids=["none", "national"])
def test_a_psb_number_whose_region_digits_name_no_province_is_refused(
    session: Session, on_file: FilingOut, settings: Settings, digits: str
) -> None:
    """Local bureaus issue PSB numbers: the whole country's code (100000) is no bureau's."""
    with pytest.raises(GuardFailed) as refused:
        _psb(session, on_file, settings, psb_number=f"京公网安备{digits}号")
    assert [(r.code, r.field) for r in refused.value.reasons] == [
        ("psb_number_unknown_region", "psb_number")
    ]


@pytest.mark.parametrize(
    "number",
    ["A公网安备11010502030143号", "1公网安备11010502030143号", "中公网安备11010502030143号"],
)
def test_a_psb_number_led_by_no_province_is_called_malformed_not_another_provinces(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings, number: str
) -> None:
    """Told "issued in A, the service is filed in 京", someone would look for a province A."""
    with pytest.raises(GuardFailed) as refused:
        obligations.psb_number(
            session, _site(on_file), PsbNumberIn(psb_number=number), settings, actor="alice"
        )
    assert [(r.code, r.field) for r in refused.value.reasons] == [
        ("invalid_psb_number", "psb_number")
    ]


def test_a_service_without_an_approved_record_records_nothing(
    session: Session, open_order: Open, clock: FrozenClock, settings: Settings
) -> None:
    order = open_order(**first_filing_order())
    with pytest.raises(GuardFailed) as refused:
        obligations.go_live(
            session, _site(order), GoLive(live_on=date(2026, 3, 2)), settings, actor="alice"
        )
    assert [r.code for r in refused.value.reasons] == ["not_on_record"]
    named = _named(session, _site(order))
    assert refused.value.reasons[0].message.startswith(f"{named} has no approved record")
    assert session.exec(select(Obligation)).all() == []
    site = session.get(Service, _site(order))
    assert site is not None and site.live_on is None


@pytest.fixture
def expiring(session: Session, open_order: Open) -> FilingOut:
    """An approved site whose domain expires on 2026-06-30 (the clock is at 2026-03-02)."""
    order = open_order(**first_filing_order(service=service_in(domain_expires_on="2026-06-30")))
    for event, data in ORDER_PATHS["first_filing"]:
        order = service.fire_event(
            session, order.id, EventCommand(event=event, data=data), actor="t"
        )
    return order


def test_expiry_reminders_come_60_30_and_7_days_before_the_domain_expires(
    session: Session, expiring: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    told = []
    for day in ("2026-04-30", "2026-05-01", "2026-05-31", "2026-06-23"):
        clock.set(clock.now().replace(month=int(day[5:7]), day=int(day[8:])) + timedelta(hours=2))
        _sweep(session, clock, settings)
        told.append(len(_notices(session, "obligation_domain_expiry")))
    assert told == [0, 1, 2, 3]


def test_a_renewal_ends_the_reminders_for_the_old_date_and_sets_them_for_the_new(
    session: Session, expiring: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    renewed = Renewal(expires_on=date(2027, 6, 30))
    duties = obligations.renewal(session, _site(expiring), renewed, settings, actor="alice")
    due = sorted(
        o.due_at.date()
        for o in duties.obligations
        if o.closed_at is None and o.kind == "domain_expiry"
    )
    assert due == [date(2027, 5, 1), date(2027, 5, 31), date(2027, 6, 23)]
    clock.advance(timedelta(days=120))
    _sweep(session, clock, settings)
    assert _notices(session, "obligation_domain_expiry") == []
    assert _notices(session, "obligation_domain_expired") == []


def test_a_renewal_is_shown_on_the_services_orders(
    session: Session, expiring: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    obligations.renewal(
        session, _site(expiring), Renewal(expires_on=date(2027, 6, 30)), settings, actor="alice"
    )

    assert describing.filing(
        session, expiring.id, clock.now(), get_settings()
    ).domain_expires_on == date(2027, 6, 30)


def test_a_sweep_back_after_the_domain_expired_escalates_without_the_reminders(
    session: Session, expiring: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    clock.set(datetime(2026, 7, 2, tzinfo=UTC))
    _sweep(session, clock, settings)
    assert len(_notices(session, "obligation_domain_expired")) == 1
    assert _notices(session, "obligation_domain_expiry") == []


def test_a_domain_expired_without_a_renewal_is_escalated_to_ops_and_overdue(
    session: Session, expiring: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    clock.set(datetime(2026, 6, 30, 15, 59, tzinfo=UTC))  # 23:59 in Beijing, its last day
    _sweep(session, clock, settings)
    assert _notices(session, "obligation_domain_expired") == []
    clock.advance(timedelta(minutes=2))
    _sweep(session, clock, settings)
    [told] = _notices(session, "obligation_domain_expired")
    assert told.recipient == "ops"
    late = _late(session, settings, clock)
    assert [(o.service_id, o.kind) for o in late] == [(_site(expiring), "domain_expired")]


def _server_expires(session: Session, on_file: FilingOut, settings: Settings, day: date) -> None:
    obligations.server_renewal(
        session, _site(on_file), ServerRenewal(expires_on=day), settings, actor="alice"
    )


def test_a_server_expiry_recorded_is_reminded_30_and_7_days_before_at_9_in_beijing(
    session: Session, on_file: FilingOut, settings: Settings
) -> None:
    _server_expires(session, on_file, settings, date(2026, 9, 30))

    reminders = [
        (as_utc(o.due_at), o.data["days_before"]) for o in _open(session, on_file, "server_expiry")
    ]

    assert sorted(reminders) == [
        (datetime.fromisoformat("2026-08-31T09:00+08:00"), 30),
        (datetime.fromisoformat("2026-09-23T09:00+08:00"), 7),
    ]


def test_a_server_expired_without_a_renewal_is_escalated_to_ops_and_overdue(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _server_expires(session, on_file, settings, date(2026, 4, 30))
    clock.set(datetime(2026, 4, 30, 16, 1, tzinfo=UTC))  # 00:01 in Beijing, the day after

    _sweep(session, clock, settings)

    [told] = _notices(session, "obligation_server_expired")
    assert told.recipient == "ops" and "2026-04-30" in told.body
    assert [o.kind for o in _late(session, settings, clock)] == ["server_expired"]


def _server_expiry_corrected_once_told(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    """The server expired on 30 April, ops told on 2 May; the day then corrected to 29 April."""
    _server_expires(session, on_file, settings, date(2026, 4, 30))
    clock.set(datetime(2026, 5, 2, 2, 0, tzinfo=UTC))
    _sweep(session, clock, settings)
    fix = ServerRenewal(expires_on=date(2026, 4, 29), replaces=date(2026, 4, 30))
    obligations.server_renewal(session, _site(on_file), fix, settings, actor="alice")


def test_an_expiry_told_to_ops_corrected_to_another_past_day_is_not_told_again(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    """Overdue still, on the corrected day: ops have been told of it once."""
    _server_expiry_corrected_once_told(session, on_file, clock, settings)
    _sweep(session, clock, settings)

    assert len(_notices(session, "obligation_server_expired")) == 1
    [late] = _late(session, settings, clock)
    assert (late.kind, late.data["expires_on"]) == ("server_expired", "2026-04-29")


def test_the_expiry_a_correction_replaced_is_kept_once_by_its_audit_not_the_escalation_row(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _server_expiry_corrected_once_told(session, on_file, clock, settings)

    [late] = _late(session, settings, clock)
    assert _replaced_by_the_last_record(session, on_file) == {"server_expires_on": "2026-04-30"}
    assert "replaced_expires_on" not in late.data


def test_a_server_renewed_moves_its_reminders_and_escalation_to_the_new_day(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _server_expires(session, on_file, settings, date(2026, 4, 30))
    _server_expires(session, on_file, settings, date(2027, 4, 30))

    escalations = _open(session, on_file, "server_expired")

    assert [o.data["expires_on"] for o in escalations] == ["2027-04-30"]
    duties = obligations.duties(session, _site(on_file), clock.now(), settings)
    assert duties.server_expires_on == date(2027, 4, 30)


def test_a_server_renewal_to_an_earlier_day_is_refused_unless_it_names_the_one_on_file(
    session: Session, on_file: FilingOut, settings: Settings
) -> None:
    _server_expires(session, on_file, settings, date(2026, 9, 30))

    with pytest.raises(GuardFailed) as refused:
        _server_expires(session, on_file, settings, date(2026, 8, 31))
    fixed = ServerRenewal(expires_on=date(2026, 8, 31), replaces=date(2026, 9, 30))

    assert [r.code for r in refused.value.reasons] == ["not_later"]
    duties = obligations.server_renewal(session, _site(on_file), fixed, settings, actor="alice")
    assert duties.server_expires_on == date(2026, 8, 31)


def test_a_server_expiry_correction_with_none_on_file_says_there_is_nothing_to_replace(
    session: Session, on_file: FilingOut, settings: Settings
) -> None:
    fix = ServerRenewal(expires_on=date(2026, 9, 30), replaces=date(2026, 8, 31))
    with pytest.raises(GuardFailed) as refused:
        obligations.server_renewal(session, _site(on_file), fix, settings, actor="alice")

    assert [(r.code, r.field) for r in refused.value.reasons] == [
        ("nothing_to_replace", "replaces")
    ]


def test_a_server_expiry_already_past_is_refused_naming_its_source(
    session: Session, on_file: FilingOut, settings: Settings
) -> None:
    with pytest.raises(GuardFailed) as refused:
        _server_expires(session, on_file, settings, date(2026, 3, 1))

    [reason] = refused.value.reasons
    assert (reason.code, reason.rule) == ("already_expired", "server_not_expired")
    assert reason.source is not None and "instance" in reason.source


def test_a_server_expiry_beyond_ten_years_is_refused_in_a_servers_own_terms(
    session: Session, on_file: FilingOut, settings: Settings
) -> None:
    with pytest.raises(GuardFailed) as refused:
        _server_expires(session, on_file, settings, date(2206, 9, 30))

    [reason] = refused.value.reasons
    assert (reason.code, reason.rule) == (
        "expiry_beyond_registration_term",
        "server_subscription_term",
    )
    assert "server" in reason.message and "registry" not in reason.message


def test_a_site_that_left_the_host_has_its_server_watched_no_more(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    """The server is no longer this host's: neither its expiry nor a renewal is its business."""
    _server_expires(session, on_file, settings, date(2026, 9, 30))
    obligations.left_host(
        session, _site(on_file), LeftHost(left_on=date(2026, 3, 2)), settings, actor="alice"
    )

    assert _open(session, on_file, "server_expired") == []
    with pytest.raises(GuardFailed) as refused:
        _server_expires(session, on_file, settings, date(2027, 9, 30))
    assert [r.code for r in refused.value.reasons] == ["left_host"]
    named = _named(session, _site(on_file))
    assert refused.value.reasons[0].message.startswith(f"{named} left this host on 2026-03-02:")
    back = LeftHost(left_on=None, replaces=date(2026, 3, 2))
    obligations.left_host(session, _site(on_file), back, settings, actor="alice")
    assert len(_open(session, on_file, "server_expired")) == 1  # taken back: watched again


def test_a_renewal_after_expiry_ends_the_escalation(
    session: Session, expiring: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    clock.set(datetime(2026, 7, 2, tzinfo=UTC))
    _sweep(session, clock, settings)
    assert _late(session, settings, clock) != []
    obligations.renewal(
        session, _site(expiring), Renewal(expires_on=date(2027, 6, 30)), settings, actor="alice"
    )
    assert _late(session, settings, clock) == []


def test_a_renewal_must_move_the_expiry_later(
    session: Session, expiring: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    with pytest.raises(GuardFailed) as refused:
        obligations.renewal(
            session, _site(expiring), Renewal(expires_on=date(2026, 6, 1)), settings, actor="alice"
        )
    assert [r.code for r in refused.value.reasons] == ["not_later"]


def test_an_expiry_mistyped_is_corrected_to_an_earlier_day_naming_the_one_on_file(
    session: Session, expiring: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    fixed = Renewal(expires_on=date(2026, 6, 1), replaces=date(2026, 6, 30))
    duties = obligations.renewal(session, _site(expiring), fixed, settings, actor="alice")
    assert duties.domain_expires_on == date(2026, 6, 1)


def test_an_expiry_corrected_to_a_day_past_stands_expired_and_is_escalated(
    session: Session, expiring: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    fixed = Renewal(expires_on=date(2026, 2, 20), replaces=date(2026, 6, 30))
    obligations.renewal(session, _site(expiring), fixed, settings, actor="alice")
    _sweep(session, clock, settings)
    late = _late(session, settings, clock)
    assert [(o.service_id, o.kind) for o in late] == [(_site(expiring), "domain_expired")]


def test_a_correction_naming_another_expiry_than_the_one_on_file_is_refused(
    session: Session, expiring: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    wrong = Renewal(expires_on=date(2026, 6, 1), replaces=date(2026, 7, 1))
    with pytest.raises(GuardFailed) as refused:
        obligations.renewal(session, _site(expiring), wrong, settings, actor="alice")
    assert [(r.code, r.field) for r in refused.value.reasons] == [("not_on_file", "replaces")]


def test_a_renewal_beyond_the_longest_registration_term_is_refused_and_changes_nothing(
    session: Session, expiring: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    def stored() -> date:
        row = session.get(Service, _site(expiring), populate_existing=True)
        assert row is not None
        return row.domain_expires_on

    with pytest.raises(GuardFailed) as refused:
        obligations.renewal(
            session,
            _site(expiring),
            Renewal(expires_on=date(9999, 12, 31)),
            settings,
            actor="alice",
        )
    assert [r.code for r in refused.value.reasons] == ["expiry_beyond_registration_term"]
    assert stored() == date(2026, 6, 30)


def test_a_site_whose_expiry_was_stored_as_the_calendars_last_day_is_still_approved(
    session: Session, open_order: Open
) -> None:
    """Stored before expiries were bounded: the day after it cannot be written."""
    order = open_order(**first_filing_order())
    *before, approval = ORDER_PATHS["first_filing"]
    for event, data in before:
        order = service.fire_event(
            session, order.id, EventCommand(event=event, data=data), actor="t"
        )
    session.exec(
        update(Service)
        .where(col(Service.id) == order.service_id)
        .values(domain_expires_on=date.max)
    )
    session.commit()

    event, data = approval
    order = service.fire_event(session, order.id, EventCommand(event=event, data=data), actor="t")

    assert order.state == "approved"
    expired = session.exec(
        select(Obligation).where(Obligation.kind == ObligationKind.DOMAIN_EXPIRED)
    ).one()
    assert as_utc(expired.due_at).astimezone(CHINA).date() == date.max  # shown in Beijing


@pytest.mark.parametrize("renewed_to", [date(2026, 12, 31), date(2027, 1, 10)])
def test_a_renewal_to_an_expiry_not_after_today_is_refused(
    session: Session, expiring: FilingOut, clock: FrozenClock, settings: Settings, renewed_to: date
) -> None:
    """Later than the old expiry but already come: no reminder could be sent for it, and the
    domain, expired, leaves an empty record."""
    clock.set(datetime(2027, 1, 10, 12, 0, tzinfo=CHINA))
    with pytest.raises(GuardFailed) as refused:
        obligations.renewal(
            session, _site(expiring), Renewal(expires_on=renewed_to), settings, actor="alice"
        )
    [reason] = refused.value.reasons
    assert (reason.code, reason.field, reason.rule) == (
        "already_expired",
        "expires_on",
        "domain_not_expired",
    )
    assert reason.source is not None and "aliyun" in reason.source


def test_a_site_that_left_the_host_owes_cancel_access_until_that_order_is_approved(
    session: Session, on_file: FilingOut, open_order: Open, clock: FrozenClock, settings: Settings
) -> None:
    left = LeftHost(left_on=clock.now().date())
    obligations.left_host(session, _site(on_file), left, settings, actor="alice")
    clock.advance(timedelta(days=31))
    assert [o.kind for o in _late(session, settings, clock)] == ["cancel_access"]
    order = open_order(**order_on("cancel_access", on_file.entity_id, _site(on_file)))
    for event, data in ORDER_PATHS["cancel_access"]:
        order = service.fire_event(
            session, order.id, EventCommand(event=event, data=data), actor="t"
        )
    assert _late(session, settings, clock) == []


def test_an_apps_go_live_naming_a_home_page_is_refused(
    session: Session, open_order: Open, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    """An app shows its number inside itself: no page of it is checked, none is kept."""
    app = _second_site(session, open_order, on_file)
    live = GoLive(live_on=clock.now().date(), home_url="https://example.cn/app")

    with pytest.raises(GuardFailed) as refused:
        obligations.go_live(session, app, live, settings, actor="alice")

    assert [(r.code, r.field) for r in refused.value.reasons] == [("no_home_page", "home_url")]
    assert refused.value.reasons[0].message.startswith(
        f"{_named(session, app)} shows its record number inside itself"
    )


def test_a_site_whose_access_was_removed_still_says_the_day_it_left(
    session: Session, on_file: FilingOut, open_order: Open, clock: FrozenClock, settings: Settings
) -> None:
    left_on = clock.now().date()
    obligations.left_host(
        session, _site(on_file), LeftHost(left_on=left_on), settings, actor="alice"
    )
    _approved(session, open_order(**order_on("cancel_access", on_file.entity_id, _site(on_file))))

    duties = obligations.duties(session, _site(on_file), clock.now(), settings)

    assert (duties.status, duties.left_on) == ("access_removed", left_on)


@pytest.mark.parametrize(
    ("left_on", "code"),
    [(date(2031, 1, 1), "left_on_in_the_future"), (date(2019, 1, 1), "left_on_before_approval")],
)
def test_a_site_leaves_the_host_neither_in_the_future_nor_before_its_approval(
    session: Session,
    on_file: FilingOut,
    clock: FrozenClock,
    settings: Settings,
    left_on: date,
    code: str,
) -> None:
    """A cancel-access order owed from a day not come, or from before the host served the
    site, would be due at the wrong time: a month late, or overdue at once."""
    with pytest.raises(GuardFailed) as refused:
        obligations.left_host(
            session, _site(on_file), LeftHost(left_on=left_on), settings, actor="alice"
        )
    assert [(r.code, r.field) for r in refused.value.reasons] == [(code, "left_on")]


@pytest.fixture
def notice(session: Session, on_file: FilingOut, settings: Settings) -> int:
    """A rectification notice due in 5 working days (Monday 2 March: due Monday 9 March)."""
    body = RectificationIn(reference="京通管〔2026〕12号", working_days=5)
    duties = obligations.rectification(session, _site(on_file), body, settings, actor="alice")
    [row] = [o for o in duties.obligations if o.kind == "rectification"]
    assert row.due_at.date() == date(2026, 3, 9)
    return row.id


def test_a_rectification_is_extended_once_and_a_second_time_refused(
    session: Session, notice: int, settings: Settings
) -> None:
    extended = obligations.extend(
        session, notice, ExtensionIn(working_days=7), settings, actor="alice"
    )
    [row] = [o for o in extended.obligations if o.kind == "rectification"]
    assert (row.due_at.date(), row.data["extended_by"]) == (date(2026, 3, 18), 7)
    with pytest.raises(GuardFailed) as refused:
        obligations.extend(session, notice, ExtensionIn(working_days=8), settings, actor="alice")
    assert [(r.code, r.rule) for r in refused.value.reasons] == [
        ("extension_used", "rectification_extension"),
        ("extension_too_long", "rectification_extension"),
    ]


def test_a_rectification_may_be_met_all_its_last_working_day(
    session: Session, notice: int, clock: FrozenClock, settings: Settings
) -> None:
    """Received Monday 10:00, five working days: escalating at 10:00 on Monday 9 March would
    call overdue a rectification done that afternoon. The PSB filing is due the same way."""
    clock.set(datetime(2026, 3, 9, 23, 59, tzinfo=CHINA))
    _sweep(session, clock, settings)
    assert _notices(session, "obligation_rectification") == []
    clock.set(datetime(2026, 3, 10, 0, 0, tzinfo=CHINA))
    _sweep(session, clock, settings)
    assert [o.id for o in _late(session, settings, clock)] == [notice]


def test_an_extended_rectification_is_due_at_the_end_of_its_new_last_working_day(
    session: Session, notice: int, settings: Settings
) -> None:
    """The extension counts on from the notice's last working day, and ends as it did."""
    extended = obligations.extend(
        session, notice, ExtensionIn(working_days=7), settings, actor="alice"
    )
    [row] = [o for o in extended.obligations if o.kind == "rectification"]
    assert row.due_at == datetime(2026, 3, 19, 0, 0, tzinfo=CHINA)  # the end of Wednesday 18th


def test_recomputing_an_estimated_rectification_keeps_it_due_at_the_end_of_its_day(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    """2031's official schedule is not loaded, so the notice's due time is estimated and
    recomputed whenever a schedule is: the same calendar must give the same due time."""
    clock.set(datetime(2031, 9, 26, 2, 0, tzinfo=UTC))
    body = RectificationIn(reference="京通管〔2031〕1号", working_days=5)
    duties = obligations.rectification(session, _site(on_file), body, settings, actor="alice")
    [row] = [o for o in duties.obligations if o.kind == "rectification"]
    assert row.estimated
    assert obligations.recount_rectifications(session, settings) == 0


def test_an_overdue_rectification_is_escalated_to_ops_until_it_is_rectified(
    session: Session, notice: int, clock: FrozenClock, settings: Settings
) -> None:
    clock.advance(timedelta(days=8))
    _sweep(session, clock, settings)
    [told] = _notices(session, "obligation_rectification")
    assert told.recipient == "ops"
    assert [o.id for o in _late(session, settings, clock)] == [notice]
    obligations.rectified(session, notice, settings, actor="alice")
    assert _late(session, settings, clock) == []


@POSTGRES_ONLY
def test_two_sweeps_at_once_fire_an_obligation_once(
    db: Database, session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    """The second sweep's claim waits on the first's uncommitted one, then finds it taken."""
    _live(session, on_file, settings, clock)
    clock.advance(timedelta(days=31))
    due = obligations.due_ids(session, clock.now(), 100)
    assert len(due) == 4  # the PSB filing, its two reminders and a footer check
    session.commit()
    second: list[list[bool]] = []

    def second_sweep() -> None:
        with Session(db.engine) as other:
            second.append([obligations.fire(other, i, clock.now(), settings) for i in due])
            other.commit()

    with Session(db.engine) as first:
        assert [obligations.fire(first, i, clock.now(), settings) for i in due] == [True] * 4
        racing = threading.Thread(target=second_sweep)
        racing.start()
        wait_for_a_lock_wait(db)
        first.commit()
    racing.join(30)
    assert second == [[False] * 4]
    with Session(db.engine) as fresh:
        checks = fresh.exec(select(Obligation).where(Obligation.kind == "footer_check")).all()
        assert len(checks) == 2  # the one fired and the next one it opened, not a third


def test_a_go_live_in_the_future_or_on_another_site_is_refused_naming_both(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    tomorrow = clock.now().date() + timedelta(days=1)
    command = GoLive(live_on=tomorrow, home_url="http://x/")
    with pytest.raises(GuardFailed) as refused:
        obligations.go_live(session, _site(on_file), command, settings, actor="alice")
    assert [(r.code, r.field) for r in refused.value.reasons] == [
        ("live_on_in_the_future", "live_on"),
        ("home_url_off_the_domain", "home_url"),
    ]
    named = _named(session, _site(on_file))
    assert refused.value.reasons[1].message.startswith(
        f"http://x/ is not on the domain of {named}:"
    )
    assert named.startswith("Website 网站 ") and "(example.cn) " in named  # not "service 12"


def test_a_go_live_on_a_domain_stored_before_idna2008_is_judged_not_a_500(
    db: Database, session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    """IDNA2003 let an emoji domain in; IDNA2008 cannot encode the one on file."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE services SET domain = :emoji WHERE id = :id"),
            {"emoji": "😀.cn", "id": _site(on_file)},
        )
    session.expire_all()
    command = GoLive(live_on=clock.now().date(), home_url="https://example.cn/")
    with pytest.raises(GuardFailed) as refused:
        obligations.go_live(session, _site(on_file), command, settings, actor="alice")
    assert [r.code for r in refused.value.reasons] == ["home_url_off_the_domain"]


def test_a_go_live_page_on_a_host_under_the_domain_is_accepted(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    command = GoLive(live_on=clock.now().date(), home_url="https://www.EXAMPLE.cn/index.html")
    duties = obligations.go_live(session, _site(on_file), command, settings, actor="alice")
    assert duties.home_url == "https://www.EXAMPLE.cn/index.html"


def test_a_go_live_before_the_service_was_approved_is_refused_naming_the_approval_date(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    """A site may not resolve before approval; accepted, the PSB filing would be overdue
    at once, and a go-live is recorded only once, so it could never be corrected."""
    command = GoLive(live_on=date(2019, 1, 1))
    with pytest.raises(GuardFailed) as refused:
        obligations.go_live(session, _site(on_file), command, settings, actor="alice")
    [reason] = refused.value.reasons
    assert (reason.code, reason.field, reason.rule) == (
        "live_on_before_approval",
        "live_on",
        "not_before_approval",
    )
    assert "2026-03-02" in reason.message
    assert reason.source is not None and "备案驳回咨询" in reason.source


@pytest.fixture
def approved_after_midnight(session: Session, open_order: Open, clock: FrozenClock) -> FilingOut:
    """A site approved at 00:30 on Tuesday 3 March in Beijing, still Monday 2 March in UTC."""
    clock.set(datetime(2026, 3, 3, 0, 30, tzinfo=CHINA))
    return _approved(session, open_order(**first_filing_order()))


def test_the_day_a_site_was_approved_is_beijings(
    session: Session, approved_after_midnight: FilingOut, settings: Settings
) -> None:
    site = _site(approved_after_midnight)
    with pytest.raises(GuardFailed) as refused:
        obligations.go_live(
            session, site, GoLive(live_on=date(2026, 3, 2)), settings, actor="alice"
        )
    assert [r.code for r in refused.value.reasons] == ["live_on_before_approval"]
    duties = obligations.go_live(
        session, site, GoLive(live_on=date(2026, 3, 3)), settings, actor="alice"
    )
    assert duties.live_on == date(2026, 3, 3)


def test_a_change_approved_since_leaves_the_day_the_site_was_approved(
    session: Session, on_file: FilingOut, open_order: Open, clock: FrozenClock, settings: Settings
) -> None:
    """A changed site name is approved weeks after the site was: it went live in between."""
    clock.advance(timedelta(days=30))
    renamed = {"entity_id": on_file.entity_id, "service_id": _site(on_file)}
    _approved(session, open_order(kind="change", changes={"service_name": "New"}, **renamed))
    command = GoLive(live_on=date(2026, 3, 10))
    duties = obligations.go_live(session, _site(on_file), command, settings, actor="alice")
    assert duties.live_on == date(2026, 3, 10)


def _open_kinds(session: Session, service_id: int) -> set[str]:
    query = select(Obligation.kind).where(
        Obligation.service_id == service_id, col(Obligation.closed_at).is_(None)
    )
    return set(session.exec(query))


def test_a_live_website_gets_footer_checks(
    session: Session, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    _live(session, on_file, settings, clock)
    assert "footer_check" in _open_kinds(session, _site(on_file))


def test_a_live_app_gets_its_psb_filing_but_no_footer_check(
    session: Session, on_file: FilingOut, open_order: Open, clock: FrozenClock, settings: Settings
) -> None:
    """An app shows its number inside itself: its domain's home page proves nothing."""
    body = order_on("new_service", on_file.entity_id, on_file.service_id or 0)
    app = _approved(session, open_order(**body))
    _live(session, app, settings, clock)
    kinds = _open_kinds(session, _site(app))
    assert "psb_filing" in kinds and "footer_check" not in kinds


def test_a_notice_recorded_twice_as_it_was_is_one_rectification_unchanged(
    session: Session, on_file: FilingOut, notice: int, settings: Settings, clock: FrozenClock
) -> None:
    """A retry after a timeout: the same answer, not a refusal of what was done."""
    before = obligations.duties(session, _site(on_file), clock.now(), settings)
    again = RectificationIn(reference="京通管〔2026〕12号", working_days=5)

    after = obligations.rectification(session, _site(on_file), again, settings, actor="alice")

    assert after == before


def test_a_notice_sent_again_after_midnight_naming_no_day_is_still_the_same_notice(
    session: Session, on_file: FilingOut, notice: int, settings: Settings, clock: FrozenClock
) -> None:
    clock.advance(timedelta(days=1))
    again = RectificationIn(reference="京通管〔2026〕12号", working_days=5)

    after = obligations.rectification(session, _site(on_file), again, settings, actor="alice")

    assert [o.id for o in after.obligations if o.kind == "rectification"] == [notice]


def test_a_notice_open_recorded_again_saying_otherwise_is_refused_naming_it(
    session: Session, on_file: FilingOut, notice: int, settings: Settings
) -> None:
    again = RectificationIn(reference="京通管〔2026〕12号", working_days=10)
    with pytest.raises(GuardFailed) as refused:
        obligations.rectification(session, _site(on_file), again, settings, actor="alice")
    assert [(r.code, r.details) for r in refused.value.reasons] == [
        ("rectification_open", {"obligation_id": notice})
    ]


@POSTGRES_ONLY
def test_two_go_lives_at_once_are_recorded_once(
    db: Database, on_file: FilingOut, clock: FrozenClock, settings: Settings
) -> None:
    """The second waits for the first's lock on the service, then finds it live that day:
    it answers as the first did, and opens nothing more."""
    command = GoLive(live_on=clock.now().date())
    answered = second_of_two_at_once(
        db,
        lambda own: obligations.go_live(own, _site(on_file), command, settings, actor="alice"),
        lambda own: obligations.go_live(own, _site(on_file), command, settings, actor="alice"),
    )
    assert isinstance(answered, obligations.ServiceDutiesOut)
    assert answered.live_on == command.live_on
    with Session(db.engine) as fresh:
        psb = select(Obligation).where(Obligation.kind == "psb_filing")
        assert len(fresh.exec(psb).all()) == 1


@POSTGRES_ONLY
def test_two_extensions_at_once_extend_once(
    db: Database, notice: int, clock: FrozenClock, settings: Settings
) -> None:
    """The second waits for the first's lock on the service, then reads the notice extended."""
    refused = second_of_two_at_once(
        db,
        lambda own: obligations.extend(
            own, notice, ExtensionIn(working_days=7), settings, actor="alice"
        ),
        lambda own: obligations.extend(
            own, notice, ExtensionIn(working_days=3), settings, actor="alice"
        ),
    )
    assert isinstance(refused, GuardFailed)
    with Session(db.engine) as fresh:
        row = fresh.get_one(Obligation, notice)
        assert row.data["extended_by"] == 7


def test_the_overdue_come_a_page_at_a_time_with_how_many_in_all(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    _live(session, on_file, settings, clock)
    obligations.left_host(
        session, _site(on_file), LeftHost(left_on=clock.now().date()), settings, actor="alice"
    )
    clock.advance(timedelta(days=31))  # the PSB filing and the cancel-access order both late

    first = obligations.overdue(session, clock.now(), settings, limit=1)
    second = obligations.overdue(session, clock.now(), settings, limit=1, offset=1)

    assert (first.total, second.total) == (2, 2)
    assert len(first.items) == len(second.items) == 1
    assert {first.items[0].kind, second.items[0].kind} == {"psb_filing", "cancel_access"}


def test_the_failing_footers_come_a_page_at_a_time_with_how_many_sites_in_all(
    session: Session, on_file: FilingOut, open_order: Open, settings: Settings, clock: FrozenClock
) -> None:
    accessed = _approved(session, open_order(**order_on("new_access", on_file.entity_id, 0)))
    for order in (on_file, accessed):
        _live(session, order, settings, clock)
        for _ in range(2):  # two failing checks of one site are one row
            obligations.record_footer(
                session, _site(order), None, url="http://example.cn/", status_code=200,
                problems=["no number shown"], settings=settings,
            )  # fmt: skip
            clock.advance(timedelta(hours=1))
    session.commit()

    first = obligations.failing_footers(session, limit=1)
    second = obligations.failing_footers(session, limit=1, offset=1)

    assert (first.total, second.total) == (2, 2)
    assert [f.service_id for f in first.items + second.items] == [_site(on_file), _site(accessed)]


def test_a_failing_footer_says_when_its_site_is_checked_again(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    _live(session, on_file, settings, clock)
    session.commit()
    swept_at = clock.now()
    _sweep(session, clock, settings)  # the first check owed, the next one opened
    obligations.record_footer(
        session, _site(on_file), None, url="http://example.cn/", status_code=200,
        problems=["no number shown"], settings=settings,
    )  # fmt: skip
    session.commit()

    [site] = obligations.failing_footers(session, limit=10).items

    interval = timedelta(hours=settings.footer_check_interval_hours)
    assert site.next_check_at == swept_at + interval


def test_a_reminder_names_the_entity_as_renamed_since_the_go_live(
    session: Session,
    on_file: FilingOut,
    open_order: Open,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    _live(session, on_file, settings, clock)
    _approved(session, open_order(**order_on("change", on_file.entity_id, 0)))
    clock.advance(timedelta(days=24))  # the first PSB reminder, 7 days before the 30th

    _sweep(session, clock, settings)

    [reminder] = _notices(session, "obligation_psb_filing_reminder")
    assert "Applicant: Example Group Ltd," in reminder.body


def test_a_renewal_renews_the_entitys_app_on_the_same_domain(
    session: Session, on_file: FilingOut, open_order: Open, settings: Settings, clock: FrozenClock
) -> None:
    app = _second_site(session, open_order, on_file)  # on example.cn too, same expiry

    obligations.renewal(
        session, _site(on_file), Renewal(expires_on=date(2029, 6, 30)), settings, actor="alice"
    )

    renewed = obligations.duties(session, app, clock.now(), settings)
    assert renewed.domain_expires_on == date(2029, 6, 30)
    [expired] = [
        o for o in renewed.obligations if o.kind == "domain_expired" and o.closed_at is None
    ]
    assert expired.due_at.astimezone(CHINA).date() == date(2029, 7, 1)  # the end of 30 June


def test_an_app_renewed_with_its_sites_domain_records_who_renewed_it(
    session: Session, on_file: FilingOut, open_order: Open, settings: Settings
) -> None:
    app = _second_site(session, open_order, on_file)  # on example.cn too, same expiry
    was = str(session.get_one(Service, app).domain_expires_on)

    obligations.renewal(
        session, _site(on_file), Renewal(expires_on=date(2029, 6, 30)), settings, actor="alice"
    )

    [entry] = obligations.duties(session, app, get_clock().now(), settings).recorded
    assert (entry.what, entry.actor) == ("renewal", "alice")
    assert entry.replaced == {"domain_expires_on": was}


def test_a_renewal_leaves_a_service_whose_expiry_on_file_differs(
    session: Session, on_file: FilingOut, open_order: Open, settings: Settings, clock: FrozenClock
) -> None:
    app = _second_site(session, open_order, on_file)
    # On file before renewals went with the domain: the app's expiry recorded apart.
    session.exec(
        update(Service).where(col(Service.id) == app).values(domain_expires_on=date(2028, 12, 31))
    )
    session.commit()

    obligations.renewal(
        session, _site(on_file), Renewal(expires_on=date(2029, 6, 30)), settings, actor="alice"
    )

    assert obligations.duties(session, app, clock.now(), settings).domain_expires_on == date(
        2028, 12, 31
    )


def test_a_site_cannot_leave_the_host_before_it_went_live(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    clock.advance(timedelta(days=2))
    obligations.go_live(
        session, _site(on_file), GoLive(live_on=date(2026, 3, 4)), settings, actor="alice"
    )

    with pytest.raises(GuardFailed) as refused:
        obligations.left_host(
            session, _site(on_file), LeftHost(left_on=date(2026, 3, 3)), settings, actor="alice"
        )

    assert [(r.code, r.field) for r in refused.value.reasons] == [("live_after_leaving", "left_on")]
    assert refused.value.reasons[0].message.startswith(
        "the site would leave this host on 2026-03-03, before it went live on 2026-03-04"
    )


def test_a_go_live_after_the_site_left_the_host_is_refused(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    clock.advance(timedelta(days=3))
    obligations.go_live(
        session, _site(on_file), GoLive(live_on=date(2026, 3, 3)), settings, actor="alice"
    )
    obligations.left_host(
        session, _site(on_file), LeftHost(left_on=date(2026, 3, 4)), settings, actor="alice"
    )
    correction = GoLive(live_on=date(2026, 3, 5), replaces=date(2026, 3, 3))

    with pytest.raises(GuardFailed) as refused:
        obligations.go_live(session, _site(on_file), correction, settings, actor="alice")

    assert [(r.code, r.field) for r in refused.value.reasons] == [("live_after_leaving", "live_on")]


def test_a_second_left_host_of_another_day_without_naming_the_first_is_refused(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    obligations.left_host(
        session, _site(on_file), LeftHost(left_on=date(2026, 3, 2)), settings, actor="alice"
    )

    with pytest.raises(GuardFailed) as refused:
        obligations.left_host(
            session, _site(on_file), LeftHost(left_on=date(2026, 3, 1)), settings, actor="alice"
        )

    assert [(r.code, r.field) for r in refused.value.reasons] == [("already_owed", "replaces")]


@pytest.mark.parametrize(
    "write",
    [
        lambda s, site, settings: obligations.go_live(
            s, site, GoLive(live_on=date(2026, 3, 2)), settings, actor="alice"
        ),
        lambda s, site, settings: obligations.left_host(
            s, site, LeftHost(left_on=date(2026, 3, 2)), settings, actor="alice"
        ),
        lambda s, site, settings: obligations.renewal(
            s, site, Renewal(expires_on=date(2031, 6, 30)), settings, actor="alice"
        ),
    ],
    ids=["go-live", "left-host", "renewal"],
)
def test_a_duty_write_sent_again_as_it_was_answers_the_same_and_opens_nothing(
    session: Session,
    on_file: FilingOut,
    settings: Settings,
    clock: FrozenClock,
    write: Callable[[Session, int, Settings], obligations.ServiceDutiesOut],
) -> None:
    """A retry after a timeout: refused, it would report a failure of what was done."""
    first = write(session, _site(on_file), settings)

    again = write(session, _site(on_file), settings)

    assert again == first


@pytest.mark.parametrize(
    ("first", "correct"),
    [
        (
            lambda s, site, settings: obligations.go_live(
                s, site, GoLive(live_on=date(2026, 3, 2)), settings, actor="alice"
            ),
            lambda s, site, settings: obligations.go_live(
                s,
                site,
                GoLive(live_on=date(2026, 3, 4), replaces=date(2026, 3, 2)),
                settings,
                actor="alice",
            ),
        ),
        (
            lambda s, site, settings: obligations.left_host(
                s, site, LeftHost(left_on=date(2026, 3, 2)), settings, actor="alice"
            ),
            lambda s, site, settings: obligations.left_host(
                s,
                site,
                LeftHost(left_on=date(2026, 3, 4), replaces=date(2026, 3, 2)),
                settings,
                actor="alice",
            ),
        ),
        (
            lambda s, site, settings: obligations.renewal(
                s, site, Renewal(expires_on=date(2031, 6, 30)), settings, actor="alice"
            ),
            lambda s, site, settings: obligations.renewal(
                s,
                site,
                Renewal(expires_on=date(2030, 6, 30), replaces=date(2031, 6, 30)),
                settings,
                actor="alice",
            ),
        ),
        (
            lambda s, site, settings: obligations.server_renewal(
                s, site, ServerRenewal(expires_on=date(2026, 9, 30)), settings, actor="alice"
            ),
            lambda s, site, settings: obligations.server_renewal(
                s,
                site,
                ServerRenewal(expires_on=date(2026, 2, 28), replaces=date(2026, 9, 30)),
                settings,
                actor="alice",
            ),
        ),
    ],
    ids=["go-live", "left-host", "renewal", "server expiry to a day past"],
)
def test_a_correction_sent_again_answers_the_same_and_changes_nothing(
    session: Session,
    on_file: FilingOut,
    settings: Settings,
    clock: FrozenClock,
    first: Callable[[Session, int, Settings], obligations.ServiceDutiesOut],
    correct: Callable[[Session, int, Settings], obligations.ServiceDutiesOut],
) -> None:
    """A retry after a timeout: the day it replaced is no longer on file, the corrected one
    is, as the correction asked."""
    clock.advance(timedelta(days=3))
    first(session, _site(on_file), settings)
    corrected = correct(session, _site(on_file), settings)
    rows = session.exec(
        select(Obligation.id, Obligation.closed_at).order_by(col(Obligation.id))
    ).all()

    again = correct(session, _site(on_file), settings)

    assert again == corrected
    assert (
        session.exec(select(Obligation.id, Obligation.closed_at).order_by(col(Obligation.id))).all()
        == rows
    )  # untouched


def test_a_leaving_recorded_by_mistake_is_taken_back_naming_its_day(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    """The cancel-access order it made owed closes, and the site's footer is checked again."""
    _live(session, on_file, settings, clock)
    day = clock.now().date()
    obligations.left_host(session, _site(on_file), LeftHost(left_on=day), settings, actor="alice")
    clock.advance(timedelta(days=40))

    back = LeftHost(left_on=None, replaces=day)
    duties = obligations.left_host(session, _site(on_file), back, settings, actor="alice")

    assert duties.left_on is None
    assert [o.kind for o in _late(session, settings, clock)] == [
        "psb_filing"
    ]  # no cancel-access late
    assert _open(session, on_file, "cancel_access") == []
    assert len(_open(session, on_file, "footer_check")) == 1
    assert (
        obligations.left_host(session, _site(on_file), back, settings, actor="alice") == duties
    )  # a retry


def test_a_leaving_is_not_taken_back_while_its_cancel_access_order_is_in_flight(
    session: Session, on_file: FilingOut, open_order: Open, settings: Settings
) -> None:
    _second_site(session, open_order, on_file)
    day = date(2026, 3, 2)
    obligations.left_host(session, _site(on_file), LeftHost(left_on=day), settings, actor="alice")
    removing = open_order(**order_on("cancel_access", on_file.entity_id, _site(on_file)))

    with pytest.raises(GuardFailed) as refused:
        obligations.left_host(
            session, _site(on_file), LeftHost(left_on=None, replaces=day), settings, actor="alice"
        )

    assert [(r.code, r.details) for r in refused.value.reasons] == [
        ("cancel_access_in_flight", {"filing_id": removing.id})
    ]


def test_a_renewal_to_the_expiry_on_file_once_it_passed_is_refused_not_taken_for_a_retry(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    clock.set(datetime(2028, 7, 2, 2, tzinfo=UTC))  # the domain expired on 2028-06-30

    with pytest.raises(GuardFailed) as refused:
        obligations.renewal(
            session, _site(on_file), Renewal(expires_on=date(2028, 6, 30)), settings, actor="alice"
        )

    assert "already_expired" in [r.code for r in refused.value.reasons]


def test_access_removed_forgets_the_server_expiry(
    session: Session, on_file: FilingOut, open_order: Open, settings: Settings
) -> None:
    """The server was this host's, and is no more."""
    _second_site(session, open_order, on_file)
    _server_expires(session, on_file, settings, date(2026, 9, 30))

    _approved(session, open_order(**order_on("cancel_access", on_file.entity_id, _site(on_file))))

    assert (
        obligations.duties(session, _site(on_file), datetime.now(UTC), settings).server_expires_on
        is None
    )


def test_a_leaving_is_taken_back_only_naming_the_day_on_file(
    session: Session, on_file: FilingOut, settings: Settings
) -> None:
    obligations.left_host(
        session, _site(on_file), LeftHost(left_on=date(2026, 3, 2)), settings, actor="alice"
    )

    with pytest.raises(GuardFailed) as refused:
        obligations.left_host(
            session,
            _site(on_file),
            LeftHost(left_on=None, replaces=date(2026, 3, 1)),
            settings,
            actor="alice",
        )

    assert [(r.code, r.field) for r in refused.value.reasons] == [("already_owed", "replaces")]


def test_a_left_host_day_corrected_moves_the_cancel_access_due_day(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    clock.advance(timedelta(days=40))
    obligations.left_host(
        session, _site(on_file), LeftHost(left_on=date(2026, 3, 2)), settings, actor="alice"
    )
    assert [o.kind for o in _late(session, settings, clock)] == ["cancel_access"]  # 30 days passed

    correction = LeftHost(left_on=date(2026, 4, 10), replaces=date(2026, 3, 2))
    duties = obligations.left_host(session, _site(on_file), correction, settings, actor="alice")

    assert duties.left_on == date(2026, 4, 10)
    assert _late(session, settings, clock) == []


def test_the_left_host_day_a_correction_replaced_is_kept_once_by_its_audit_not_the_owed_row(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    clock.advance(timedelta(days=40))
    site = _site(on_file)
    obligations.left_host(session, site, LeftHost(left_on=date(2026, 3, 2)), settings, actor="a")
    correction = LeftHost(left_on=date(2026, 4, 10), replaces=date(2026, 3, 2))

    obligations.left_host(session, site, correction, settings, actor="alice")

    [owed] = _open(session, on_file, "cancel_access")
    assert _replaced_by_the_last_record(session, on_file) == {"left_on": "2026-03-02"}
    assert "replaced_left_on" not in owed.data


def test_a_left_host_day_corrected_counts_with_the_days_its_order_was_owed_with(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    """CANCEL_ACCESS_DAYS changed since (30 to 10): the corrected day is still given 30."""
    obligations.left_host(
        session, _site(on_file), LeftHost(left_on=date(2026, 3, 2)), settings, actor="alice"
    )
    shorter = settings.model_copy(update={"cancel_access_days": 10})
    clock.advance(timedelta(days=3))

    correction = LeftHost(left_on=date(2026, 3, 4), replaces=date(2026, 3, 2))
    obligations.left_host(session, _site(on_file), correction, shorter, actor="alice")

    [owed] = _open(session, on_file, "cancel_access")
    # The end of 3 April in Beijing: 30 days after 4 March.
    assert as_utc(owed.due_at) == datetime.fromisoformat("2026-04-04T00:00+08:00")
    assert owed.data["cancel_access_days"] == 30


@POSTGRES_ONLY
def test_a_renewal_takes_turns_with_a_writer_of_the_entitys_services_in_id_order(
    db: Database, session: Session, on_file: FilingOut, open_order: Open, settings: Settings
) -> None:
    """As an approving cancel-entity order writes them: the site, then the app. A renewal of
    the app that held the app while it waited for the site deadlocked with it."""
    app = _second_site(session, open_order, on_file)
    session.commit()
    outcome: list[object] = []

    def renew_the_app() -> None:
        with Session(db.engine, expire_on_commit=False) as own:
            try:
                renewed = Renewal(expires_on=date(2029, 6, 30))
                outcome.append(obligations.renewal(own, app, renewed, settings, actor="alice"))
            except Exception as failed:  # a deadlock is the failure this test is about
                outcome.append(failed)

    with Session(db.engine) as writer:
        writer.exec(select(Service.id).where(Service.id == _site(on_file)).with_for_update()).all()
        racing = threading.Thread(target=renew_the_app)
        racing.start()
        wait_for_a_lock_wait(db)
        writer.exec(select(Service.id).where(Service.id == app).with_for_update()).all()
        writer.commit()
    racing.join(30)

    [renewed] = outcome
    assert isinstance(renewed, obligations.ServiceDutiesOut), renewed
    assert renewed.domain_expires_on == date(2029, 6, 30)


def test_a_go_live_recorded_after_the_site_left_starts_no_footer_checks(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    today = clock.now().astimezone(CHINA).date()
    obligations.left_host(session, _site(on_file), LeftHost(left_on=today), settings, actor="alice")

    obligations.go_live(session, _site(on_file), GoLive(live_on=today), settings, actor="alice")

    assert _open(session, on_file, "footer_check") == []
    assert len(_open(session, on_file, "psb_filing")) == 1  # it was live, for a day


def test_a_notice_extended_yet_still_past_due_is_not_escalated_twice(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    notice = RectificationIn(reference="京通管〔2026〕9号", working_days=5)
    duties = obligations.rectification(session, _site(on_file), notice, settings, actor="alice")
    [row] = [o for o in duties.obligations if o.kind == "rectification"]
    clock.advance(timedelta(days=30))
    _sweep(session, clock, settings)
    assert len(_notices(session, "obligation_rectification")) == 1

    obligations.extend(
        session, row.id, ExtensionIn(working_days=3), settings, actor="alice"
    )  # still past
    _sweep(session, clock, settings)

    assert len(_notices(session, "obligation_rectification")) == 1


def test_the_same_day_of_leaving_again_corrects_nothing(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    day = date(2026, 3, 2)
    obligations.left_host(session, _site(on_file), LeftHost(left_on=day), settings, actor="alice")

    obligations.left_host(
        session, _site(on_file), LeftHost(left_on=day, replaces=day), settings, actor="alice"
    )

    [owed] = _open(session, on_file, "cancel_access")
    assert "replaced_left_on" not in owed.data


def test_a_notice_recorded_late_is_due_from_the_day_it_was_received(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    clock.advance(timedelta(days=3))  # Thursday 5 March; received on Monday the 2nd
    notice = RectificationIn(reference="一号", working_days=5, received_on=date(2026, 3, 2))

    duties = obligations.rectification(session, _site(on_file), notice, settings, actor="alice")

    [row] = [o for o in duties.obligations if o.kind == "rectification"]
    assert row.due_at.astimezone(CHINA).date() == date(2026, 3, 10)  # the end of the 9th
    assert row.data["received_on"] == "2026-03-02"


def test_a_notice_naming_no_day_is_audited_as_received_the_day_it_was_recorded(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    clock.advance(timedelta(days=3))  # Thursday 5 March
    notice = RectificationIn(reference="一号", working_days=5)

    obligations.rectification(session, _site(on_file), notice, settings, actor="alice")

    [audited] = obligations.audit_trail(session, _site(on_file), limit=10).items
    assert audited.data["received_on"] == "2026-03-05"


def test_an_extension_counts_from_the_day_the_notice_was_received(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    clock.advance(timedelta(days=3))
    notice = RectificationIn(reference="一号", working_days=5, received_on=date(2026, 3, 2))
    duties = obligations.rectification(session, _site(on_file), notice, settings, actor="alice")
    [row] = [o for o in duties.obligations if o.kind == "rectification"]

    duties = obligations.extend(
        session, row.id, ExtensionIn(working_days=2), settings, actor="alice"
    )

    [row] = [o for o in duties.obligations if o.kind == "rectification"]
    assert row.due_at.astimezone(CHINA).date() == date(2026, 3, 12)  # 7 working days: the 11th


def test_a_notice_received_tomorrow_or_before_approval_is_refused(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    for day, code in ((date(2026, 3, 3), "received_on_in_the_future"),
                      (date(2026, 3, 1), "received_on_before_approval")):  # fmt: skip
        notice = RectificationIn(reference="一号", working_days=5, received_on=day)
        with pytest.raises(GuardFailed) as refused:
            obligations.rectification(session, _site(on_file), notice, settings, actor="alice")
        assert [r.code for r in refused.value.reasons] == [code]
        assert "resolve" not in refused.value.reasons[0].message  # a notice, not a site


def test_the_overdue_are_filtered_by_kind_and_by_the_province_filed_in(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    _live(session, on_file, settings, clock)
    obligations.left_host(
        session, _site(on_file), LeftHost(left_on=clock.now().date()), settings, actor="alice"
    )
    clock.advance(timedelta(days=31))

    def kinds(only: obligations.OverdueFilter) -> list[str]:
        found = obligations.overdue(session, clock.now(), settings, limit=10, only=only)
        return sorted(o.kind for o in found.items)

    Only = obligations.OverdueFilter
    assert kinds(Only(kind=ObligationKind.CANCEL_ACCESS)) == ["cancel_access"]
    assert kinds(Only(province="京")) == ["cancel_access", "psb_filing"]
    assert kinds(Only(province="沪")) == []


def test_a_kind_of_duty_never_overdue_is_refused_as_a_filter(
    session: Session, settings: Settings, clock: FrozenClock
) -> None:
    only = obligations.OverdueFilter(kind=ObligationKind.FOOTER_CHECK)
    with pytest.raises(DomainValidationError) as refused:
        obligations.overdue(session, clock.now(), settings, limit=10, only=only)
    assert [r.field for r in refused.value.reasons] == ["kind"]


def _renewed_each_year(
    session: Session, service_id: int, settings: Settings, clock: FrozenClock, years: int
) -> None:
    """``years`` renewals, an hour apart, each a year later than the last: one record each."""
    for year in range(2030, 2030 + years):
        clock.advance(timedelta(hours=1))
        obligations.renewal(
            session, service_id, Renewal(expires_on=date(year, 6, 30)), settings, actor="alice"
        )


def test_a_services_audit_trail_comes_a_page_at_a_time_newest_first_with_its_total(
    session: Session, on_file: FilingOut, settings: Settings, clock: FrozenClock
) -> None:
    _renewed_each_year(session, _site(on_file), settings, clock, 5)

    first = obligations.audit_trail(session, _site(on_file), limit=2)
    last = obligations.audit_trail(session, _site(on_file), limit=2, offset=4)

    assert (first.total, first.limit, first.offset) == (5, 2, 0)
    assert [e.data["expires_on"] for e in first.items] == ["2034-06-30", "2033-06-30"]
    assert [e.data["expires_on"] for e in last.items] == ["2030-06-30"]
    assert first.items[0].at > first.items[1].at


def test_a_services_duties_list_the_latest_of_its_trail_and_how_many_in_all(
    session: Session,
    on_file: FilingOut,
    settings: Settings,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reading, "AUDIT_SHOWN", 2)
    _renewed_each_year(session, _site(on_file), settings, clock, 3)

    shown = obligations.duties(session, _site(on_file), clock.now(), settings)

    trail = obligations.audit_trail(session, _site(on_file), limit=2)
    assert (shown.recorded, shown.recorded_total) == (trail.items, 3)


def test_the_audit_trail_of_a_service_not_on_file_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        obligations.audit_trail(session, 999_999, limit=10)
