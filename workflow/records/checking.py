"""``check_order``: every check of the package, in the order they run, raised together."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from config.settings import Settings
from workflow.domain.app_identity import (
    check_app_identifier,
    check_app_platforms,
    check_website_fields,
)
from workflow.domain.commands import OrderCreate
from workflow.domain.creation_rules import check_creation
from workflow.domain.errors import ValidationError, summarise
from workflow.domain.orders import kind_spec
from workflow.domain.rules import rules_for
from workflow.records.changes import (
    check_names_change,
    check_persons_change,
    check_platforms_change,
)
from workflow.records.entity import (
    check_in_flight,
    check_not_last,
    check_not_on_file,
    check_record,
    check_served_here,
    check_still_here,
    one_opening_at_a_time,
)
from workflow.records.filing_body import FILING_FIELDS, ORDER_FIELDS, creation_view, rename_reason
from workflow.records.parties import (
    Parties,
    dumped_platforms,
    identity_number,
    load_parties,
    order_packages,
)
from workflow.records.people import (
    Person,
    check_contacts,
    check_entity_person,
    check_mobiles,
    check_mobiles_on_record,
    people_listed,
)
from workflow.records.services import (
    check_access,
    check_app_elsewhere,
    check_domain_elsewhere,
    check_domain_holder,
    check_on_file_here,
    check_packages_elsewhere,
)


def check_order(
    session: Session, command: OrderCreate, today: date, settings: Settings, *, fields: bool = True
) -> tuple[Parties, list[Person]]:
    """Every reason the order cannot be opened, raised together; else what it concerns.

    ``fields`` False keeps ``check_creation``'s field names (today's filing body)."""
    spec = kind_spec(command.kind)
    parties, reasons = load_parties(session, command, spec)
    people = people_listed(parties, command)
    packages = order_packages(parties, command)
    one_opening_at_a_time(session, identity_number(parties), parties.service_in, packages, people)
    reasons += check_record(spec, parties)
    creation = creation_view(parties, command)
    if creation is not None:
        found = check_creation(creation, today, settings, new_domain=spec.files_new_domain)
        reasons += [rename_reason(r, ORDER_FIELDS) for r in found] if fields else found
    found = check_entity_person(parties, command) + check_domain_holder(parties)
    found += check_names_change(parties, command) + check_persons_change(parties, command)
    found += check_platforms_change(parties, command)
    if parties.service_in is not None:
        s_in = parties.service_in
        found += check_website_fields(s_in.kind, s_in, "service")
        found += check_app_identifier(s_in.kind, s_in.app_identifier, "service.app_identifier")
        platforms = dumped_platforms(s_in.app_platforms)
        found += check_app_platforms(s_in.kind, platforms, "service.app_platforms")
    found += check_contacts(people, rules_for(settings), judged=creation is not None)
    found += check_mobiles(session, parties, people)
    found += check_mobiles_on_record(session, parties, people)
    found += check_domain_elsewhere(session, parties)
    found += check_on_file_here(session, spec, parties, settings)
    found += check_app_elsewhere(session, parties)
    found += check_packages_elsewhere(session, parties, packages, settings)
    found += check_access(session, spec, parties, command, settings)
    found += check_not_last(session, spec, parties) + check_served_here(session, spec, parties)
    found += check_still_here(session, spec, parties)
    found += check_not_on_file(session, spec, parties) or check_in_flight(session, parties)
    reasons += found if fields else [rename_reason(r, FILING_FIELDS) for r in found]
    if reasons:
        raise ValidationError(summarise(f"{command.kind} order refused", reasons), reasons)
    return parties, people
