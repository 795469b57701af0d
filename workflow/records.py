"""Opening an order against the record: entities, services and the people answering the SMS.

``check_order`` judges an order against the record (one order in flight per entity, the
domain's holder, mobile numbers, records that exist) and ``write_order`` writes its rows, inside
the service's transaction. What the machine reads of an order is ``order_facts``; the SMS's
part in each verifier's row is ``verifiers``; what an order's end does to the record is
``outcomes``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, or_, update
from sqlmodel import Session, col, select

from config.clock import CHINA
from config.domains import ascii_spelling
from config.settings import Settings
from models import Entity, Filing, Obligation, Service, SmsVerifier, table
from models.sealed import lookup
from workflow.domain.commands import (
    ApplicantIn,
    ApplicantKind,
    AppPlatformsIn,
    ChangesIn,
    EntityIn,
    EntityPersonIn,
    FilingCreate,
    OrderCreate,
    PersonIn,
    ServiceIn,
    WebsiteIn,
)
from workflow.domain.definition import TERMINAL_STATES
from workflow.domain.errors import (
    Reason,
    ValidationError,
    VersionConflict,
    renamed,
    summarise,
)
from workflow.domain.event_data import VerifierRole
from workflow.domain.guards import (
    as_spelt,
    canonical_province,
    check_access_number,
    check_app_identifier,
    check_app_platforms,
    check_creation,
    check_domain_quota,
    check_email,
    check_mobile,
    check_responsible,
    check_suffix_letter,
    same_name,
)
from workflow.domain.obligations import ObligationKind
from workflow.domain.orders import (
    CHANGES,
    ON_FILE_STATUSES,
    Effect,
    EntityStatus,
    KindSpec,
    NumberAsked,
    OrderKind,
    Party,
    ServiceKind,
    ServiceStatus,
    VerifierResult,
    kind_spec,
    split_number,
)
from workflow.domain.rules import rules_for
from workflow.turns import take_turns

# Today's filing body names these fields so.
_FILING_FIELDS = {
    "service.domain_registrant": "domain_registrant",
    "service.domain_real_name_verified": "domain_real_name_verified",
    "service.domain": "domain",
    "entity.responsible.mobile": "applicant.phone",
    "entity.id_number": "applicant.id_number",
    "entity.responsible.name": "applicant.responsible",
}
# check_creation names the fields of a first filing's body; an order names them so.
_ORDER_FIELDS = {
    "domain": "service.domain",
    "domain_expires_on": "service.domain_expires_on",
    "province": "entity.province",
    "licence": "licence",
    "website.sector": "service.sector",
    "applicant.type": "entity.type",
    "applicant.id_type": "entity.id_type",
    "applicant.id_number": "entity.id_number",
    "applicant.phone": "entity.responsible.mobile",
    "applicant.email": "entity.responsible.email",
}


def order_from_filing(command: FilingCreate) -> OrderCreate:
    """Today's filing body as the first-filing order it is: the applicant is the entity, its
    responsible person the one it names (an individual, themself); the website, the service."""
    applicant, website = command.applicant, command.website
    return OrderCreate(
        kind=OrderKind.FIRST_FILING,
        entity=EntityIn(
            type=applicant.type,
            name=applicant.name,
            id_type=applicant.id_type,
            id_number=applicant.id_number,
            province=command.province,
            responsible=EntityPersonIn(
                name=applicant.responsible or applicant.name,
                mobile=applicant.phone,
                email=applicant.email,
            ),
        ),
        service=ServiceIn(
            name=website.name,
            domain=command.domain,
            domain_expires_on=command.domain_expires_on,
            domain_registrant=command.domain_registrant or applicant.name,
            domain_real_name_verified=command.domain_real_name_verified,
            sector=website.sector,
        ),
        licence=command.licence,
        notify=command.notify,
    )


# A service holding its record number here, one at a time (the partial unique index of
# ``models.tables.Service``): one withdrawn, or whose access was removed, holds it no more, so
# the site may be accessed here again.
_HOLDING = (ServiceStatus.PENDING, ServiceStatus.ACTIVE)


@dataclass
class _Parties:
    """The entity and service an order concerns: new ones (inputs) or stored ones."""

    entity_in: EntityIn | None = None
    entity: Entity | None = None
    service_in: ServiceIn | None = None
    service: Service | None = None


def _need(party: Party, given_id: int | None, given_new: object, name: str) -> list[Reason]:
    """The parts the kind wants, and none it does not, named by field."""
    new, existing = given_new is not None, given_id is not None
    wanted = {
        Party.NEW: (True, False),
        Party.EXISTING: (False, True),
        Party.NONE: (False, False),
    }.get(party)
    if party is Party.NEW_OR_EXISTING:
        if new == existing:
            return [Reason("missing_field", f"give {name} or {name}_id", field=name)]
        return []
    if party is Party.OPTIONAL:
        return [Reason("unexpected_field", f"{name} cannot be new here", field=name)] if new else []
    assert wanted is not None
    reasons = []
    for field, given, want in ((name, new, wanted[0]), (f"{name}_id", existing, wanted[1])):
        if want and not given:
            reasons.append(Reason("missing_field", f"{field} is required", field=field))
        elif given and not want:
            reasons.append(
                Reason("unexpected_field", f"{field} is not part of this kind", field=field)
            )
    return reasons


def _load(session: Session, command: OrderCreate, spec: KindSpec) -> tuple[_Parties, list[Reason]]:
    reasons = _need(spec.entity, command.entity_id, command.entity, "entity")
    reasons += _need(spec.service, command.service_id, command.service, "service")
    if command.changes is not None and spec.effect is not Effect.APPLY_CHANGES:
        reasons.append(
            Reason("unexpected_field", "only change orders carry changes", field="changes")
        )
    changes = command.changes
    if spec.effect is Effect.APPLY_CHANGES and changes is None:
        reasons.append(Reason("missing_field", "changes is required", field="changes"))
    elif (
        spec.effect is Effect.APPLY_CHANGES
        and changes is not None
        and command.service_id is None
        and (
            changes.service_name is not None
            or changes.service_responsible is not None
            or changes.app_platforms is not None
        )
    ):
        reasons.append(
            Reason(
                "missing_field",
                "service_id is required to change a service's name, responsible person or "
                "app signatures",
                field="service_id",
            )
        )
    elif (
        spec.effect is Effect.APPLY_CHANGES
        and changes is not None
        and not changes.model_dump(exclude_none=True)
    ):
        reasons.append(
            Reason(
                "nothing_to_change",
                f"a change order changes at least one of {', '.join(ChangesIn.model_fields)}",
                field="changes",
            )
        )
    parties = _Parties(entity_in=command.entity, service_in=command.service)
    if command.entity_id is not None:
        parties.entity = session.get(Entity, command.entity_id)
        if parties.entity is None:
            reasons.append(
                Reason(
                    "entity_not_found",
                    f"entity {command.entity_id} does not exist",
                    field="entity_id",
                )
            )
    if command.service_id is not None:
        parties.service = session.get(Service, command.service_id)
        if parties.service is None or (
            parties.entity is not None and parties.service.entity_id != parties.entity.id
        ):
            which = (
                service_named(parties.service)
                if parties.service is not None
                else f"service {command.service_id}"  # none on record to name
            )
            reasons.append(
                Reason(
                    "service_not_found",
                    f"{which} is not a service of this entity",
                    field="service_id",
                )
            )
            parties.service = None
    return parties, reasons


def _check_record(spec: KindSpec, parties: _Parties) -> list[Reason]:
    """Orders on a record need the record: a number on file, still active."""
    reasons: list[Reason] = []
    entity, service, service_in = parties.entity, parties.service, parties.service_in
    on_file = entity is not None and entity.status == EntityStatus.ACTIVE and entity.icp_number
    if entity is not None and spec.kind is not OrderKind.NEW_ACCESS and not on_file:
        reasons.append(
            Reason(
                "entity_not_on_file",
                f"entity {entity.id} has no approved record for a {spec.kind} order",
                field="entity_id",
                details={"status": entity.status},
            )
        )
    if service is not None and (
        service.status != ServiceStatus.ACTIVE or service.record_number is None
    ):
        reasons.append(
            Reason(
                "service_not_on_file",
                f"{service_named(service)} has no active record",
                field="service_id",
                details={"status": service.status},
            )
        )
    elif service is not None and spec.effect is Effect.REMOVE_ACCESS and not service.service_number:
        reasons.append(
            Reason(
                "not_served_here",
                f"{service_named(service)} has no access through this host",
                field="service_id",
            )
        )
    if (
        spec.kind is OrderKind.NEW_ACCESS
        and service_in is not None
        and not service_in.record_number
    ):
        reasons.append(
            Reason(
                "missing_field",
                "a new access is for a service on file: give its record number",
                field="service.record_number",
            )
        )
    return reasons


def _check_access(
    session: Session, spec: KindSpec, parties: _Parties, command: OrderCreate, settings: Settings
) -> list[Reason]:
    """A new access brings a record MIIT holds: not a cancelled entity's (its number went with
    it), and a number that is the service's, under the entity's and nobody's here yet."""
    if spec.kind is not OrderKind.NEW_ACCESS:
        return []
    entity, reasons = parties.entity, []
    if entity is not None and entity.status == EntityStatus.CANCELLED:
        reasons.append(
            Reason(
                "entity_cancelled",
                f"entity {entity.id}'s record was cancelled, and its number with it: "
                "file it again as a first filing",
                field="entity_id",
            )
        )
    service_in = parties.service_in
    number = service_in.record_number if service_in is not None else None
    if service_in is None or number is None:
        return reasons  # reported by _check_record
    province: str | None
    if entity is not None:
        province, entity_number = entity.province, entity.icp_number
    elif parties.entity_in is not None:
        province = canonical_province(parties.entity_in.province, rules_for(settings))
        entity_number = None
    else:
        return reasons
    field = "service.record_number"
    found = check_access_number(
        number, command.licence.value, province, entity_number, settings
    ) or check_suffix_letter(number, service_in.kind, field)
    if found:
        return reasons + found
    spellings = rules_for(settings).number_spellings(number)
    found_here = session.exec(
        select(Service)
        .where(col(Service.record_number).in_(spellings))
        .where(col(Service.status).in_((*_HOLDING, ServiceStatus.CANCELLED)))
        .order_by(col(Service.id))
    ).first()
    if found_here is not None and found_here.status == ServiceStatus.CANCELLED:
        reasons.append(
            Reason(
                "record_number_cancelled",
                f"{number} was cancelled here with {service_named(found_here)}: MIIT holds it "
                "no more, so the site is filed anew",
                field=field,
                details={"service_id": found_here.id},
            )
        )
    elif found_here is not None:
        reasons.append(
            Reason(
                "record_number_on_file",
                f"{number} is already on file here: {service_named(found_here)}",
                field=field,
                details={"service_id": found_here.id},
            )
        )
    removed = session.exec(
        select(Service).where(
            col(Service.record_number).in_(spellings),
            Service.status == ServiceStatus.ACCESS_REMOVED,
        )
    ).first()
    if removed is not None and not _is_same(removed, service_in):
        reasons.append(
            Reason(
                "record_number_of_another_service",
                f"{number} is the record of {service_named(removed)}, its access removed: a "
                "new access brings that same service back, or its own record",
                field=field,
                details={"service_id": removed.id},
            )
        )
    holder = select(Entity.id, Entity.status).where(
        col(Entity.icp_number).in_([split_number(spelling)[0] for spelling in spellings])
    )
    if entity is not None:
        holder = holder.where(Entity.id != entity.id)
    other = session.exec(holder).first()
    if other is not None and other[1] == EntityStatus.CANCELLED:
        reasons.append(
            Reason(
                "record_number_cancelled",
                f"{number} is under entity {other[0]}'s number, cancelled with it: MIIT holds "
                "it no more, so the site is filed anew",
                field=field,
                details={"entity_id": other[0]},
            )
        )
    elif other is not None:
        reasons.append(
            Reason(
                "record_number_of_another_entity",
                f"{number} is under entity {other[0]}'s number: name that entity "
                f"(entity_id {other[0]})",
                field=field,
                details={"entity_id": other[0]},
            )
        )
    return reasons


