"""The checks on the entity and its record, and on the orders in flight: a record to order on
(``check_record``), an entity's last service, a host still serving the entity or the service
(``check_not_last``, ``check_served_here``, ``check_still_here``), an identity already on
file (``check_not_on_file``), one order in flight per entity (``check_in_flight``), and
openings taking turns until they commit (``one_opening_at_a_time``).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from models import Entity, Filing, Obligation, Service
from models.sealed import lookup
from workflow.domain.app_identity import package_key
from workflow.domain.commands import ServiceIn
from workflow.domain.definition import TERMINAL_STATES
from workflow.domain.errors import Reason
from workflow.domain.obligations import ObligationKind
from workflow.domain.orders import (
    ON_FILE_STATUSES,
    Effect,
    EntityStatus,
    KindSpec,
    OrderKind,
    ServiceStatus,
)
from workflow.records.parties import Packages, Parties, identity_number, service_named
from workflow.records.people import Person
from workflow.turns import take_turns


def check_record(spec: KindSpec, parties: Parties) -> list[Reason]:
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


def check_not_last(session: Session, spec: KindSpec, parties: Parties) -> list[Reason]:
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


def check_served_here(session: Session, spec: KindSpec, parties: Parties) -> list[Reason]:
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


def check_still_here(session: Session, spec: KindSpec, parties: Parties) -> list[Reason]:
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


def one_opening_at_a_time(
    session: Session,
    identity: str,
    service: ServiceIn | None,
    packages: Packages | None,
    people: list[Person],
) -> None:
    """Openings for one identity, of one domain or app, filing one package on a platform or
    listing one mobile take turns until they commit, so the later one's checks see the
    earlier one's order."""
    named = [f"identity:{identity}" if identity else None]
    named.append(f"domain:{service.domain.lower()}" if service is not None else None)
    if service is not None and service.app_identifier is not None:  # an app is one entity's
        named.append(f"app:{service.kind.value}:{service.app_identifier}")
    if packages is not None:  # a package is one app's
        kind = packages.kind.value
        named += [
            f"package:{kind}:{on}:{package_key(on, name)}"
            for on, name in packages.by_platform.items()
        ]
    named += [f"mobile:{person.mobile}" for person in people]
    take_turns(session, sorted({name for name in named if name}))


def check_in_flight(session: Session, parties: Parties) -> list[Reason]:
    """One order in flight per entity, and an entity is its identity: today's filing bodies
    each open an entity row, so rows with the same identity number are the same entity."""
    identity = identity_number(parties)
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


def check_not_on_file(session: Session, spec: KindSpec, parties: Parties) -> list[Reason]:
    """An order bringing a new entity is for one with no record: one whose identity is on file
    is named by its id (its next service is a new-service order under its number)."""
    if parties.entity_in is None:
        return []
    on_file = session.exec(
        select(Entity).where(
            Entity.id_number_hash == lookup(identity_number(parties)),
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
