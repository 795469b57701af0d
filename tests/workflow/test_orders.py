"""Orders of the seven kinds through the service: paths, guards, the SMS and idle orders."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pydantic
import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from config.clock import CHINA, FrozenClock, as_utc
from config.settings import Settings, get_settings
from models import Deadline, Entity, Notification
from tests.databases import POSTGRES_ONLY, Database, second_of_two_at_once
from tests.factories import (
    ANDROID_MD5,
    APP_MOBILE,
    APPROVED_RECORD,
    CREDIT_CODE_BY_PROVINCE,
    ENTITY_MOBILE,
    ENTITY_NUMBER,
    INDIVIDUAL_ID,
    ORDER_PATHS,
    ORG_CREDIT_CODE,
    ORG_MATERIALS,
    OTHER_PERSON_ID,
    PERSON_ID,
    SITE_MOBILE,
    MakeFiling,
    Order,
    another_organisation,
    as_apps,
    as_individuals,
    credit_code,
    entity_in,
    first_filing_order,
    fresh_service_number,
    individual_in,
    make_command,
    on_platform,
    order_on,
    service_in,
)
from workflow import obligations, outbox, service
from workflow.domain.commands import ChangesIn, EventCommand, OrderCreate
from workflow.domain.errors import (
    GuardFailed,
    TransitionNotAllowed,
    ValidationError,
    VersionConflict,
)
from workflow.domain.obligations import LeftHost
from workflow.domain.orders import CHANGES
from workflow.notices import due_line
from workflow.schemas import FilingOut, ServiceOut
from workflow.sweeps import fire_due_deadlines
from workflow.views import describing, entities, history, search

if TYPE_CHECKING:
    from tests.conftest import Open


def _fire(session: Session, order: FilingOut, event: str, data: dict[str, Any]) -> FilingOut:
    return service.fire_event(session, order.id, EventCommand(event=event, data=data), actor="t")


def _drive(
    session: Session, order: FilingOut, steps: list[tuple[str, dict[str, Any]]]
) -> FilingOut:
    for event, data in steps:
        order = _fire(session, order, event, data)
    return order


@pytest.mark.parametrize("kind", sorted(ORDER_PATHS))
def test_each_kind_runs_to_approval_and_changes_the_record_as_declared(
    session: Session, open_order: Open, on_file: FilingOut, kind: str
) -> None:
    order = on_file
    if kind == "cancel_service":  # not the entity's last: that would leave an empty entity
        more = order_on("new_service", on_file.entity_id, 0)
        _drive(session, open_order(**more), ORDER_PATHS["new_service"])
    if kind != "first_filing":
        body = order_on(kind, on_file.entity_id, on_file.service_id or 0)
        order = _drive(session, open_order(**body), ORDER_PATHS[kind])
    assert (order.kind, order.state) == (kind, "approved")
    entity = entities.entity(session, order.entity_id)
    subject = next(s for s in entity.services if s.id == (order.service_id or on_file.service_id))
    recorded = (entity.status, entity.icp_number, subject.status, subject.record_number)
    assert recorded == APPROVED_RECORD[kind]


def test_a_change_order_writes_its_changes_to_the_entity(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    body = order_on("change", on_file.entity_id, on_file.service_id or 0)
    _drive(session, open_order(**body), ORDER_PATHS["change"])
    assert entities.entity(session, on_file.entity_id).name == "Example Group Ltd"


def test_a_second_order_is_refused_while_one_is_open_naming_it(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    first = open_order(**order_on("cancel_access", on_file.entity_id, on_file.service_id or 0))
    with pytest.raises(ValidationError) as refused:
        open_order(**order_on("change", on_file.entity_id, on_file.service_id or 0))
    [reason] = [r for r in refused.value.reasons if r.code == "order_in_flight"]
    assert reason.details == {
        "entity_id": on_file.entity_id,
        "order_id": first.id,
        "order_kind": "cancel_access",
    }
    assert str(first.id) in reason.message


def test_a_cancel_access_order_never_asks_for_an_sms(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    order = open_order(**order_on("cancel_access", on_file.entity_id, on_file.service_id or 0))
    offered: set[str] = set(order.allowed_events)
    for event, data in ORDER_PATHS["cancel_access"]:
        if order.state == "host_pre_approved":
            with pytest.raises(TransitionNotAllowed):
                _fire(session, order, "sms_sent", {})
        order = _fire(session, order, event, data)
        offered |= set(order.allowed_events)
    assert order.state == "approved"
    assert not offered & {"sms_sent", "verify_sms", "sms_wrong_entry"}
    assert history.verifiers(session, order.id) == []


def test_an_approved_cancellation_reads_as_an_approved_order_not_as_a_filing_passed(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    order = open_order(**order_on("cancel_access", on_file.entity_id, on_file.service_id or 0))
    for event, data in ORDER_PATHS["cancel_access"]:
        order = _fire(session, order, event, data)

    assert (order.state, order.state_label) == ("approved", "审核通过")


def test_the_sms_window_runs_from_the_sms_not_from_host_approval(
    db: Database,
    session: Session,
    settings: Settings,
    clock: FrozenClock,
    open_order: Open,
) -> None:
    order = _drive(session, open_order(**first_filing_order()), ORDER_PATHS["first_filing"][:3])
    assert order.state == "host_pre_approved"
    clock.advance(timedelta(hours=20))
    _fire(session, order, "sms_sent", {})
    session.commit()

    clock.advance(timedelta(hours=23))
    fire_due_deadlines(db.engine, clock.now(), settings)
    with Session(db.engine) as fresh:
        assert (
            describing.filing(fresh, order.id, clock.now(), get_settings()).state == "sms_pending"
        )

    clock.advance(timedelta(hours=1))
    fire_due_deadlines(db.engine, clock.now(), settings)
    with Session(db.engine) as fresh:
        assert (
            describing.filing(fresh, order.id, clock.now(), get_settings()).state == "host_returned"
        )
        assert {v.result for v in history.verifiers(fresh, order.id)} == {"failed"}


def test_an_answer_after_the_sms_window_closed_is_refused_though_no_sweep_has_run(
    db: Database, session: Session, clock: FrozenClock, open_order: Open
) -> None:
    order = _drive(session, open_order(**first_filing_order()), ORDER_PATHS["first_filing"][:4])
    clock.advance(timedelta(hours=25))  # the scheduler down: sms_expiry due, not fired

    with pytest.raises(TransitionNotAllowed):
        _fire(session, order, "verify_sms", {"verifier": "entity"})

    with Session(db.engine) as fresh:
        assert (
            describing.filing(fresh, order.id, clock.now(), get_settings()).state == "host_returned"
        )
        assert [(h.event, h.actor) for h in history.history(fresh, order.id)][-1] == (
            "expire_sms",
            "system",
        )


def test_what_an_event_fires_for_a_sweep_behind_is_relayed_as_the_callers_commits_are(
    db: Database, session: Session, clock: FrozenClock, open_order: Open
) -> None:
    """The web relays its commits to the broker at once: the expiry's notices too, though the
    expiry is fired in a session of its own, or they wait for the scheduler that is down."""
    order = _drive(session, open_order(**first_filing_order()), ORDER_PATHS["first_filing"][:4])
    clock.advance(timedelta(hours=25))
    relayed: list[int] = []

    web = Session(db.engine, info=outbox.session_info(relayed.extend))
    with web, pytest.raises(TransitionNotAllowed):
        _fire(web, order, "verify_sms", {"verifier": "entity"})

    assert relayed
    assert {n.kind for n in history.notifications(session, order.id, get_settings())} >= {
        "sms_expiry"
    }


def test_every_listed_person_answers_before_the_order_moves_on(
    session: Session, open_order: Open
) -> None:
    order = _drive(session, open_order(**first_filing_order()), ORDER_PATHS["first_filing"][:4])
    order = _fire(session, order, "verify_sms", {"verifier": "entity"})
    assert order.state == "sms_pending"
    assert {d.kind for d in order.deadlines} >= {"sms_expiry"}
    order = _fire(session, order, "verify_sms", {"verifier": "service"})
    assert order.state == "miit_pending"
    assert {v.result for v in history.verifiers(session, order.id)} == {"verified"}


def test_the_fifth_wrong_entry_returns_the_order(session: Session, open_order: Open) -> None:
    order = _drive(session, open_order(**first_filing_order()), ORDER_PATHS["first_filing"][:4])
    for _ in range(4):
        order = _fire(session, order, "sms_wrong_entry", {"verifier": "service"})
        assert order.state == "sms_pending"
    order = _fire(session, order, "sms_wrong_entry", {"verifier": "service"})
    assert order.state == "host_returned"
    counted = {v.role: (v.wrong_entries, v.result) for v in history.verifiers(session, order.id)}
    assert counted == {"entity": (0, "pending"), "service": (5, "failed")}


def test_a_mismatched_registrant_is_refused_naming_the_field(open_order: Open) -> None:
    body = first_filing_order(service=service_in(domain_registrant="Someone Else"))
    with pytest.raises(ValidationError) as refused:
        open_order(**body)
    assert {r.field for r in refused.value.reasons} == {"service.domain_registrant"}


def test_a_domain_not_real_name_verified_is_refused(open_order: Open) -> None:
    body = first_filing_order(service=service_in(domain_real_name_verified=False))
    with pytest.raises(ValidationError) as refused:
        open_order(**body)
    assert [r.code for r in refused.value.reasons] == ["domain_not_real_name_verified"]


def test_two_people_with_one_mobile_in_one_order_are_refused(open_order: Open) -> None:
    site = service_in(responsible={"name": "Han Meimei", "mobile": "13800138000"})
    with pytest.raises(ValidationError) as refused:
        open_order(**first_filing_order(service=site))
    assert [r.code for r in refused.value.reasons] == ["mobile_repeated"]


def test_a_site_person_whose_mobile_is_not_mainland_is_refused_naming_the_field(
    open_order: Open,
) -> None:
    site = service_in(responsible={"name": "Han Meimei", "mobile": "85291234567"})
    with pytest.raises(ValidationError) as refused:
        open_order(**first_filing_order(service=site))
    assert [(r.code, r.field) for r in refused.value.reasons] == [
        ("invalid_phone", "service.responsible.mobile")
    ]


def test_a_change_orders_new_person_needs_a_mainland_mobile(
    open_order: Open, on_file: FilingOut
) -> None:
    new_person = {"name": "Zhao Liu", "mobile": "12345"}
    body = order_on("change", on_file.entity_id, 0) | {
        "changes": {"entity_responsible": new_person}
    }
    with pytest.raises(ValidationError) as refused:
        open_order(**body)
    assert ("invalid_phone", "changes.entity_responsible.mobile") in [
        (r.code, r.field) for r in refused.value.reasons
    ]


def test_a_new_entitys_mobile_is_refused_by_its_own_name(open_order: Open) -> None:
    entity = entity_in(responsible={"name": "Li Lei", "mobile": "12345"})
    with pytest.raises(ValidationError) as refused:
        open_order(**first_filing_order(entity=entity))
    [reason] = [r for r in refused.value.reasons if r.code == "invalid_phone"]
    assert reason.field == "entity.responsible.mobile"
    assert reason.message.startswith("entity.responsible.mobile must be a mainland mobile")


def test_one_person_responsible_for_the_entity_and_the_site_gives_one_mobile(
    open_order: Open,
) -> None:
    """An individual, or a small company's manager, answers for both with their own phone."""
    site = service_in(responsible={"name": "Li Lei", "mobile": "13800138000"})
    assert open_order(**first_filing_order(service=site)).state == "domain_registered"


def _with_document(name: str, mobile: str, id_number: str) -> dict[str, str]:
    return {"name": name, "mobile": mobile, "id_type": "resident_id", "id_number": id_number}


def test_two_people_sharing_a_name_and_a_mobile_are_refused_by_their_documents(
    open_order: Open,
) -> None:
    """王伟 is a common name: the documents say these are two people."""
    entity = entity_in(responsible=_with_document("王伟", ENTITY_MOBILE, PERSON_ID))
    site = service_in(responsible=_with_document("王伟", ENTITY_MOBILE, OTHER_PERSON_ID))

    with pytest.raises(ValidationError) as refused:
        open_order(**first_filing_order(entity=entity, service=site))

    reasons = [(r.code, r.field) for r in refused.value.reasons]
    assert reasons == [("mobile_repeated", "service.responsible.mobile")]


def test_one_person_by_their_document_answers_for_the_entity_and_the_site_with_one_mobile(
    open_order: Open,
) -> None:
    """Their name written in Chinese for one role and in pinyin for the other."""
    entity = entity_in(responsible=_with_document("Li Lei", ENTITY_MOBILE, PERSON_ID))
    site = service_in(responsible=_with_document("李雷", ENTITY_MOBILE, PERSON_ID.lower()))

    opened = open_order(**first_filing_order(entity=entity, service=site))

    assert opened.state == "domain_registered"


def test_a_person_on_record_and_a_new_one_sharing_a_name_and_mobile_are_told_apart(
    open_order: Open,
) -> None:
    """The entity's person on record holds a document; the new site's names another."""
    entity = entity_in(responsible=_with_document("王伟", ENTITY_MOBILE, PERSON_ID))
    on_file = open_order(**first_filing_order(entity=entity))
    body = order_on("new_service", on_file.entity_id, 0)
    site = _with_document("王伟", ENTITY_MOBILE, OTHER_PERSON_ID)
    body["service"] = {**body["service"], "responsible": site}  # type: ignore[dict-item]

    with pytest.raises(ValidationError) as refused:
        open_order(**body)

    assert ("mobile_repeated", "service.responsible.mobile") in [
        (r.code, r.field) for r in refused.value.reasons
    ]


@pytest.mark.parametrize("given", ["id_type", "id_number"])
def test_a_persons_document_half_given_is_refused_naming_the_other_half(
    open_order: Open, given: str
) -> None:
    person = {"name": "Han Meimei", "mobile": SITE_MOBILE}
    person[given] = _with_document("", "", PERSON_ID)[given]
    missing = "id_number" if given == "id_type" else "id_type"

    with pytest.raises(ValidationError) as refused:
        open_order(**first_filing_order(service=service_in(responsible=person)))

    reasons = [(r.code, r.field) for r in refused.value.reasons]
    assert reasons == [("missing_field", f"service.responsible.{missing}")]


@pytest.mark.parametrize(
    ("id_number", "code"),
    [
        ("11010519800101", "invalid_id_number"),
        ("110105198001010017", "id_number_check_failed"),
        ("99010519800101001X", "unknown_region"),
    ],
)
def test_a_persons_document_is_judged_as_an_applicants_is(
    open_order: Open, id_number: str, code: str
) -> None:
    person = _with_document("Han Meimei", SITE_MOBILE, id_number)

    with pytest.raises(ValidationError) as refused:
        open_order(**first_filing_order(service=service_in(responsible=person)))

    reasons = [(r.code, r.field) for r in refused.value.reasons]
    assert reasons == [(code, "service.responsible.id_number")]