def _check_not_last(session: Session, spec: KindSpec, parties: _Parties) -> list[Reason]:
    """Cancelling an entity's last service on file would leave an empty entity (空壳主体),
    which most provinces refuse: an entity with one service left cancels itself instead
    (docs/domain-facts.md, 注销主体 and 注销网站: HW 备案注销咨询.md, TX 注销备案.md).
    A service not cancellable here at all (no active record, or its leaving recorded) has its
    own reason, pointing elsewhere: cancel-entity would be refused for it too."""
    service = parties.service
    if spec.effect is not Effect.CANCEL_SERVICE or service is None or parties.entity is None:
        return []  # without the entity, the missing entity is the reason
    if service.status != ServiceStatus.ACTIVE or _has_left(session, service.id):
        return []
    # Another number: a site accessed here again left its first row behind, the same record.
    others = session.exec(
        select(Service.id).where(
            Service.entity_id == service.entity_id,
            col(Service.record_number) != service.record_number,
            col(Service.status).in_(ON_FILE_STATUSES),
        )
    ).first()
    if others is not None:
        return []
    return [
        Reason(
            "last_service",
            f"{service_named(service)} is the entity's last on file: cancelling it would leave an "
            "empty entity (空壳主体), which most provinces refuse; cancel the entity instead "
            "(cancel_entity)",
            field="service_id",
        )
    ]


