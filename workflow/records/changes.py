"""The checks on what a change order changes: a name (``check_names_change``), an app's
platforms (``check_platforms_change``) or a responsible person (``check_persons_change``),
each to something the record does not already say.
"""

from __future__ import annotations

from workflow.domain.app_identity import check_app_platforms, check_website_fields
from workflow.domain.commands import OrderCreate, PersonIn
from workflow.domain.errors import Reason
from workflow.domain.orders import ServiceKind
from workflow.domain.persons import as_spelt
from workflow.records.parties import Parties, dumped_platforms


def check_names_change(parties: Parties, command: OrderCreate) -> list[Reason]:
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


def check_platforms_change(parties: Parties, command: OrderCreate) -> list[Reason]:
    """A change of an app's platforms is an app's, and says something the record does not
    (a platform not on it, or another package or certificate for one that is)."""
    changes, service = command.changes, parties.service
    if changes is None or changes.app_platforms is None or service is None:
        return []
    field = "changes.app_platforms"
    given = dumped_platforms(changes.app_platforms) or {}
    kind = ServiceKind(service.kind)
    found = check_website_fields(kind, changes, "changes") + check_app_platforms(kind, given, field)
    if found:
        return found  # a website's, an app's naming no platform, a package misspelt
    held = service.app_platforms or {}
    if not given:
        return [Reason("missing_field", f"{field} names no platform", field=field)]
    if all(held.get(platform) == said for platform, said in given.items()):
        return [Reason("unchanged", f"{field} is already on record", field=field)]
    return []


def check_persons_change(parties: Parties, command: OrderCreate) -> list[Reason]:
    """A change order's new responsible person differs from the one on record in something
    the record holds (name, mobile, email and identity document; the entity's
    legal-representative flag too): the same person again would have the bureau text them
    for nothing."""
    changes, entity, service = command.changes, parties.entity, parties.service
    on_file: list[tuple[str, PersonIn | None, dict[str, object]]] = []
    held: dict[str, object]
    if changes is not None and entity is not None:
        held = {
            "name": entity.responsible_name,
            "mobile": entity.responsible_mobile,
            "email": entity.responsible_email,
            "id_type": entity.responsible_id_type,
            "id_number": entity.responsible_id_number,
            "legal_representative": entity.responsible_is_legal_rep,
        }
        on_file.append(("entity_responsible", changes.entity_responsible, held))
    if changes is not None and service is not None:
        held = {
            "name": service.responsible_name,
            "mobile": service.responsible_mobile,
            "email": service.responsible_email,
            "id_type": service.responsible_id_type,
            "id_number": service.responsible_id_number,
        }
        on_file.append(("service_responsible", changes.service_responsible, held))
    return [
        Reason(
            "unchanged",
            f"changes.{part} is the person already on record ({held['name']})",
            field=f"changes.{part}",
        )
        for part, new, held in on_file
        if new is not None and _says_nothing_new(new, held)
    ]


def _says_nothing_new(new: PersonIn, held: dict[str, object]) -> bool:
    """Whether ``new`` says nothing the record (``held``) does not: an email or a document
    left out keeps the one on record, as approval would. Not whether they are the same
    person (``same_person``): the same person with their name respelt is news."""
    told = new.model_dump()
    told["name"] = as_spelt(new.name)
    held = {**held, "name": as_spelt(str(held["name"] or ""))}
    return all(told[key] == value for key, value in held.items() if told[key] is not None)
