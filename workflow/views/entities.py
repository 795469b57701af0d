"""Entities as clients see them, masked, with their services and their order in flight.

The entity pages, ``GET /entities…`` and ``icpflow entities list|show`` read these.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from config.masking import mask_id_number, mask_phone
from models import Entity, Filing, Service
from workflow.domain.commands import ApplicantKind
from workflow.domain.definition import TERMINAL_STATES
from workflow.domain.errors import NotFound
from workflow.domain.orders import EntityStatus, ServiceKind, ServiceStatus
from workflow.schemas import AppPlatformOut, EntityOut, EntityPage, ServiceOut
from workflow.views.search import entities_named


def _platforms_out(held: dict[str, dict[str, str]] | None) -> dict[str, AppPlatformOut] | None:
    if held is None:
        return None
    return {platform: AppPlatformOut.model_validate(said) for platform, said in held.items()}


def _service_out(service: Service) -> ServiceOut:
    assert service.id is not None
    mobile, number = service.responsible_mobile, service.responsible_id_number
    return ServiceOut(
        id=service.id,
        entity_id=service.entity_id,
        kind=ServiceKind(service.kind),
        name=service.name,
        domain=service.domain,
        app_identifier=service.app_identifier,
        app_platforms=_platforms_out(service.app_platforms),
        responsible_name=service.responsible_name,
        responsible_mobile=mask_phone(mobile) if mobile else mobile,
        responsible_email=service.responsible_email,
        responsible_id_type=service.responsible_id_type,
        responsible_id_number=mask_id_number(number) if number else number,
        service_number=service.service_number,
        record_number=service.record_number,
        status=ServiceStatus(service.status),
    )


def _entities_out(session: Session, entities: Sequence[Entity]) -> list[EntityOut]:
    """Entities with their services and order in flight: two queries for the whole page. The
    order in flight is the identity's, as one-in-flight counts it: today's filing bodies each
    open an entity row, and rows of one identity number are one entity."""
    ids = [e.id for e in entities]
    services: dict[int, list[Service]] = defaultdict(list)
    open_orders: dict[str, tuple[int, int]] = {}  # identity: (order, its entity row)
    if ids:
        for row in session.exec(
            select(Service).where(col(Service.entity_id).in_(ids)).order_by(col(Service.id))
        ):
            services[row.entity_id].append(row)
        identities = {e.id_number_hash for e in entities}
        for identity, order_id, entity_id in session.exec(
            select(Entity.id_number_hash, Filing.id, Filing.entity_id)
            .join(Entity, col(Entity.id) == col(Filing.entity_id))
            .where(
                col(Entity.id_number_hash).in_(identities),
                col(Filing.state).not_in(list(TERMINAL_STATES)),
            )
            .order_by(col(Filing.id))
        ):
            open_orders.setdefault(identity, (order_id or 0, entity_id))
    return [
        _entity_out(e, services[e.id or 0], open_orders.get(e.id_number_hash)) for e in entities
    ]


def _entity_out(
    entity: Entity, services: Sequence[Service], open_order: tuple[int, int] | None
) -> EntityOut:
    assert entity.id is not None
    order_id, order_entity_id = open_order or (None, None)
    number = entity.responsible_id_number
    return EntityOut(
        id=entity.id,
        type=ApplicantKind(entity.type),
        name=entity.name,
        id_type=entity.id_type,
        id_number=mask_id_number(entity.id_number),
        province=entity.province,
        responsible_name=entity.responsible_name,
        responsible_mobile=mask_phone(entity.responsible_mobile),
        responsible_id_type=entity.responsible_id_type,
        responsible_id_number=mask_id_number(number) if number else number,
        responsible_is_legal_rep=entity.responsible_is_legal_rep,
        icp_number=entity.icp_number,
        status=EntityStatus(entity.status),
        open_order_id=order_id,
        open_order_entity_id=order_entity_id,
        services=[_service_out(s) for s in services],
    )


def entity(session: Session, entity_id: int) -> EntityOut:
    """One entity with its services and its order in flight; ``NotFound`` if none."""
    found = session.get(Entity, entity_id)
    if found is None:
        raise NotFound(f"entity {entity_id} does not exist")
    [shown] = _entities_out(session, [found])
    return shown


def entity_page(
    session: Session, *, name: str | None = None, limit: int = 50, offset: int = 0
) -> EntityPage:
    """A page of entities (masked, as lists are), by a fragment of their name, now or when
    one of their orders was filed."""
    conditions = [col(Entity.id).in_(entities_named(name))] if name else []
    total = session.exec(select(func.count()).select_from(Entity).where(*conditions)).one()
    rows = session.exec(
        select(Entity).where(*conditions).order_by(col(Entity.id)).limit(limit).offset(offset)
    ).all()
    items = _entities_out(session, rows)
    return EntityPage(items=items, total=int(total), limit=limit, offset=offset)


def services(session: Session, entity_id: int) -> list[ServiceOut]:
    return entity(session, entity_id).services