def _check_served_here(session: Session, spec: KindSpec, parties: _Parties) -> list[Reason]:
    """An entity is cancelled through a host serving one of its services: one whose every
    service left this host (its access removed, or its leaving recorded and a cancel-access
    order owed) is the other host's to cancel, and approved here it would cancel the sites
    that host serves."""
    entity = parties.entity
    if spec.effect is not Effect.CANCEL_ENTITY or entity is None:
        return []
    served = session.exec(
        select(Service.id).where(
            Service.entity_id == entity.id,
            Service.status == ServiceStatus.ACTIVE,
            col(Service.id).not_in(_LEFT_HOST),
        )
    ).first()
    if served is not None:
        return []
    return [
        Reason(
            "not_served_here",
            f"entity {entity.id} has no service this host serves (each one's access was "
            "removed, or its leaving recorded): it is cancelled through the host serving its "
            "sites",
            field="entity_id",
        )
    ]


# Services recorded as having left this host, whose cancel-access order is owed.
_LEFT_HOST = select(Obligation.service_id).where(
    Obligation.kind == ObligationKind.CANCEL_ACCESS, col(Obligation.closed_at).is_(None)
)


def _has_left(session: Session, service_id: int | None) -> bool:
    """The service's leaving of this host is recorded (its cancel-access order owed)."""
    return session.exec(_LEFT_HOST.where(Obligation.service_id == service_id)).first() is not None


def _check_still_here(session: Session, spec: KindSpec, parties: _Parties) -> list[Reason]:
    """A site recorded as having left this host is changed or cancelled through the host it
    went to; here, only its access is removed (a cancel-access order)."""
    service = parties.service
    if service is None or spec.effect is Effect.REMOVE_ACCESS:
        return []
    if not _has_left(session, service.id):
        return []
    return [
        Reason(
            "service_left_host",
            f"{service_named(service)} left this host: it is changed or cancelled through the host "
            "it went to; here, open a cancel_access order for it",
            field="service_id",
        )
    ]


def _entity_name(parties: _Parties) -> str | None:
    if parties.entity_in is not None:
        return parties.entity_in.name
    return parties.entity.name if parties.entity is not None else None


def _check_domain_holder(parties: _Parties) -> list[Reason]:
    """The domain's registrant is the entity, as a reader reads its name (see ``same_name``),
    and its real name verified (the commonest refusals)."""
    service, name = parties.service_in, _entity_name(parties)
    if service is None or name is None:
        return []
    reasons = []
    if not same_name(service.domain_registrant, name):
        reasons.append(
            Reason(
                "registrant_not_entity",
                f"the domain is registered to {service.domain_registrant!r}, not the entity {name!r}",
                field="service.domain_registrant",
                details={"entity": name},
            )
        )
    if not service.domain_real_name_verified:
        reasons.append(
            Reason(
                "domain_not_real_name_verified",
                "the domain's registrant must be real-name verified at the registrar",
                field="service.domain_real_name_verified",
            )
        )
    return reasons


def _check_domain_elsewhere(session: Session, parties: _Parties) -> list[Reason]:
    """A domain is filed by one entity: one another identity keeps on file, or has in an order
    in flight, is refused (a mistyped domain, or a registrant the registrar would contradict:
    the registrant named in the order is all icpflow can read)."""
    service, identity = parties.service_in, _identity(parties)
    if service is None or not identity:
        return []  # without the entity, whose domain it is cannot be told (it is reported)
    in_flight = select(Filing.service_id).where(col(Filing.state).not_in(list(TERMINAL_STATES)))
    holder = session.exec(
        select(Entity.id)
        .join(Service, col(Service.entity_id) == col(Entity.id))
        .where(
            col(Service.domain) == service.domain.lower(),
            col(Entity.id_number_hash) != lookup(identity),
            or_(
                col(Service.status).in_(ON_FILE_STATUSES),
                col(Service.id).in_(in_flight),
            ),
        )
    ).first()
    if holder is None:
        return []
    return [
        Reason(
            "domain_filed_by_another_entity",
            f"{service.domain} is on file, or being filed, for entity {holder}",
            field="service.domain",
            details={"entity_id": holder},
        )
    ]


