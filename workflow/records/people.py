"""The checks on the people an order lists (``_Person``, ``_people``): the entity's
responsible person (``_check_entity_person``), their contacts (``_check_contacts``), and
mobiles of their own (``_check_mobiles``, ``_check_mobiles_on_record``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy import and_
from sqlmodel import Session, col, select

from models import Entity, Service
from models.sealed import lookup
from workflow.domain.commands import ApplicantKind, EntityIn, OrderCreate
from workflow.domain.errors import Reason
from workflow.domain.event_data import VerifierRole
from workflow.domain.guards import (
    Someone,
    check_email,
    check_mobile,
    check_person_document,
    check_responsible,
    same_person,
)
from workflow.domain.orders import ON_FILE_STATUSES, EntityStatus, ServiceStatus
from workflow.domain.rules import Rules
from workflow.records.parties import _identity, _Parties


@dataclass(frozen=True)
class _Person:
    """A person the order lists: whose (role), where the input names their mobile, who."""

    role: VerifierRole
    field: str
    name: str
    mobile: str
    given: bool = True  # named by the order; False for the person on file it keeps
    email: str | None = None
    id_type: str | None = None
    id_number: str | None = None
    applicants: bool = False  # the document is the applicant's own, judged as theirs

    @property
    def place(self) -> str:
        """Where the input names the person: ``entity.responsible``."""
        return self.field.removesuffix(".mobile")

    @property
    def email_field(self) -> str:
        return f"{self.place}.email"

    @property
    def someone(self) -> Someone:
        return Someone(self.name, self.id_type, self.id_number)


def responsible_document(entity: EntityIn) -> tuple[str | None, str | None]:
    """The document of a new entity's responsible person: the one given; an individual, who
    is their own responsible person, giving none is responsible with their own (the
    applicant's), which the bureau asks them for as it asks any responsible person."""
    person = entity.responsible
    if (
        entity.type is ApplicantKind.INDIVIDUAL
        and person.id_type is None
        and person.id_number is None
    ):
        return entity.id_type, entity.id_number.upper()
    return person.id_type, person.id_number


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
        given = (entity_person.id_type, entity_person.id_number)
        id_type, id_number = given
        if parties.entity_in is not None and entity_person is parties.entity_in.responsible:
            id_type, id_number = responsible_document(parties.entity_in)
        listed.append(
            _Person(
                VerifierRole.ENTITY,
                field,
                entity_person.name,
                entity_person.mobile,
                email=entity_person.email,
                id_type=id_type,
                id_number=id_number,
                applicants=(id_type, id_number) != given,
            )
        )
    elif parties.entity is not None:
        e = parties.entity
        listed.append(
            _Person(
                VerifierRole.ENTITY,
                field,
                e.responsible_name,
                e.responsible_mobile,
                False,
                id_type=e.responsible_id_type,
                id_number=e.responsible_id_number,
            )
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
                id_type=service_person.id_type,
                id_number=service_person.id_number,
            )
        )
    elif (service := parties.service) is not None and (mobile := service.responsible_mobile):
        name = service.responsible_name or ""
        listed.append(
            _Person(
                VerifierRole.SERVICE,
                field,
                name,
                mobile,
                False,
                id_type=service.responsible_id_type,
                id_number=service.responsible_id_number,
            )
        )
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


def _check_contacts(people: list[_Person], rules: Rules, *, judged: bool) -> list[Reason]:
    """Every mobile the order names answers the bureau's SMS, so is a mainland one, every
    email is an address (one taken on a change would refuse the entity's next orders, which
    read it as the applicant's), and every identity document a valid one. The entity's
    person opening a new entity with its service is ``judged`` already, as the applicant's
    contact (their document is not the applicant's: it is judged here, unless it is, as an
    individual's giving none is: ``responsible_document``)."""
    reasons = []
    for person in (p for p in people if p.given):
        if not (judged and person.field == "entity.responsible.mobile"):
            reasons += check_mobile(person.mobile, person.field)
            reasons += check_email(person.email, person.email_field) if person.email else []
        if not (judged and person.applicants):
            reasons += check_person_document(person.id_type, person.id_number, person.place, rules)
    return reasons


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
            if not same_person(first.someone, person.someone):  # one may hold two roles
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
    nobody = (Someone(""), None)
    replaced = {
        VerifierRole.ENTITY: _held(entity),
        VerifierRole.SERVICE: _held(parties.service) if parties.service is not None else nobody,
    }
    on_record: list[tuple[VerifierRole, int | None, Someone, str | None]] = [
        (VerifierRole.ENTITY, None, *_held(entity))
    ]
    services = session.exec(
        select(Service).where(
            Service.entity_id == entity.id,
            col(Service.status).in_([*ON_FILE_STATUSES, ServiceStatus.PENDING]),
            col(Service.responsible_mobile_hash).is_not(None),
        )
    )
    on_record += [(VerifierRole.SERVICE, s.id, *_held(s)) for s in services]
    others = [
        (role, who, held) for role, place, who, held in on_record if (role, place) not in listed
    ]
    reasons = []
    for person in (p for p in people if p.given):
        mobile = lookup(person.mobile)
        was, was_mobile = replaced[person.role]
        holder = next(
            (
                (role, who.name)
                for role, who, held in others
                if held == mobile
                and not same_person(who, person.someone)
                and not (held == was_mobile and same_person(who, was))
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


def _held(on_record: Entity | Service) -> tuple[Someone, str | None]:
    """The responsible person of an entity or a service on record, and their mobile's hash."""
    who = Someone(
        on_record.responsible_name or "",
        on_record.responsible_id_type,
        on_record.responsible_id_number,
    )
    return who, on_record.responsible_mobile_hash
