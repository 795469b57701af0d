"""``check_order``: every check of the package, in the order they run, raised together."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from config.settings import Settings
from workflow.domain.commands import OrderCreate
from workflow.domain.errors import ValidationError, summarise
from workflow.domain.guards import (
    check_app_identifier,
    check_app_platforms,
    check_creation,
    check_website_fields,
)
from workflow.domain.orders import kind_spec
from workflow.domain.rules import rules_for
from workflow.records.changes import (
    _check_names_change,
    _check_persons_change,
    _check_platforms_change,
)
from workflow.records.entity import (
    _check_in_flight,
    _check_not_last,
    _check_not_on_file,
    _check_record,
    _check_served_here,
    _check_still_here,
    _one_opening_at_a_time,
)
from workflow.records.filing_body import _FILING_FIELDS, _ORDER_FIELDS, _creation_view, _rename
from workflow.records.parties import _dumped, _identity, _load, _packages, _Parties
from workflow.records.people import (
    _check_contacts,
    _check_entity_person,
    _check_mobiles,
    _check_mobiles_on_record,
    _people,
    _Person,
)
from workflow.records.services import (
    _check_access,
    _check_app_elsewhere,
    _check_domain_elsewhere,
    _check_domain_holder,
    _check_on_file_here,
    _check_packages_elsewhere,
)


def check_order(
    session: Session, command: OrderCreate, today: date, settings: Settings, *, fields: bool = True
) -> tuple[_Parties, list[_Person]]:
    """Every reason the order cannot be opened, raised together; else what it concerns.

    ``fields`` False keeps ``check_creation``'s field names (today's filing body)."""
    spec = kind_spec(command.kind)
    parties, reasons = _load(session, command, spec)
    people = _people(parties, command)
    packages = _packages(parties, command)
    _one_opening_at_a_time(session, _identity(parties), parties.service_in, packages, people)
    reasons += _check_record(spec, parties)
    creation = _creation_view(parties, command)
    if creation is not None:
        found = check_creation(creation, today, settings)
        reasons += [_rename(r, _ORDER_FIELDS) for r in found] if fields else found
    found = _check_entity_person(parties, command) + _check_domain_holder(parties)
    found += _check_names_change(parties, command) + _check_persons_change(parties, command)
    found += _check_platforms_change(parties, command)
    if parties.service_in is not None:
        s_in = parties.service_in
        found += check_website_fields(s_in.kind, s_in, "service")
        found += check_app_identifier(s_in.kind, s_in.app_identifier, "service.app_identifier")
        platforms = _dumped(s_in.app_platforms)
        found += check_app_platforms(s_in.kind, platforms, "service.app_platforms")
    found += _check_contacts(people, rules_for(settings), judged=creation is not None)
    found += _check_mobiles(session, parties, people)
    found += _check_mobiles_on_record(session, parties, people)
    found += _check_domain_elsewhere(session, parties)
    found += _check_on_file_here(session, spec, parties, settings)
    found += _check_app_elsewhere(session, parties)
    found += _check_packages_elsewhere(session, parties, packages, settings)
    found += _check_access(session, spec, parties, command, settings)
    found += _check_not_last(session, spec, parties) + _check_served_here(session, spec, parties)
    found += _check_still_here(session, spec, parties)
    found += _check_not_on_file(session, spec, parties) or _check_in_flight(session, parties)
    reasons += found if fields else [_rename(r, _FILING_FIELDS) for r in found]
    if reasons:
        raise ValidationError(summarise(f"{command.kind} order refused", reasons), reasons)
    return parties, people