def _same_service(service: ServiceIn) -> ColumnElement[bool]:
    """The rows that are ``service``: a website is its domain, an app (a mini program, a quick
    app) its identifier, of its kind; several apps may use their entity's site's domain."""
    if service.kind is ServiceKind.WEBSITE:
        return and_(
            col(Service.kind) == ServiceKind.WEBSITE, col(Service.domain) == service.domain.lower()
        )
    return and_(
        col(Service.kind) == service.kind, col(Service.app_identifier) == service.app_identifier
    )


def service_named(service: Service) -> str:
    """A service on record as refusals and notices name it, one way: what it is, its name, its
    domain and its own number (an app's identifier until it has one), ``Website 网站 Example
    (example.cn) 京ICP备12345678号-1``. Not by its domain alone (an app and the site on its
    domain share it) nor by its row's id, which says nothing to the person reading."""
    number = service.record_number or service.app_identifier
    named = f"{ServiceKind(service.kind).label} {service.name} ({service.domain})"
    return f"{named} {number}" if number else named


def _is_same(row: Service, service: ServiceIn) -> bool:
    """``row``, under the number ``service`` names, is the same service: a website of the same
    domain, an app of the same kind (under one number, an app on another platform may go by
    another package name or Bundle ID)."""
    if service.kind is ServiceKind.WEBSITE:
        return row.kind == ServiceKind.WEBSITE and row.domain == service.domain.lower()
    return row.kind == service.kind


def _named_by(service: ServiceIn) -> tuple[str, str]:
    """How a refusal names ``service``, and the field that says it."""
    if service.kind is ServiceKind.WEBSITE:
        return service.domain, "service.domain"
    return f"{service.kind.label} {service.app_identifier}", "service.app_identifier"


def _check_on_file_here(
    session: Session, spec: KindSpec, parties: _Parties, settings: Settings
) -> list[Reason]:
    """A website or an app the entity keeps on file is not filed again: a new record for it
    would be its second (it changes by a change order). A new access brings its existing
    record: one naming another number for it is refused too (the same number, on file here,
    is ``_check_access``'s)."""
    service, identity = parties.service_in, _identity(parties)
    if service is None or not identity:
        return []
    if service.kind is not ServiceKind.WEBSITE and service.app_identifier is None:
        return []  # the missing identifier is reported
    query = (
        select(Service)
        .join(Entity, col(Entity.id) == col(Service.entity_id))
        .where(
            _same_service(service),
            Entity.id_number_hash == lookup(identity),
            col(Service.status).in_(ON_FILE_STATUSES),
        )
    )
    if spec.effect is Effect.ADD_ACCESS:
        if service.record_number is None:
            return []  # reported by _check_record
        # Served here under another number. One whose access was removed may have been
        # cancelled since (a site no host serves is), and come back under a new number.
        spellings = rules_for(settings).number_spellings(service.record_number)
        query = query.where(
            col(Service.record_number).not_in(spellings), Service.status == ServiceStatus.ACTIVE
        )
    on_file = session.exec(query.order_by(col(Service.id))).first()
    if on_file is None:
        return []
    what, field = _named_by(service)
    second = (
        f"a new access brings its own record, {on_file.record_number}"
        if spec.effect is Effect.ADD_ACCESS
        else "a new record would be its second"
    )
    return [
        Reason(
            "domain_on_file" if service.kind is ServiceKind.WEBSITE else "app_on_file",
            f"{what} is on file for this entity as {service_named(on_file)}: {second}",
            field=field,
            details={"service_id": on_file.id, "record_number": on_file.record_number},
        )
    ]


def _check_app_elsewhere(session: Session, parties: _Parties) -> list[Reason]:
    """An app is one entity's: on file, or being filed, for another identity, it is refused (an
    app does not move to another entity; docs/domain-facts.md, Apps)."""
    service, identity = parties.service_in, _identity(parties)
    if service is None or service.kind is ServiceKind.WEBSITE or not identity:
        return []
    if service.app_identifier is None:
        return []  # the missing identifier is reported
    in_flight = select(Filing.service_id).where(col(Filing.state).not_in(list(TERMINAL_STATES)))
    holder = session.exec(
        select(Entity.id)
        .join(Service, col(Service.entity_id) == col(Entity.id))
        .where(
            _same_service(service),
            col(Entity.id_number_hash) != lookup(identity),
            or_(col(Service.status).in_(ON_FILE_STATUSES), col(Service.id).in_(in_flight)),
        )
    ).first()
    if holder is None:
        return []
    what, field = _named_by(service)
    return [
        Reason(
            "app_filed_by_another_entity",
            f"{what} is on file, or being filed, for entity {holder}: an app does not move to "
            "another entity",
            field=field,
            details={"entity_id": holder},
        )
    ]


def _check_domain_quota(session: Session, parties: _Parties, settings: Settings) -> list[Reason]:
    """An order adding a domain counts those the identity keeps on file: filed services not
    cancelled, of every entity row with its identity number, each domain once. (An order's
    own service is on file only once approved: one in flight per entity keeps the others out,
    and a withdrawn order's domain was never filed.)"""
    if parties.service_in is None:
        return []
    entity = parties.entity_in or parties.entity
    rules = rules_for(settings)
    province = canonical_province(entity.province, rules) if entity is not None else None
    if entity is None or province is None:
        return []  # an unknown province is reported with the entity
    on_file = session.exec(
        select(Service.domain)
        .distinct()
        .join(Entity, col(Entity.id) == col(Service.entity_id))
        .where(
            Entity.id_number_hash == lookup(_identity(parties)),
            col(Service.status).in_(ON_FILE_STATUSES),
        )
    ).all()
    if parties.service_in.domain in on_file:
        return []  # an app on the site's domain: no domain more is kept
    return check_domain_quota(entity.type, province, len(on_file), rules)


