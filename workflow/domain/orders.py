"""The seven order kinds, declared once as data.

Every kind runs on the one shared machine of ``definition``: a kind names the events it
uses (so its path is that subset of the transitions), the state it opens in, who must answer
MIIT's SMS, the materials it adds, what it is opened for (a new or an existing entity and
service) and what approval does to the record. The machine refuses an event outside the
order's kind as it refuses one outside its state, and the diagram draws each kind's subset.

Sources (docs/domain-facts.md, "Order kinds"): alibabacloud.com ICP regulations page for the
kinds; Huawei Cloud kb (备案流程咨询, 备案短信核验, 备案变更咨询, 备案注销咨询, App备案咨询) and
Tencent Cloud docs (新增网站, 变更信息, 注销备案, 取消接入) for their steps. Every kind gets the
host's first review: Alibaba's sending cancellations straight to the bureau is one host's
practice, Tencent reviews them within a working day, so no kind skips it here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from workflow.domain.definition import SMS_WRONG_ENTRY_LIMIT, Event, State
from workflow.domain.event_data import EventData, VerifierData, VerifierRole, WrongEntryData


class OrderKind(StrEnum):
    FIRST_FILING = "first_filing"
    NEW_SERVICE = "new_service"
    NEW_ACCESS = "new_access"
    CHANGE = "change"
    CANCEL_ENTITY = "cancel_entity"
    CANCEL_SERVICE = "cancel_service"
    CANCEL_ACCESS = "cancel_access"


class ServiceKind(StrEnum):
    """What an entity files; apps, mini programs and quick apps since 2023-09-01, through the
    same orders."""

    WEBSITE = "website"
    APP = "app"
    MINI_PROGRAM = "mini_program"
    QUICK_APP = "quick_app"

    @property
    def label(self) -> str:
        """What pages call it, in English and Chinese."""
        return _SERVICE_KIND_LABELS[self]


_SERVICE_KIND_LABELS = {
    ServiceKind.WEBSITE: "Website 网站",
    ServiceKind.APP: "App 应用",
    ServiceKind.MINI_PROGRAM: "Mini program 小程序",
    ServiceKind.QUICK_APP: "Quick app 快应用",
}


# The letter a service's suffix carries after its number (京ICP备12345678号-2A): HW App备案咨询.md
# (docs/domain-facts.md: site -N, App -NA, mini program -NX, quick app -NK).
SUFFIX_LETTER: dict[ServiceKind, str] = {
    ServiceKind.WEBSITE: "",
    ServiceKind.APP: "A",
    ServiceKind.MINI_PROGRAM: "X",
    ServiceKind.QUICK_APP: "K",
}
# An entity's number ends in 号 (京ICP备12345678号, 京ICP证030173号) or is a value-added
# telecom licence (粤B2-20090059); a service's adds its suffix.
_SUFFIX = re.compile(r"^(?P<entity>.+(号|B2-[0-9]{8}))-(?P<suffix>[0-9]+)[A-Z]?$")


def split_number(number: str) -> tuple[str, int | None]:
    """京ICP备12345678号-2 -> (京ICP备12345678号, 2), 粤B2-20090059-3A -> (粤B2-20090059, 3); a
    number without a suffix is the entity's."""
    match = _SUFFIX.match(number)
    return (match["entity"], int(match["suffix"])) if match else (number, None)


class EntityStatus(StrEnum):
    PENDING = "pending"  # its first filing is not approved yet
    ACTIVE = "active"
    CANCELLED = "cancelled"
    WITHDRAWN = "withdrawn"  # its first filing was withdrawn: never on file

    @property
    def label(self) -> str:
        """What pages call it, in English and Chinese."""
        return _ENTITY_STATUS_LABELS[self]


class ServiceStatus(StrEnum):
    PENDING = "pending"  # its order is not approved yet
    ACTIVE = "active"
    CANCELLED = "cancelled"
    ACCESS_REMOVED = "access_removed"
    WITHDRAWN = "withdrawn"  # the order bringing it was withdrawn: never on file

    @property
    def label(self) -> str:
        """What pages call it, in English and Chinese."""
        return _SERVICE_STATUS_LABELS[self]


