"""What each event carries, as models the declaration names (``EventSpec.data``).

Kept apart from ``commands`` because the declaration imports these while ``commands``
imports the declaration's ``Channel``. The models check shape only (keys, types, blanks and
sizes: see ``bounded``); whether a service number or an ICP number is acceptable is the
guards' business.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from config import bounds
from workflow.domain.bounded import (
    Document,
    IcpNumber,
    Material,
    PastMoment,
    Reason,
    ServerIp,
    ServiceNumber,
)
from workflow.domain.wording import ConsoleHelp, worded_by_default

if TYPE_CHECKING:  # for the type alone: the rules import commands, which import this module
    from workflow.domain.rules import Rules

# Every input model refuses keys it does not declare, so a misspelt field is an error.
STRICT = ConfigDict(extra="forbid", frozen=True)


class EventData(BaseModel):
    """No data: the base of every event's data, and the data of events that carry none.

    ``stored`` names the data kept on the filing itself (data key -> filing column), so the
    page and the guards of later events read it there; all data also goes into the history.
    ``starts_clocks`` names the data key, if any, that says when the event really happened
    when it is recorded late: the new state's clocks (its deadlines, its entry time, an SMS
    window) start then, not when it was recorded.
    """

    model_config = STRICT
    stored: ClassVar[Mapping[str, str]] = MappingProxyType({})
    starts_clocks: ClassVar[str | None] = None

    def settled(self, on_file: Mapping[str, Any], rules: Rules) -> Self:
        """The data as used, given what the filing holds of it (``on_file``: each ``stored``
        key's value there) and the ``rules`` in force: as given, unless the model
        fills in what was left out from the filing (a resubmission's materials). The guards
        judge, the filing keeps and the history records the data settled, so the history says
        what was used, not only what was said (as ``Written.settled`` does for a service's
        audit)."""
        return self

    def clocks_start(self, recorded: datetime) -> datetime:
        """When the new state's clocks start: the time the data gives, else ``recorded``."""
        given = getattr(self, self.starts_clocks) if self.starts_clocks else None
        return given or recorded


class FellDueData(EventData):
    """An automatic event's: when the deadline that fired it fell due. The new state's clocks
    (its entry time, its deadlines) start then, not when a sweep behind (the scheduler down
    for a weekend) or a person's event catching up got to it: the resubmission owed after an
    SMS window closed is counted from the window's end."""

    starts_clocks = "fell_due_at"
    fell_due_at: datetime | None = Field(
        None, description="when the deadline firing it fell due (set by the scheduler)"
    )


class SmsSentData(EventData):
    starts_clocks = "sent_at"
    sent_at: PastMoment | None = Field(
        None,
        description=worded_by_default(
            "when MIIT's SMS was sent, if it is recorded later (Beijing time unless an offset is "
            "given): the {sms_window_hours:g} h window runs from it"
        ),
    )


class ServiceNumberData(EventData):
    stored = MappingProxyType({"service_number": "service_number", "server_ip": "server_ip"})
    service_number: ServiceNumber = Field(description="the host's Bei'an service number")
    server_ip: ServerIp = Field(description="public IPv4 address of the mainland server")


def _each_once(keys: list[str]) -> list[str]:
    """In the order given: a material sent twice is one material submitted."""
    return list(dict.fromkeys(keys))


# The materials of a submission, each once (see ``_each_once``), as many as ``bounds`` allows.
_Materials = Annotated[list[Material], AfterValidator(_each_once)]


class MaterialsData(EventData):
    stored = MappingProxyType({"materials": "materials"})
    materials: Annotated[
        _Materials,
        ConsoleHelp(
            "tick each material sent; one the order requires and not ticked is named when it "
            "is refused 勾选本次提交的材料；缺少必需的材料时逐项指出"
        ),
    ] = Field(
        default_factory=list,
        max_length=bounds.MATERIALS,
        description="keys of the materials submitted (rules.toml); one named twice is kept once; "
        "none sent, the refusal names each one the order requires",
    )


class ResubmissionData(MaterialsData):
    """A resubmission's: the host keeps an order's data while it is sent back (or lapsed) and
    the applicant resubmits it corrected (docs/domain-facts.md: idle orders, "the host keeps
    the data and the applicant resubmits"; Huawei's console 初审驳回 / 待修改), so it names
    the materials corrected and the others carry over from the last submission. No rule says a
    resubmission must change anything: none is checked."""

    materials: Annotated[
        _Materials,
        ConsoleHelp(
            "tick the materials corrected; those of the last submission are sent again whether "
            "ticked or not 勾选修改过的材料；上次提交的材料无论是否勾选都会再次提交"
        ),
    ] = Field(
        default_factory=list,
        max_length=bounds.MATERIALS,
        description="keys of the materials corrected (rules.toml); those of the last submission "
        "carry over, and the history records them all; none sent and none submitted before, "
        "the refusal names each one the order requires",
    )

    def settled(self, on_file: Mapping[str, Any], rules: Rules) -> Self:
        """The last submission's materials, then those named that it lacked. One the rules no
        longer know (renamed or dropped since) is not carried over: refused as unknown, it
        would block every resubmission, by a key nobody named; the rules' requirements name
        what the order now needs instead."""
        last = [key for key in on_file.get("materials") or [] if key in rules.materials]
        return self.model_copy(update={"materials": _each_once([*last, *self.materials])})


class DocumentData(EventData):
    stored = MappingProxyType({"document": "pre_approval_document"})
    document: Document = Field(description="the regulator's pre-approval document reference")


class ReasonData(EventData):
    reason: Reason = Field(
        description="why; kept in the filing's history and told in notifications"
    )


class IcpNumberData(EventData):
    stored = MappingProxyType({"icp_number": "icp_number"})
    icp_number: IcpNumber | None = Field(
        default=None,
        description="the number MIIT issued: required for a first filing (the site's number, "
        "京ICP备12345678号-1); for a new service it must follow the entity's (or is left to "
        "icpflow); other kinds issue none",
    )


class VerifierRole(StrEnum):
    """Whose SMS: the entity's responsible person or the service's."""

    ENTITY = "entity"
    SERVICE = "service"

    @property
    def label(self) -> str:
        """What pages call it, in English and Chinese."""
        return _VERIFIER_ROLE_LABELS[self]


_VERIFIER_ROLE_LABELS = {
    VerifierRole.ENTITY: "Entity's responsible person 主体负责人",
    VerifierRole.SERVICE: "Service's responsible person 网站/App 负责人",
}


class VerifierData(EventData):
    verifier: Annotated[
        VerifierRole | None,
        ConsoleHelp(
            "who answered; none chosen: every one not yet verified 回复人；不选即全部未核验者"
        ),
    ] = Field(default=None, description="who answered; omitted, every one not yet verified")


class WrongEntryData(EventData):
    verifier: VerifierRole = Field(description="who entered a wrong code")