@dataclass(frozen=True)
class _Person:
    """A person the order lists: whose (role), where the input names their mobile, who."""

    role: VerifierRole
    field: str
    name: str
    mobile: str
    given: bool = True  # named by the order; False for the person on file it keeps
    email: str | None = None

    @property
    def email_field(self) -> str:
        return f"{self.field.removesuffix('.mobile')}.email"


def _people(parties: _Parties, command: OrderCreate) -> list[_Person]:
    """The entity's and the service's responsible persons as the order will have them (a
    change order's new person replaces the one on file)."""
    changes = command.changes
    listed: list[_Person] = []
    entity_person = parties.entity_in.responsible if parties.entity_in else None
    field = "entity.responsible.mobile"
    if changes is not None and changes.entity_responsible is not None:
        entity_person, field = changes.entity_responsible, "changes.entity_responsible.mobile"
    if entity_person is not None:
        listed.append(
            _Person(
                VerifierRole.ENTITY,
                field,
                entity_person.name,
                entity_person.mobile,
                email=entity_person.email,
            )
        )
    elif parties.entity is not None:
        e = parties.entity
        listed.append(
            _Person(VerifierRole.ENTITY, field, e.responsible_name, e.responsible_mobile, False)
        )
    service_person = parties.service_in.responsible if parties.service_in else None
    field = "service.responsible.mobile"
    if changes is not None and changes.service_responsible is not None:
        service_person, field = changes.service_responsible, "changes.service_responsible.mobile"
    if service_person is not None:
        listed.append(
            _Person(
                VerifierRole.SERVICE,
                field,
                service_person.name,
                service_person.mobile,
                email=service_person.email,
            )
        )
    elif parties.service is not None and (mobile := parties.service.responsible_mobile):
        name = parties.service.responsible_name or ""
        listed.append(_Person(VerifierRole.SERVICE, field, name, mobile, False))
    return listed


def _check_entity_person(parties: _Parties, command: OrderCreate) -> list[Reason]:
    """The person the order names responsible for the entity, new or changed; a person on
    file is not judged again, unless the entity is renamed without them: an individual
    renamed stays their own responsible person, so the person is renamed with them."""
    changes = command.changes
    if parties.entity_in is not None:
        e = parties.entity_in
        return check_responsible(e.type, e.name, e.responsible.name, "entity.responsible.name")
    if parties.entity is None or changes is None:
        return []
    kind = ApplicantKind(parties.entity.type)
    if changes.entity_responsible is None:
        if changes.entity_name is None:
            return []
        found = check_responsible(
            kind, changes.entity_name, parties.entity.responsible_name, "changes.entity_name"
        )
        hint = "; change changes.entity_responsible with the name"
        return [dataclasses.replace(r, message=r.message + hint) for r in found]
    name = changes.entity_name or parties.entity.name
    field = "changes.entity_responsible.name"
    return check_responsible(kind, name, changes.entity_responsible.name, field)


def _check_names_change(parties: _Parties, command: OrderCreate) -> list[Reason]:
    """A change order's new name is another name: the one the record bears, spaced as it may
    be, would send the bureau a renaming that renames nothing, with its letter. A change of
    case or of width is a change: a name corrected to match its licence."""
    changes, reasons = command.changes, []
    if changes is None:
        return []
    on_file = [
        ("entity_name", changes.entity_name, parties.entity, "the entity's"),
        ("service_name", changes.service_name, parties.service, "the service's"),
    ]
    for part, new, record, whose in on_file:
        if new is not None and record is not None and as_spelt(new) == as_spelt(record.name):
            reasons.append(
                Reason(
                    "unchanged",
                    f"changes.{part} is already {whose} name ({record.name})",
                    field=f"changes.{part}",
                )
            )
    return reasons


def _check_platforms_change(parties: _Parties, command: OrderCreate) -> list[Reason]:
    """A change of an app's platforms is an app's, and says something the record does not
    (a platform not on it, or another package or certificate for one that is)."""
    changes, service = command.changes, parties.service
    if changes is None or changes.app_platforms is None or service is None:
        return []
    field = "changes.app_platforms"
    given = _dumped(changes.app_platforms) or {}
    if found := check_app_platforms(ServiceKind(service.kind), given, field):
        return found  # a website's, an app's naming no platform, a package misspelt
    held = service.app_platforms or {}
    if not given:
        return [Reason("missing_field", f"{field} names no platform", field=field)]
    if all(held.get(platform) == said for platform, said in given.items()):
        return [Reason("unchanged", f"{field} is already on record", field=field)]
    return []


def _dumped(platforms: AppPlatformsIn | None) -> dict[str, dict[str, str]] | None:
    """An app's platforms as the record keeps them: those given, each without what it left
    out (a package the same as the app's identifier)."""
    return platforms.model_dump(exclude_none=True) if platforms is not None else None


def _check_persons_change(parties: _Parties, command: OrderCreate) -> list[Reason]:
    """A change order's new responsible person differs from the one on record in something
    the record holds (name and mobile; the entity's email and legal-representative flag
    too): the same person again would have the bureau text them for nothing."""
    changes, entity, service = command.changes, parties.entity, parties.service
    on_file: list[tuple[str, PersonIn | None, dict[str, object]]] = []
    if changes is not None and entity is not None:
        held = {
            "name": entity.responsible_name,
            "mobile": entity.responsible_mobile,
            "email": entity.responsible_email,
            "legal_representative": entity.responsible_is_legal_rep,
        }
        on_file.append(("entity_responsible", changes.entity_responsible, held))
    if changes is not None and service is not None:
        held = {
            "name": service.responsible_name,
            "mobile": service.responsible_mobile,
            "email": service.responsible_email,
        }
        on_file.append(("service_responsible", changes.service_responsible, held))
    return [
        Reason(
            "unchanged",
            f"changes.{part} is the person already on record ({held['name']})",
            field=f"changes.{part}",
        )
        for part, new, held in on_file
        if new is not None and _same_person(new, held)
    ]