_ENTITY_STATUS_LABELS = {
    EntityStatus.PENDING: "pending 首次备案中",
    EntityStatus.ACTIVE: "on record 已备案",
    EntityStatus.CANCELLED: "cancelled 已注销",
    EntityStatus.WITHDRAWN: "withdrawn 已撤回",
}
_SERVICE_STATUS_LABELS = {
    ServiceStatus.PENDING: "pending 备案中",
    ServiceStatus.ACTIVE: "on record 已备案",
    ServiceStatus.CANCELLED: "cancelled 已注销",
    ServiceStatus.ACCESS_REMOVED: "access removed 已取消接入",
    ServiceStatus.WITHDRAWN: "withdrawn 已撤回",
}


# A service MIIT holds on file: served here, or filed and served by another host now.
ON_FILE_STATUSES = (ServiceStatus.ACTIVE, ServiceStatus.ACCESS_REMOVED)


class VerifierResult(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    FAILED = "failed"  # the window passed, or the fifth wrong code

    @property
    def label(self) -> str:
        """What pages call it, in English and Chinese."""
        return _VERIFIER_RESULT_LABELS[self]


_VERIFIER_RESULT_LABELS = {
    VerifierResult.PENDING: "pending 待核验",
    VerifierResult.VERIFIED: "verified 已核验",
    VerifierResult.FAILED: "failed 核验失败",
}
# A verifier's result before MIIT's first SMS: pending since the order opened, but no one can
# answer, fail or run out of time before it comes.
SMS_NOT_SENT_LABEL = "not sent 短信未发送"


class Party(StrEnum):
    """What an order names of an entity or a service when it is opened."""

    NEW = "new"  # described in the order, recorded when it is created
    EXISTING = "existing"  # on file, named by id
    NEW_OR_EXISTING = "new_or_existing"
    OPTIONAL = "optional"  # an existing one, or none
    NONE = "none"


class Effect(StrEnum):
    """What approval does to the record (``workflow.outcomes.apply_effect`` applies it)."""

    ISSUE_NUMBERS = "issue_numbers"  # the entity number, and the service's with suffix -1
    ADD_SERVICE = "add_service"  # the next suffix under the entity number
    ADD_ACCESS = "add_access"  # number unchanged; this host now serves it
    APPLY_CHANGES = "apply_changes"  # the order's changes written to the record
    CANCEL_ENTITY = "cancel_entity"  # entity number and all its services cancelled
    CANCEL_SERVICE = "cancel_service"  # that service's number removed
    REMOVE_ACCESS = "remove_access"  # this host no longer serves it


class NumberAsked(StrEnum):
    """Whether the bureau's approval of an order comes with a number for the case manager to
    enter (``miit_approve``'s ``icp_number``): the guard and the console's form both ask this."""

    REQUIRED = "required"  # a first filing: the site's number, which gives the entity's
    OPTIONAL = "optional"  # a new service: it follows the entity's, so icpflow can derive it
    NONE = "none"  # every other kind keeps the numbers it has


_NUMBER_ASKED = {
    Effect.ISSUE_NUMBERS: NumberAsked.REQUIRED,
    Effect.ADD_SERVICE: NumberAsked.OPTIONAL,
}


_PRE_APPROVAL = (Event.REQUEST_PRE_APPROVAL, Event.GRANT_PRE_APPROVAL, Event.DENY_PRE_APPROVAL)
_REVIEW = (
    Event.SUBMIT,
    Event.HOST_APPROVE,
    Event.HOST_RETURN,
    Event.RESUBMIT,
    Event.MIIT_APPROVE,
    Event.MIIT_REJECT,
)
_SMS = (Event.SMS_SENT, Event.VERIFY_SMS, Event.SMS_WRONG_ENTRY, Event.EXPIRE_SMS, Event.SMS_RESENT)
_ALWAYS = (Event.WITHDRAW, Event.LAPSE)


@dataclass(frozen=True)
class KindSpec:
    """One order kind: its path on the shared machine and what it does to the record.

    ``verifiers`` are the roles whose person answers the SMS, among the parties the order
    has (a change asks those whose details it changes, ``CHANGES``); ``materials`` are added
    to the applicant type's and the service kind's for kinds that file a service, and are the
    whole list otherwise.
    """

    kind: OrderKind
    label_zh: str
    description: str
    initial: State
    events: tuple[Event, ...]
    entity: Party
    service: Party
    verifiers: tuple[VerifierRole, ...]
    effect: Effect
    # The default of its HOST_REVIEW_WORKING_DAYS figure (``workflow.domain.overrides``): the
    # working days the host's pre-review may take before it is overdue, the hosts' own figures
    # with a day's slack (docs/domain-facts.md, the table of order kinds). ``GET /workflow``
    # leaves it out: a default, not the figure in force.
    host_review_working_days: SkipJsonSchema[Annotated[int, Field(exclude=True)]]
    materials: tuple[str, ...] = ()
    files_service: bool = False

    @property
    def files_new_domain(self) -> bool:
        """The order puts its service's domain on record for the first time (a first filing,
        a new service). A new access brings a service already on record through another host,
        and the other kinds bring no service, so rules on what a new filing may be (the
        suffixes an entity type must file) do not judge them."""
        return self.effect in (Effect.ISSUE_NUMBERS, Effect.ADD_SERVICE)

    @property
    def number_asked(self) -> NumberAsked:
        return _NUMBER_ASKED.get(self.effect, NumberAsked.NONE)

    @property
    def label(self) -> str:
        """What pages call it, as they call a state: its key, which the API and the CLI take,
        and its Chinese name, ``first_filing 首次备案``."""
        return f"{self.kind.value} {self.label_zh}"


KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        OrderKind.FIRST_FILING,
        "首次备案",
        "An entity's first filing with its first website or app.",
        State.DOMAIN_REGISTERED,
        (Event.BIND_SERVICE_NUMBER, *_PRE_APPROVAL, *_REVIEW, *_SMS, *_ALWAYS),
        Party.NEW,
        Party.NEW,
        (VerifierRole.ENTITY, VerifierRole.SERVICE),
        Effect.ISSUE_NUMBERS,
        # A first filing, a new site or a new access: 1-2 working days at Tencent Cloud.
        host_review_working_days=3,
        files_service=True,
    ),
    KindSpec(
        OrderKind.NEW_SERVICE,
        "新增网站/App",
        "A new website, app or mini program for an entity on file.",
        State.DOMAIN_REGISTERED,
        (Event.BIND_SERVICE_NUMBER, *_PRE_APPROVAL, *_REVIEW, *_SMS, *_ALWAYS),
        Party.EXISTING,
        Party.NEW,
        (VerifierRole.SERVICE,),
        Effect.ADD_SERVICE,
        host_review_working_days=3,
        files_service=True,
    ),
    KindSpec(
        OrderKind.NEW_ACCESS,
        "新增接入",
        "A service filed through another host adds this host; its number is unchanged.",
        State.DOMAIN_REGISTERED,
        (Event.BIND_SERVICE_NUMBER, *_REVIEW, *_SMS, *_ALWAYS),
        Party.NEW_OR_EXISTING,
        Party.NEW,
        (VerifierRole.SERVICE,),
        Effect.ADD_ACCESS,
        host_review_working_days=3,
        files_service=True,
    ),
    KindSpec(
        OrderKind.CHANGE,
        "变更备案",
        "Change the entity's or a service's details; numbers are kept.",
        State.DRAFT,
        (*_REVIEW, *_SMS, *_ALWAYS),
        Party.EXISTING,
        Party.OPTIONAL,
        (VerifierRole.ENTITY, VerifierRole.SERVICE),
        Effect.APPLY_CHANGES,
        # A change: about one working day (Tencent).
        host_review_working_days=2,
        materials=("change_request_form",),
    ),
    KindSpec(
        OrderKind.CANCEL_ENTITY,
        "注销主体",
        "Cancel the entity number and every service under it (irreversible).",
        State.DRAFT,
        (*_REVIEW, *_SMS, *_ALWAYS),
        Party.EXISTING,
        Party.NONE,
        (VerifierRole.ENTITY,),
        Effect.CANCEL_ENTITY,
        # A cancellation: at most one working day (Tencent).
        host_review_working_days=2,
        materials=("cancellation_request",),
    ),
    KindSpec(
        OrderKind.CANCEL_SERVICE,
        "注销网站/App",
        "Cancel one service's record; the entity and its other services stay.",
        State.DRAFT,
        (*_REVIEW, *_SMS, *_ALWAYS),
        Party.EXISTING,
        Party.EXISTING,
        (VerifierRole.SERVICE,),
        Effect.CANCEL_SERVICE,
        host_review_working_days=2,
        materials=("cancellation_request",),
    ),
    KindSpec(
        OrderKind.CANCEL_ACCESS,
        "取消接入",
        "This host stops serving a service; the only kind without an SMS check.",
        State.DRAFT,
        (*_REVIEW, Event.FORWARD_TO_MIIT, *_ALWAYS),
        Party.EXISTING,
        Party.EXISTING,
        (),
        Effect.REMOVE_ACCESS,
        # A cancelled access: one working day (JD Cloud).
        host_review_working_days=2,
        materials=("cancellation_request",),
    ),
)

