"""The checks on the service an order brings: its domain's holder (``check_domain_holder``),
a domain or an app filed by another entity (``check_domain_elsewhere``,
``check_app_elsewhere``) or on file here already (``check_on_file_here``), a package filed
for another app (``check_packages_elsewhere``), and the record a new access brings (``check_access``).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from config.settings import Settings
from models import Entity, Filing, Service
from models.sealed import lookup
from workflow.domain.app_identity import PACKAGE_SOURCE, caseless_on, package_key
from workflow.domain.commands import OrderCreate, ServiceIn
from workflow.domain.definition import TERMINAL_STATES
from workflow.domain.errors import Reason
from workflow.domain.orders import (
    ON_FILE_STATUSES,
    Effect,
    EntityStatus,
    KindSpec,
    OrderKind,
    ServiceKind,
    ServiceStatus,
    split_number,
)
from workflow.domain.persons import same_name
from workflow.domain.record_numbers import check_access_number, check_suffix_letter
from workflow.domain.rules import rules_for
from workflow.records.parties import Packages, Parties, identity_number, service_named

# A stored package: one a platform lists, or the app's identifier it goes by there.
_Package = ColumnElement[str | None] | Mapped[str | None]

# A service holding its record number here, one at a time (the partial unique index of
# ``models.tables.Service``): one withdrawn, or whose access was removed, holds it no more, so
# the site may be accessed here again.
_HOLDING = (ServiceStatus.PENDING, ServiceStatus.ACTIVE)


def check_access(
    session: Session, spec: KindSpec, parties: Parties, command: OrderCreate, settings: Settings
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
        return reasons  # reported by check_record
    province: str | None
    if entity is not None:
        province, entity_number = entity.province, entity.icp_number
    elif parties.entity_in is not None:
        province = rules_for(settings).canonical_province(parties.entity_in.province)
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


def _entity_name(parties: Parties) -> str | None:
    if parties.entity_in is not None:
        return parties.entity_in.name
    return parties.entity.name if parties.entity is not None else None


def check_domain_holder(parties: Parties) -> list[Reason]:
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


def check_domain_elsewhere(session: Session, parties: Parties) -> list[Reason]:
    """A domain is filed by one entity: one another identity keeps on file, or has in an order
    in flight, is refused (a mistyped domain, or a registrant the registrar would contradict:
    the registrant named in the order is all icpflow can read)."""
    service, identity = parties.service_in, identity_number(parties)
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


def check_on_file_here(
    session: Session, spec: KindSpec, parties: Parties, settings: Settings
) -> list[Reason]:
    """A website or an app the entity keeps on file is not filed again: a new record for it
    would be its second (it changes by a change order). A new access brings its existing
    record: one naming another number for it is refused too (the same number, on file here,
    is ``check_access``'s)."""
    service, identity = parties.service_in, identity_number(parties)
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
            return []  # reported by check_record
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


def check_app_elsewhere(session: Session, parties: Parties) -> list[Reason]:
    """An app is one entity's: on file, or being filed, for another identity, it is refused (an
    app does not move to another entity; docs/domain-facts.md, Apps)."""
    service, identity = parties.service_in, identity_number(parties)
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


def check_packages_elsewhere(
    session: Session, parties: Parties, packages: Packages | None, settings: Settings
) -> list[Reason]:
    """A package name or Bundle ID on a platform is one app's: one another app of the kind is
    filed under there, on file or being filed (by its own order, or a change order adding it)
    for any entity, is refused (MIIT files an app by its package on each platform;
    docs/domain-facts.md, Apps). A withdrawn or cancelled app holds it no more. Per platform:
    Android's package names and Apple's Bundle IDs are each their store's, and one app often
    goes by one name on both. On iOS case aside: Apple's Bundle IDs are case-insensitive, so
    com.Example.App is com.example.app there (``package_key``)."""
    if packages is None:
        return []
    in_flight = select(Filing.service_id).where(col(Filing.state).not_in(list(TERMINAL_STATES)))
    others = [col(Service.kind) == packages.kind, *_not_the_app_itself(parties, settings)]
    query = select(Service).where(
        or_(col(Service.status).in_(ON_FILE_STATUSES), col(Service.id).in_(in_flight)), *others
    )
    changing = _changing_to(session, others)
    reasons = []
    identifier = col(Service.app_identifier)
    for platform, package in packages.by_platform.items():
        on_platform, key = col(Service.app_platforms), package_key(platform, package)
        named = on_platform[(platform, "package")].as_string()
        by_identifier = and_(
            named.is_(None),
            on_platform[(platform, "fingerprint")].as_string().is_not(None),
            _as_compared(platform, identifier) == key,
        )
        holder = session.exec(
            query.where(or_(_as_compared(platform, named) == key, by_identifier)).order_by(
                col(Service.id)
            )
        ).first() or changing.get((platform, key))
        if holder is None:
            continue
        reasons.append(
            Reason(
                "package_filed_for_another_app",
                f"{package} on {platform} is {service_named(holder)}'s, on file or being filed "
                f"for entity {holder.entity_id}: a package is one app's",
                field=f"{packages.field}.{platform}.package",
                details={"service_id": holder.id, "entity_id": holder.entity_id},
                rule="package_one_app",
                source=str(PACKAGE_SOURCE),
            )
        )
    return reasons


def _as_compared(platform: str, package: _Package) -> _Package:
    """A stored package as ``platform`` compares it (``package_key``'s, in SQL)."""
    return func.lower(package) if caseless_on(platform) else package


def _changing_to(
    session: Session, others: list[ColumnElement[bool]]
) -> dict[tuple[str, str], Service]:
    """The packages change orders in flight file the apps ``others`` selects under, by
    platform: theirs once approved, so being filed. A change is sealed whole, so it is read
    here rather than matched in the query."""
    changes = session.exec(
        select(Filing.changes, Service)
        .join(Service, col(Service.id) == col(Filing.service_id))
        .where(
            Filing.kind == OrderKind.CHANGE,
            col(Filing.state).not_in(list(TERMINAL_STATES)),
            *others,
        )
    ).all()
    return {
        (platform, package_key(platform, package)): app
        for changed, app in changes
        for platform, held in (changed.get("app_platforms") or {}).items()
        if (package := held.get("package") or app.app_identifier)
    }


def _not_the_app_itself(parties: Parties, settings: Settings) -> list[ColumnElement[bool]]:
    """The rows that are not the app an order concerns: the one a change order changes; for a
    new one, those of another identifier (the same one's are ``check_app_elsewhere``'s and
    ``check_on_file_here``'s) and another record (a new access brings its app back under
    its number, whose row, its access removed, keeps its packages)."""
    if parties.service is not None:
        return [col(Service.id) != parties.service.id]
    service = parties.service_in
    if service is None:
        return []
    rows = []
    if service.app_identifier is not None:
        rows.append(col(Service.app_identifier).is_distinct_from(service.app_identifier))
    if service.record_number is not None:
        spellings = rules_for(settings).number_spellings(service.record_number)
        record = col(Service.record_number)
        rows.append(or_(record.is_(None), record.not_in(spellings)))
    return rows