def _same_person(new: PersonIn, held: dict[str, object]) -> bool:
    """Whether ``new`` says nothing the record (``held``) does not: an email left out keeps
    the one on record, as approval would."""
    told = new.model_dump()
    told["name"] = as_spelt(new.name)
    held = {**held, "name": as_spelt(str(held["name"] or ""))}
    return all(told[key] == value for key, value in held.items() if told[key] is not None)


def _verifying(spec: KindSpec, command: OrderCreate) -> set[VerifierRole]:
    """The roles whose person answers this order's SMS."""
    if command.changes is None:
        return set(spec.verifiers)
    changed = command.changes.model_dump(exclude_none=True)
    return {CHANGES[part].verified_by for part in changed} & set(spec.verifiers)


def _identity(parties: _Parties) -> str:
    if parties.entity_in is not None:
        return parties.entity_in.id_number.strip().upper()
    return parties.entity.id_number if parties.entity is not None else ""


def _check_contacts(people: list[_Person], *, judged: bool) -> list[Reason]:
    """Every mobile the order names answers the bureau's SMS, so is a mainland one, and every
    email is an address (one taken on a change would refuse the entity's next orders, which
    read it as the applicant's). The entity's person opening a new entity with its service is
    ``judged`` already, as the applicant's contact."""
    return [
        reason
        for person in people
        if person.given and not (judged and person.field == "entity.responsible.mobile")
        for reason in (
            check_mobile(person.mobile, person.field)
            + (check_email(person.email, person.email_field) if person.email else [])
        )
    ]


def _check_mobiles(session: Session, parties: _Parties, people: list[_Person]) -> list[Reason]:
    """Every listed person has their own mobile, not one another entity uses. Another entity
    is another identity: rows of the same identity number (today's filings each opened one)
    are the same entity. A withdrawn entity or service was never filed: its people hold no
    mobile (a first filing withdrawn for a mistyped credit code is opened again with them)."""
    reasons: list[Reason] = []
    seen: dict[str, _Person] = {}
    identity = _identity(parties)
    if not identity:
        return []  # the missing entity is reported: whose mobile is "another's" is unknown
    for person in people:
        if (first := seen.get(person.mobile)) is not None:
            if not same_name(first.name, person.name):  # one person may hold two roles
                reasons.append(
                    Reason(
                        "mobile_repeated",
                        f"{person.field} repeats {first.field}: each person needs their own mobile",
                        field=person.field,
                    )
                )
            continue
        seen[person.mobile] = person
        # Sealed columns cannot be compared in SQL: their keyed hashes are.
        other = and_(
            col(Entity.id_number_hash) != lookup(identity),
            col(Entity.status) != EntityStatus.WITHDRAWN,
        )
        mobile = lookup(person.mobile)
        used = (
            session.exec(
                select(Entity.id).where(Entity.responsible_mobile_hash == mobile, other)
            ).first()
            or session.exec(
                select(Entity.id)
                .join(Service, col(Entity.id) == col(Service.entity_id))
                .where(
                    Service.responsible_mobile_hash == mobile,
                    Service.status != ServiceStatus.WITHDRAWN,
                    other,
                )
            ).first()
        )
        if used is not None:
            reasons.append(
                Reason(
                    "mobile_used_by_another_entity",
                    f"this mobile is already listed for another entity (entity {used})",
                    field=person.field,
                    details={"entity_id": used},
                )
            )
    return reasons


def _check_mobiles_on_record(
    session: Session, parties: _Parties, people: list[_Person]
) -> list[Reason]:
    """A person the order names does not take the mobile of another person on the entity's
    record: its responsible person or one of its services'. The places the order lists are
    left out: who it replaces there, or keeps (``_check_mobiles`` compares those). So is the
    person it replaces wherever else they stand: one person responsible for two services
    has their name corrected one order at a time."""
    entity = parties.entity
    if entity is None:
        return []
    service_id = parties.service.id if parties.service is not None else None
    listed = {(p.role, service_id if p.role is VerifierRole.SERVICE else None) for p in people}
    replaced = {
        VerifierRole.ENTITY: (entity.responsible_name, entity.responsible_mobile_hash),
        VerifierRole.SERVICE: (
            (parties.service.responsible_name or "", parties.service.responsible_mobile_hash)
            if parties.service is not None
            else ("", None)
        ),
    }
    on_record: list[tuple[VerifierRole, int | None, str, str | None]] = [
        (VerifierRole.ENTITY, None, entity.responsible_name, entity.responsible_mobile_hash)
    ]
    services = session.exec(
        select(Service).where(
            Service.entity_id == entity.id,
            col(Service.status).in_([*ON_FILE_STATUSES, ServiceStatus.PENDING]),
            col(Service.responsible_mobile_hash).is_not(None),
        )
    )
    on_record += [
        (VerifierRole.SERVICE, s.id, s.responsible_name or "", s.responsible_mobile_hash)
        for s in services
    ]
    others = [
        (role, name, held) for role, place, name, held in on_record if (role, place) not in listed
    ]
    reasons = []
    for person in (p for p in people if p.given):
        mobile = lookup(person.mobile)
        was_name, was_mobile = replaced[person.role]
        holder = next(
            (
                (role, name)
                for role, name, held in others
                if held == mobile
                and not same_name(name, person.name)
                and not (held == was_mobile and same_name(name, was_name))
            ),
            None,
        )
        if holder is not None:
            whose = "the entity's" if holder[0] is VerifierRole.ENTITY else "a service's"
            reasons.append(
                Reason(
                    "mobile_repeated",
                    f"{person.field} is {whose} responsible person's on file ({holder[1]}): "
                    "each person needs their own mobile",
                    field=person.field,
                )
            )
    return reasons