KINDS_BY_NAME: dict[str, KindSpec] = {spec.kind.value: spec for spec in KINDS}


@dataclass(frozen=True)
class ChangeSpec:
    """What changing one part of the record asks beyond the change request form: whose
    person answers the SMS, and the materials it adds."""

    verified_by: VerifierRole
    materials: tuple[str, ...] = ()


# Each part a change order can change (every field of ``commands.ChangesIn``; a test holds
# them together). The entity's person answers for the entity's details, the site's for the
# site's; a name change brings the renaming letter (更名函). docs/domain-facts.md, 变更备案: HW
# 备案变更咨询.md, TX 变更信息.md.
CHANGES: dict[str, ChangeSpec] = {
    "entity_name": ChangeSpec(VerifierRole.ENTITY, ("renaming_letter",)),
    "entity_responsible": ChangeSpec(VerifierRole.ENTITY),
    "service_name": ChangeSpec(VerifierRole.SERVICE),
    "service_responsible": ChangeSpec(VerifierRole.SERVICE),
    "app_platforms": ChangeSpec(VerifierRole.SERVICE),  # an app on a new platform
}


def order_materials(spec: KindSpec, changing: Iterable[str]) -> tuple[str, ...]:
    """The materials an order of ``spec`` brings whatever it files, with those the parts it
    is ``changing`` add."""
    added = (key for part in changing for key in CHANGES[part].materials)
    return tuple(dict.fromkeys((*spec.materials, *added)))


