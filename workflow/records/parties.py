"""The shared pieces of judging an order: the entity and service it concerns, loaded from its
command (``Parties``, ``_need``, ``load_parties``), and how the checks name them (``service_named``,
``identity_number``, ``dumped_platforms``) and the packages an app is filed under (``order_packages``).

Every check of the package reads the order's parties the same way, so they are read here,
once. This module imports no other of the package, so each can import it without a cycle; its
names keep their leading underscore (``service_named`` apart, which other packages use): they
are the package's own, for no other package.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from models import Entity, Service
from workflow.domain.commands import AppPlatformsIn, ChangesIn, EntityIn, OrderCreate, ServiceIn
from workflow.domain.errors import Reason
from workflow.domain.orders import Effect, KindSpec, Party, ServiceKind


@dataclass
class Parties:
    """The entity and service an order concerns: new ones (inputs) or stored ones."""

    entity_in: EntityIn | None = None
    entity: Entity | None = None
    service_in: ServiceIn | None = None
    service: Service | None = None


def _need(party: Party, existing: bool, given_new: object, name: str) -> list[Reason]:
    """The parts the kind wants, and none it does not, named by field; ``existing``: one on
    file is named."""
    new = given_new is not None
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


def load_parties(
    session: Session, command: OrderCreate, spec: KindSpec
) -> tuple[Parties, list[Reason]]:
    # A service on file names its entity: a kind taking its entity on file and a service that
    # may be one on file (a cancellation's, a change's) needs no entity_id beside service_id.
    of_service = (
        spec.entity is Party.EXISTING
        and spec.service not in (Party.NEW, Party.NONE)
        and command.service_id is not None
    )
    named = command.entity_id is not None or of_service
    reasons = _need(spec.entity, named, command.entity, "entity")
    reasons += _need(spec.service, command.service_id is not None, command.service, "service")
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
    parties = Parties(entity_in=command.entity, service_in=command.service)
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
        if parties.service is None:
            reasons.append(
                Reason(
                    "service_not_found",
                    f"service {command.service_id} does not exist",
                    field="service_id",
                )
            )
    service, entity = parties.service, parties.entity
    if service is not None and of_service and command.entity_id is None:
        parties.entity = session.get(Entity, service.entity_id)
    elif service is not None and entity is not None and service.entity_id != entity.id:
        reasons.append(_not_its_service(session, service, entity))
        parties.service = None
    return parties, reasons


def _not_its_service(session: Session, service: Service, entity: Entity) -> Reason:
    """A service named with an entity it is not filed under, naming both entities: the
    mistake is in either id."""
    owner = session.get(Entity, service.entity_id)
    assert owner is not None  # a service's entity is a foreign key
    return Reason(
        "service_not_found",
        f"{service_named(service)} is a service of entity {owner.id} ({owner.name}), not of "
        f"entity {entity.id} ({entity.name})",
        field="service_id",
    )


def service_named(service: Service) -> str:
    """A service on record as refusals and notices name it, one way: what it is, its name, its
    domain and its own number (an app's identifier until it has one), ``Website 网站 Example
    (example.cn) 京ICP备12345678号-1``. Not by its domain alone (an app and the site on its
    domain share it) nor by its row's id, which says nothing to the person reading."""
    number = service.record_number or service.app_identifier
    named = f"{ServiceKind(service.kind).label} {service.name} ({service.domain})"
    return f"{named} {number}" if number else named


def dumped_platforms(platforms: AppPlatformsIn | None) -> dict[str, dict[str, str]] | None:
    """An app's platforms as the record keeps them: those given, each without what it left
    out (a package the same as the app's identifier)."""
    return platforms.model_dump(exclude_none=True) if platforms is not None else None


@dataclass(frozen=True)
class Packages:
    """The package names or Bundle IDs an order files an app of ``kind`` under, by platform
    (a platform giving none goes by the app's identifier), and the field that gives them."""

    kind: ServiceKind
    by_platform: dict[str, str]
    field: str


def order_packages(parties: Parties, command: OrderCreate) -> Packages | None:
    """What an order's new app (``service.app_platforms``), or a change of an app's platforms
    (``changes.app_platforms``), files it under on each platform it names; None for a website
    or an order naming no platform."""
    if parties.service_in is not None:
        kind, identifier = parties.service_in.kind, parties.service_in.app_identifier
        platforms, field = (
            dumped_platforms(parties.service_in.app_platforms),
            "service.app_platforms",
        )
    elif parties.service is not None and command.changes is not None:
        kind, identifier = ServiceKind(parties.service.kind), parties.service.app_identifier
        platforms, field = dumped_platforms(command.changes.app_platforms), "changes.app_platforms"
    else:
        return None
    if kind is ServiceKind.WEBSITE or not platforms:
        return None  # a website's platforms are refused as such
    named = {platform: held.get("package") or identifier for platform, held in platforms.items()}
    by_platform = {platform: package for platform, package in named.items() if package}
    return Packages(kind, by_platform, field) if by_platform else None


def identity_number(parties: Parties) -> str:
    if parties.entity_in is not None:
        return parties.entity_in.id_number.strip().upper()
    return parties.entity.id_number if parties.entity is not None else ""