def _one_opening_at_a_time(
    session: Session, identity: str, service: ServiceIn | None, people: list[_Person]
) -> None:
    """Openings for one identity, of one domain or app or listing one mobile take turns until
    they commit, so the later one's checks see the earlier one's order."""
    named = [f"identity:{identity}" if identity else None]
    named.append(f"domain:{service.domain.lower()}" if service is not None else None)
    if service is not None and service.app_identifier is not None:  # an app is one entity's
        named.append(f"app:{service.kind.value}:{service.app_identifier}")
    named += [f"mobile:{person.mobile}" for person in people]
    take_turns(session, sorted({name for name in named if name}))


def _check_in_flight(session: Session, parties: _Parties) -> list[Reason]:
    """One order in flight per entity, and an entity is its identity: today's filing bodies
    each open an entity row, so rows with the same identity number are the same entity."""
    identity = _identity(parties)
    if not identity:
        return []
    open_order = session.exec(
        select(Filing)
        .join(Entity, col(Entity.id) == col(Filing.entity_id))
        .where(
            Entity.id_number_hash == lookup(identity),
            col(Filing.state).not_in(list(TERMINAL_STATES)),
        )
    ).first()
    if open_order is None:
        return []
    return [
        Reason(
            "order_in_flight",
            f"entity {open_order.entity_id} already has order {open_order.id} "
            f"({open_order.kind}) in flight: one at a time",
            field="entity_id" if parties.entity is not None else "entity.id_number",
            details={
                "entity_id": open_order.entity_id,
                "order_id": open_order.id,
                "order_kind": open_order.kind,
            },
        )
    ]


def _check_not_on_file(session: Session, spec: KindSpec, parties: _Parties) -> list[Reason]:
    """An order bringing a new entity is for one with no record: one whose identity is on file
    is named by its id (its next service is a new-service order under its number)."""
    if parties.entity_in is None:
        return []
    on_file = session.exec(
        select(Entity).where(
            Entity.id_number_hash == lookup(_identity(parties)),
            Entity.status == EntityStatus.ACTIVE,
            col(Entity.icp_number).is_not(None),
        )
    ).first()
    if on_file is None:
        return []
    instead = (
        "open a new_service order for it instead of a first filing"
        if spec.kind is OrderKind.FIRST_FILING
        else f"name it (entity_id {on_file.id}) instead of a new entity"
    )
    return [
        Reason(
            "entity_on_file",
            f"this identity is on file as entity {on_file.id} ({on_file.icp_number}): {instead}",
            field="entity.id_number",
            details={"entity_id": on_file.id, "icp_number": on_file.icp_number},
        )
    ]


# A first filing's body has its applicant's email, which ``check_creation`` checks; an
# order's responsible person may give none (stored as ""), which is no fault of the order.
_NO_EMAIL = "unknown@example.invalid"


def _creation_view(parties: _Parties, command: OrderCreate) -> FilingCreate | None:
    """A new service with its entity, as the first-filing body ``check_creation`` judges."""
    service = parties.service_in
    if service is None:
        return None
    if parties.entity_in is not None:
        e = parties.entity_in
        applicant = ApplicantIn(
            type=e.type,
            name=e.name,
            id_type=e.id_type,
            id_number=e.id_number,
            phone=e.responsible.mobile,
            email=e.responsible.email or _NO_EMAIL,
        )
        province = e.province
    elif parties.entity is not None:
        # As on file, not read again as input: a value stored before a rule on input was
        # tightened (an invisible character in a name) is the record's, not the order's fault.
        stored = parties.entity
        applicant = ApplicantIn.model_construct(
            type=ApplicantKind(stored.type),
            name=stored.name,
            id_type=stored.id_type,
            id_number=stored.id_number,
            phone=stored.responsible_mobile,
            email=stored.responsible_email or _NO_EMAIL,
        )
        province = stored.province
    else:
        return None
    return FilingCreate(
        domain=service.domain,
        domain_expires_on=service.domain_expires_on,
        province=province,
        licence=command.licence,
        applicant=applicant,
        website=WebsiteIn(name=service.name, sector=service.sector),
    )


def _rename(reason: Reason, names: Mapping[str, str]) -> Reason:
    """A creation check's reason under the order's field names, in its words too."""
    return renamed(ValidationError("", [reason]), names).reasons[0]


def check_order(
    session: Session, command: OrderCreate, today: date, settings: Settings, *, fields: bool = True
) -> tuple[_Parties, list[_Person]]:
    """Every reason the order cannot be opened, raised together; else what it concerns.

    ``fields`` False keeps ``check_creation``'s field names (today's filing body)."""
    spec = kind_spec(command.kind)
    parties, reasons = _load(session, command, spec)
    people = _people(parties, command)
    _one_opening_at_a_time(session, _identity(parties), parties.service_in, people)
    reasons += _check_record(spec, parties)
    creation = _creation_view(parties, command)
    if creation is not None:
        found = check_creation(creation, today, settings)
        reasons += [_rename(r, _ORDER_FIELDS) for r in found] if fields else found
    found = _check_entity_person(parties, command) + _check_domain_holder(parties)
    found += _check_names_change(parties, command) + _check_persons_change(parties, command)
    found += _check_platforms_change(parties, command)
    if parties.service_in is not None:
        s_in = parties.service_in
        found += check_app_identifier(s_in.kind, s_in.app_identifier, "service.app_identifier")
        platforms = _dumped(s_in.app_platforms)
        found += check_app_platforms(s_in.kind, platforms, "service.app_platforms")
    found += _check_contacts(people, judged=creation is not None)
    found += _check_mobiles(session, parties, people)
    found += _check_mobiles_on_record(session, parties, people)
    found += _check_domain_elsewhere(session, parties)
    found += _check_on_file_here(session, spec, parties, settings)
    found += _check_app_elsewhere(session, parties)
    found += _check_access(session, spec, parties, command, settings)
    found += _check_not_last(session, spec, parties) + _check_served_here(session, spec, parties)
    found += _check_still_here(session, spec, parties)
    found += _check_domain_quota(session, parties, settings)
    found += _check_not_on_file(session, spec, parties) or _check_in_flight(session, parties)
    reasons += found if fields else [_rename(r, _FILING_FIELDS) for r in found]
    if reasons:
        raise ValidationError(summarise(f"{command.kind} order refused", reasons), reasons)
    return parties, people


