"""Today's filing body and the order: the body as the first-filing order it is
(``order_from_filing``), an order's new service as the body ``check_creation`` judges
(``creation_view``), and the field names each uses for the other's (``rename_reason``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from workflow.domain.commands import (
    ApplicantIn,
    ApplicantKind,
    EntityIn,
    EntityPersonIn,
    FilingCreate,
    OrderCreate,
    ServiceIn,
    WebsiteIn,
)
from workflow.domain.errors import Reason, ValidationError, renamed, summarise
from workflow.domain.orders import OrderKind
from workflow.records.parties import Parties

# Today's filing body names these fields so.
FILING_FIELDS = {
    "service.domain_registrant": "domain_registrant",
    "service.domain_real_name_verified": "domain_real_name_verified",
    "service.domain": "domain",
    "entity.responsible.mobile": "applicant.phone",
    "entity.id_number": "applicant.id_number",
    "entity.responsible.name": "applicant.responsible",
    "entity.responsible.id_type": "applicant.responsible_id_type",
    "entity.responsible.id_number": "applicant.responsible_id_number",
}


# check_creation names the fields of a first filing's body; an order names them so.
ORDER_FIELDS = {
    "domain": "service.domain",
    "domain_expires_on": "service.domain_expires_on",
    "province": "entity.province",
    "licence": "licence",
    "website.sector": "service.sector",
    "applicant.type": "entity.type",
    "applicant.id_type": "entity.id_type",
    "applicant.id_number": "entity.id_number",
    "applicant.phone": "entity.responsible.mobile",
    "applicant.email": "entity.responsible.email",
}


def order_from_filing(command: FilingCreate) -> OrderCreate:
    """Today's filing body as the first-filing order it is: the applicant is the entity, its
    responsible person the one it names (an individual, themself); the website, the service.
    An organisation naming none is judged as naming itself, which ``check_responsible``
    refuses; ``unnamed_responsible`` then says the name is missing."""
    applicant, website = command.applicant, command.website
    return OrderCreate(
        kind=OrderKind.FIRST_FILING,
        entity=EntityIn(
            type=applicant.type,
            name=applicant.name,
            id_type=applicant.id_type,
            id_number=applicant.id_number,
            province=command.province,
            responsible=EntityPersonIn(
                name=applicant.responsible or applicant.name,
                mobile=applicant.phone,
                email=applicant.email,
                id_type=applicant.responsible_id_type,
                id_number=applicant.responsible_id_number,
                legal_representative=applicant.legal_representative,
            ),
        ),
        service=ServiceIn(
            name=website.name,
            domain=command.domain,
            domain_expires_on=command.domain_expires_on,
            domain_registrant=command.domain_registrant or applicant.name,
            domain_real_name_verified=command.domain_real_name_verified,
            sector=website.sector,
        ),
        licence=command.licence,
        notify=command.notify,
    )


# A first filing's body has its applicant's email, which ``check_creation`` checks; an
# order's responsible person may give none (stored as ""), which is no fault of the order.
# A domain kept for examples (RFC 2606): the check refuses ".invalid", and this is only judged.
_NO_EMAIL = "unknown@example.com"


def creation_view(parties: Parties, command: OrderCreate) -> FilingCreate | None:
    """A new service with its entity, as the first-filing body ``check_creation`` judges."""
    service = parties.service_in
    if service is None:
        return None
    if parties.entity_in is not None:
        e = parties.entity_in
        applicant = ApplicantIn(
            type=e.type,
            name=e.name,
            id_type=e.id_type,
            id_number=e.id_number,
            phone=e.responsible.mobile,
            email=e.responsible.email or _NO_EMAIL,
        )
        province = e.province
    elif parties.entity is not None:
        # As on file, not read again as input: a value stored before a rule on input was
        # tightened (an invisible character in a name) is the record's, not the order's fault.
        stored = parties.entity
        applicant = ApplicantIn.model_construct(
            type=ApplicantKind(stored.type),
            name=stored.name,
            id_type=stored.id_type,
            id_number=stored.id_number,
            phone=stored.responsible_mobile,
            email=stored.responsible_email or _NO_EMAIL,
        )
        province = stored.province
    else:
        return None
    return FilingCreate(
        domain=service.domain,
        domain_expires_on=service.domain_expires_on,
        province=province,
        licence=command.licence,
        applicant=applicant,
        website=WebsiteIn(name=service.name, sector=service.sector),
    )


def unnamed_responsible(command: FilingCreate, refused: ValidationError) -> ValidationError:
    """``refused`` as a body that left ``applicant.responsible`` out reads it: the body says
    only whether that person is the legal representative, never their name, so nobody can
    stand in for them; the reason asks for the name instead of calling it the organisation's.
    """
    if command.applicant.responsible is not None:
        return refused
    kind = command.applicant.type.value
    missing = (
        "applicant.responsible is required unless the applicant is an individual: name the "
        f"person responsible for the {kind} (主体负责人), its legal representative unless "
        "legal_representative says otherwise, who answers MIIT's SMS and face check"
    )
    reasons = [
        dataclasses.replace(r, message=missing)
        if (r.code, r.field) == ("responsible_person_missing", "applicant.responsible")
        else r
        for r in refused.reasons
    ]
    if reasons == refused.reasons:
        return refused
    prefix = str(refused).split(":", 1)[0]
    return ValidationError(summarise(prefix, reasons), reasons)


def rename_reason(reason: Reason, names: Mapping[str, str]) -> Reason:
    """A creation check's reason under the order's field names, in its words too."""
    return renamed(ValidationError("", [reason]), names).reasons[0]
