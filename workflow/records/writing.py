"""Writing an order judged openable: the entity and service it brings, the order itself and
its verifiers (``write_order``, ``_verifiers``), the entity claimed at the version it was read
at (``_claim``).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from config.clock import CHINA
from config.domains import ascii_spelling
from config.settings import Settings
from models import Entity, Filing, Service, SmsVerifier, table
from workflow.domain.commands import OrderCreate
from workflow.domain.errors import Reason, VersionConflict
from workflow.domain.event_data import VerifierRole
from workflow.domain.orders import (
    CHANGES,
    EntityStatus,
    KindSpec,
    NumberAsked,
    ServiceStatus,
    VerifierResult,
    kind_spec,
    split_number,
)
from workflow.domain.rules import rules_for
from workflow.records.parties import Parties, dumped_platforms
from workflow.records.people import Person, new_entity_document


def _verifying(spec: KindSpec, command: OrderCreate) -> set[VerifierRole]:
    """The roles whose person answers this order's SMS."""
    if command.changes is None:
        return set(spec.verifiers)
    changed = command.changes.model_dump(exclude_none=True)
    return {CHANGES[part].verified_by for part in changed} & set(spec.verifiers)


def write_order(
    session: Session,
    command: OrderCreate,
    parties: Parties,
    people: list[Person],
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
        id_type, id_number = new_entity_document(e)
        entity = Entity(
            type=e.type.value,
            name=e.name,
            id_type=e.id_type,
            id_number=e.id_number.upper(),
            province=rules.canonical_province(e.province) or e.province,
            responsible_name=e.responsible.name,
            responsible_mobile=e.responsible.mobile,
            responsible_email=e.responsible.email or "",
            responsible_id_type=id_type,
            responsible_id_number=id_number,
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
            app_platforms=dumped_platforms(s.app_platforms),
            sector=s.sector,
            responsible_name=person.name if person else None,
            responsible_mobile=person.mobile if person else None,
            responsible_email=person.email if person else None,
            responsible_id_type=person.id_type if person else None,
            responsible_id_number=person.id_number if person else None,
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


def _verifiers(spec: KindSpec, command: OrderCreate, people: list[Person]) -> list[Person]:
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
