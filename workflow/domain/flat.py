"""A first filing as flat fields, one value each: a row of a CSV import, the options of
``icpflow filings create`` and the console's form opening a filing. ``FilingCreate`` nests
them (``applicant.name``); here each has one name and the path it goes to, so the three
edges read the same fields the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from workflow.domain.bounded import stripped
from workflow.domain.commands import FilingCreate, parse

# Flat field names and where each goes in the payload.
FLAT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "domain": ("domain",),
    "domain_expires_on": ("domain_expires_on",),
    "domain_registrant": ("domain_registrant",),
    "domain_real_name_verified": ("domain_real_name_verified",),
    "province": ("province",),
    "licence": ("licence",),
    "applicant_type": ("applicant", "type"),
    "applicant_name": ("applicant", "name"),
    "id_type": ("applicant", "id_type"),
    "id_number": ("applicant", "id_number"),
    "phone": ("applicant", "phone"),
    "email": ("applicant", "email"),
    "responsible": ("applicant", "responsible"),
    "responsible_id_type": ("applicant", "responsible_id_type"),
    "responsible_id_number": ("applicant", "responsible_id_number"),
    "legal_representative": ("applicant", "legal_representative"),
    "site_name": ("website", "name"),
    "sector": ("website", "sector"),
}
IMPORT_COLUMNS: tuple[str, ...] = tuple(FLAT_FIELDS)
# Columns a file may leave out: they came later, so a file written before them still imports
# (a blank or missing cell takes the API's default: the domain registered to the applicant,
# its real name verified, the responsible person the legal representative, no document);
# files of individuals (their own responsible persons) never need ``responsible``.
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "responsible",
    "responsible_id_type",
    "responsible_id_number",
    "domain_registrant",
    "domain_real_name_verified",
    "legal_representative",
)


def creation_from_flat(flat: Mapping[str, str | None]) -> FilingCreate:
    """The creation command from flat fields; blanks are left out so each is named missing."""
    payload: dict[str, Any] = {"applicant": {}, "website": {}}
    for name, path in FLAT_FIELDS.items():
        value = stripped(flat.get(name) or "")
        if value:
            node = payload
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
    return parse(FilingCreate, payload, "filing refused")


def flat_field(name: str) -> FieldInfo:
    """The declaration of the field a flat name goes to (its type, description, default)."""
    model: type[BaseModel] = FilingCreate
    *parents, leaf = FLAT_FIELDS[name]
    for key in parents:
        nested = model.model_fields[key].annotation
        assert isinstance(nested, type) and issubclass(nested, BaseModel), key
        model = nested
    return model.model_fields[leaf]