def test_a_persons_document_is_one_a_person_files_with(open_order: Open) -> None:
    person = {**_with_document("Han Meimei", SITE_MOBILE, ORG_CREDIT_CODE)}
    person["id_type"] = "business_licence"

    with pytest.raises(ValidationError) as refused:
        open_order(**first_filing_order(service=service_in(responsible=person)))

    reasons = [(r.code, r.field) for r in refused.value.reasons]
    assert reasons == [("id_type_not_accepted", "service.responsible.id_type")]


def test_an_organisation_naming_itself_responsible_is_refused(open_order: Open) -> None:
    entity = entity_in(responsible={"name": "Example Ltd", "mobile": "13800138000"})
    with pytest.raises(ValidationError) as refused:
        open_order(**first_filing_order(entity=entity))
    reasons = [(r.code, r.field) for r in refused.value.reasons]
    assert reasons == [("responsible_person_missing", "entity.responsible.name")]


def test_an_individual_naming_someone_else_responsible_is_refused(open_order: Open) -> None:
    entity = entity_in(
        type="individual",
        name="Wang Fang",
        id_type="resident_id",
        id_number="11010519491231002X",
        responsible={"name": "Li Lei", "mobile": "13800138000"},
    )
    site = service_in(domain_registrant="Wang Fang")
    with pytest.raises(ValidationError) as refused:
        open_order(**first_filing_order(entity=entity, service=site))
    reasons = [(r.code, r.field) for r in refused.value.reasons]
    assert reasons == [("responsible_not_applicant", "entity.responsible.name")]


def test_a_change_naming_the_organisation_its_own_responsible_person_is_refused(
    open_order: Open, on_file: FilingOut
) -> None:
    person = {"name": "Example Ltd", "mobile": "13900139000"}
    body = {
        "kind": "change",
        "entity_id": on_file.entity_id,
        "changes": {"entity_responsible": person},
    }
    with pytest.raises(ValidationError) as refused:
        open_order(**body)
    reasons = [(r.code, r.field) for r in refused.value.reasons]
    assert reasons == [("responsible_person_missing", "changes.entity_responsible.name")]


def test_a_rename_alone_is_judged_against_the_responsible_person_on_record(
    open_order: Open, on_file: FilingOut
) -> None:
    """Renamed as its person (Li Lei), the company would name itself responsible; so would
    an individual renamed without their person, who is their own."""
    body = {"kind": "change", "entity_id": on_file.entity_id, "changes": {"entity_name": "Li Lei"}}

    with pytest.raises(ValidationError) as refused:
        open_order(**body)

    [reason] = refused.value.reasons
    assert (reason.code, reason.field) == ("responsible_person_missing", "changes.entity_name")
    assert "changes.entity_responsible" in reason.message


@pytest.mark.parametrize(
    ("part", "mobile", "with_service"),
    [
        ("entity_responsible", SITE_MOBILE, False),  # the site's person's, on file
        ("service_responsible", ENTITY_MOBILE, True),  # the entity's person's, listed
    ],
    ids=["entity given the site's", "site given the entity's"],
)
def test_a_changed_person_may_not_take_another_persons_mobile_on_the_record(
    open_order: Open, on_file: FilingOut, part: str, mobile: str, with_service: bool
) -> None:
    body = {"kind": "change", "entity_id": on_file.entity_id}
    service = {"service_id": on_file.service_id} if with_service else {}
    with pytest.raises(ValidationError) as refused:
        open_order(**body, **service, changes={part: {"name": "Zhao Lei", "mobile": mobile}})
    reasons = [(r.code, r.field) for r in refused.value.reasons]
    assert reasons == [("mobile_repeated", f"changes.{part}.mobile")]


def _app_of_the_sites_person(session: Session, open_order: Open, on_file: FilingOut) -> None:
    """The entity's app, approved, with the site's responsible person answering for it too."""
    app = service_in(
        kind="app", name="Example App", app_identifier="cn.example.app",
        responsible={"name": "Han Meimei", "mobile": SITE_MOBILE},
    )  # fmt: skip
    order = open_order(kind="new_service", entity_id=on_file.entity_id, service=app)
    _drive(session, order, ORDER_PATHS["new_service"])


def test_a_person_answering_for_two_services_has_their_name_corrected_one_order_at_a_time(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    _app_of_the_sites_person(session, open_order, on_file)
    corrected = {"service_responsible": {"name": "Han Mei-mei", "mobile": SITE_MOBILE}}
    order = open_order(
        kind="change", entity_id=on_file.entity_id, service_id=on_file.service_id,
        changes=corrected,
    )  # fmt: skip
    assert order.kind == "change"


def test_a_new_services_person_may_not_take_the_mobile_of_a_person_on_the_record(
    open_order: Open, on_file: FilingOut
) -> None:
    app = service_in(
        kind="app", name="Example App", app_identifier="cn.example.app",
        responsible={"name": "Zhao Lei", "mobile": SITE_MOBILE},
    )  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        open_order(kind="new_service", entity_id=on_file.entity_id, service=app)
    reasons = [(r.code, r.field) for r in refused.value.reasons]
    assert reasons == [("mobile_repeated", "service.responsible.mobile")]


def test_a_change_order_changing_nothing_is_refused(open_order: Open, on_file: FilingOut) -> None:
    body = {"kind": "change", "entity_id": on_file.entity_id, "changes": {}}
    with pytest.raises(ValidationError) as refused:
        open_order(**body)
    assert [(r.code, r.field) for r in refused.value.reasons] == [("nothing_to_change", "changes")]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"entity_name": "Example  Ltd"}, "changes.entity_name"),
        ({"service_name": "Example"}, "changes.service_name"),
        (
            {"entity_responsible": {"name": "Li Lei", "mobile": ENTITY_MOBILE}},
            "changes.entity_responsible",
        ),
        (
            {"service_responsible": {"name": "Han Meimei", "mobile": SITE_MOBILE}},
            "changes.service_responsible",
        ),
    ],
    ids=["entity spaced", "service", "entity's person", "site's person"],
)
def test_a_change_to_a_name_or_person_already_on_record_is_refused(
    open_order: Open, on_file: FilingOut, changes: dict[str, object], field: str
) -> None:
    body = {"kind": "change", "entity_id": on_file.entity_id, "service_id": on_file.service_id}
    with pytest.raises(ValidationError) as refused:
        open_order(**body, changes=changes)
    assert [(r.code, r.field) for r in refused.value.reasons] == [("unchanged", field)]


@pytest.mark.parametrize(
    ("kind", "part", "field"),
    [
        ("change", "changes", "changes.entity_responsible.email"),
        ("new_service", "service", "service.responsible.email"),
    ],
)
def test_a_responsible_persons_email_that_is_no_address_is_refused_naming_it(
    open_order: Open, on_file: FilingOut, kind: str, part: str, field: str
) -> None:
    """Taken on a change, it would be the applicant's email of the entity's next orders, and
    refuse them all with no field a case manager could mend."""
    person = {"name": "Wang Wu", "mobile": "13700137001", "email": "bad"}
    body = order_on(kind, on_file.entity_id, on_file.service_id or 0)
    if part == "changes":
        body["changes"] = {"entity_responsible": person}
    else:
        body["service"] = {**body["service"], "responsible": person}  # type: ignore[dict-item]
    assert _refusals(open_order, body) == [("invalid_email", field)]


def _new_app_with(on_file: FilingOut, person: Mapping[str, object]) -> dict[str, object]:
    """A new-service order of the entity's app, its own person ``person``."""
    body = order_on("new_service", on_file.entity_id, 0)
    body["service"] = {**body["service"], "responsible": person}  # type: ignore[dict-item]
    return body


def _service_on_record(session: Session, entity_id: int, service_id: int | None) -> ServiceOut:
    [on_record] = [s for s in entities.entity(session, entity_id).services if s.id == service_id]
    return on_record


