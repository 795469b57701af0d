"""What an order's end does to the record: approval does what its kind does (numbers issued,
a service added, changes written, a cancellation done); a withdrawal withdraws the parties it
brought and never filed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from models import Entity, Filing, Service, table
from workflow.domain.orders import (
    ON_FILE_STATUSES,
    SUFFIX_LETTER,
    Effect,
    EntityStatus,
    ServiceKind,
    ServiceStatus,
    kind_spec,
    split_number,
)
from workflow.domain.persons import Someone
from workflow.order_facts import next_suffix
from workflow.records import keeps_record, taken_document


def withdraw_parties(session: Session, filing: Filing) -> None:
    """What a withdrawn order brought and never filed is withdrawn with it: its new service,
    and the entity of a first filing. Left pending, they showed in the entity lists as
    filings in progress long after, beside the entity row the identity's next order opens."""
    for model, row_id, pending, withdrawn in (
        (Service, filing.service_id, ServiceStatus.PENDING, ServiceStatus.WITHDRAWN),
        (Entity, filing.entity_id, EntityStatus.PENDING, EntityStatus.WITHDRAWN),
    ):
        if row_id is not None:
            session.execute(
                update(model)
                .where(col(model.id) == row_id, col(model.status) == pending)
                .values(status=withdrawn)
            )


def _cancel_record_it_replaces(session: Session, service: Service) -> None:
    """A site (or app) accessed here again under a new number: the record it had when its
    access was removed is no more (no host served it, and it was cancelled as an empty record,
    or it would not have been filed anew). Left as access-removed, it counted as on file."""
    same = (
        col(Service.domain) == service.domain
        if service.kind == ServiceKind.WEBSITE
        else col(Service.app_identifier) == service.app_identifier
    )
    session.execute(
        update(Service)
        .where(
            col(Service.entity_id) == service.entity_id,
            col(Service.kind) == service.kind,
            same,
            col(Service.status) == ServiceStatus.ACCESS_REMOVED,
            # The entity's numbers differ by their suffix (蜀 or 川 spell one province).
            col(Service.suffix) != service.suffix,
        )
        .values(status=ServiceStatus.CANCELLED)
    )


def apply_effect(session: Session, filing: Filing) -> str | None:
    """Do to the record what the order kind's approval does; returns the number issued, if any."""
    spec = kind_spec(filing.kind)
    entity = session.get(Entity, filing.entity_id)
    assert entity is not None
    service = session.get(Service, filing.service_id) if filing.service_id else None
    issued: str | None = None
    if spec.effect is Effect.ISSUE_NUMBERS:
        assert service is not None and filing.icp_number is not None
        entity_number, suffix = split_number(filing.icp_number)
        entity.icp_number, entity.status = entity_number, EntityStatus.ACTIVE
        service.suffix = suffix or 1
        service.record_number = (
            filing.icp_number
            if suffix
            else f"{entity_number}-1{SUFFIX_LETTER[ServiceKind(service.kind)]}"
        )
        issued = service.record_number
    elif spec.effect is Effect.ADD_SERVICE:
        assert service is not None
        # The number as the entity's is written (its guard took 川 for 蜀 as the same number).
        issued = f"{entity.icp_number}{next_suffix(session, filing)}"
        service.record_number, service.suffix = issued, split_number(issued)[1]
    elif spec.effect is Effect.ADD_ACCESS:
        assert service is not None and service.record_number is not None
        if entity.icp_number is None:
            entity.icp_number = split_number(service.record_number)[0]
        entity.status = EntityStatus.ACTIVE
        _cancel_record_it_replaces(session, service)
    elif spec.effect is Effect.APPLY_CHANGES:
        _apply_changes(entity, service, filing.changes)
    elif spec.effect is Effect.CANCEL_ENTITY:
        # Locked in id order first, as a renewal locks the services on one domain: a bulk
        # UPDATE alone takes them in scan order, and the two would deadlock on PostgreSQL.
        # Only the services on file: one withdrawn was never filed, and stays so.
        on_file = col(Service.status).in_(ON_FILE_STATUSES)
        session.exec(
            select(Service.id)
            .where(Service.entity_id == entity.id, on_file)
            .order_by(col(Service.id))
            .with_for_update()
        ).all()
        session.connection().execute(
            update(table(Service))
            .where(table(Service).c.entity_id == entity.id)
            .where(table(Service).c.status.in_(ON_FILE_STATUSES))
            .values(status=ServiceStatus.CANCELLED)
        )
        entity.status = EntityStatus.CANCELLED
    elif spec.effect is Effect.CANCEL_SERVICE:
        assert service is not None
        service.status = ServiceStatus.CANCELLED
        # The record is gone: so is the row a site accessed here again left behind.
        session.execute(
            update(Service)
            .where(
                col(Service.entity_id) == service.entity_id,
                col(Service.record_number) == service.record_number,
                col(Service.status).in_(ON_FILE_STATUSES),
            )
            .values(status=ServiceStatus.CANCELLED)
        )
    elif spec.effect is Effect.REMOVE_ACCESS:
        assert service is not None
        service.status, service.service_number, service.server_ip = (
            ServiceStatus.ACCESS_REMOVED,
            None,
            None,
        )
        service.server_expires_on = None  # the server was this host's, and is no more
    if service is not None and spec.files_service:
        service.status = ServiceStatus.ACTIVE
        service.service_number = filing.service_number or service.service_number
        service.server_ip = filing.server_ip or service.server_ip
    session.add(entity)
    if service is not None and spec.effect is not Effect.CANCEL_ENTITY:
        session.add(service)
    return issued


def _apply_changes(entity: Entity, service: Service | None, changes: Mapping[str, Any]) -> None:
    if "entity_name" in changes:
        entity.name = changes["entity_name"]
    if person := changes.get("entity_responsible"):
        entity.responsible_email = _take_person(entity, person) or ""
        entity.responsible_is_legal_rep = person.get("legal_representative", True)
    if service is None:
        return
    if "service_name" in changes:
        service.name = changes["service_name"]
    if person := changes.get("service_responsible"):
        service.responsible_email = _take_person(service, person)
    if platforms := changes.get("app_platforms"):
        service.app_platforms = {**(service.app_platforms or {}), **platforms}


def _take_person(on_record: Entity | Service, person: Mapping[str, Any]) -> str | None:
    """Puts a changed person on record and returns their email: one the change left out is
    the one on record only for a person who keeps it (``keeps_record``); their document is
    ``taken_document``'s, as the order's checks saw it."""
    given = Someone(person["name"], person.get("id_type"), person.get("id_number"))
    mobile = person["mobile"]
    kept = on_record.responsible_email if keeps_record(on_record, given, mobile) else None
    on_record.responsible_id_type, on_record.responsible_id_number = taken_document(
        on_record, given, mobile
    )
    on_record.responsible_name, on_record.responsible_mobile = person["name"], mobile
    return person.get("email") or kept
