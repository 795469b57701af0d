"""The checks on the people an order lists (``Person``, ``people_listed``): the entity's
responsible person (``check_entity_person``), their contacts (``check_contacts``), and
mobiles and identity documents of their own (``check_mobiles``, ``check_mobiles_on_record``);
and the document each goes on record with, new (``new_entity_document``) or changed
(``taken_document``), read by the checks, the rows written and approval alike.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, select

from config.masking import mask_id_number
from models import Entity, Service
from models.sealed import lookup
from workflow.domain.commands import ApplicantKind, EntityIn, OrderCreate, PersonIn
from workflow.domain.errors import Reason
from workflow.domain.event_data import VerifierRole
from workflow.domain.orders import ON_FILE_STATUSES, EntityStatus, ServiceStatus
from workflow.domain.persons import (
    Someone,
    check_email,
    check_mobile,
    check_person_document,
    check_responsible,
    same_name,
    same_person,
)
from workflow.domain.rules import Rules
from workflow.records.parties import Parties, identity_number


@dataclass(frozen=True)
class Person:
    """A person the order lists: whose (role), where the input names their mobile, who."""

    role: VerifierRole
    field: str
    name: str
    mobile: str
    given: bool = True  # named by the order; False for the person on file it keeps
    email: str | None = None
    id_type: str | None = None
    id_number: str | None = None
    kept: bool = False  # the document is not the one given but the applicant's or the record's

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


Document = tuple[str | None, str | None]


def responsible_document(kind: ApplicantKind, own: tuple[str, str], given: Document) -> Document:
    """The document an entity's responsible person is on file with: the one given (or kept,
    on a change); an individual, who is their own responsible person, giving none is
    responsible with their own (the applicant's, ``own``), which the bureau asks them for as
    it asks any responsible person. One rule for a new entity's person and a changed one:
    renamed, or at a new mobile, they are still themselves."""
    if kind is ApplicantKind.INDIVIDUAL and given == (None, None):
        return own[0], own[1].upper()
    return given


def new_entity_document(entity: EntityIn) -> Document:
    """The document of a new entity's responsible person (``responsible_document``)."""
    person = entity.responsible
    given = (person.id_type, person.id_number)
    return responsible_document(entity.type, (entity.id_type, entity.id_number), given)


def keeps_record(on_record: Entity | Service, given: Someone, mobile: str) -> bool:
    """Whether a changed responsible person is the one on record (``same_person``) at the same
    mobile, who keeps what the change leaves out (email, document). A new person taking the
    old one's would have the old person told of orders (an entity's is every later order's
    applicant email), or answer the bureau with another's ID."""
    held, _ = _held(on_record)
    return same_person(given, held) and mobile == on_record.responsible_mobile


def taken_document(on_record: Entity | Service, given: Someone, mobile: str) -> Document:
    """The document a changed responsible person goes on record with, as the order's checks
    see them and approval writes them: the one given, else the one on record for a person who
    keeps it (``keeps_record``); an entity's person as a new entity's is
    (``responsible_document``): an individual's, always themselves (``check_responsible``),
    with the document on file theirs whatever their name or mobile now, the one they chose
    (a passport) kept over their own. A service's person is not assumed to be an individual
    applicant: anyone may be responsible for a site, at a first filing as on a change."""
    document: Document = (given.id_type, given.id_number)
    if given.document is None and keeps_record(on_record, given, mobile):
        document = on_record.responsible_id_type, on_record.responsible_id_number
    if isinstance(on_record, Entity):
        kind = ApplicantKind(on_record.type)
        own = on_record.id_type, on_record.id_number
        held_type, held_number = on_record.responsible_id_type, on_record.responsible_id_number
        if kind is ApplicantKind.INDIVIDUAL and held_type and held_number:
            own = held_type, held_number  # the one they chose, or their own put on file
        return responsible_document(kind, own, document)
    return document


def _listed(role: VerifierRole, field: str, person: PersonIn, document: Document) -> Person:
    """A person the order names, with the document they go on record with."""
    id_type, id_number = document
    return Person(
        role,
        field,
        person.name,
        person.mobile,
        email=person.email,
        id_type=id_type,
        id_number=id_number,
        kept=document != (person.id_type, person.id_number),
    )


def _changed(on_record: Entity | Service | None, person: PersonIn) -> Document:
    """The document a change order's person goes on record with (``taken_document``); the
    one given where the record it changes is missing (which is reported)."""
    if on_record is None:
        return person.id_type, person.id_number
    given = Someone(person.name, person.id_type, person.id_number)
    return taken_document(on_record, given, person.mobile)


def people_listed(parties: Parties, command: OrderCreate) -> list[Person]:
    """The entity's and the service's responsible persons as the order will have them (a
    change order's new person replaces the one on file)."""
    changes = command.changes
    listed: list[Person] = []
    entity, service = parties.entity, parties.service
    if changes is not None and (person := changes.entity_responsible) is not None:
        field = "changes.entity_responsible.mobile"
        listed.append(_listed(VerifierRole.ENTITY, field, person, _changed(entity, person)))
    elif (entity_in := parties.entity_in) is not None:
        document = new_entity_document(entity_in)
        field = "entity.responsible.mobile"
        listed.append(_listed(VerifierRole.ENTITY, field, entity_in.responsible, document))
    elif entity is not None:
        listed.append(
            Person(
                VerifierRole.ENTITY,
                "entity.responsible.mobile",
                entity.responsible_name,
                entity.responsible_mobile,
                False,
                id_type=entity.responsible_id_type,
                id_number=entity.responsible_id_number,
            )
        )
    service_in = parties.service_in
    if changes is not None and (named := changes.service_responsible) is not None:
        field = "changes.service_responsible.mobile"
        listed.append(_listed(VerifierRole.SERVICE, field, named, _changed(service, named)))
    elif service_in is not None and (named := service_in.responsible) is not None:
        document = (named.id_type, named.id_number)
        field = "service.responsible.mobile"
        listed.append(_listed(VerifierRole.SERVICE, field, named, document))
    elif service is not None and (mobile := service.responsible_mobile):
        listed.append(
            Person(
                VerifierRole.SERVICE,
                "service.responsible.mobile",
                service.responsible_name or "",
                mobile,
                False,
                id_type=service.responsible_id_type,
                id_number=service.responsible_id_number,
            )
        )
    return listed


def check_entity_person(parties: Parties, command: OrderCreate) -> list[Reason]:
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


def check_contacts(people: list[Person], rules: Rules, *, judged: bool) -> list[Reason]:
    """Every mobile the order names answers the bureau's SMS, so is a mainland one, every
    email is an address (one taken on a change would refuse the entity's next orders, which
    read it as the applicant's), and every identity document a valid one. The entity's
    person opening a new entity with its service is ``judged`` already, as the applicant's
    contact (their document is not the applicant's: it is judged here). A document the
    person did not give (``Person.kept``: an individual's own, ``responsible_document``, or
    the one on record) was judged as the applicant's, or when it was given: not again here."""
    reasons = []
    for person in (p for p in people if p.given):
        if not (judged and person.field == "entity.responsible.mobile"):
            reasons += check_mobile(person.mobile, person.field)
            reasons += check_email(person.email, person.email_field) if person.email else []
        if not person.kept:
            reasons += check_person_document(person.id_type, person.id_number, person.place, rules)
    return reasons


def check_mobiles(session: Session, parties: Parties, people: list[Person]) -> list[Reason]:
    """Every listed person has their own mobile, not one another entity uses, and an identity
    document that is not another entity's individual applicant's under another name
    (``_document_of_another``). Another entity is another identity: rows of the same identity
    number (today's filings each opened one) are the same entity. A withdrawn entity or
    service was never filed: its people hold no mobile (a first filing withdrawn for a
    mistyped credit code is opened again with them)."""
    reasons: list[Reason] = []
    seen: dict[str, Person] = {}
    identity = identity_number(parties)
    if not identity:
        return []  # the missing entity is reported: whose mobile is "another's" is unknown
    # Sealed columns cannot be compared in SQL: their keyed hashes are.
    other = and_(
        col(Entity.id_number_hash) != lookup(identity),
        col(Entity.status) != EntityStatus.WITHDRAWN,
    )
    for person in people:
        reasons += _document_of_another(session, person, other)
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


def _document_of_another(
    session: Session, person: Person, other: ColumnElement[bool]
) -> list[Reason]:
    """A document the order gives a person is not that of an individual filed as another
    entity (``other``) under another name: MIIT matches names to identity numbers, so one
    document under two names is a mistyped number or a wrong name. The same person (same
    document, same name, by ``same_name``) may stand for several entities, and be on several
    rows (older records hold one a filing), one of them under a since-corrected typo: every
    row holding the document is read, and the name of any one is theirs, so the verdict does
    not hang on which row comes first. Individuals' own numbers are found by their keyed
    hash; the refusal shows the number masked and the first such entity's id, not the other
    name."""
    if not person.given or person.kept or person.id_type is None or person.id_number is None:
        return []
    holders = session.exec(
        select(Entity.id, Entity.name)
        .where(
            Entity.id_number_hash == lookup(person.id_number),
            Entity.id_type == person.id_type,
            Entity.type == ApplicantKind.INDIVIDUAL,
            other,
        )
        .order_by(col(Entity.id))
    ).all()
    if not holders or any(same_name(name, person.name) for _, name in holders):
        return []
    holder = holders[0]
    field = f"{person.place}.id_number"
    return [
        Reason(
            "id_number_of_another_person",
            f"{mask_id_number(person.id_number)} is the identity document of entity {holder[0]}'s "
            "individual applicant, under another name: one document is one person's (MIIT "
            "matches names to ID numbers); give this person's own number, or their name as on "
            "file",
            field=field,
            details={"entity_id": holder[0]},
        )
    ]


def check_mobiles_on_record(
    session: Session, parties: Parties, people: list[Person]
) -> list[Reason]:
    """A person the order names does not take the mobile of another person on the entity's
    record: its responsible person or one of its services'. The places the order lists are
    left out: who it replaces there, or keeps (``check_mobiles`` compares those). So is the
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
