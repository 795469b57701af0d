"""What each event carries, as models the declaration names (``EventSpec.data``).

Kept apart from ``commands`` because the declaration imports these while ``commands``
imports the declaration's ``Channel``. The models check shape only (keys, types, blanks);
whether a service number or an ICP number is acceptable is the guards' business.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# A text field that must say something: surrounding spaces are dropped, blank is missing.
NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

# Every input model refuses keys it does not declare, so a misspelt field is an error.
STRICT = ConfigDict(extra="forbid", frozen=True)


class EventData(BaseModel):
    """No data: the base of every event's data, and the data of events that carry none."""

    model_config = STRICT


class ServiceNumberData(EventData):
    service_number: NonBlank = Field(description="the host's Bei'an service number")
    server_ip: NonBlank = Field(description="public IPv4 address of the mainland server")


class MaterialsData(EventData):
    materials: list[str] = Field(description="keys of the materials submitted (rules.toml)")


class DocumentData(EventData):
    document: NonBlank = Field(description="the regulator's pre-approval document reference")


class ReasonData(EventData):
    reason: NonBlank = Field(description="why; kept in the filing's history")


class IcpNumberData(EventData):
    icp_number: NonBlank | None = Field(
        default=None,
        description="the number MIIT issued: required for a first filing (the site's number, "
        "京ICP备12345678号-1); for a new service it must follow the entity's (or is left to "
        "icpflow); other kinds issue none",
    )


class VerifierRole(StrEnum):
    """Whose SMS: the entity's responsible person or the service's."""

    ENTITY = "entity"
    SERVICE = "service"


class VerifierData(EventData):
    verifier: VerifierRole | None = Field(
        default=None, description="who answered; omitted, every one not yet verified"
    )


class WrongEntryData(EventData):
    verifier: VerifierRole = Field(description="who entered a wrong code")
