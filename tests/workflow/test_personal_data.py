"""Identity and phone numbers: encrypted at rest, found by keyed hash, purged after retention."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlmodel import Session, col, select, update

from config.clock import FrozenClock, as_utc
from config.keys import DEVELOPMENT_KEYS_FILE, KeysDoNotOpen, keys_of
from config.settings import Environment, Settings, get_settings
from models import (
    CreationKey,
    Disclosure,
    Entity,
    Filing,
    HistoryEntry,
    IdempotencyRecord,
    Notification,
    NotificationStatus,
    Service,
    SmsVerifier,
)
from models.sealed import lookup, opened
from tests.databases import POSTGRES_ONLY, Database, second_of_two_at_once
from tests.factories import (
    ORG_MATERIALS,
    OTHER_PERSON_ID,
    PERSON_ID,
    SITE_MOBILE,
    MakeFiling,
    entity_in,
    first_filing_order,
    make_payload,
    order_on,
    service_in,
)
from workflow import deadlines, privacy, service
from workflow.domain.commands import EventCommand, OrderCreate
from workflow.domain.errors import TransitionNotAllowed, UnsafeSettings
from workflow.schemas import FilingOut
from workflow.startup import check_settings
from workflow.views import describing, entities
from workflow.views import history as filing_history

if TYPE_CHECKING:
    from tests.conftest import Open

ID_NUMBER, PHONE = "91110000MA01ABCD52", "13800138000"


def _stored_text(db: Database) -> bytes:
    """Everything the database holds as bytes: the SQLite files, or every PostgreSQL row."""
    if db.backend == "sqlite":
        path = Path(db.url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    with db.engine.connect() as connection:
        tables = connection.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        return b"".join(
            str(row).encode()
            for table in list(tables)
            for row in connection.execute(sa.text(f'SELECT * FROM "{table}"'))
        )


def test_no_identity_number_or_phone_is_stored_in_clear(
    db: Database, session: Session, new_filing: MakeFiling
) -> None:
    new_filing("sms_pending")
    session.commit()
    db.engine.dispose()  # SQLite: everything written to the file, nothing held in a connection

    stored = _stored_text(db)

    assert b"Example Ltd" in stored  # the check reads what was written
    assert ID_NUMBER.encode() not in stored
    assert PHONE.encode() not in stored


def _documented_order() -> OrderCreate:
    """A first filing whose entity's and site's people each give their resident ID."""
    document = {"id_type": "resident_id"}
    entity_person = {"name": "Li Lei", "mobile": PHONE, "id_number": PERSON_ID, **document}
    site_person = {"name": "Li Si", "mobile": SITE_MOBILE, "id_number": OTHER_PERSON_ID}
    return OrderCreate.model_validate(
        first_filing_order(
            entity=entity_in(responsible=entity_person),
            service=service_in(responsible={**site_person, **document}),
        )
    )


def test_responsible_persons_documents_are_stored_sealed(db: Database, session: Session) -> None:
    order = service.create_order(session, _documented_order(), actor="t")
    session.commit()
    db.engine.dispose()

    stored = _stored_text(db)
    site = session.get(Service, order.service_id)
    entity = session.get(Entity, order.entity_id)

    assert PERSON_ID.encode() not in stored and OTHER_PERSON_ID.encode() not in stored
    assert entity is not None and entity.responsible_id_number == PERSON_ID
    assert site is not None and (site.responsible_id_type, site.responsible_id_number) == (
        "resident_id",
        OTHER_PERSON_ID,
    )


def test_sealed_values_read_back_as_written(session: Session, new_filing: MakeFiling) -> None:
    created = new_filing("sms_pending")
    session.expire_all()

    filing = session.get(Filing, created.id)
    verifier = session.exec(select(SmsVerifier)).one()

    assert filing is not None
    assert (filing.applicant_id_number, filing.applicant_phone) == (ID_NUMBER, PHONE)
    assert verifier.mobile == PHONE


def test_an_entity_is_found_by_the_keyed_hashes_of_its_numbers(
    session: Session, new_filing: MakeFiling
) -> None:
    new_filing()
    found = session.exec(
        select(Entity).where(
            Entity.id_number_hash == lookup(ID_NUMBER.lower()),
            Entity.responsible_mobile_hash == lookup(PHONE),
        )
    ).one()
    assert found.id_number == ID_NUMBER


def test_development_keys_are_generated_once_under_var_dir(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, data_keys="", lookup_key="")

    first, again = (
        keys_of(settings),
        keys_of(Settings(var_dir=tmp_path, data_keys="", lookup_key="")),
    )

    assert (tmp_path / DEVELOPMENT_KEYS_FILE).stat().st_mode & 0o077 == 0
    assert first == again and len(first.data) == 1


def test_threads_asking_for_development_keys_at_once_all_get_the_one_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web process's first requests arrive together on a fresh clone."""
    both_drafted = threading.Barrier(2, timeout=5)
    link = os.link

    def link_once_both_drafted(source: str | Path, target: str | Path) -> None:
        both_drafted.wait()
        link(source, target)

    monkeypatch.setattr(os, "link", link_once_both_drafted)
    settings = Settings(var_dir=tmp_path, data_keys="", lookup_key="")
    with ThreadPoolExecutor(2) as threads:
        pairs = list(threads.map(lambda _: keys_of(settings), range(2)))

    stored = keys_of(Settings(var_dir=tmp_path, data_keys="", lookup_key=""))
    assert pairs == [stored, stored]
    assert [p.name for p in tmp_path.iterdir()] == [DEVELOPMENT_KEYS_FILE]  # no draft left