def write_order(
    session: Session,
    command: OrderCreate,
    parties: _Parties,
    people: list[_Person],
    actor: str,
    now: datetime,
    settings: Settings,
) -> Filing:
    """The entity and service the order brings, the order itself and its verifiers."""
    spec = kind_spec(command.kind)
    rules = rules_for(settings)
    entity = parties.entity
    if entity is None:
        assert parties.entity_in is not None
        e = parties.entity_in
        entity = Entity(
            type=e.type.value,
            name=e.name,
            id_type=e.id_type,
            id_number=e.id_number.upper(),
            province=canonical_province(e.province, rules) or e.province,
            responsible_name=e.responsible.name,
            responsible_mobile=e.responsible.mobile,
            responsible_email=e.responsible.email or "",
            responsible_is_legal_rep=e.responsible.legal_representative,
            status=EntityStatus.PENDING,
            created_at=now,
        )
        session.add(entity)
        session.flush()
    else:
        _claim(session, entity)
    assert entity.id is not None
    service = parties.service
    if parties.service_in is not None:
        s = parties.service_in
        person = s.responsible
        service = Service(
            entity_id=entity.id,
            kind=s.kind.value,
            name=s.name,
            domain=s.domain.lower(),
            domain_expires_on=s.domain_expires_on,
            domain_registrant=s.domain_registrant,
            domain_real_name_verified=s.domain_real_name_verified,
            app_identifier=s.app_identifier,
            app_platforms=_dumped(s.app_platforms),
            sector=s.sector,
            responsible_name=person.name if person else None,
            responsible_mobile=person.mobile if person else None,
            responsible_email=person.email if person else None,
            record_number=s.record_number,
            suffix=split_number(s.record_number)[1] if s.record_number else None,
            status=ServiceStatus.PENDING,
            created_at=now,
        )
        session.add(service)
        session.flush()
    filing = Filing(
        kind=spec.kind.value,
        entity_id=entity.id,
        service_id=service.id if service is not None else None,
        icp_number=_number_on_file(spec, entity, service),
        changes=command.changes.model_dump(mode="json", exclude_none=True)
        if command.changes
        else {},
        domain=service.domain if service is not None else "",
        domain_ascii=ascii_spelling(service.domain) if service is not None else None,
        domain_expires_on=service.domain_expires_on
        if service is not None
        else now.astimezone(CHINA).date(),
        province=entity.province,
        licence=command.licence.value,
        applicant_type=entity.type,
        applicant_name=entity.name,
        applicant_id_type=entity.id_type,
        applicant_id_number=entity.id_number,
        applicant_phone=entity.responsible_mobile,
        applicant_email=entity.responsible_email,
        website_name=service.name if service is not None else entity.name,
        service_kind=service.kind if service is not None else None,
        sector=service.sector if service is not None else "general",
        notify=[route.model_dump(mode="json") for route in command.notify],
        state=spec.initial.value,
        version=1,
        state_entered_at=now,
        created_at=now,
        created_by=actor,
    )
    session.add(filing)
    session.flush()
    assert filing.id is not None
    for listed in _verifiers(spec, command, people):
        session.add(
            SmsVerifier(
                filing_id=filing.id,
                role=listed.role.value,
                name=listed.name,
                mobile=listed.mobile,
                result=VerifierResult.PENDING,
            )
        )
    return filing


def _number_on_file(spec: KindSpec, entity: Entity, service: Service | None) -> str | None:
    """The number of the record an order concerns, for kinds that issue none: the service's
    (a site's number with its suffix), else the entity's. A search by number then finds a
    record's changes and cancellations as well as the orders that issued it."""
    if spec.number_asked is not NumberAsked.NONE:
        return None
    if service is not None and service.record_number:
        return service.record_number
    return entity.icp_number


def _verifiers(spec: KindSpec, command: OrderCreate, people: list[_Person]) -> list[_Person]:
    """Who answers the order's SMS. Where the role asked for has no person of its own (a
    service filed without one, as a today's filing body's website is), the entity's person
    answers for it: someone must, or the order could never be verified."""
    roles = _verifying(spec, command)
    listed = [person for person in people if person.role in roles]
    if listed or not roles or not people:
        return listed
    return [dataclasses.replace(people[0], role=min(roles))]


_ENTITIES = table(Entity)


def _claim(session: Session, entity: Entity) -> None:
    """Bump the entity's version on the one it was read at: of two orders opened at once for
    the same entity, the second matches no row and is refused as a conflict."""
    moved = session.connection().execute(
        update(_ENTITIES)
        .where(_ENTITIES.c.id == entity.id, _ENTITIES.c.version == entity.version)
        .values(version=entity.version + 1)
    )
    if moved.rowcount != 1:
        raise VersionConflict(
            f"entity {entity.id} was changed meanwhile; try again",
            [Reason("version_conflict", "another order was opened meanwhile", field="entity_id")],
        )