def test_a_services_persons_email_is_kept_on_record(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    person = {"name": "Wang Fang", "mobile": APP_MOBILE, "email": "wang@example.cn"}

    app = _drive(session, open_order(**_new_app_with(on_file, person)), ORDER_PATHS["new_service"])

    on_record = _service_on_record(session, on_file.entity_id, app.service_id)
    assert on_record.responsible_email == "wang@example.cn"


def test_a_services_person_is_asked_nothing_of_the_legal_representative(
    open_order: Open, on_file: FilingOut
) -> None:
    """The authorisation letter is the entity's person's: the flag, taken, did nothing."""
    person = {"name": "Wang Fang", "mobile": APP_MOBILE, "legal_representative": False}

    with pytest.raises(ValidationError) as refused:
        open_order(**_new_app_with(on_file, person))

    assert [r.field for r in refused.value.reasons] == ["service.responsible.legal_representative"]


def test_a_new_person_for_a_service_does_not_take_the_email_of_the_one_before(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    person = {"name": "Wang Fang", "mobile": APP_MOBILE, "email": "wang@example.cn"}
    app = _drive(session, open_order(**_new_app_with(on_file, person)), ORDER_PATHS["new_service"])
    changes = {"service_responsible": {"name": "Zhao Liu", "mobile": "13600080010"}}
    change = {"kind": "change", "entity_id": on_file.entity_id, "service_id": app.service_id}

    _drive(session, open_order(**change, changes=changes), ORDER_PATHS["change"])

    on_record = _service_on_record(session, on_file.entity_id, app.service_id)
    assert (on_record.responsible_name, on_record.responsible_email) == ("Zhao Liu", None)


def test_a_new_person_for_the_entity_does_not_take_the_email_of_the_one_before(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """The entity's email is every later order's applicant email."""
    changes = {"entity_responsible": {"name": "Zhao Liu", "mobile": "13600080010"}}
    change = {"kind": "change", "entity_id": on_file.entity_id}

    _drive(session, open_order(**change, changes=changes), ORDER_PATHS["change"])

    entity = session.get(Entity, on_file.entity_id)
    assert entity is not None and (entity.responsible_name, entity.responsible_email) == (
        "Zhao Liu",
        "",
    )


def test_the_entitys_person_respelt_keeps_their_email_on_record(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """The same person, their name's spacing corrected and no longer the legal representative."""
    person = {"name": "Li  Lei", "mobile": ENTITY_MOBILE, "legal_representative": False}
    change = {"kind": "change", "entity_id": on_file.entity_id}
    _submit, *review = ORDER_PATHS["change"]
    with_letter = {"materials": ["change_request_form", "renaming_letter", "authorisation_letter"]}

    order = open_order(**change, changes={"entity_responsible": person})
    _drive(session, order, [("submit", with_letter), *review])

    entity = session.get(Entity, on_file.entity_id)
    assert entity is not None and entity.responsible_email == "li@example.cn"


def test_the_same_person_no_longer_the_legal_representative_is_a_change(
    open_order: Open, on_file: FilingOut
) -> None:
    person = {"name": "Li Lei", "mobile": ENTITY_MOBILE, "legal_representative": False}
    body = {"kind": "change", "entity_id": on_file.entity_id}

    order = open_order(**body, changes={"entity_responsible": person})

    assert order.kind == "change"


def _entity_document(session: Session, entity_id: int) -> tuple[str | None, str | None]:
    entity = session.get(Entity, entity_id)
    assert entity is not None
    return entity.responsible_id_type, entity.responsible_id_number


def test_an_individual_giving_no_responsible_document_is_responsible_with_their_own(
    session: Session, open_order: Open
) -> None:
    """She is her own responsible person: the bureau asks her for her own ID."""
    site = service_in(domain_registrant="Wang Fang")

    order = open_order(**first_filing_order(entity=individual_in(), service=site))

    assert _entity_document(session, order.entity_id) == ("resident_id", INDIVIDUAL_ID)


def test_today_s_filing_body_of_an_individual_is_responsible_with_their_own_document(
    session: Session,
) -> None:
    applicant = {
        "type": "individual",
        "name": "Wang Fang",
        "id_type": "resident_id",
        "id_number": INDIVIDUAL_ID.lower(),  # an x check digit is the same number
        "phone": ENTITY_MOBILE,
        "email": "fang@example.cn",
    }

    filing = service.create_filing(session, make_command(applicant=applicant), actor="t")

    assert _entity_document(session, filing.entity_id) == ("resident_id", INDIVIDUAL_ID)


def test_an_individual_giving_a_responsible_document_keeps_it(
    session: Session, open_order: Open
) -> None:
    """Her passport, say: what she gave is on file, not her resident ID."""
    entity = individual_in(id_type="passport", id_number="E12345678")
    site = service_in(domain_registrant="Wang Fang")

    order = open_order(**first_filing_order(entity=entity, service=site))

    assert _entity_document(session, order.entity_id) == ("passport", "E12345678")


def test_an_individual_s_invalid_document_is_refused_once_as_the_applicant_s(
    open_order: Open,
) -> None:
    """Not again beside the responsible person's document, which she did not type."""
    entity = {**individual_in(), "id_number": "110105194912310021"}
    site = service_in(domain_registrant="Wang Fang")

    with pytest.raises(ValidationError) as refused:
        open_order(**first_filing_order(entity=entity, service=site))

    assert [r.field for r in refused.value.reasons] == ["entity.id_number"]


def test_an_individual_is_told_from_a_namesake_sharing_her_mobile_by_her_own_document(
    open_order: Open,
) -> None:
    """As a later order would tell them apart once her document is on file."""
    namesake = _with_document("Wang Fang", ENTITY_MOBILE, OTHER_PERSON_ID)
    site = service_in(domain_registrant="Wang Fang", responsible=namesake)

    with pytest.raises(ValidationError) as refused:
        open_order(**first_filing_order(entity=individual_in(), service=site))

    reasons = [(r.code, r.field) for r in refused.value.reasons]
    assert reasons == [("mobile_repeated", "service.responsible.mobile")]


def test_an_organisation_giving_no_responsible_document_has_none_on_file(
    session: Session, open_order: Open
) -> None:
    order = open_order(**first_filing_order())

    assert _entity_document(session, order.entity_id) == (None, None)


PASSPORT = ("passport", "E12345678")


@pytest.fixture(params=[None, PASSPORT], ids=["her own document", "her passport"])
def individual_on_file(
    request: pytest.FixtureRequest, session: Session, open_order: Open
) -> tuple[FilingOut, tuple[str, str]]:
    """Wang Fang's approved first filing, giving her passport as her responsible person's
    document or none (her own on file); with the document on file."""
    given = request.param
    entity = individual_in(
        **dict(zip(("id_type", "id_number"), given, strict=True)) if given else {}
    )
    site = service_in(domain_registrant="Wang Fang")
    order = open_order(**first_filing_order(entity=entity, service=site))
    filed = _drive(session, order, as_individuals(ORDER_PATHS["first_filing"]))
    return filed, given or ("resident_id", INDIVIDUAL_ID)


@pytest.mark.parametrize(
    "changes",
    [
        {"entity_name": "Wang Fangfang", "entity_responsible": {"name": "Wang Fangfang"}},
        {"entity_responsible": {"name": "Wang Fang", "mobile": "13600080010"}},
    ],
    ids=["renamed", "new mobile"],
)
def test_an_individual_s_change_giving_no_document_keeps_the_document_on_file(
    session: Session,
    individual_on_file: tuple[FilingOut, tuple[str, str]],
    open_order: Open,
    changes: dict[str, Any],
) -> None:
    """She is still her own responsible person, whatever her name or mobile now: the
    document on file is hers, her own or the one she chose (a change of either dropped it,
    then swapped a chosen one for her own)."""
    filed, document = individual_on_file
    person = {"mobile": ENTITY_MOBILE, **changes["entity_responsible"]}
    change = {"kind": "change", "entity_id": filed.entity_id}

    order = open_order(**change, changes={**changes, "entity_responsible": person})
    _drive(session, order, ORDER_PATHS["change"])

    assert _entity_document(session, filed.entity_id) == document


def test_a_change_gives_the_person_on_record_their_document_shown_masked(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """The same name and mobile: the document alone is the change."""
    person = _with_document("Li Lei", ENTITY_MOBILE, PERSON_ID)
    change = {"kind": "change", "entity_id": on_file.entity_id}

    order = open_order(**change, changes={"entity_responsible": person})
    _drive(session, order, ORDER_PATHS["change"])

    shown = entities.entity(session, on_file.entity_id)
    assert (shown.responsible_id_type, shown.responsible_id_number) == (
        "resident_id",
        "110***********0016",
    )


@pytest.mark.parametrize("corrected", ["EXAMPLE LTD", "Ｅｘａｍｐｌｅ Ltd"], ids=["case", "width"])
def test_a_name_corrected_in_case_or_width_is_a_change(
    open_order: Open, on_file: FilingOut, corrected: str
) -> None:
    order = open_order(
        kind="change", entity_id=on_file.entity_id, changes={"entity_name": corrected}
    )
    assert order.changes is not None and order.changes.entity_name == corrected


def test_a_change_of_a_service_on_file_is_opened_for_the_services_entity(
    open_order: Open, on_file: FilingOut
) -> None:
    order = open_order(kind="change", service_id=on_file.service_id, changes={"service_name": "X"})
    assert (order.entity_id, order.service_id) == (on_file.entity_id, on_file.service_id)


def test_an_order_missing_its_entity_is_refused_for_that_alone(
    open_order: Open, on_file: FilingOut
) -> None:
    """Without the entity, whose mobile or domain is another entity's cannot be told: no
    reason guesses."""
    with pytest.raises(ValidationError) as refused:
        open_order(kind="change", changes={"entity_name": "Example Group Ltd"})
    assert [(r.code, r.field) for r in refused.value.reasons] == [("missing_field", "entity_id")]
    with pytest.raises(ValidationError) as refused:  # the entity's own domain, not "another's"
        open_order(kind="new_service", service=service_in(domain="example.cn"))
    assert [(r.code, r.field) for r in refused.value.reasons] == [("missing_field", "entity_id")]


def test_a_mobile_another_entity_lists_is_refused(open_order: Open, on_file: FilingOut) -> None:
    other = first_filing_order()
    other["entity"] = entity_in(name="Other Ltd", id_number="91310115MA1ABCDE8Q", province="沪")
    other["service"] = service_in(
        domain="other.cn",
        domain_registrant="Other Ltd",
        responsible={"name": "X", "mobile": "13500135000"},
    )
    with pytest.raises(ValidationError) as refused:
        open_order(**other)
    assert [r.field for r in refused.value.reasons] == ["entity.responsible.mobile"]


def test_a_responsible_person_who_is_not_the_legal_representative_needs_the_letter(
    session: Session, open_order: Open
) -> None:
    entity = first_filing_order()["entity"]
    assert isinstance(entity, dict)
    entity["responsible"] = {**entity["responsible"], "legal_representative": False}
    order = _drive(
        session, open_order(**first_filing_order(entity=entity)), ORDER_PATHS["first_filing"][:1]
    )
    materials = ORDER_PATHS["first_filing"][1][1]["materials"]
    assert isinstance(materials, list)
    with pytest.raises(GuardFailed) as refused:
        _fire(session, order, "submit", {"materials": materials})
    assert "authorisation_letter_required" in {r.code for r in refused.value.reasons}
    order = _fire(session, order, "submit", {"materials": [*materials, "authorisation_letter"]})
    assert order.state == "submitted"


def test_a_new_services_number_must_follow_the_entitys(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    order = open_order(**order_on("new_service", on_file.entity_id, on_file.service_id or 0))
    order = _drive(session, order, ORDER_PATHS["new_service"][:-1])
    with pytest.raises(GuardFailed) as refused:
        _fire(session, order, "miit_approve", {"icp_number": "京ICP备2026000123号-7"})
    assert [r.code for r in refused.value.reasons] == ["record_number_not_following"]


def _other_first_filing(**entity: object) -> dict[str, object]:
    """Another organisation's first filing, of another domain, with people of its own."""
    return first_filing_order(
        entity=entity_in(
            name="Other Ltd",
            id_number="91110000MA02ABC0XH",
            responsible={"name": "Zhao Lei", "mobile": "13500135000"},
        )
        | entity,
        service=service_in(
            domain="other.cn",
            domain_registrant="Other Ltd",
            responsible={"name": "Qian Li", "mobile": "13400134000"},
        ),
    )


def test_a_first_filing_given_another_entitys_number_is_refused_naming_that_entity(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    order = _drive(session, open_order(**_other_first_filing()), ORDER_PATHS["first_filing"][:-1])
    with pytest.raises(GuardFailed) as refused:
        _fire(session, order, "miit_approve", {"icp_number": f"{ENTITY_NUMBER}-1"})
    assert [(r.code, r.field, r.details) for r in refused.value.reasons] == [
        ("icp_number_in_use", "data.icp_number", {"entity_id": on_file.entity_id})
    ]


@pytest.mark.parametrize("kind", ["cancel_entity", "cancel_service", "cancel_access", "change"])
def test_orders_on_a_record_need_the_record(session: Session, open_order: Open, kind: str) -> None:
    pending = open_order(**first_filing_order())
    _fire(session, pending, "withdraw", {"reason": "test"})
    with pytest.raises(ValidationError) as refused:
        open_order(**order_on(kind, pending.entity_id, pending.service_id or 0))
    assert "entity_not_on_file" in {r.code for r in refused.value.reasons}


def test_idle_reminders_never_fire_while_miit_reviews(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, open_order: Open
) -> None:
    order = _drive(session, open_order(**first_filing_order()), ORDER_PATHS["first_filing"][:-1])
    assert order.state == "miit_pending"
    session.commit()
    for _ in range(50):
        clock.advance(timedelta(days=1))
        fire_due_deadlines(db.engine, clock.now(), settings)
    with Session(db.engine) as fresh:
        kinds = set(
            fresh.exec(select(Notification.kind).where(Notification.filing_id == order.id)).all()
        )
        assert (
            describing.filing(fresh, order.id, clock.now(), get_settings()).state == "miit_pending"
        )
    assert not kinds & {"idle_reminder", "idle_escalation", "idle_lapse", "lapse"}


def test_an_order_idle_on_the_applicant_is_reminded_then_lapses_saying_what_to_do(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, open_order: Open
) -> None:
    order = open_order(**first_filing_order())
    session.commit()
    for _ in range(46):
        clock.advance(timedelta(days=1))
        fire_due_deadlines(db.engine, clock.now(), settings)
    with Session(db.engine) as fresh:
        notes = fresh.exec(
            select(Notification)
            .where(Notification.filing_id == order.id)
            .order_by(col(Notification.id))
        ).all()
        assert describing.filing(fresh, order.id, clock.now(), get_settings()).state == "lapsed"
    reminders = [n for n in notes if n.kind == "idle_reminder"]
    assert len(reminders) == 3 * len(settings.notify_routes["case_manager"])
    lapsed = next(n for n in notes if n.kind == "idle_lapse")
    assert "lapsed" in lapsed.body and "resubmit" in lapsed.body


@pytest.fixture
def lapsed_unbound(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, open_order: Open
) -> FilingOut:
    """A first filing that lapsed before its service number was bound."""
    order = open_order(**first_filing_order())
    session.commit()
    clock.advance(timedelta(days=46))
    fire_due_deadlines(db.engine, clock.now(), settings)
    session.expire_all()
    lapsed = describing.filing(session, order.id, clock.now(), get_settings())
    assert (lapsed.state, lapsed.service_number) == ("lapsed", None)
    return lapsed


def test_an_order_that_lapsed_unbound_cannot_be_resubmitted_without_a_service_number(
    session: Session, lapsed_unbound: FilingOut
) -> None:
    with pytest.raises(GuardFailed) as refused:
        _fire(session, lapsed_unbound, "resubmit", {"materials": ORG_MATERIALS})
    assert [(r.code, r.field) for r in refused.value.reasons] == [
        ("service_number_missing", "filing.service_number")
    ]


def test_an_order_that_lapsed_unbound_is_offered_to_bind_its_service_number_not_to_resubmit(
    lapsed_unbound: FilingOut,
) -> None:
    assert "resubmit" not in lapsed_unbound.allowed_events
    assert "bind_service_number" in lapsed_unbound.allowed_events


def test_an_order_that_lapsed_unbound_binds_its_service_number_then_goes_on(
    session: Session, lapsed_unbound: FilingOut
) -> None:
    [bind, submit] = ORDER_PATHS["first_filing"][:2]
    order = _drive(session, lapsed_unbound, [bind, submit])
    assert (order.state, order.service_number) == ("submitted", bind[1]["service_number"])


def test_a_second_filing_of_an_identity_with_an_order_in_flight_is_refused(
    session: Session, new_filing: MakeFiling
) -> None:
    """An entity is its identity: a second filing body naming it opens no second order."""
    first = new_filing("submitted")
    with pytest.raises(ValidationError) as refused:
        service.create_filing(session, make_command(domain="second.cn"), actor="t")
    [reason] = refused.value.reasons
    assert (reason.code, reason.field, reason.details["order_id"]) == (
        "order_in_flight",
        "applicant.id_number",  # as the filing body names it
        first.id,
    )


def test_a_first_filing_of_an_identity_on_file_is_refused_naming_its_entity(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    body = first_filing_order(service=service_in(domain="second.cn"))
    with pytest.raises(ValidationError) as refused:
        open_order(**body)
    [reason] = refused.value.reasons
    assert (reason.code, reason.details) == (
        "entity_on_file",
        {"entity_id": on_file.entity_id, "icp_number": ENTITY_NUMBER},
    )


def test_a_mobile_another_entity_lists_is_told_however_it_is_written(
    open_order: Open, on_file: FilingOut
) -> None:
    written = f"+86 {ENTITY_MOBILE[:3]}-{ENTITY_MOBILE[3:7]}-{ENTITY_MOBILE[7:]}"
    other = first_filing_order(
        entity=entity_in(
            name="Other Ltd",
            id_number=another_organisation(1)["id_number"],
            responsible={"name": "Zhang San", "mobile": written},
        ),
        service=service_in(domain="other.cn", domain_registrant="Other Ltd"),
    )

    codes = [code for code, _ in _refusals(open_order, other)]

    assert "mobile_used_by_another_entity" in codes


def test_a_mobile_another_entity_lists_is_refused_naming_that_entity(
    open_order: Open, on_file: FilingOut
) -> None:
    other = first_filing_order(
        entity=entity_in(
            name="Other Ltd",
            id_number=another_organisation(1)["id_number"],
            responsible={"name": "Zhang San", "mobile": ENTITY_MOBILE},
        ),
        service=service_in(domain="other.cn", domain_registrant="Other Ltd"),
    )

    with pytest.raises(ValidationError) as refused:
        open_order(**other)

    told = [r for r in refused.value.reasons if r.code == "mobile_used_by_another_entity"]
    assert told and all(r.details == {"entity_id": on_file.entity_id} for r in told)


def _wang_fang_filing_for_herself(open_order: Open) -> FilingOut:
    return open_order(
        **first_filing_order(
            entity=individual_in(mobile="13911112222"),
            service=service_in(
                domain="wang.cn",
                domain_registrant="Wang Fang",
                responsible={"name": "Wang Fang", "mobile": "13911112222"},
            ),
        )
    )


def _naming_for_the_site(on_file: FilingOut, name: str) -> dict[str, object]:
    person = {
        "name": name,
        "mobile": "13600080010",
        "id_type": "resident_id",
        "id_number": INDIVIDUAL_ID,
    }
    return {
        "kind": "change",
        "entity_id": on_file.entity_id,
        "service_id": on_file.service_id,
        "changes": {"service_responsible": person},
    }


def test_another_entitys_individual_applicants_document_under_another_name_is_refused(
    open_order: Open, on_file: FilingOut
) -> None:
    """MIIT matches names to ID numbers: one document under two names is a mistake. The
    refusal names the entity and the number masked, not the other person's name."""
    wang = _wang_fang_filing_for_herself(open_order)

    with pytest.raises(ValidationError) as refused:
        open_order(**_naming_for_the_site(on_file, "Zhang San"))

    [reason] = refused.value.reasons
    assert (reason.code, reason.field, reason.details) == (
        "id_number_of_another_person",
        "changes.service_responsible.id_number",
        {"entity_id": wang.entity_id},
    )
    assert "110***********002X" in reason.message and "Wang Fang" not in reason.message


def test_the_same_person_may_be_responsible_for_another_entity_with_her_own_document(
    open_order: Open, on_file: FilingOut
) -> None:
    _wang_fang_filing_for_herself(open_order)

    change = open_order(**_naming_for_the_site(on_file, "Wang Fang"))

    assert change.state == "draft"


# One name as it is typed: spaced between Han characters (half or full width), or with the
# middle dot of a transliterated name typed as another dot.
_ONE_NAME_TYPED_OTHERWISE = pytest.mark.parametrize(
    ("on_record", "typed"),
    [
        ("王伟", "王 伟"),
        ("王伟", "王\u3000伟"),
        ("阿卜杜·热合曼", "阿卜杜\u2022热合曼"),
        ("阿卜杜·热合曼", "阿卜杜\u30fb热合曼"),
        ("阿卜杜·热合曼", "阿卜杜.热合曼"),
        ("阿卜杜·热合曼", "阿卜杜\u2027热合曼"),
        ("阿卜杜·热合曼", "阿卜杜\uff0e热合曼"),
        ("阿卜杜·热合曼", "阿卜杜 · 热合曼"),
    ],
)


def _individual_filing(open_order: Open, name: str, mobile: str, domain: str) -> FilingOut:
    """``name`` filing for themself with ``INDIVIDUAL_ID``, their own responsible person."""
    person = {"name": name, "mobile": mobile}
    entity = entity_in(
        type="individual",
        name=name,
        id_type="resident_id",
        id_number=INDIVIDUAL_ID,
        responsible=person,
    )
    site = service_in(domain=domain, domain_registrant=name, responsible=person)
    return open_order(**first_filing_order(entity=entity, service=site))


@_ONE_NAME_TYPED_OTHERWISE
def test_an_individuals_document_under_their_name_typed_otherwise_is_theirs(
    open_order: Open, on_file: FilingOut, on_record: str, typed: str
) -> None:
    """Spacing between Han characters and the dot a transliterated name is typed with are
    not another name: the document is not refused as another person's."""
    _individual_filing(open_order, on_record, "13911112222", "wang.cn")

    change = open_order(**_naming_for_the_site(on_file, typed))

    assert change.state == "draft"


def test_a_document_on_two_rows_under_two_names_is_refused_to_neither(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """Records older than one row an identity hold one a filing: the same person may be on
    two, the older under a mistyped name. The document is theirs under the name either row
    bears, whichever is read first."""
    typo = _individual_filing(open_order, "Wang Fnag", "13911112222", "wang.cn")
    older = session.get_one(Entity, typo.entity_id)
    fields = older.model_dump(exclude={"id", "name", "icp_number"})
    session.add(Entity(**fields, name="Wang Fang"))
    session.commit()

    change = open_order(**_naming_for_the_site(on_file, "Wang Fang"))

    assert change.state == "draft"


@_ONE_NAME_TYPED_OTHERWISE
def test_an_individual_is_their_own_responsible_person_under_their_name_typed_otherwise(
    open_order: Open, on_record: str, typed: str
) -> None:
    person = {"name": typed, "mobile": "13911112222"}
    entity = entity_in(
        type="individual",
        name=on_record,
        id_type="resident_id",
        id_number=INDIVIDUAL_ID,
        responsible=person,
    )
    site = service_in(domain_registrant=on_record)

    filing = open_order(**first_filing_order(entity=entity, service=site))

    assert filing.state == "domain_registered"


def test_the_mobiles_of_a_withdrawn_first_filing_are_free_to_file_again(
    session: Session, new_filing: MakeFiling
) -> None:
    """Withdrawn for a mistyped credit code, it is opened again under the right one."""
    new_filing("withdrawn")
    same_mobile = another_organisation(1) | {"phone": ENTITY_MOBILE}

    command = make_command(applicant=same_mobile)

    assert service.create_filing(session, command, actor="t").state == "domain_registered"


@POSTGRES_ONLY
@pytest.mark.parametrize(
    ("second_opening", "refusal"),
    [
        ({"domain": "other.cn"}, "order_in_flight"),  # the same identity
        ({"applicant": another_organisation(1)}, "domain_filed_by_another_entity"),
        (
            {"domain": "other.cn", "applicant": another_organisation(1) | {"phone": ENTITY_MOBILE}},
            "mobile_used_by_another_entity",
        ),
    ],
    ids=["same identity", "same domain", "same mobile"],
)
def test_two_openings_at_once_of_one_identity_domain_or_mobile_open_one_order(
    db: Database, second_opening: dict[str, object], refusal: str
) -> None:
    """The second opening waits for the first to commit, then finds its order."""
    refused = second_of_two_at_once(
        db,
        lambda own: service.create_filing(own, make_command(), actor="a"),
        lambda own: service.create_filing(own, make_command(**second_opening), actor="b"),
    )
    assert isinstance(refused, ValidationError)
    assert [r.code for r in refused.reasons] == [refusal]


@pytest.mark.parametrize(
    "spelling",
    ["EXAMPLE.cn", "ｅｘａｍｐｌｅ.cn", "example。cn", "example.cn.", "example.cn。"],
    ids=["capitals", "full-width", "ideographic full stop", "trailing dot", "trailing 。"],
)
def test_a_domain_on_file_for_another_entity_is_refused_however_it_is_typed(
    session: Session, on_file: FilingOut, spelling: str
) -> None:
    """Another company naming itself the registrant of a domain another entity has filed."""
    applicant = another_organisation(1) | {"name": "Other Ltd"}
    command = make_command(domain=spelling, applicant=applicant)
    with pytest.raises(ValidationError) as refused:
        service.create_filing(session, command, actor="t")
    assert [(r.code, r.field, r.details) for r in refused.value.reasons] == [
        ("domain_filed_by_another_entity", "domain", {"entity_id": on_file.entity_id})
    ]


def test_a_domain_another_entity_is_filing_is_refused(
    session: Session, new_filing: MakeFiling
) -> None:
    first = new_filing("submitted")
    command = make_command(applicant=another_organisation(1))
    with pytest.raises(ValidationError) as refused:
        service.create_filing(session, command, actor="t")
    assert [r.code for r in refused.value.reasons] == ["domain_filed_by_another_entity"]
    assert refused.value.reasons[0].details == {"entity_id": first.entity_id}


def test_a_domain_of_a_withdrawn_order_is_free_for_another_entity(
    session: Session, new_filing: MakeFiling
) -> None:
    new_filing("withdrawn")
    command = make_command(applicant=another_organisation(1))
    assert service.create_filing(session, command, actor="t").domain == "example.cn"


def test_a_withdrawn_first_filing_withdraws_the_entity_and_service_it_brought(
    session: Session, new_filing: MakeFiling
) -> None:
    withdrawn = new_filing("withdrawn")
    entity = entities.entity(session, withdrawn.entity_id)
    assert (entity.status, [s.status for s in entity.services]) == ("withdrawn", ["withdrawn"])


@pytest.mark.parametrize("spelling", ["example.cn", "EXAMPLE.CN."], ids=["as filed", "retyped"])
def test_a_new_service_for_a_domain_the_entity_has_on_file_is_refused(
    open_order: Open, on_file: FilingOut, spelling: str
) -> None:
    body = {"kind": "new_service", "entity_id": on_file.entity_id}
    with pytest.raises(ValidationError) as refused:
        open_order(
            **body,
            service=service_in(
                domain=spelling,
                name="Second",
                responsible={"name": "Wang Fang", "mobile": APP_MOBILE},
            ),
        )
    assert [(r.code, r.field, r.details) for r in refused.value.reasons] == [
        (
            "domain_on_file",
            "service.domain",
            {"service_id": on_file.service_id, "record_number": f"{ENTITY_NUMBER}-1"},
        )
    ]


def test_a_withdrawn_new_service_leaves_its_entity_on_file(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    order = open_order(**order_on("new_service", on_file.entity_id, 0))
    _fire(session, order, "withdraw", {"reason": "the app was dropped"})
    entity = entities.entity(session, on_file.entity_id)
    statuses = {s.id: s.status for s in entity.services}
    assert entity.status == "active"
    assert (statuses[on_file.service_id or 0], statuses[order.service_id or 0]) == (
        "active",
        "withdrawn",
    )


def test_a_new_access_bringing_an_identity_on_file_as_a_new_entity_is_refused(
    open_order: Open, on_file: FilingOut
) -> None:
    body = order_on("new_access", on_file.entity_id, on_file.service_id or 0)
    body = {**{k: v for k, v in body.items() if k != "entity_id"}, "entity": entity_in()}
    with pytest.raises(ValidationError) as refused:
        open_order(**body)
    [reason] = [r for r in refused.value.reasons if r.code == "entity_on_file"]
    assert f"entity_id {on_file.entity_id}" in reason.message


def test_a_change_to_a_service_names_the_service(open_order: Open, on_file: FilingOut) -> None:
    body = {"kind": "change", "entity_id": on_file.entity_id, "changes": {"service_name": "New"}}
    with pytest.raises(ValidationError) as refused:
        open_order(**body)
    assert [(r.code, r.field) for r in refused.value.reasons] == [("missing_field", "service_id")]


def _access(on_file: FilingOut, **service: object) -> dict[str, object]:
    body = order_on("new_access", on_file.entity_id, on_file.service_id or 0)
    site = body["service"]
    assert isinstance(site, dict)
    return body | {"service": site | service}


def _accessed_then_removed(
    session: Session, open_order: Open, on_file: FilingOut, **service: object
) -> FilingOut:
    """A new access of ``_access``'s service approved, then its access removed: the approved
    new-access order."""
    steps = ORDER_PATHS["new_access"]
    if service.get("kind") == "app":
        steps = as_apps(steps)
    left = _drive(session, open_order(**_access(on_file, **service)), steps)
    removal = order_on("cancel_access", on_file.entity_id, left.service_id or 0)
    _drive(session, open_order(**removal), ORDER_PATHS["cancel_access"])
    return left


def _refusals(open_order: Open, body: dict[str, object]) -> list[tuple[str, str | None]]:
    with pytest.raises(ValidationError) as refused:
        open_order(**body)
    return [(r.code, r.field) for r in refused.value.reasons]


def _refused_naming(open_order: Open, body: dict[str, object]) -> list[tuple[str, object]]:
    """Why opening ``body`` is refused, each reason with what it names (its details)."""
    with pytest.raises(ValidationError) as refused:
        open_order(**body)
    return [(r.code, r.details) for r in refused.value.reasons]


def _other_entity_with(service: dict[str, object]) -> dict[str, object]:
    """A first filing of another organisation (Other Ltd, its own people) for ``service``."""
    return first_filing_order(
        entity=entity_in(
            name="Other Ltd",
            id_number=another_organisation(1)["id_number"],
            responsible={"name": "Zhang San", "mobile": "13512345678"},
        ),
        service=service
        | {"domain_registrant": "Other Ltd", "responsible": None, "domain": "other.cn"},
    )


def test_an_app_another_entity_is_filing_is_refused_naming_that_entity(
    open_order: Open, on_file: FilingOut
) -> None:
    """An app does not move to another entity (docs/domain-facts.md, Apps)."""
    app = order_on("new_service", on_file.entity_id, 0)
    open_order(**app)

    refused = _refused_naming(open_order, _other_entity_with(dict(app["service"])))  # type: ignore[call-overload]

    assert refused == [("app_filed_by_another_entity", {"entity_id": on_file.entity_id})]


def test_an_app_the_entity_keeps_on_file_is_not_filed_again(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    app = order_on("new_service", on_file.entity_id, 0)
    _drive(session, open_order(**app), ORDER_PATHS["new_service"])

    assert _refusals(open_order, app) == [("app_on_file", "service.app_identifier")]


@pytest.mark.parametrize("identifier", ["我的应用", "cn.example app", "cn.example;drop", ".cn"])
def test_an_app_identifier_in_characters_no_store_allows_is_refused_naming_its_source(
    open_order: Open, on_file: FilingOut, identifier: str
) -> None:
    app = order_on("new_service", on_file.entity_id, 0)
    app["service"] = dict(app["service"]) | {"app_identifier": identifier}  # type: ignore[call-overload]

    with pytest.raises(ValidationError) as refused:
        open_order(**app)

    [reason] = refused.value.reasons
    assert (reason.code, reason.field) == ("invalid_app_identifier", "service.app_identifier")
    assert reason.source is not None and "CFBundleIdentifier" in reason.source


def test_a_new_access_for_a_site_on_file_under_another_number_is_refused_naming_its_own(
    open_order: Open, on_file: FilingOut
) -> None:
    """A site has one record: a new access brings it, not a second number for its domain."""
    body = _access(on_file, domain="example.cn")

    assert _refused_naming(open_order, body) == [
        (
            "domain_on_file",
            {"service_id": on_file.service_id, "record_number": f"{ENTITY_NUMBER}-1"},
        )
    ]


def test_a_new_access_naming_a_removed_sites_number_for_another_domain_is_refused(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    left = _accessed_then_removed(session, open_order, on_file)

    body = _access(on_file, domain="different-example.cn")

    assert _refused_naming(open_order, body) == [
        ("record_number_of_another_service", {"service_id": left.service_id})
    ]


def test_a_new_access_on_a_cancelled_entity_is_refused(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """Cancelling an entity is irreversible: its number is gone, so nothing can access it."""
    body = order_on("cancel_entity", on_file.entity_id, on_file.service_id or 0)
    _drive(session, open_order(**body), ORDER_PATHS["cancel_entity"])
    assert _refusals(open_order, _access(on_file)) == [("entity_cancelled", "entity_id")]


@pytest.mark.parametrize(
    ("number", "refusal"),
    [
        ("京ICP备99999999号-3", "record_number_not_the_entitys"),
        ("京ICP证030173号", "icp_number_kind_mismatch"),
        (ENTITY_NUMBER, "invalid_icp_number"),  # the entity's own: no service's suffix
        ("沪ICP备2026000123号-3", "icp_number_province_mismatch"),
    ],
    ids=["under another number", "another licence's", "the entity's", "another province's"],
)
def test_a_new_access_naming_a_number_not_of_the_entitys_services_is_refused(
    open_order: Open, on_file: FilingOut, number: str, refusal: str
) -> None:
    body = _access(on_file, record_number=number)
    assert _refusals(open_order, body) == [(refusal, "service.record_number")]


def test_a_new_access_of_an_app_naming_a_websites_number_is_refused(
    open_order: Open, on_file: FilingOut
) -> None:
    on_ios = {"ios": on_platform("A" * 40)}
    body = _access(on_file, kind="app", app_identifier="cn.example.shop", app_platforms=on_ios)

    assert _refusals(open_order, body) == [("suffix_not_the_kinds", "service.record_number")]


@pytest.mark.parametrize(
    ("service", "code"),
    [
        ({"kind": "app", "app_identifier": None}, "missing_field"),
        (
            {
                "kind": "website",
                "app_identifier": "com.weird.pkg",
                "app_platforms": None,
                "domain": "shop.cn",
            },
            "unexpected_field",
        ),
    ],
    ids=["app without", "website with"],
)
def test_an_app_is_filed_with_its_identifier_and_a_website_with_none(
    open_order: Open, on_file: FilingOut, service: dict[str, object], code: str
) -> None:
    body = order_on("new_service", on_file.entity_id, 0)
    body["service"] = {**body["service"], **service}  # type: ignore[dict-item]

    assert _refusals(open_order, body) == [(code, "service.app_identifier")]


@pytest.mark.parametrize("platforms", [None, {}], ids=["none", "no platform"])
def test_an_app_is_filed_on_a_platform_at_least(
    open_order: Open, on_file: FilingOut, platforms: object
) -> None:
    body = order_on("new_service", on_file.entity_id, 0)
    body["service"] = {**body["service"], "app_platforms": platforms}  # type: ignore[dict-item]

    assert _refusals(open_order, body) == [("missing_field", "service.app_platforms")]


def _app_on_file(session: Session, open_order: Open, on_file: FilingOut) -> int:
    """The entity's app, approved beside its site, published on Android."""
    order = _drive(
        session,
        open_order(**order_on("new_service", on_file.entity_id, 0)),
        ORDER_PATHS["new_service"],
    )
    assert order.service_id is not None
    return order.service_id


def _platforms_change(
    on_file: FilingOut, service_id: int, platforms: Mapping[str, object]
) -> Order:
    return {
        "kind": "change",
        "entity_id": on_file.entity_id,
        "service_id": service_id,
        "changes": {"app_platforms": platforms},
    }


def _platforms_of(session: Session, entity_id: int, service_id: int | None) -> dict[str, object]:
    [app] = [s for s in entities.entity(session, entity_id).services if s.id == service_id]
    assert app.app_platforms is not None
    return {name: on.model_dump(exclude_none=True) for name, on in app.app_platforms.items()}


def test_an_app_published_on_a_new_platform_is_a_change_order_adding_it(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    app = _app_on_file(session, open_order, on_file)
    on_ios = on_platform("ab" * 20, package="cn.example.ShopIOS")
    change = open_order(**_platforms_change(on_file, app, {"ios": on_ios}))

    _drive(session, change, ORDER_PATHS["change"])

    assert _platforms_of(session, on_file.entity_id, app) == {
        "android": on_platform(ANDROID_MD5.replace(":", "")),
        "ios": on_platform("AB" * 20, package="cn.example.ShopIOS"),
    }


def test_a_platforms_change_saying_what_is_on_record_is_refused_as_unchanged(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    app = _app_on_file(session, open_order, on_file)

    body = _platforms_change(on_file, app, {"android": on_platform(ANDROID_MD5)})

    assert _refusals(open_order, body) == [("unchanged", "changes.app_platforms")]


def test_a_platforms_change_of_a_website_is_refused(open_order: Open, on_file: FilingOut) -> None:
    body = _platforms_change(on_file, on_file.service_id or 0, {"ios": on_platform("AB" * 20)})

    assert _refusals(open_order, body) == [("unexpected_field", "changes.app_platforms")]


def test_a_website_on_app_platforms_is_refused(open_order: Open, on_file: FilingOut) -> None:
    site = service_in(domain="shop.cn", app_platforms={"android": on_platform(ANDROID_MD5)})
    body = {"kind": "new_service", "entity_id": on_file.entity_id, "service": site}

    assert _refusals(open_order, body) == [("unexpected_field", "service.app_platforms")]


def test_a_platforms_package_not_written_as_one_is_refused_naming_its_platform(
    open_order: Open, on_file: FilingOut
) -> None:
    body = order_on("new_service", on_file.entity_id, 0)
    on_ios = {"ios": on_platform("AB" * 20, package="购物 App")}
    body["service"] = {**body["service"], "app_platforms": on_ios}  # type: ignore[dict-item]

    assert _refusals(open_order, body) == [
        ("invalid_app_identifier", "service.app_platforms.ios.package")
    ]


@pytest.mark.parametrize(
    ("platform", "said", "problem"),
    [
        ("android", {"fingerprint": "A" * 40}, "certificate fingerprint"),
        ("ios", {"fingerprint": "A" * 32}, "certificate fingerprint"),
        ("android", {"fingerprint": "G" * 32}, "certificate fingerprint"),
        ("android", {"public_key": "not a key"}, "public key"),
        ("android", {"public_key": "AB" * 31}, "public key"),
    ],
    ids=["android given a SHA-1", "ios given an MD5", "not hex", "not a key", "too short"],
)
def test_a_platforms_certificate_not_written_as_one_is_refused_naming_it(
    on_file: FilingOut, platform: str, said: dict[str, str], problem: str
) -> None:
    body = order_on("new_service", on_file.entity_id, 0)
    given = {platform: on_platform("AB" * 20 if platform == "ios" else ANDROID_MD5) | said}
    body["service"] = {**body["service"], "app_platforms": given}  # type: ignore[dict-item]

    with pytest.raises(pydantic.ValidationError) as refused:
        OrderCreate.model_validate(body)

    [error] = refused.value.errors()
    assert error["loc"] == ("service", "app_platforms", platform, next(iter(said)))
    assert problem in error["msg"]


def test_an_app_on_a_platform_without_its_public_key_is_refused_naming_it(
    on_file: FilingOut,
) -> None:
    body = order_on("new_service", on_file.entity_id, 0)
    given = {"android": {"fingerprint": ANDROID_MD5}}
    body["service"] = {**body["service"], "app_platforms": given}  # type: ignore[dict-item]

    with pytest.raises(pydantic.ValidationError) as refused:
        OrderCreate.model_validate(body)

    [error] = refused.value.errors()
    assert (error["type"], error["loc"]) == (
        "missing",
        ("service", "app_platforms", "android", "public_key"),
    )


def test_an_apps_certificates_are_kept_as_one_spelling_on_its_service(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """keytool's colons and lower case alike, a PEM's armour and line breaks: one certificate
    compares equal however it was pasted."""
    body = order_on("new_service", on_file.entity_id, 0)
    pem = (
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n"
        "MIIBCgKCAQEAw+/Zz3k1pL0aQ7vT9xYb\nR2nE5uFh8dJc==\n-----END PUBLIC KEY-----\n"
    )
    given = {
        "android": on_platform(ANDROID_MD5.lower()),
        "ios": {"public_key": pem, "fingerprint": "ab" * 20},
    }
    body["service"] = {**body["service"], "app_platforms": given}  # type: ignore[dict-item]

    order = open_order(**body)

    assert _platforms_of(session, on_file.entity_id, order.service_id) == {
        "android": on_platform(ANDROID_MD5.replace(":", "")),
        "ios": {
            "public_key": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAw+/Zz3k1pL0aQ7vT9xYbR2nE5uFh8dJc==",
            "fingerprint": "AB" * 20,
        },
    }


def _other_app_on(platform: str, package: str) -> Order:
    """Another entity's first filing of its own app (cn.other.app), published on ``platform``
    as ``package``."""
    fingerprint = ANDROID_MD5 if platform == "android" else "AB" * 20
    app = service_in(
        kind="app",
        app_identifier="cn.other.app",
        app_platforms={platform: on_platform(fingerprint, package=package)},
    )
    return _other_entity_with(app)


def test_a_package_another_app_is_filed_under_on_its_platform_is_refused_naming_that_app(
    open_order: Open, on_file: FilingOut
) -> None:
    """The entity's app (cn.example.app, on Android by its identifier) being filed: another
    entity's app may not go by that package there (one package is one app's)."""
    app = open_order(**order_on("new_service", on_file.entity_id, 0))

    with pytest.raises(ValidationError) as refused:
        open_order(**_other_app_on("android", "cn.example.app"))

    assert [(r.code, r.field, r.details) for r in refused.value.reasons] == [
        (
            "package_filed_for_another_app",
            "service.app_platforms.android.package",
            {"service_id": app.service_id, "entity_id": on_file.entity_id},
        )
    ]


def test_a_package_a_change_in_flight_adds_to_another_app_is_refused_naming_that_app(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    app = _app_on_file(session, open_order, on_file)
    on_ios = {"ios": on_platform("AB" * 20, package="cn.example.ios")}
    open_order(**_platforms_change(on_file, app, on_ios))

    with pytest.raises(ValidationError) as refused:
        open_order(**_other_app_on("ios", "cn.example.ios"))

    assert [(r.code, r.field, r.details) for r in refused.value.reasons] == [
        (
            "package_filed_for_another_app",
            "service.app_platforms.ios.package",
            {"service_id": app, "entity_id": on_file.entity_id},
        )
    ]


def test_a_package_of_a_withdrawn_app_is_free_for_another_app(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    app = open_order(**order_on("new_service", on_file.entity_id, 0))
    _fire(session, app, "withdraw", {"reason": "the app was dropped"})

    assert open_order(**_other_app_on("android", "cn.example.app")).kind == "first_filing"


def test_a_package_is_one_apps_on_its_own_platform_only(
    open_order: Open, on_file: FilingOut
) -> None:
    """Android's package names and Apple's Bundle IDs are each their store's: the entity's
    app going by cn.example.app on Android leaves that Bundle ID to another app on iOS."""
    open_order(**order_on("new_service", on_file.entity_id, 0))

    assert open_order(**_other_app_on("ios", "cn.example.app")).kind == "first_filing"


def test_a_change_adding_a_package_another_apps_order_in_flight_files_is_refused(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """The nearest way to two approved apps on one package: two orders in flight at once,
    each to be approved. The later opening sees the earlier, which holds the package until it
    ends (approved, it keeps it; withdrawn, it frees it): approval need not check again."""
    app = _app_on_file(session, open_order, on_file)
    other = open_order(**_other_app_on("ios", "cn.example.ios"))  # another entity's, in flight

    on_ios = {"ios": on_platform("AB" * 20, package="cn.example.ios")}
    with pytest.raises(ValidationError) as refused:
        open_order(**_platforms_change(on_file, app, on_ios))

    assert [(r.code, r.field, r.details) for r in refused.value.reasons] == [
        (
            "package_filed_for_another_app",
            "changes.app_platforms.ios.package",
            {"service_id": other.service_id, "entity_id": other.entity_id},
        )
    ]


def test_a_bundle_id_another_app_holds_in_another_case_is_refused_as_apple_compares_them(
    open_order: Open, on_file: FilingOut
) -> None:
    """Apple's Bundle IDs are case-insensitive: com.Example.App on iOS is the com.example.app
    the entity's app is being filed under there."""
    body = order_on("new_service", on_file.entity_id, 0)
    on_ios = {"ios": on_platform("AB" * 20, package="com.example.app")}
    body["service"] = dict(body["service"]) | {"app_platforms": on_ios}  # type: ignore[call-overload]
    app = open_order(**body)

    with pytest.raises(ValidationError) as refused:
        open_order(**_other_app_on("ios", "com.Example.App"))

    assert [(r.code, r.details, r.rule) for r in refused.value.reasons] == [
        (
            "package_filed_for_another_app",
            {"service_id": app.service_id, "entity_id": on_file.entity_id},
            "package_one_app",
        )
    ]


def test_a_bundle_id_a_change_in_flight_adds_in_another_case_is_refused(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    app = _app_on_file(session, open_order, on_file)
    on_ios = {"ios": on_platform("AB" * 20, package="cn.example.ios")}
    open_order(**_platforms_change(on_file, app, on_ios))

    with pytest.raises(ValidationError) as refused:
        open_order(**_other_app_on("ios", "CN.Example.iOS"))

    assert [(r.code, r.details["service_id"]) for r in refused.value.reasons] == [
        ("package_filed_for_another_app", app)
    ]


def test_a_change_adding_a_platform_under_another_apps_package_is_refused_naming_it(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    first = _app_on_file(session, open_order, on_file)  # cn.example.app, on Android
    second = order_on("new_service", on_file.entity_id, 0)
    second["service"] = dict(second["service"]) | {  # type: ignore[call-overload]
        "app_identifier": "cn.example.two",
        "app_platforms": {"ios": on_platform("AB" * 20)},
    }
    two = _drive(session, open_order(**second), ORDER_PATHS["new_service"]).service_id or 0

    on_android = {"android": on_platform(ANDROID_MD5, package="cn.example.app")}
    with pytest.raises(ValidationError) as refused:
        open_order(**_platforms_change(on_file, two, on_android))

    assert [(r.code, r.field, r.details) for r in refused.value.reasons] == [
        (
            "package_filed_for_another_app",
            "changes.app_platforms.android.package",
            {"service_id": first, "entity_id": on_file.entity_id},
        )
    ]


def test_a_new_access_to_a_service_on_file_here_is_refused_naming_it(
    open_order: Open, on_file: FilingOut
) -> None:
    """The record's unique number would refuse it at approval, as a server error."""
    body = _access(on_file, record_number=f"{ENTITY_NUMBER}-1")
    assert _refused_naming(open_order, body) == [
        ("record_number_on_file", {"service_id": on_file.service_id})
    ]


def test_a_withdrawn_new_access_leaves_its_number_free_to_file_again(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    first = open_order(**_access(on_file))
    _fire(session, first, "withdraw", {"reason": "the wrong server was bound"})

    again = open_order(**_access(on_file))

    assert again.service_id != first.service_id


def test_a_withdrawn_new_access_s_number_leaves_the_entity_s_next_number_as_it_was(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """A number mistyped (-99) and withdrawn was never this entity's: the next is still -2."""
    typo = open_order(**_access(on_file, record_number=f"{ENTITY_NUMBER}-99"))
    _fire(session, typo, "withdraw", {"reason": "the number was mistyped"})

    app = _drive(
        session,
        open_order(**order_on("new_service", on_file.entity_id, 0)),
        ORDER_PATHS["new_service"],
    )

    assert entities.entity(session, on_file.entity_id).services[-1].id == app.service_id
    assert entities.entity(session, on_file.entity_id).services[-1].record_number == (
        f"{ENTITY_NUMBER}-2A"
    )


def test_a_site_whose_access_was_removed_is_accessed_here_again(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    left = _accessed_then_removed(session, open_order, on_file)

    back = _drive(session, open_order(**_access(on_file)), ORDER_PATHS["new_access"])

    statuses = {s.id: s.status for s in entities.entity(session, on_file.entity_id).services}
    assert (statuses[left.service_id or 0], statuses[back.service_id or 0]) == (
        "access_removed",
        "active",
    )


def test_a_site_accessed_again_and_cancelled_leaves_no_row_of_its_record_on_file(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """Its first row (access removed) is the same record: cancelled with it, it cannot make
    the entity's last site look like one of two."""
    _accessed_then_removed(session, open_order, on_file)
    back = _drive(session, open_order(**_access(on_file)), ORDER_PATHS["new_access"])
    cancel = order_on("cancel_service", on_file.entity_id, back.service_id or 0)

    _drive(session, open_order(**cancel), ORDER_PATHS["cancel_service"])

    last = order_on("cancel_service", on_file.entity_id, on_file.service_id or 0)
    assert [code for code, _ in _refusals(open_order, last)] == ["last_service"]


def test_a_new_access_naming_a_number_cancelled_here_is_refused_naming_it(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    accessed = _drive(session, open_order(**_access(on_file)), ORDER_PATHS["new_access"])
    cancel = order_on("cancel_service", on_file.entity_id, accessed.service_id or 0)
    _drive(session, open_order(**cancel), ORDER_PATHS["cancel_service"])

    assert _refused_naming(open_order, _access(on_file)) == [
        ("record_number_cancelled", {"service_id": accessed.service_id})
    ]


def test_cancelling_the_entity_leaves_a_service_never_filed_withdrawn(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    dropped = open_order(**order_on("new_service", on_file.entity_id, 0))
    _fire(session, dropped, "withdraw", {"reason": "the app was dropped"})
    cancel = order_on("cancel_entity", on_file.entity_id, 0)

    _drive(session, open_order(**cancel), ORDER_PATHS["cancel_entity"])

    statuses = {s.id: s.status for s in entities.entity(session, on_file.entity_id).services}
    assert (statuses[on_file.service_id or 0], statuses[dropped.service_id or 0]) == (
        "cancelled",
        "withdrawn",
    )


def _new_entity_under_entity_number() -> dict[str, object]:
    """A new access bringing a new entity (Other Ltd) with a record under ENTITY_NUMBER."""
    return {
        "kind": "new_access",
        "entity": entity_in(
            name="Other Ltd",
            id_number="91110000MA02ABC0XH",
            responsible={"name": "Zhao Lei", "mobile": "13500135000"},
        ),
        "service": service_in(
            domain="other.cn",
            domain_registrant="Other Ltd",
            record_number=f"{ENTITY_NUMBER}-7",
            responsible={"name": "Qian Li", "mobile": "13400134000"},
        ),
    }


def test_a_new_access_bringing_a_new_entity_under_an_entitys_number_is_refused_naming_it(
    open_order: Open, on_file: FilingOut
) -> None:
    assert _refused_naming(open_order, _new_entity_under_entity_number()) == [
        ("record_number_of_another_entity", {"entity_id": on_file.entity_id})
    ]


def test_a_new_access_under_a_cancelled_entitys_number_says_it_is_cancelled(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """Not "name that entity": its cancellation would refuse that as well."""
    cancel = order_on("cancel_entity", on_file.entity_id, on_file.service_id or 0)
    _drive(session, open_order(**cancel), ORDER_PATHS["cancel_entity"])
    assert _refused_naming(open_order, _new_entity_under_entity_number()) == [
        ("record_number_cancelled", {"entity_id": on_file.entity_id})
    ]


@pytest.mark.parametrize(
    ("kind", "letter"), [("app", "A"), ("mini_program", "X"), ("quick_app", "K")]
)
def test_an_app_filed_first_takes_its_kinds_first_suffix(
    session: Session, open_order: Open, kind: str, letter: str
) -> None:
    app = service_in(kind=kind, name="Example App", app_identifier="cn.example.app")
    order = _drive(
        session,
        open_order(**first_filing_order(service=app)),
        as_apps(ORDER_PATHS["first_filing"][:-1]),
    )
    with pytest.raises(GuardFailed) as refused:
        _fire(session, order, "miit_approve", {"icp_number": f"{ENTITY_NUMBER}-1"})
    assert [(r.code, r.details) for r in refused.value.reasons] == [
        ("record_number_not_following", {"expected": f"{ENTITY_NUMBER}-1{letter}"})
    ]
    order = _fire(session, order, "miit_approve", {"icp_number": f"{ENTITY_NUMBER}-1{letter}"})
    assert [s.record_number for s in entities.entity(session, order.entity_id).services] == [
        f"{ENTITY_NUMBER}-1{letter}"
    ]


def test_a_first_filings_site_is_the_entitys_first(session: Session, open_order: Open) -> None:
    order = _drive(session, open_order(**first_filing_order()), ORDER_PATHS["first_filing"][:-1])
    with pytest.raises(GuardFailed) as refused:
        _fire(session, order, "miit_approve", {"icp_number": f"{ENTITY_NUMBER}-3"})
    assert [r.code for r in refused.value.reasons] == ["record_number_not_following"]


def _two_entities_at_once(
    db: Database, order_of: Callable[[str, str, str, tuple[str, str]], OrderCreate]
) -> object:
    """What the second of two entities opening ``order_of(name, credit code, domain,
    mobiles)`` at once is answered: Example Ltd's commits while Other Ltd's checks run."""
    return second_of_two_at_once(
        db,
        lambda own: service.create_order(
            own,
            order_of("Example Ltd", ORG_CREDIT_CODE, "example.cn", ("13800138000", "13900139000")),
            actor="a",
        ),
        lambda own: service.create_order(
            own,
            order_of("Other Ltd", "91110000MA02ABC0XH", "other.cn", ("13500135000", "13400134000")),
            actor="b",
        ),
    )


def _apps_at_once(db: Database, identifier: Callable[[str], str], **app: Any) -> object:
    """``_two_entities_at_once`` opening an app each, ``identifier(domain)`` its identifier:
    their identities, domains and mobiles differ."""

    def app_of(name: str, credit_code: str, domain: str, mobiles: tuple[str, str]) -> OrderCreate:
        return OrderCreate.model_validate(
            first_filing_order(
                entity=entity_in(
                    name=name,
                    id_number=credit_code,
                    responsible={"name": "Zhao Lei", "mobile": mobiles[0]},
                ),
                service=service_in(
                    kind="app",
                    name="Shop App",
                    app_identifier=identifier(domain),
                    domain=domain,
                    domain_registrant=name,
                    responsible={"name": "Qian Li", "mobile": mobiles[1]},
                    **app,
                ),
            )
        )

    return _two_entities_at_once(db, app_of)


@POSTGRES_ONLY
def test_two_entities_filing_one_app_at_once_open_one_order(db: Database) -> None:
    """The app alone makes them take turns."""
    refused = _apps_at_once(db, lambda domain: "cn.example.shop")

    assert isinstance(refused, ValidationError)
    assert [r.code for r in refused.reasons] == ["app_filed_by_another_entity"]


@POSTGRES_ONLY
def test_two_apps_filed_at_once_under_one_package_open_one_order(db: Database) -> None:
    """Their identifiers differ too: the Android package alone makes them take turns."""
    platforms = {"android": on_platform(ANDROID_MD5, package="cn.example.shop")}

    refused = _apps_at_once(
        db, lambda domain: f"cn.{domain.split('.')[0]}.shop", app_platforms=platforms
    )

    assert isinstance(refused, ValidationError)
    assert [r.code for r in refused.reasons] == ["package_filed_for_another_app"]


def test_a_site_whose_access_was_removed_comes_back_under_a_new_number(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """No host served it: cancelled as an empty record and filed anew elsewhere."""
    _accessed_then_removed(session, open_order, on_file)

    back = open_order(**_access(on_file, record_number=f"{ENTITY_NUMBER}-6"))

    assert back.kind == "new_access"


def test_a_site_back_under_a_new_number_leaves_its_old_record_cancelled(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """Its old row counted as on file: the entity's last service was cancelled unrefused."""
    left = _accessed_then_removed(session, open_order, on_file)
    renumbered = _access(on_file, record_number=f"{ENTITY_NUMBER}-6")
    back = _drive(session, open_order(**renumbered), ORDER_PATHS["new_access"])
    site = order_on("cancel_service", on_file.entity_id, on_file.service_id or 0)
    _drive(session, open_order(**site), ORDER_PATHS["cancel_service"])

    statuses = {s.id: s.status for s in entities.entity(session, on_file.entity_id).services}
    last = order_on("cancel_service", on_file.entity_id, back.service_id or 0)
    assert statuses[left.service_id or 0] == "cancelled"
    assert [code for code, _ in _refusals(open_order, last)] == ["last_service"]


def test_an_app_comes_back_under_its_number_by_another_platforms_identifier(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """One app record covers its platforms, each with its own package name or Bundle ID."""
    app = {
        "kind": "app",
        "app_identifier": "cn.example.app",
        "app_platforms": {"android": on_platform(ANDROID_MD5)},
        "record_number": f"{ENTITY_NUMBER}-5A",
    }
    _accessed_then_removed(session, open_order, on_file, **app)

    back = open_order(**_access(on_file, **app | {"app_identifier": "cn.example.ios"}))

    assert back.kind == "new_access"


@POSTGRES_ONLY
def test_two_new_accesses_at_once_naming_one_number_open_one_order(db: Database) -> None:
    """The second checked before the first committed; the record's unique number stops it,
    and it is told the record changed rather than met with a server error."""
    number = "京ICP备2026999999号-1"

    def access(name: str, credit_code: str, domain: str, mobiles: tuple[str, str]) -> OrderCreate:
        person = {"name": "Zhao Lei", "mobile": mobiles[0]}
        return OrderCreate.model_validate(
            {
                "kind": "new_access",
                "entity": entity_in(name=name, id_number=credit_code, responsible=person),
                "service": service_in(
                    domain=domain,
                    domain_registrant=name,
                    record_number=number,
                    responsible={"name": "Qian Li", "mobile": mobiles[1]},
                ),
            }
        )

    refused = _two_entities_at_once(db, access)
    assert isinstance(refused, VersionConflict)
    assert [r.code for r in refused.reasons] == ["record_changed"]


def test_a_change_naming_a_person_who_is_not_the_legal_representative_needs_the_letter(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    person = {"name": "Zhao Si", "mobile": "13900139000", "legal_representative": False}
    body = {
        "kind": "change",
        "entity_id": on_file.entity_id,
        "changes": {"entity_responsible": person},
    }
    order = open_order(**body)
    with pytest.raises(GuardFailed) as refused:
        _fire(session, order, "submit", {"materials": ["change_request_form"]})
    assert [r.code for r in refused.value.reasons] == ["authorisation_letter_required"]


def test_a_change_back_to_the_legal_representative_needs_no_letter(
    session: Session, open_order: Open
) -> None:
    entity = entity_in()
    entity["responsible"] = {**entity["responsible"], "legal_representative": False}  # type: ignore[dict-item]
    order = open_order(**first_filing_order(entity=entity))
    steps = ORDER_PATHS["first_filing"]
    materials = [*ORG_MATERIALS, "authorisation_letter"]
    order = _drive(session, order, [steps[0], ("submit", {"materials": materials}), *steps[2:]])
    person = {"name": "Li Lei", "mobile": "13900139000", "legal_representative": True}
    body = {
        "kind": "change",
        "entity_id": order.entity_id,
        "changes": {"entity_responsible": person},
    }
    change = _fire(session, open_order(**body), "submit", {"materials": ["change_request_form"]})
    assert change.state == "submitted"


def _answering(session: Session, order: FilingOut) -> list[tuple[str, str]]:
    return [(v.role, v.name) for v in history.verifiers(session, order.id)]


@pytest.mark.parametrize(
    ("changes", "answering"),
    [
        ({"entity_name": "Example Group Ltd"}, [("entity", "Li Lei")]),
        ({"service_name": "Example Online"}, [("service", "Han Meimei")]),
        (
            {"entity_name": "Example Group Ltd", "service_name": "Example Online"},
            [("entity", "Li Lei"), ("service", "Han Meimei")],
        ),
    ],
    ids=["entity's details", "site's details", "both"],
)
def test_a_change_is_verified_by_the_persons_whose_details_it_changes(
    session: Session,
    open_order: Open,
    on_file: FilingOut,
    changes: dict[str, str],
    answering: list[tuple[str, str]],
) -> None:
    body = {
        "kind": "change",
        "entity_id": on_file.entity_id,
        "service_id": on_file.service_id,
        "changes": changes,
    }
    assert _answering(session, open_order(**body)) == answering


def test_every_change_a_change_order_can_make_says_whose_sms_it_is() -> None:
    assert set(CHANGES) == set(ChangesIn.model_fields)


def test_a_new_service_naming_no_person_is_answered_for_by_the_entitys(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    body = order_on("new_service", on_file.entity_id, on_file.service_id or 0)
    site = body["service"]
    assert isinstance(site, dict)
    order = open_order(**body | {"service": {k: v for k, v in site.items() if k != "responsible"}})
    assert _answering(session, order) == [("service", "Li Lei")]


@pytest.mark.parametrize("name", ["Example Ltd", "Example Group"])
def test_a_search_by_applicant_finds_an_entitys_orders_under_its_old_and_new_names(
    session: Session, clock: FrozenClock, open_order: Open, on_file: FilingOut, name: str
) -> None:
    change = order_on("change", on_file.entity_id, 0)  # renames it Example Group Ltd
    renamed = _drive(session, open_order(**change), ORDER_PATHS["change"])
    body = order_on("new_service", on_file.entity_id, 0)
    app = body["service"]
    assert isinstance(app, dict)
    later = open_order(**body | {"service": app | {"domain_registrant": "Example Group Ltd"}})

    page = search.filing_page(
        session, clock.now(), search.FilingFilters(applicant=name), settings=get_settings()
    )
    found = {f.id for f in page.items}

    assert found == {on_file.id, renamed.id, later.id}


@pytest.mark.parametrize("name", ["Example Ltd", "example group"])
def test_an_entity_is_found_by_its_old_name_and_its_new_one(
    session: Session, open_order: Open, on_file: FilingOut, name: str
) -> None:
    change = order_on("change", on_file.entity_id, 0)  # renames it Example Group Ltd
    _drive(session, open_order(**change), ORDER_PATHS["change"])

    found = entities.entity_page(session, name=name).items

    assert [(e.id, e.name) for e in found] == [(on_file.entity_id, "Example Group Ltd")]


@pytest.mark.parametrize(
    "asked", [ENTITY_NUMBER, f"{ENTITY_NUMBER}-1".lower(), "EXAMPLE.cn"], ids=str
)
def test_an_entity_is_found_by_its_number_or_a_services_number_or_domain(
    session: Session, on_file: FilingOut, asked: str
) -> None:
    found = entities.entity_page(session, name=asked).items

    assert [e.id for e in found] == [on_file.entity_id]


def test_a_registrant_shown_with_half_width_brackets_is_the_entity(open_order: Open) -> None:
    """Registrars show （北京） as (北京); a reader takes both for one name."""
    entity = entity_in(name="派伦科技（北京）有限公司")
    body = first_filing_order(
        entity=entity, service=service_in(domain_registrant="派伦科技(北京)有限公司")
    )
    assert open_order(**body).kind == "first_filing"


@pytest.mark.parametrize("kind", ["new_service", "new_access"])
def test_an_entity_whose_person_gave_no_email_may_still_add_a_service(
    session: Session, open_order: Open, kind: str
) -> None:
    """An order's responsible person need not give an email; the entity's next order must
    not be judged as if one were required."""
    person = {"name": "Li Lei", "mobile": "13800138000"}
    filed = _drive(
        session,
        open_order(**first_filing_order(entity=entity_in(responsible=person))),
        ORDER_PATHS["first_filing"],
    )
    assert open_order(**order_on(kind, filed.entity_id, 0)).kind == kind


def test_an_entity_whose_stored_name_input_now_refuses_may_still_add_a_service(
    db: Database, session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """Stored before invisible characters were refused: the record's, not the order's fault."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE entities SET name = name || :zwsp WHERE id = :id"),
            {"zwsp": "\u200b", "id": on_file.entity_id},
        )
    session.expire_all()
    assert open_order(**order_on("new_service", on_file.entity_id, 0)).kind == "new_service"


def test_a_notice_of_an_order_on_the_entity_alone_names_the_entity_and_its_number(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    order = open_order(**order_on("change", on_file.entity_id, 0))
    _drive(session, order, ORDER_PATHS["change"][:2])  # submitted, then approved by the host
    [subject] = set(
        session.exec(
            select(Notification.subject).where(
                Notification.filing_id == order.id, Notification.kind == "host_approve"
            )
        ).all()
    )
    assert subject == f"[icpflow] Example Ltd {ENTITY_NUMBER}: host_approve → host_pre_approved"


def test_cancelling_a_site_filed_without_its_own_person_asks_the_entitys(
    session: Session, new_filing: MakeFiling, open_order: Open
) -> None:
    filed = new_filing("approved")
    more = order_on("new_service", filed.entity_id, 0)
    _drive(session, open_order(**more), ORDER_PATHS["new_service"])
    order = open_order(
        kind="cancel_service", entity_id=filed.entity_id, service_id=filed.service_id
    )
    assert _answering(session, order) == [("service", "Han Meimei")]
    order = _drive(session, order, [("submit", {"materials": ["cancellation_request"]})])
    order = _drive(session, order, [("host_approve", {}), ("sms_sent", {})])
    order = _fire(session, order, "verify_sms", {"verifier": "service"})
    assert order.state == "miit_pending"


def test_cancelling_an_entitys_last_service_is_refused_pointing_to_cancel_entity(
    open_order: Open, on_file: FilingOut
) -> None:
    body = order_on("cancel_service", on_file.entity_id, on_file.service_id or 0)
    with pytest.raises(ValidationError) as refused:
        open_order(**body)
    [reason] = refused.value.reasons
    assert (reason.code, reason.field) == ("last_service", "service_id")
    assert "cancel_entity" in reason.message


def test_a_refusal_names_a_service_as_its_notices_do(open_order: Open, on_file: FilingOut) -> None:
    """By what it is, its name, its domain and its number, as the notices of its duties name
    it (tests/workflow/test_obligations.py); not as "service 7", an id the reader cannot place."""
    body = order_on("cancel_service", on_file.entity_id, on_file.service_id or 0)
    with pytest.raises(ValidationError) as refused:
        open_order(**body)
    [reason] = refused.value.reasons
    named = f"Website 网站 Example (example.cn) {ENTITY_NUMBER}-1"
    assert reason.message.startswith(f"{named} is the entity's last on file")


def test_an_entity_this_host_serves_nothing_of_is_not_cancelled_here(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """Its only site moved to another host: cancelling the entity here would cancel it."""
    removal = order_on("cancel_access", on_file.entity_id, on_file.service_id or 0)
    _drive(session, open_order(**removal), ORDER_PATHS["cancel_access"])

    refused = _refusals(open_order, order_on("cancel_entity", on_file.entity_id, 0))

    assert refused == [("not_served_here", "entity_id")]


def test_an_entity_whose_only_site_left_for_another_host_is_not_cancelled_here(
    session: Session, open_order: Open, on_file: FilingOut, settings: Settings
) -> None:
    """Its leaving recorded, a cancel-access order owed: the site is the other host's now."""
    left = LeftHost(left_on=date(2026, 3, 2))
    obligations.left_host(session, on_file.service_id or 0, left, settings, actor="alice")

    refused = _refusals(open_order, order_on("cancel_entity", on_file.entity_id, 0))

    assert refused == [("not_served_here", "entity_id")]


def test_a_site_whose_leaving_is_recorded_is_not_cancelled_here(
    session: Session, open_order: Open, on_file: FilingOut, settings: Settings
) -> None:
    """It is the host it went to that files for it now; here, only its access is removed."""
    app = open_order(**order_on("new_service", on_file.entity_id, 0))
    _drive(session, app, ORDER_PATHS["new_service"])  # not the entity's last: that aside
    left = LeftHost(left_on=date(2026, 3, 2))
    obligations.left_host(session, on_file.service_id or 0, left, settings, actor="alice")
    body = order_on("cancel_service", on_file.entity_id, on_file.service_id or 0)

    assert _refusals(open_order, body) == [("service_left_host", "service_id")]


def test_an_entitys_only_site_that_left_is_refused_pointing_to_cancel_access_alone(
    session: Session, open_order: Open, on_file: FilingOut, settings: Settings
) -> None:
    """Cancel-entity would be refused too (``not_served_here``): cancel-access is the way."""
    left = LeftHost(left_on=date(2026, 3, 2))
    obligations.left_host(session, on_file.service_id or 0, left, settings, actor="alice")
    body = order_on("cancel_service", on_file.entity_id, on_file.service_id or 0)

    assert _refusals(open_order, body) == [("service_left_host", "service_id")]


def test_a_service_filed_elsewhere_keeps_the_entity_from_being_empty(
    session: Session, open_order: Open, on_file: FilingOut
) -> None:
    """A service whose access moved to another host is still on file with MIIT."""
    accessed = _drive(
        session,
        open_order(**order_on("new_access", on_file.entity_id, 0)),
        ORDER_PATHS["new_access"],
    )
    body = order_on("cancel_access", on_file.entity_id, accessed.service_id or 0)
    _drive(session, open_order(**body), ORDER_PATHS["cancel_access"])
    body = order_on("cancel_service", on_file.entity_id, on_file.service_id or 0)
    assert open_order(**body).kind == "cancel_service"


def test_a_new_access_may_name_a_commercial_licences_number_alone(open_order: Open) -> None:
    """As a first filing's approval may: the licence's number is the service's there."""
    body = {
        "kind": "new_access",
        "licence": "commercial",
        "entity": entity_in(),
        "service": service_in(record_number="京ICP证030173号"),
    }
    assert open_order(**body).kind == "new_access"


def test_an_organisation_naming_itself_in_other_case_and_spacing_is_refused(
    open_order: Open,
) -> None:
    entity = entity_in(responsible={"name": " EXAMPLE  ltd ", "mobile": "13800138000"})
    with pytest.raises(ValidationError) as refused:
        open_order(**first_filing_order(entity=entity))
    assert [r.code for r in refused.value.reasons] == ["responsible_person_missing"]


# --- the suffixes an entity type must file judge the domains it files, not those on record ---

# A government body of Beijing (its credit code starts 11, the region 110000).
GOVERNMENT_BODY = entity_in(
    type="government",
    name="Example Bureau",
    id_type="government_credit_code",
    id_number="11110000MB0234560P",
)
BUREAU_SITE = service_in(domain="example.com", domain_registrant="Example Bureau")


def test_a_government_bodys_new_access_for_a_com_site_on_record_is_not_refused_for_its_suffix(
    open_order: Open,
) -> None:
    """《互联网政务应用安全管理规定》 (2024) says what a body files: a site it filed before under
    .com stays on record, and may move to this host."""
    body = {
        "kind": "new_access",
        "licence": "filing",
        "entity": GOVERNMENT_BODY,
        "service": BUREAU_SITE | {"record_number": f"{ENTITY_NUMBER}-1"},
    }
    assert open_order(**body).kind == "new_access"


def test_a_government_bodys_first_filing_of_a_com_site_is_refused_for_its_suffix(
    open_order: Open,
) -> None:
    body = first_filing_order(entity=GOVERNMENT_BODY, service=BUREAU_SITE)
    assert _refused_naming(open_order, body) == [
        (
            "suffix_not_the_applicants",
            {"applicant_type": "government", "suffixes": [".gov.cn", ".政务"]},
        )
    ]


# --- Sichuan's numbers are issued as 蜀ICP备; people type 川ICP备: one number either way ------

SICHUAN_NUMBER = "蜀ICP备2026007879号"


@pytest.fixture
def sichuan_on_file(session: Session, open_order: Open) -> FilingOut:
    entity = entity_in(province="川", id_number=CREDIT_CODE_BY_PROVINCE["川"])
    order = _drive(
        session,
        open_order(**first_filing_order(entity=entity)),
        ORDER_PATHS["first_filing"][:-1],
    )
    return _fire(session, order, "miit_approve", {"icp_number": f"{SICHUAN_NUMBER}-1"})


def test_a_new_services_number_written_with_the_provinces_other_character_is_taken_as_issued(
    session: Session, open_order: Open, sichuan_on_file: FilingOut
) -> None:
    on_file = sichuan_on_file
    order = open_order(**order_on("new_service", on_file.entity_id, on_file.service_id or 0))
    order = _drive(session, order, ORDER_PATHS["new_service"][:-1])

    order = _fire(session, order, "miit_approve", {"icp_number": "川ICP备2026007879号-2A"})

    assert order.icp_number == f"{SICHUAN_NUMBER}-2A"  # written as the entity's number is
    entity = entities.entity(session, on_file.entity_id)
    assert sorted(s.record_number or "" for s in entity.services) == [
        f"{SICHUAN_NUMBER}-1",
        f"{SICHUAN_NUMBER}-2A",
    ]


def test_a_new_access_may_write_the_entitys_number_with_the_provinces_other_character(
    open_order: Open, sichuan_on_file: FilingOut
) -> None:
    order = open_order(**_access(sichuan_on_file, record_number="川ICP备2026007879号-5"))
    assert (order.kind, order.state) == ("new_access", "domain_registered")


@pytest.mark.parametrize("typed", ["蜀ICP备2026007879", "川ICP备2026007879"])
def test_a_search_by_number_finds_the_records_orders_in_either_provinces_character(
    session: Session, clock: FrozenClock, open_order: Open, sichuan_on_file: FilingOut, typed: str
) -> None:
    access = open_order(**_access(sichuan_on_file, record_number="川ICP备2026007879号-5"))

    page = search.filing_page(
        session, clock.now(), search.FilingFilters(icp_number=typed), settings=get_settings()
    )
    found = {f.id for f in page.items}

    assert found == {sichuan_on_file.id, access.id}


def test_a_new_access_to_a_service_on_file_here_written_with_the_other_character_is_refused(
    open_order: Open, sichuan_on_file: FilingOut
) -> None:
    body = _access(sichuan_on_file, record_number="川ICP备2026007879号-1")
    assert _refused_naming(open_order, body) == [
        ("record_number_on_file", {"service_id": sichuan_on_file.service_id})
    ]


def test_a_first_filing_given_another_entitys_number_in_the_other_character_is_refused(
    session: Session, open_order: Open, sichuan_on_file: FilingOut
) -> None:
    other = _other_first_filing(province="川", id_number=credit_code("川", 1))
    order = _drive(session, open_order(**other), ORDER_PATHS["first_filing"][:-1])
    with pytest.raises(GuardFailed) as refused:
        _fire(session, order, "miit_approve", {"icp_number": "川ICP备2026007879号-1"})
    assert [(r.code, r.details) for r in refused.value.reasons] == [
        ("icp_number_in_use", {"entity_id": sichuan_on_file.entity_id})
    ]


def test_an_idn_typed_as_punycode_is_the_domain_typed_in_unicode(
    session: Session, new_filing: MakeFiling
) -> None:
    first = new_filing("submitted", domain="例子.中国")
    command = make_command(domain="xn--fsqu00a.xn--fiqs8s", applicant=another_organisation(1))
    with pytest.raises(ValidationError) as refused:
        service.create_filing(session, command, actor="t")
    assert [(r.code, r.details) for r in refused.value.reasons] == [
        ("domain_filed_by_another_entity", {"entity_id": first.entity_id})
    ]
    assert first.domain == "例子.中国"


@pytest.mark.parametrize("spelling", ["example.cn。", "example.cn．"], ids=["。", "．"])
def test_an_order_naming_a_domain_on_file_with_a_wide_final_dot_is_refused(
    open_order: Open, on_file: FilingOut, spelling: str
) -> None:
    body = _other_first_filing()
    body["service"] = {**body["service"], "domain": spelling}  # type: ignore[dict-item]
    assert _refused_naming(open_order, body) == [
        ("domain_filed_by_another_entity", {"entity_id": on_file.entity_id})
    ]


# --- an SMS recorded late -------------------------------------------------------------------


def _pre_approved(session: Session, open_order: Open) -> FilingOut:
    return _drive(session, open_order(**first_filing_order()), ORDER_PATHS["first_filing"][:3])


def _sms_recorded(
    session: Session, clock: FrozenClock, open_order: Open, late: timedelta
) -> tuple[FilingOut, datetime]:
    """An order the host pre-approved, MIIT's SMS sent at once and recorded ``late``; the
    order then and when the SMS was sent."""
    order = _pre_approved(session, open_order)
    sent = clock.now()
    clock.advance(late)
    return _fire(session, order, "sms_sent", {"sent_at": sent.isoformat()}), sent


def test_an_sms_recorded_late_starts_its_window_when_it_was_sent(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    order, sent = _sms_recorded(session, clock, open_order, timedelta(hours=20))

    assert order.state == "sms_pending"
    expiry = next(d for d in order.deadlines if d.kind == "sms_expiry")
    assert expiry.due_at == sent + timedelta(hours=24)
    assert {v.window_started_at for v in history.verifiers(session, order.id)} == {sent}
    assert as_utc(describing.get_filing(session, order.id).state_entered_at) == sent


def test_an_sms_recorded_after_its_window_closed_returns_the_order_at_once(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    order, _ = _sms_recorded(session, clock, open_order, timedelta(hours=25))

    assert order.state == "host_returned"
    assert {v.result for v in history.verifiers(session, order.id)} == {"failed"}


def test_an_sms_time_without_an_offset_is_beijing_time(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    order = _pre_approved(session, open_order)
    clock.advance(timedelta(hours=3))  # Monday 13:00 in Beijing

    order = _fire(session, order, "sms_sent", {"sent_at": "2026-03-02T12:30"})

    [expiry] = [d for d in order.deadlines if d.kind == "sms_expiry"]
    assert expiry.due_at == datetime(2026, 3, 3, 4, 30, tzinfo=UTC)  # Tuesday 12:30 Beijing


def test_an_sms_sent_in_the_future_is_refused_naming_the_field(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    order = _pre_approved(session, open_order)
    later = clock.now() + timedelta(minutes=5)

    with pytest.raises(ValidationError) as refused:
        _fire(session, order, "sms_sent", {"sent_at": later.isoformat()})

    assert [r.field for r in refused.value.reasons] == ["data.sent_at"]
    assert "later than now" in refused.value.reasons[0].message
    assert describing.get_filing(session, order.id).state == "host_pre_approved"


def test_an_sms_sent_before_the_order_was_opened_is_refused(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    """A month off: taken, it would close the window at once and return the order."""
    order = _pre_approved(session, open_order)
    before = clock.now() - timedelta(days=30)

    with pytest.raises(GuardFailed) as refused:
        _fire(session, order, "sms_sent", {"sent_at": before.isoformat()})

    [reason] = refused.value.reasons
    assert (reason.code, reason.field) == ("sms_sent_before_order_opened", "data.sent_at")


def test_an_sms_sent_before_the_host_approval_was_recorded_is_taken(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    """Both recorded the next morning: the host's approval is no bound on the SMS's time."""
    order = _drive(session, open_order(**first_filing_order()), ORDER_PATHS["first_filing"][:2])
    sent = clock.now() + timedelta(hours=12)
    clock.advance(timedelta(hours=23))
    order = _fire(session, order, "host_approve", {})

    order = _fire(session, order, "sms_sent", {"sent_at": sent.isoformat()})

    assert order.state == "sms_pending"
    assert {v.window_started_at for v in history.verifiers(session, order.id)} == {sent}


@pytest.mark.parametrize(
    "sent_at",
    ["0001-01-01T00:00", "9999-12-31T23:00-05:00", "2026-03-02", 1772416800, "1772416800000"],
    ids=["first day", "last day", "a date alone", "epoch seconds", "epoch milliseconds"],
)
def test_an_sms_time_that_is_no_date_and_time_is_refused_naming_the_field(
    session: Session, open_order: Open, sent_at: object
) -> None:
    order = _pre_approved(session, open_order)

    with pytest.raises(ValidationError) as refused:
        _fire(session, order, "sms_sent", {"sent_at": sent_at})

    assert [r.field for r in refused.value.reasons] == ["data.sent_at"]


def test_an_sms_time_a_few_seconds_ahead_of_this_clock_counts_as_now(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    order = _pre_approved(session, open_order)

    order = _fire(
        session, order, "sms_sent", {"sent_at": (clock.now() + timedelta(seconds=20)).isoformat()}
    )

    assert {v.window_started_at for v in history.verifiers(session, order.id)} == {clock.now()}


def _reminders_told(session: Session, order: FilingOut) -> list[str]:
    return [
        n.kind for n in history.notifications(session, order.id, get_settings()) if "sms" in n.kind
    ]


def test_the_notice_of_an_sms_recorded_late_gives_the_end_of_its_window(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    order = _drive(session, open_order(**first_filing_order()), ORDER_PATHS["first_filing"][:3])
    sent = clock.now()
    clock.advance(timedelta(hours=15))  # recorded late: 9 of the 24 hours are left

    _fire(session, order, "sms_sent", {"sent_at": sent.isoformat()})

    told = session.exec(
        select(Notification.body).where(
            Notification.filing_id == order.id, Notification.kind == "sms_sent"
        )
    ).first()
    assert told is not None
    assert "工信部已发送核验短信" in told and "MIIT sent its SMS" in told
    assert due_line(sent + timedelta(hours=24)) in told


def test_an_sms_reminder_names_who_must_answer_not_the_applicant(
    session: Session, clock: FrozenClock, open_order: Open, on_file: FilingOut
) -> None:
    """A change of the entity's person: the SMS goes to the new person's phone."""
    person = {"name": "Chen Jie", "mobile": "13900139001"}
    body = {
        "kind": "change",
        "entity_id": on_file.entity_id,
        "changes": {"entity_responsible": person},
    }
    steps = [("submit", {"materials": ["change_request_form"]}), ("host_approve", {})]
    order = _drive(session, open_order(**body), steps)
    sent = clock.now()
    clock.advance(timedelta(hours=21))  # recorded late: the 20 h reminder is owed at once

    _fire(session, order, "sms_sent", {"sent_at": sent.isoformat()})

    reminder = session.exec(
        select(Notification.body).where(
            Notification.filing_id == order.id, Notification.kind == "sms_reminder"
        )
    ).first()
    assert reminder is not None
    assert "To answer the SMS: entity Chen Jie 139****9001" in reminder


def _reminders(session: Session, order: FilingOut) -> list[str]:
    rows = session.exec(
        select(Deadline.status).where(
            Deadline.filing_id == order.id, Deadline.kind == "sms_reminder"
        )
    )
    return sorted(rows)


@pytest.mark.parametrize(
    ("late", "told", "reminders"),
    [
        # The 20 h reminder; those at 0 h and 12 h are overtaken.
        (timedelta(hours=21), ["sms_sent", "sms_reminder"], ["disarmed", "disarmed", "fired"]),
        # No reminder of a window already closed.
        (timedelta(hours=25), ["sms_sent", "sms_expiry"], ["disarmed"] * 3),
    ],
    ids=["21 h late", "after the window"],
)
def test_an_sms_recorded_late_tells_only_what_is_still_true(
    session: Session,
    clock: FrozenClock,
    open_order: Open,
    late: timedelta,
    told: list[str],
    reminders: list[str],
) -> None:
    order, _ = _sms_recorded(session, clock, open_order, late)

    assert _reminders_told(session, order) == told
    assert _reminders(session, order) == reminders


def test_an_sms_recorded_past_a_longer_stuck_threshold_still_expires_its_window(
    session: Session, settings: Settings, clock: FrozenClock, open_order: Open
) -> None:
    """A stuck mark due after the window's end takes nothing from the expiry, which fires."""
    stuck = {**settings.stuck_working_days, "sms_pending": 2}
    patient = settings.model_copy(update={"stuck_working_days": stuck})
    order = _pre_approved(session, open_order)
    sent = clock.now()
    clock.advance(timedelta(hours=50))

    command = EventCommand(event="sms_sent", data={"sent_at": sent.isoformat()})
    order = service.fire_event(session, order.id, command, actor="t", settings=patient)

    assert order.state == "host_returned"
    assert {v.result for v in history.verifiers(session, order.id)} == {"failed"}


def test_the_sms_of_a_later_round_comes_after_the_earlier_rounds(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    """Returned after its window, resubmitted and pre-approved again: the first SMS's time,
    copied, would close the new window at once."""
    order, first_sms = _sms_recorded(session, clock, open_order, timedelta(hours=25))
    order = _drive(
        session, order, [("resubmit", {"materials": ORG_MATERIALS}), ("host_approve", {})]
    )

    with pytest.raises(GuardFailed) as refused:
        _fire(session, order, "sms_sent", {"sent_at": first_sms.isoformat()})

    [reason] = refused.value.reasons
    assert (reason.code, reason.field) == ("sms_sent_before_previous_sms", "data.sent_at")
    assert _fire(session, order, "sms_sent", {}).state == "sms_pending"


def test_the_sms_of_a_later_round_comes_after_the_earlier_window_closed(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    """A time between the first SMS and the end of its window is no later round's: taken, it
    would close the new window at once and undo the host's approval."""
    order, first_sms = _sms_recorded(session, clock, open_order, timedelta(hours=25))
    order = _drive(
        session, order, [("resubmit", {"materials": ORG_MATERIALS}), ("host_approve", {})]
    )

    with pytest.raises(GuardFailed) as refused:
        _fire(session, order, "sms_sent", {"sent_at": (first_sms + timedelta(hours=2)).isoformat()})

    [reason] = refused.value.reasons
    assert (reason.code, reason.field) == ("sms_sent_before_round_ended", "data.sent_at")


def test_the_sms_of_a_later_round_comes_after_the_order_lapsed(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    """Returned when its window closed, then lapsed after 45 days: an SMS time between the two
    is of no round after the lapse."""
    order, first_sms = _sms_recorded(session, clock, open_order, timedelta(hours=25))
    clock.advance(timedelta(days=46))  # the lapse due, fired by the next event
    bind: dict[str, Any] = {"service_number": fresh_service_number(), "server_ip": "8.8.8.8"}
    steps: list[tuple[str, dict[str, Any]]] = [
        ("bind_service_number", bind),
        ("submit", {"materials": ORG_MATERIALS}),
        ("host_approve", {}),
    ]
    order = _drive(session, order, steps)
    between = first_sms + timedelta(days=2)

    with pytest.raises(GuardFailed) as refused:
        _fire(session, order, "sms_sent", {"sent_at": between.isoformat()})

    [reason] = refused.value.reasons
    assert (reason.code, reason.field) == ("sms_sent_before_round_ended", "data.sent_at")


def test_an_sms_after_the_earlier_window_closed_is_taken_though_its_return_was_recorded_later(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    """The scheduler down: the window closed at 24 h, recorded at 29 h when the order was
    resubmitted; the next SMS came at 27 h, after the real return."""
    order, first_sms = _sms_recorded(session, clock, open_order, timedelta(0))
    clock.advance(timedelta(hours=29))
    order = _drive(
        session, order, [("resubmit", {"materials": ORG_MATERIALS}), ("host_approve", {})]
    )

    sent = first_sms + timedelta(hours=27)
    order = _fire(session, order, "sms_sent", {"sent_at": sent.isoformat()})

    assert order.state == "sms_pending"


def test_time_in_each_state_counts_the_sms_state_from_when_it_came(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    order = _pre_approved(session, open_order)
    clock.advance(timedelta(hours=10))
    sent = clock.now()
    clock.advance(timedelta(hours=6))
    order = _fire(session, order, "sms_sent", {"sent_at": sent.isoformat()})

    spent = dict(history.time_in_states(history.history(session, order.id), clock.now()))

    assert (spent["host_pre_approved"], spent["sms_pending"]) == (
        timedelta(hours=10),
        timedelta(hours=6),
    )


def test_time_in_each_state_ends_the_states_recorded_before_a_late_sms_when_it_came(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    """Submitted; the SMS came 10 h later, the host's approval recorded only at 16 h and the
    SMS at 18 h: the order was with the host 10 h, not 16, and waits on the SMS 8 h, not 2."""
    order = _drive(session, open_order(**first_filing_order()), ORDER_PATHS["first_filing"][:2])
    sent = clock.now() + timedelta(hours=10)
    clock.advance(timedelta(hours=16))
    order = _fire(session, order, "host_approve", {})
    clock.advance(timedelta(hours=2))
    order = _fire(session, order, "sms_sent", {"sent_at": sent.isoformat()})

    spent = dict(history.time_in_states(history.history(session, order.id), clock.now()))

    assert (spent["submitted"], spent["host_pre_approved"], spent["sms_pending"]) == (
        timedelta(hours=10),
        timedelta(0),
        timedelta(hours=8),
    )


# --- an SMS sent again ----------------------------------------------------------------------


def _sms_pending(session: Session, open_order: Open) -> FilingOut:
    return _drive(session, open_order(**first_filing_order()), ORDER_PATHS["first_filing"][:4])


def test_an_sms_sent_again_restarts_the_window_from_it(
    session: Session, settings: Settings, clock: FrozenClock, open_order: Open
) -> None:
    order = _sms_pending(session, open_order)
    first_sms = clock.now()
    clock.advance(timedelta(hours=22))

    order = _fire(session, order, "sms_resent", {})

    assert order.state == "sms_pending"
    resent = clock.now()
    assert sorted((d.kind, d.due_at) for d in order.deadlines if d.kind.startswith("sms_")) == [
        ("sms_expiry", resent + timedelta(hours=settings.sms_window_hours)),
        *(("sms_reminder", resent + timedelta(hours=h)) for h in settings.sms_reminder_hours),
    ]
    assert as_utc(describing.get_filing(session, order.id).state_entered_at) == first_sms


def test_an_sms_sent_again_as_one_of_the_last_windows_reminders_fell_due_is_recorded(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, open_order: Open
) -> None:
    """12 h on, the new window's first reminder is due when the last window's second was:
    each is its own reminder, not the same one owed twice."""
    order = _sms_pending(session, open_order)
    clock.advance(timedelta(hours=12))
    fire_due_deadlines(db.engine, clock.now(), settings)

    assert _fire(session, order, "sms_resent", {}).state == "sms_pending"

    reminders = session.exec(
        select(Notification.deadline_id).where(
            Notification.filing_id == order.id, Notification.kind == "sms_reminder"
        )
    ).all()
    assert len(set(reminders)) == 3  # the last window's at 0 h and 12 h, the new one's at 0 h


def test_an_answer_within_the_new_window_is_taken_after_the_first_one_closed(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    order = _sms_pending(session, open_order)
    clock.advance(timedelta(hours=22))
    order = _fire(session, order, "sms_resent", {})
    clock.advance(timedelta(hours=3))  # 25 h after the first SMS, 3 h after the second

    assert _fire(session, order, "verify_sms", {}).state == "miit_pending"


def test_an_sms_sent_again_restarts_only_the_windows_of_those_yet_to_answer(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    order = _sms_pending(session, open_order)
    first_sms = clock.now()
    order = _fire(session, order, "verify_sms", {"verifier": "entity"})
    clock.advance(timedelta(hours=5))

    _fire(session, order, "sms_resent", {})

    windows = {
        (v.role, v.result, v.window_started_at) for v in history.verifiers(session, order.id)
    }
    assert windows == {
        ("entity", "verified", first_sms),
        ("service", "pending", clock.now()),
    }


def test_an_sms_sent_again_before_the_previous_one_is_refused_naming_the_field(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    order = _sms_pending(session, open_order)
    clock.advance(timedelta(hours=2))
    order = _fire(session, order, "sms_resent", {})
    before_it = clock.now() - timedelta(minutes=5)  # after the first SMS, before the second
    clock.advance(timedelta(hours=2))

    with pytest.raises(GuardFailed) as refused:
        _fire(session, order, "sms_resent", {"sent_at": before_it.isoformat()})

    [reason] = refused.value.reasons
    assert (reason.code, reason.field) == ("sms_sent_before_previous_sms", "data.sent_at")


def test_an_sms_sent_again_recorded_after_its_window_closed_is_refused_saying_when(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, open_order: Open
) -> None:
    """Sent 20 h into the window, recorded 10 h later, the sweep having returned the order at
    24 h: the return stands (the next round starts with ``resubmit``), and the refusal says
    the window closed before the SMS sent again was recorded, and when."""
    order = _sms_pending(session, open_order)
    closed = clock.now() + timedelta(hours=settings.sms_window_hours)
    clock.advance(timedelta(hours=20))
    resent = clock.now()
    clock.advance(timedelta(hours=10))
    fire_due_deadlines(db.engine, clock.now(), settings)

    with pytest.raises(TransitionNotAllowed) as refused:
        _fire(session, order, "sms_resent", {"sent_at": resent.isoformat()})

    [reason] = refused.value.reasons
    assert reason.message == (
        "sms_resent leaves from sms_pending only, and expire_sms moved the order out of "
        "sms_pending when its deadline fell due at "
        f"{closed.astimezone(CHINA):%Y-%m-%d %H:%M:%S} Beijing time, before this was recorded"
    )
    assert reason.details == {"left": "sms_pending", "by": "expire_sms", "at": closed.isoformat()}


def test_the_notice_of_an_sms_sent_again_gives_the_end_of_its_window(
    session: Session, clock: FrozenClock, open_order: Open
) -> None:
    order = _sms_pending(session, open_order)
    clock.advance(timedelta(hours=6))
    resent = clock.now()
    clock.advance(timedelta(hours=1))  # recorded an hour late

    _fire(session, order, "sms_resent", {"sent_at": resent.isoformat()})

    told = session.exec(
        select(Notification.body).where(
            Notification.filing_id == order.id, Notification.kind == "sms_resent"
        )
    ).one()
    assert "工信部重新发送了核验短信" in told and "MIIT sent its SMS again" in told
    assert due_line(resent + timedelta(hours=24)) in told


def test_the_reminder_of_the_first_window_is_not_sent_once_the_sms_came_again(
    db: Database, session: Session, settings: Settings, clock: FrozenClock, open_order: Open
) -> None:
    order = _sms_pending(session, open_order)
    clock.advance(timedelta(hours=19))
    _fire(session, order, "sms_resent", {})
    clock.advance(timedelta(hours=2))  # past the first window's 20 h reminder

    assert fire_due_deadlines(db.engine, clock.now(), settings) == 0


# --- a record's orders found by its number --------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "number"),
    [
        ("new_service", None),  # issued at approval
        ("new_access", f"{ENTITY_NUMBER}-5"),
        ("change", ENTITY_NUMBER),  # the entity's name: the entity's record
        ("cancel_entity", ENTITY_NUMBER),
        ("cancel_access", f"{ENTITY_NUMBER}-1"),  # a service's: cancel_service's too
    ],
)
def test_an_order_on_a_record_on_file_carries_its_number_from_the_start(
    session: Session,
    clock: FrozenClock,
    open_order: Open,
    on_file: FilingOut,
    kind: str,
    number: str | None,
) -> None:
    order = open_order(**order_on(kind, on_file.entity_id, on_file.service_id or 0))

    assert order.icp_number == number
    found = search.filing_page(
        session,
        clock.now(),
        search.FilingFilters(icp_number=ENTITY_NUMBER),
        settings=get_settings(),
    ).items
    assert (order.id in {f.id for f in found}) == (number is not None)