def kind_spec(kind: str) -> KindSpec:
    return KINDS_BY_NAME[kind]


@dataclass(frozen=True)
class VerifierFacts:
    role: VerifierRole
    result: VerifierResult
    wrong_entries: int
    window_started_at: datetime | None = None  # when the SMS of their latest round was sent


@dataclass(frozen=True)
class Record:
    """What the order guards read of the entity and service on file."""

    entity_number: str | None = None
    responsible_is_legal_rep: bool = True
    next_suffix: str | None = None  # "-1", "-3A": what the order's service's number ends with
    number_held_by: int | None = None  # another entity already holding the number given
    service_number_held_by: int | None = None  # another order that bound the number given
    round_ended_at: datetime | None = None  # an earlier round ended by itself: window, lapse


@dataclass(frozen=True)
class Departure:
    """The automatic event that moved the order into its state, from which state, and when
    the deadline firing it fell due: an event of that state recorded since, for something
    that happened before (an SMS sent again inside a window that closed meanwhile), is
    refused saying so."""

    event: Event
    from_state: State
    fell_due_at: datetime


@dataclass(frozen=True)
class OrderFacts:
    """What the machine's order-aware guards and ``until`` conditions read of one order;
    ``left_by_deadline`` only when the event does not leave from the order's state."""

    kind: OrderKind
    verifiers: tuple[VerifierFacts, ...] = ()
    record: Record = Record()
    left_by_deadline: Departure | None = None

    def pending(self) -> tuple[VerifierFacts, ...]:
        return tuple(v for v in self.verifiers if v.result is VerifierResult.PENDING)


def _all_verified(order: OrderFacts, data: EventData) -> bool:
    """No one is left once this answer counts (``verifier`` omitted: everyone answered)."""
    assert isinstance(data, VerifierData)
    if data.verifier is None:
        return True
    return all(v.role == data.verifier for v in order.pending())


def _wrong_entry_limit(order: OrderFacts, data: EventData) -> bool:
    assert isinstance(data, WrongEntryData)
    named = next((v for v in order.verifiers if v.role == data.verifier), None)
    return named is not None and named.wrong_entries + 1 >= SMS_WRONG_ENTRY_LIMIT


# Conditions an event with ``until`` reads off its (parsed) data to decide whether it moves.
UNTIL: dict[str, Callable[[OrderFacts, EventData], bool]] = {
    "all_verified": _all_verified,
    "wrong_entry_limit": _wrong_entry_limit,
}