def test_production_without_keys_refuses_to_start_naming_them() -> None:
    settings = Settings(
        environment=Environment.PRODUCTION,
        webhook_secret="a-long-private-secret",
        data_keys="",
        lookup_key="",
    )
    with pytest.raises(UnsafeSettings) as refused:
        check_settings(settings)
    assert [r.field for r in refused.value.reasons] == ["data_keys", "lookup_key"]
    assert "DATA_KEYS is not set" in refused.value.reasons[0].message


def test_a_data_key_fernet_cannot_use_refuses_to_start() -> None:
    with pytest.raises(UnsafeSettings) as refused:
        check_settings(Settings(data_keys="not-a-key", lookup_key="x"))
    assert [r.code for r in refused.value.reasons] == ["malformed_key"]


def test_a_value_read_before_stops_opening_once_its_key_is_retired(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("LOOKUP_KEY", "a-lookup-key")
    monkeypatch.setenv("DATA_KEYS", old)
    get_settings.cache_clear()
    token = Fernet(old).encrypt(PHONE.encode()).decode()
    assert opened(token) == PHONE  # now remembered

    monkeypatch.setenv("DATA_KEYS", new)
    get_settings.cache_clear()
    try:
        with pytest.raises(KeysDoNotOpen):
            opened(token)
    finally:
        get_settings.cache_clear()


def test_reveal_gives_the_numbers_and_records_who_saw_them(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    created = new_filing("sms_pending")

    shown = privacy.reveal(session, created.id, "token:ops", clock.now())

    assert (shown.applicant.id_number, shown.applicant.phone) == (ID_NUMBER, PHONE)
    assert [v.mobile for v in shown.verifiers] == [PHONE]
    audit = session.exec(select(Disclosure)).one()
    assert (audit.filing_id, audit.actor, as_utc(audit.at)) == (
        created.id,
        "token:ops",
        clock.now(),
    )
    assert audit.fields == list(privacy.REVEALED_FIELDS)


def _withdrawn(new_filing: MakeFiling, session: Session) -> int:
    created = new_filing("sms_pending")
    reason = f"applicant {PHONE} gave up; id {ID_NUMBER}"
    command = EventCommand(event="withdraw", data={"reason": reason})
    return service.fire_event(session, created.id, command, actor="test").id


def test_purge_removes_personal_data_of_ended_orders_and_keeps_their_history(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing_id = _withdrawn(new_filing, session)
    clock.advance(timedelta(days=31))

    assert len(privacy.purge(session, timedelta(days=30), clock.now(), settings).filings) == 1

    shown = privacy.reveal(session, filing_id, "token:ops", clock.now())
    assert shown.purged
    assert (shown.applicant.name, shown.applicant.id_number, shown.applicant.phone) == ("", "", "")
    assert [(v.name, v.mobile) for v in shown.verifiers] == [("", "")]
    entity = session.exec(select(Entity)).one()
    assert (entity.id_number, entity.responsible_mobile, entity.name) == ("", "", "")
    history = session.exec(select(HistoryEntry).order_by(HistoryEntry.version)).all()  # type: ignore[arg-type]
    assert [h.event for h in history][-1] == "withdraw"
    assert history[-1].reason == "applicant 138****8000 gave up; id 911***********CD52"


def _withdrawn_order_with_a_key(session: Session) -> FilingOut:
    """A first filing whose site's person gave an email, opened under a key and withdrawn."""
    person = {"name": "Li Si", "mobile": SITE_MOBILE, "email": "lisi@example.com"}
    body = first_filing_order(service=service_in(responsible=person))
    order = service.create_order(
        session, OrderCreate.model_validate(body), actor="t", idempotency_key="import:abc"
    )
    command = EventCommand(event="withdraw", data={"reason": "dropped"})
    return service.fire_event(session, order.id, command, actor="t")


def test_purge_removes_the_email_of_a_services_person(
    session: Session, settings: Settings, clock: FrozenClock
) -> None:
    order = _withdrawn_order_with_a_key(session)
    clock.advance(timedelta(days=31))

    privacy.purge(session, timedelta(days=30), clock.now(), settings)

    site = session.get(Service, order.service_id)
    assert site is not None and site.responsible_email is None


def test_purge_removes_the_responsible_persons_documents(
    session: Session, settings: Settings, clock: FrozenClock
) -> None:
    order = service.create_order(session, _documented_order(), actor="t")
    withdraw = EventCommand(event="withdraw", data={"reason": "dropped"})
    service.fire_event(session, order.id, withdraw, actor="t")
    clock.advance(timedelta(days=31))

    privacy.purge(session, timedelta(days=30), clock.now(), settings)

    site, entity = session.get(Service, order.service_id), session.get(Entity, order.entity_id)
    assert site is not None and (site.responsible_id_type, site.responsible_id_number) == (
        None,
        None,
    )
    assert entity is not None and entity.responsible_id_number is None


def test_purge_removes_the_answer_an_opening_key_would_replay(
    session: Session, settings: Settings, clock: FrozenClock
) -> None:
    """It holds the applicant's name and email as opened."""
    order = _withdrawn_order_with_a_key(session)
    clock.advance(timedelta(days=31))

    privacy.purge(session, timedelta(days=30), clock.now(), settings)

    kept = session.exec(select(CreationKey).where(CreationKey.filing_id == order.id)).all()
    assert kept == []


def test_purge_masks_the_applicants_name_and_contacts_in_the_orders_notices(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    route = {"channel": "email", "recipient": "ops@example.cn"}  # the applicant's own address
    created = new_filing("submitted", notify=[route])
    withdraw = EventCommand(event="withdraw", data={"reason": "mail ops@example.cn"})
    service.fire_event(session, created.id, withdraw, actor="test")
    session.exec(  # delivered long since, as the workers do
        update(Notification)
        .where(col(Notification.filing_id) == created.id)
        .values(status=NotificationStatus.DELIVERED)
    )
    session.commit()
    clock.advance(timedelta(days=31))

    assert len(privacy.purge(session, timedelta(days=30), clock.now(), settings).filings) == 1

    notices = session.exec(select(Notification).where(Notification.filing_id == created.id)).all()
    told = " ".join(f"{n.subject} {n.body} {n.recipient} {n.idempotency_key}" for n in notices)
    assert notices and "withdraw" in told
    assert "Example Ltd" not in told and "ops@example.cn" not in told
    filing = session.get(Filing, created.id)
    assert filing is not None and filing.notify == []


def _purged_rejected(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> int:
    """A rejected order (which could still be resubmitted) purged after retention."""
    filing_id = new_filing("rejected").id
    clock.advance(timedelta(days=31))
    assert privacy.purge(session, timedelta(days=30), clock.now(), settings).filings == [filing_id]
    return filing_id


def test_a_rejected_order_purged_is_withdrawn_by_the_system_telling_no_one(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """With no applicant left it goes no further: the purge names it, no notice does."""
    filing_id = _purged_rejected(session, settings, clock, new_filing)

    [*_, last] = filing_history.history(session, filing_id)
    assert (last.event, last.actor, last.to_state) == ("withdraw", "system", "withdrawn")
    assert last.reason == service.PURGED_REASON
    told = session.exec(select(Notification.kind).where(Notification.filing_id == filing_id))
    assert "withdraw" not in told.all()


def test_a_purged_order_no_longer_holds_its_domain_from_its_applicant_filing_again(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """In flight, it kept the domain for an entity with no name left: "another entity's"."""
    _purged_rejected(session, settings, clock, new_filing)

    again = new_filing("domain_registered", domain="example.cn", applicant=APPLICANT)

    assert again.state == "domain_registered"


APPLICANT = make_payload()["applicant"]  # the first filing's own: the same organisation


def _purged_before_purges_withdrew(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> int:
    """A rejected order as an earlier release's purge left it: purged, still rejected."""
    filing_id = new_filing("rejected").id
    session.exec(
        update(Filing)
        .where(col(Filing.id) == filing_id)
        .values(personal_data_purged_at=clock.now())
    )
    session.commit()
    return filing_id


def test_a_purged_order_can_only_be_withdrawn(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """Resubmitted, it would go back to review with the applicant's data gone."""
    filing_id = _purged_before_purges_withdrew(session, clock, new_filing)
    resubmit = EventCommand(event="resubmit", data={"materials": ["id_card_front"]})

    with pytest.raises(TransitionNotAllowed) as refused:
        service.fire_event(session, filing_id, resubmit, actor="test")

    assert [r.code for r in refused.value.reasons] == ["personal_data_purged"]
    shown = describing.filing(session, filing_id, clock.now(), get_settings())
    assert shown.allowed_events == ["withdraw"]
    assert shown.personal_data_purged_at == clock.now()  # said, not only refused


def test_an_event_a_purged_order_could_never_take_names_withdraw_as_all_it_can(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing_id = _purged_before_purges_withdrew(session, clock, new_filing)

    with pytest.raises(TransitionNotAllowed) as refused:
        service.fire_event(session, filing_id, EventCommand(event="miit_approve"), actor="test")

    assert [r.code for r in refused.value.reasons] == ["not_allowed_from_state"]
    assert "(allowed: withdraw)" in refused.value.message


def test_a_purged_order_is_reminded_of_nothing_more(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """Its idle reminders and its lapse were armed while it waited on the applicant."""
    filing_id = _purged_rejected(session, settings, clock, new_filing)

    assert deadlines.open_deadlines(session, filing_id) == []


def test_purge_removes_the_answers_an_events_key_would_replay(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """They hold the applicant as the event left the order."""
    created = new_filing("submitted")
    withdraw = EventCommand(event="withdraw", data={"reason": "dropped"})
    service.fire_event(session, created.id, withdraw, actor="t", idempotency_key="w-1")
    clock.advance(timedelta(days=31))

    privacy.purge(session, timedelta(days=30), clock.now(), settings)

    kept = session.exec(
        select(IdempotencyRecord).where(IdempotencyRecord.filing_id == created.id)
    ).all()
    assert kept == []


@POSTGRES_ONLY
def test_an_order_resubmitted_while_purge_reads_it_is_not_purged(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """Purge waits for the resubmission's lock, then finds the order back in review."""
    filing_id = new_filing("rejected").id
    clock.advance(timedelta(days=31))
    resubmit = EventCommand(event="resubmit", data={"materials": list(ORG_MATERIALS)})

    purged = second_of_two_at_once(
        db,
        lambda own: service.fire_event(own, filing_id, resubmit, actor="t"),
        lambda own: privacy.purge(own, timedelta(days=30), clock.now(), settings),
    )

    assert purged == privacy.Purge(filings=[], entities=[])
    assert (
        describing.filing(session, filing_id, clock.now(), get_settings()).applicant.name
        == "Example Ltd"
    )


def test_purged_entities_are_not_taken_for_one_another(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """Their numbers are blank alike: one's order in flight is not another's."""
    withdrawn = describing.filing(
        session, _withdrawn(new_filing, session), clock.now(), get_settings()
    )
    clock.advance(timedelta(days=31))
    assert privacy.purge(session, timedelta(days=30), clock.now(), settings).filings == [
        withdrawn.id
    ]
    rejected = _purged_before_purges_withdrew(session, clock, new_filing)
    entity_id = describing.filing(session, rejected, clock.now(), get_settings()).entity_id
    session.exec(update(Entity).where(col(Entity.id) == entity_id).values(id_number=""))
    session.commit()

    assert entities.entity(session, withdrawn.entity_id).open_order_id is None
    assert entities.entity(session, entity_id).open_order_id == rejected


def test_purge_spares_orders_ended_within_retention(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing_id = _withdrawn(new_filing, session)
    clock.advance(timedelta(days=29))

    assert privacy.purge(session, timedelta(days=30), clock.now(), settings).filings == []
    assert (
        describing.filing(session, filing_id, clock.now(), get_settings()).applicant.name
        == "Example Ltd"
    )


def test_purge_spares_orders_still_open_however_old(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    _withdrawn(new_filing, session)
    open_order = new_filing("submitted", domain="other.cn")
    clock.advance(timedelta(days=400))

    assert (
        len(privacy.purge(session, timedelta(days=30), clock.now(), settings).filings) == 1
    )  # the withdrawn one
    assert (
        describing.filing(session, open_order.id, clock.now(), get_settings()).applicant.name
        == "Example Ltd"
    )


def test_a_second_purge_finds_nothing_left(
    session: Session, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    _withdrawn(new_filing, session)
    clock.advance(timedelta(days=31))
    assert len(privacy.purge(session, timedelta(days=30), clock.now(), settings).filings) == 1

    assert privacy.purge(session, timedelta(days=30), clock.now(), settings).filings == []


def test_purge_forgets_the_person_of_a_site_its_order_brought_to_an_entity_on_record(
    session: Session, settings: Settings, clock: FrozenClock, open_order: Open, on_file: FilingOut
) -> None:
    """The entity stays, the record; the withdrawn site was never on it, nor is its person."""
    order = open_order(**order_on("new_service", on_file.entity_id, 0))
    withdraw = EventCommand(event="withdraw", data={"reason": "dropped"})
    service.fire_event(session, order.id, withdraw, actor="t")
    clock.advance(timedelta(days=31))

    assert privacy.purge(session, timedelta(days=30), clock.now(), settings).filings == [order.id]

    [site] = [s for s in entities.services(session, on_file.entity_id) if s.id == order.service_id]
    assert (site.responsible_name, site.responsible_mobile) == (None, None)
    kept = entities.entity(session, on_file.entity_id)
    assert kept.name == "Example Ltd" and kept.icp_number is not None
