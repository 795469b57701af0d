"""The filing workflow, declared once as data.

The shared state machine, the guards it runs, the deadlines each state arms, the API
docs, the CLI help, the diagram and the dashboard are all derived from the three tables
below; change the process here and everything else follows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, cast

from pydantic import Field, PlainSerializer, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from config.settings import Settings
from workflow.domain.event_data import (
    DocumentData,
    EventData,
    FellDueData,
    IcpNumberData,
    MaterialsData,
    ReasonData,
    ResubmissionData,
    ServiceNumberData,
    SmsSentData,
    VerifierData,
    WrongEntryData,
)


class State(StrEnum):
    DOMAIN_REGISTERED = "domain_registered"
    SERVICE_NUMBER_BOUND = "service_number_bound"
    PRE_APPROVAL_PENDING = "pre_approval_pending"
    DRAFT = "draft"
    SUBMITTED = "submitted"
    HOST_RETURNED = "host_returned"
    HOST_PRE_APPROVED = "host_pre_approved"
    SMS_PENDING = "sms_pending"
    MIIT_PENDING = "miit_pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"


class Event(StrEnum):
    """An event of the workflow, by the name the API, the CLI and a filing's history give it;
    ``GET /api/v1/workflow`` says what each does (``EVENTS``, its one declaration)."""

    BIND_SERVICE_NUMBER = "bind_service_number"
    REQUEST_PRE_APPROVAL = "request_pre_approval"
    GRANT_PRE_APPROVAL = "grant_pre_approval"
    DENY_PRE_APPROVAL = "deny_pre_approval"
    SUBMIT = "submit"
    HOST_APPROVE = "host_approve"
    SMS_SENT = "sms_sent"
    FORWARD_TO_MIIT = "forward_to_miit"
    HOST_RETURN = "host_return"
    RESUBMIT = "resubmit"
    VERIFY_SMS = "verify_sms"
    SMS_WRONG_ENTRY = "sms_wrong_entry"
    EXPIRE_SMS = "expire_sms"
    SMS_RESENT = "sms_resent"
    MIIT_APPROVE = "miit_approve"
    MIIT_REJECT = "miit_reject"
    LAPSE = "lapse"
    WITHDRAW = "withdraw"


class Actor(StrEnum):
    """Who must act for an order to leave a state; idle orders lapse only on the applicant."""

    APPLICANT = "applicant"
    HOST = "host"
    REGULATOR = "regulator"
    MIIT = "miit"


@dataclass(frozen=True)
class StateSpec:
    """A state: its Chinese name (``label_zh``), what it means in English and in Chinese
    (``meaning_zh``), who must act there and whether it ends the order."""

    name: State
    label_zh: str
    meaning: str
    acts: Actor | None = None
    terminal: bool = False
    meaning_zh: str = ""
    # A terminal state the order reaches without what it was filed for: leading there is
    # a loss the console marks as such (approval ends an order too, and is no loss).
    abandoned: bool = False
    # The default of its STUCK_WORKING_DAYS figure (``workflow.domain.overrides``), declared
    # with the state so that a state added has one; none where the order ends. Working days,
    # as the host's and the bureau's clocks run: a weekend or a holiday with no move is no sign
    # of trouble. ``GET /workflow`` leaves it out: a default, not the figure in force.
    stuck_working_days: SkipJsonSchema[Annotated[int | None, Field(exclude=True)]] = None

    @property
    def label(self) -> str:
        """What pages call it: its name, which the API and the CLI show, and its Chinese
        label, ``miit_pending 管局审核中``."""
        return f"{self.name.value} {self.label_zh}"


# Words the keys spell in lower case that English writes in capitals.
_ACRONYMS = frozenset({"api", "icp", "id", "ip", "miit", "psb", "sla", "sms", "url"})


def in_words(key: str) -> str:
    """A key's words as English writes them: ``miit_sla_breach`` -> ``MIIT SLA breach``."""
    words = [word.upper() if word in _ACRONYMS else word for word in key.split("_")]
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


def spoken(key: str, label_zh: str) -> str:
    """What pages call a declared event, deadline or duty: its key's words in English and its
    short Chinese name, ``Bind service number 绑定备案服务号``, ``SMS expiry 短信核验截止``."""
    return f"{in_words(key)} {label_zh}".strip()


def _data_schema(model: type[EventData]) -> dict[str, Any]:
    return model.model_json_schema()


# Published (GET /workflow) as the JSON schema of the data, so clients read what to send.
DataModel = Annotated[
    type[EventData],
    PlainSerializer(_data_schema, return_type=dict[str, Any]),
    WithJsonSchema({"type": "object", "description": "JSON schema of the event's data"}),
]


class Unit(StrEnum):
    """What a deadline's figure counts: calendar time from when it is armed (weekends
    included, as the SMS window runs), or working days on the official calendar."""

    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"
    WORKING_DAYS = "working_days"


class Audience(StrEnum):
    """Who a notice goes to: a team, reached by its routes in ``NOTIFY_ROUTES``, which the
    settings key by these values (checked at start-up: config cannot import this enum)."""

    CASE_MANAGER = "case_manager"
    OPS = "ops"

    @property
    def said(self) -> tuple[str, str]:
        """The team in English and Chinese, as a deadline's meaning names it."""
        return _AUDIENCES_SAID[self.value]


_AUDIENCES_SAID = {"case_manager": ("the case manager", "经办人"), "ops": ("ops", "运维")}


class Per(StrEnum):
    """What a deadline's figure given as a mapping is keyed by: the state entered or the
    order's kind."""

    STATE = "state"
    KIND = "kind"


@dataclass(frozen=True)
class EventSpec:
    """An event: where it may fire from, where it leads, what must hold and what it carries.

    ``zh`` is the description in Chinese, ``label_zh`` the event's short Chinese name (its
    form's title). ``guards`` name entries of ``workflow.domain.guards.GUARDS`` (they read
    the filing and the event's data) or of ``ORDER_GUARDS`` (the order's records too, which
    the service queries only for the events naming them); ``offered_if`` those of
    ``GUARDS`` the filing's facts alone decide, never the data, which its offer checks too;
    ``data`` is the model of what the event carries (the service validates against it,
    the docs show it); ``notify`` says whether ``audience`` hears of it at once, and
    ``tells_icp_number`` whether that notice gives the filing's ICP number; ``automatic``
    events are fired by the system (the scheduler), never by hand. ``until`` names a
    condition (``orders.UNTIL``) without which the event records itself and the order stays
    where it is.
    """

    name: Event
    sources: tuple[State, ...]
    dest: State
    description: str
    zh: str = ""
    label_zh: str = ""
    guards: tuple[str, ...] = ()
    # A factory, not a default: a class as a default value has no JSON form for the schema.
    data: DataModel = field(default_factory=lambda: EventData)
    notify: bool = False
    audience: Audience = Audience.CASE_MANAGER
    tells_icp_number: bool = False
    automatic: bool = False
    until: str | None = None
    # What its form offers to do, in English and Chinese, where the description (its notice's
    # words, which tell of it done) would read on the form as done already.
    offers: str = ""
    offers_zh: str = ""
    # Those of ``guards`` that also decide whether the event is offered (``allowed_events``):
    # guards of ``GUARDS`` that read the filing's own facts, never the event's data, so the
    # filing alone tells whether they refuse it, and an event they refuse would only come
    # back refused when fired (``request_pre_approval`` where no pre-approval is needed).
    # Only these are run for the offer: a filing is described in every event's reply.
    # ``GET /workflow`` leaves it out: how the offer is computed, not what the event does.
    offered_if: SkipJsonSchema[Annotated[tuple[str, ...], Field(exclude=True)]] = ()

    @property
    def data_keys(self) -> tuple[str, ...]:
        return tuple(self.data.model_fields)

    @property
    def irreversible(self) -> bool:
        """Whether nothing undoes it: it ends the order (its destination is a terminal state,
        withdrawn or approved), which goes no further. Its form asks to confirm it."""
        return STATES_BY_NAME[self.dest].terminal

    @property
    def reenters(self) -> bool:
        """Whether the event arms its state's deadlines afresh (an SMS sent again): it stays
        where it is, entered when it was, yet what the state waits for starts again from it.
        An event that stays until a condition holds (one SMS answer of several) keeps them."""
        return self.dest in self.sources and self.until is None

    @property
    def label(self) -> str:
        """What pages call it, in English (its name's words) and Chinese (``label_zh``), as
        they call a state or an order kind: ``Bind service number 绑定备案服务号``."""
        return spoken(self.name, self.label_zh)


class Channel(StrEnum):
    """What a notification can go out on; the worker layer implements exactly these."""

    LOG = "log"
    EMAIL = "email"
    WEBHOOK = "webhook"
    CHAT = "chat"


class Flag(StrEnum):
    """What a filing held up is: stuck (no move in its state for too long) or overdue (past a
    deadline with a limit of its own). Two flags, two ops lists, never one word for both: each
    is named and explained here, for the pages, the API and the CLI alike."""

    STUCK = "stuck"
    OVERDUE = "overdue"

    @property
    def kinds(self) -> tuple[str, ...]:
        """The deadlines whose passing raises the flag."""
        return STUCK_KINDS if self is Flag.STUCK else OVERDUE_KINDS

    @property
    def label(self) -> str:
        """What pages call it, in English and Chinese."""
        return _FLAG_LABELS[self]

    @property
    def meaning(self) -> str:
        """What it says of a filing, for the API's fields and the CLI's help."""
        if self is Flag.STUCK:
            return (
                "no move in its state for longer than the state's STUCK_WORKING_DAYS "
                "(its stuck deadline passed)"
            )
        return "past a deadline with a limit of its own: " + ", ".join(OVERDUE_KINDS)


_FLAG_LABELS = {Flag.STUCK: "stuck 停滞", Flag.OVERDUE: "overdue 逾期"}


# What a deadline's setting holds: a number, one per deadline in a list, or one per state.
Figure = float | Sequence[float] | Mapping[str, float] | None


class _SettingProbe:
    """Stands in for ``Settings`` and answers every attribute with its own name."""

    def __getattr__(self, name: str) -> str:
        return name


def setting_name(figure: Callable[[Settings], Figure]) -> str:
    """The ``Settings`` field an accessor such as ``lambda s: s.sms_window_hours`` reads.

    The accessor is what mypy checks against ``Settings``; its name (for the API and the
    docs) is read off it by calling it on a probe, so the name is never written twice.
    """
    name = cast(object, figure(cast(Settings, _SettingProbe())))
    if not isinstance(name, str) or name not in Settings.model_fields:
        raise TypeError("a deadline's figure must read one Settings field, as s.<field>")
    return name


@dataclass(frozen=True)
class DeadlineSpec:
    """Deadlines a state arms on entry; ``figure`` reads the figure from ``Settings``.

    The figure may be a number, a list of numbers (one deadline each, e.g. reminders at 12 h
    and 20 h) or a mapping to a number from the state entered (``Per.STATE``, per-state
    thresholds) or from the order's kind (``Per.KIND``). When a deadline is
    due the scheduler notifies ``audience`` and, if ``event`` is set, fires that event.
    ``overdue`` marks deadlines whose passing means the filing is late, not merely reminded;
    ``reminds_of`` names the deadline a reminder's notice gives the due time of (its own time
    is only when it is sent). ``awaits`` names the event a deadline waits for: it is armed only
    for an order whose kind's path has that event (no SMS is awaited on a cancel-access order,
    which goes on by ``forward_to_miit``). ``by_end_of_day`` makes it due at 24:00 Beijing of
    its last day, not at the time of day it was armed: a limit of N working days runs all its
    last day.
    ``setting`` is derived from ``figure``: the field's name as API clients see it. ``zh``
    is the description in Chinese, ``label_zh`` the deadline's short Chinese name. ``source``
    is the public source of its rule (a decree's article, a host's page by its title), kept
    out of the description: a page lists each source once however many deadlines cite it.
    """

    kind: str
    states: tuple[State, ...]
    unit: Unit
    figure: SkipJsonSchema[Annotated[Callable[[Settings], Figure], Field(exclude=True)]]
    audience: Audience
    description: str
    zh: str = ""
    label_zh: str = ""
    event: Event | None = None
    overdue: bool = False
    stuck: bool = False
    reminds_of: str | None = None
    awaits: Event | None = None
    per: Per = Per.STATE
    by_end_of_day: bool = False
    source: str = ""
    # Its English name where its key's words would mislead (``resubmit_overdue`` read "Resubmit
    # overdue: due in 6 d", late before it was due); else the key's words (``in_words``).
    title: str = ""
    setting: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "setting", setting_name(self.figure))

    @property
    def words(self) -> str:
        """Its English name: ``SMS expiry``, ``Resubmission due``."""
        return self.title or in_words(self.kind)

    @property
    def label(self) -> str:
        """What pages call it, as they call an event: ``SMS expiry 短信核验截止``."""
        return f"{self.words} {self.label_zh}".strip()

    @property
    def flag(self) -> Flag | None:
        """What its passing makes of the filing; none for a reminder, which is only sent."""
        return Flag.STUCK if self.stuck else Flag.OVERDUE if self.overdue else None


STATES: tuple[StateSpec, ...] = (
    StateSpec(
        State.DOMAIN_REGISTERED,
        "域名已实名",
        "Domain registered and real-name verified.",
        Actor.APPLICANT,
        meaning_zh="域名已注册并完成实名认证。",
        stuck_working_days=10,
    ),
    StateSpec(
        State.SERVICE_NUMBER_BOUND,
        "已绑定备案服务号",
        "Bei'an service number bound to a mainland server.",
        Actor.APPLICANT,
        meaning_zh="已为大陆服务器绑定接入商的备案服务号。",
        stuck_working_days=10,
    ),
    StateSpec(
        State.PRE_APPROVAL_PENDING,
        "前置审批中",
        "Sector regulator's pre-approval in progress.",
        Actor.REGULATOR,
        meaning_zh="行业主管部门前置审批中。",
        stuck_working_days=20,
    ),
    StateSpec(
        State.DRAFT,
        "待完善备案信息",
        "Order opened for a record on file; the applicant completes it and submits.",
        Actor.APPLICANT,
        meaning_zh="已为在案备案开启订单，待申请人完善后提交。",
        stuck_working_days=10,
    ),
    StateSpec(
        State.SUBMITTED,
        "已提交接入商初审",
        "Application with the host for pre-review.",
        Actor.HOST,
        meaning_zh="备案申请在接入商初审中。",
        stuck_working_days=5,  # after the host's review is overdue (2-3 working days)
    ),
    StateSpec(
        State.HOST_RETURNED,
        "接入商退回",
        "Host sent the application back for correction.",
        Actor.APPLICANT,
        meaning_zh="接入商退回备案申请，待修改。",
        stuck_working_days=7,  # after the resubmission is overdue (5)
    ),
    StateSpec(
        State.HOST_PRE_APPROVED,
        "待提交管局",
        "Host passed it; waiting for it to reach the bureau (MIIT's SMS, where the kind has one).",
        Actor.HOST,
        meaning_zh="接入商初审通过，等待提交管局（需短信核验的订单类型等待工信部短信）。",
        # The host passes an order to the bureau in 1-3 working days (docs/domain-facts.md, TX
        # 备案审核.md).
        stuck_working_days=3,
    ),
    StateSpec(
        State.SMS_PENDING,
        "待短信核验",
        "MIIT sent its SMS: every listed person answers within {sms_window_hours:g} h of it.",
        Actor.APPLICANT,
        meaning_zh="工信部已发送核验短信：每位需核验的负责人须在{sms_window_hours:g}小时内完成核验。",
        stuck_working_days=1,  # the 24 h window returns the order first
    ),
    StateSpec(
        State.MIIT_PENDING,
        "管局审核中",
        "Provincial communications administration reviewing.",
        Actor.MIIT,
        meaning_zh="省通信管理局审核中。",
        # A week after the 6-week SLA breach, which escalates already (not at once with it).
        stuck_working_days=35,
    ),
    StateSpec(
        State.APPROVED,
        "审核通过",
        "The bureau approved the order; the record is updated (numbers issued, changes "
        "written, or the cancellation done).",
        terminal=True,
        meaning_zh="管局审核通过，备案信息已更新（备案号下发、变更写入或注销完成）。",
    ),
    StateSpec(
        State.REJECTED,
        "审核驳回",
        "Refused or returned by MIIT, or pre-approval denied.",
        Actor.APPLICANT,
        meaning_zh="管局驳回或退回，或前置审批未通过。",
        stuck_working_days=10,
    ),
    StateSpec(
        State.LAPSED,
        "订单已失效",
        "Waited on the applicant over {idle_lapse_days} days: the host keeps the data; resubmit to "
        "first review.",
        Actor.APPLICANT,
        meaning_zh="等待申请人处理超过{idle_lapse_days}天，订单已失效：接入商保留资料，需重新提交初审。",
        stuck_working_days=20,
    ),
    StateSpec(
        State.WITHDRAWN,
        "已撤回",
        "Abandoned.",
        terminal=True,
        abandoned=True,
        meaning_zh="订单已撤回，不再继续办理。",
    ),
)

TERMINAL_STATES: tuple[State, ...] = tuple(s.name for s in STATES if s.terminal)
NON_TERMINAL_STATES: tuple[State, ...] = tuple(s.name for s in STATES if not s.terminal)
INITIAL_STATE = State.DOMAIN_REGISTERED
# Where an idle order lapses: the applicant must act, and no shorter clock of its own runs
# (the SMS window returns the order within a day; a lapsed order has lapsed already).
IDLE_STATES: tuple[State, ...] = tuple(
    s.name
    for s in STATES
    if s.acts is Actor.APPLICANT and s.name not in (State.SMS_PENDING, State.LAPSED)
)
# Wrong SMS codes in a row that return the order (Huawei kb/procedures/备案短信核验.md).
SMS_WRONG_ENTRY_LIMIT = 5

EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        Event.BIND_SERVICE_NUMBER,
        # A lapsed order binds before it goes back to review: its first number if it lapsed
        # before binding (submit needs one), or a new server's if it moves.
        (State.DOMAIN_REGISTERED, State.LAPSED),
        State.SERVICE_NUMBER_BOUND,
        "Bind the host's Bei'an service number for a mainland server.",
        zh="为大陆服务器绑定接入商的备案服务号。",
        label_zh="绑定备案服务号",
        guards=("service_number", "service_number_free"),
        data=ServiceNumberData,
    ),
    EventSpec(
        Event.REQUEST_PRE_APPROVAL,
        # A denial (or MIIT's rejection for a missing pre-approval) is no dead end: the
        # applicant may apply to the regulator again, and only a grant lets submit pass.
        (State.SERVICE_NUMBER_BOUND, State.REJECTED),
        State.PRE_APPROVAL_PENDING,
        "Ask the sector regulator for pre-approval (前置审批).",
        zh="向行业主管部门申请前置审批。",
        label_zh="申请前置审批",
        guards=("pre_approval_needed",),
        # Most sectors need none: their orders are not offered a request refused on firing.
        offered_if=("pre_approval_needed",),
    ),
    EventSpec(
        Event.GRANT_PRE_APPROVAL,
        (State.PRE_APPROVAL_PENDING,),
        State.SERVICE_NUMBER_BOUND,
        "Record the regulator's pre-approval document.",
        zh="登记行业主管部门的前置审批文件。",
        label_zh="前置审批通过",
        data=DocumentData,
    ),
    EventSpec(
        Event.DENY_PRE_APPROVAL,
        (State.PRE_APPROVAL_PENDING,),
        State.REJECTED,
        "The regulator refused pre-approval.",
        zh="行业主管部门未通过前置审批。",
        label_zh="前置审批未通过",
        data=ReasonData,
        notify=True,
    ),
    EventSpec(
        Event.SUBMIT,
        (State.SERVICE_NUMBER_BOUND, State.DRAFT),
        State.SUBMITTED,
        "Submit the application and its materials to the host.",
        zh="向接入商提交备案申请及材料。",
        label_zh="提交接入商初审",
        guards=("submission", "ready_to_submit", "authorisation"),
        # An order without its pre-approval or service number is not offered a submission
        # refused on firing: it is offered to request the one or bind the other.
        offered_if=("ready_to_submit",),
        data=MaterialsData,
    ),
    EventSpec(
        Event.HOST_APPROVE,
        (State.SUBMITTED,),
        State.HOST_PRE_APPROVED,
        "The host passed pre-review; the order goes on to the bureau.",
        zh="接入商初审通过，订单将提交管局。",
        label_zh="接入商初审通过",
        notify=True,
    ),
    EventSpec(
        Event.SMS_SENT,
        (State.HOST_PRE_APPROVED,),
        State.SMS_PENDING,
        "MIIT sent its SMS: each listed person has {sms_window_hours:g} h to answer it.",
        zh="工信部已发送核验短信：每位需核验的负责人须在{sms_window_hours:g}小时内完成核验。",
        label_zh="工信部短信已发送",
        guards=("sms_sent_at",),
        data=SmsSentData,
        notify=True,
    ),
    EventSpec(
        Event.FORWARD_TO_MIIT,
        (State.HOST_PRE_APPROVED,),
        State.MIIT_PENDING,
        "The host passed the order to the bureau (kinds without an SMS check).",
        zh="接入商已将订单提交管局（无需短信核验的订单类型）。",
        label_zh="提交管局",
    ),
    EventSpec(
        Event.HOST_RETURN,
        (State.SUBMITTED,),
        State.HOST_RETURNED,
        "The host sent the application back for correction.",
        zh="接入商退回备案申请，请修改后重新提交。",
        label_zh="接入商退回",
        data=ReasonData,
        notify=True,
    ),
    EventSpec(
        Event.RESUBMIT,
        (State.HOST_RETURNED, State.REJECTED, State.LAPSED),
        State.SUBMITTED,
        "Submit the corrected application again.",
        zh="重新提交修改后的备案申请。",
        label_zh="重新提交",
        guards=("submission", "ready_to_submit", "authorisation"),
        offered_if=("ready_to_submit",),
        data=ResubmissionData,
    ),
    EventSpec(
        Event.VERIFY_SMS,
        (State.SMS_PENDING,),
        State.MIIT_PENDING,
        "A listed person (or, without one named, every one left) answered MIIT's SMS; "
        "the order moves on when all have.",
        zh="一位需核验的负责人（未指明时为其余全部）已完成工信部短信核验；全部完成后订单继续。",
        label_zh="完成短信核验",
        guards=("sms_verifier",),
        data=VerifierData,
        until="all_verified",
    ),
    EventSpec(
        Event.SMS_WRONG_ENTRY,
        (State.SMS_PENDING,),
        State.HOST_RETURNED,
        "A listed person entered a wrong SMS code; the fifth in a row returns the order.",
        zh="需核验的负责人输入了错误的短信验证码；连续第五次错误将退回订单。",
        label_zh="短信验证码错误",
        guards=("sms_verifier",),
        data=WrongEntryData,
        notify=True,
        until="wrong_entry_limit",
    ),
    # An automatic event's deadline tells its audience (``sms_expiry``, ``idle_lapse``): a
    # notice of the event too would say it twice to the same people.
    EventSpec(
        Event.EXPIRE_SMS,
        (State.SMS_PENDING,),
        State.HOST_RETURNED,
        "The {sms_window_hours:g} h SMS verification window passed unanswered.",
        zh="{sms_window_hours:g}小时短信核验时限已过，未完成核验。",
        label_zh="短信核验超时",
        data=FellDueData,
        automatic=True,
    ),
    EventSpec(
        Event.SMS_RESENT,
        (State.SMS_PENDING,),
        State.SMS_PENDING,
        "MIIT sent its SMS again: whoever has not answered has {sms_window_hours:g} h from it.",
        zh="工信部重新发送了核验短信：尚未核验的负责人自重发起有{sms_window_hours:g}小时完成核验。",
        label_zh="工信部短信已重发",
        guards=("sms_sent_at",),
        data=SmsSentData,
        notify=True,
    ),
    EventSpec(
        Event.MIIT_APPROVE,
        (State.MIIT_PENDING,),
        State.APPROVED,
        "MIIT approved the order: the record is updated (numbers issued, changed or cancelled).",
        zh="管局审核通过：备案信息已更新（备案号下发、变更或注销）。",
        label_zh="管局审核通过",
        guards=("record_number",),
        data=IcpNumberData,
        notify=True,
        tells_icp_number=True,
    ),
    EventSpec(
        Event.MIIT_REJECT,
        (State.MIIT_PENDING,),
        State.REJECTED,
        "MIIT refused or returned the filing.",
        zh="管局驳回或退回了备案。",
        label_zh="管局驳回",
        data=ReasonData,
        notify=True,
    ),
    EventSpec(
        Event.LAPSE,
        IDLE_STATES,
        State.LAPSED,
        "Waited on the applicant for {idle_lapse_days} days: the order lapses; the host keeps its "
        "data.",
        zh="等待申请人处理已满{idle_lapse_days}天：订单失效，接入商保留资料。",
        label_zh="订单失效",
        data=FellDueData,
        automatic=True,
    ),
    EventSpec(
        Event.WITHDRAW,
        NON_TERMINAL_STATES,
        State.WITHDRAWN,
        "The order was withdrawn: it goes no further.",
        zh="订单已撤回，不再继续办理。",
        label_zh="撤回订单",
        offers="Withdraw the order: it goes no further.",
        offers_zh="撤回订单，不再继续办理。",
        data=ReasonData,
        notify=True,
    ),
)

# When an order waiting on its applicant lapses, and the reminders before (docs/domain-facts.md,
# "Idle orders").
_IDLE_SOURCE = "Tencent Cloud documentation, 关于增加备案订单有效期的通知"

DEADLINES: tuple[DeadlineSpec, ...] = (
    # Nothing else runs between the host's pass and MIIT's SMS but the stuck clock, 3 working
    # days: the SMS is due within a day, so a day without one is worth a look.
    DeadlineSpec(
        "sms_arrival_reminder",
        (State.HOST_PRE_APPROVED,),
        Unit.HOURS,
        lambda s: s.sms_arrival_reminder_hours,
        Audience.CASE_MANAGER,
        "No MIIT SMS is recorded yet: it usually arrives within a day of the host's pass. Record "
        "sms_sent when it arrives, or check with the applicant and the host.",
        zh="尚未登记工信部核验短信：短信通常在接入商初审通过后一天内发出。收到后请登记"
        "“工信部短信已发送”（sms_sent），或向申请人、接入商确认。",
        label_zh="短信未到提醒",
        awaits=Event.SMS_SENT,
        source="help.aliyun.com/en/icp-filing/basic-icp-service/user-guide/sms-check (the "
        'MIIT SMS "may be delayed"); how long to wait before a look is ours',
    ),
    DeadlineSpec(
        "sms_reminder",
        (State.SMS_PENDING,),
        Unit.HOURS,
        lambda s: s.sms_reminder_hours,
        Audience.CASE_MANAGER,
        "Remind the applicant to answer MIIT's SMS verification.",
        zh="请提醒申请人在到期时间前完成工信部短信核验。",
        label_zh="短信核验提醒",
        reminds_of="sms_expiry",
    ),
    DeadlineSpec(
        "sms_expiry",
        (State.SMS_PENDING,),
        Unit.HOURS,
        lambda s: s.sms_window_hours,
        Audience.CASE_MANAGER,
        "The SMS verification window closes; the application returns to the host.",
        zh="短信核验时限届满，备案将退回接入商。",
        label_zh="短信核验截止",
        event=Event.EXPIRE_SMS,
        overdue=True,
    ),
    DeadlineSpec(
        "host_review_overdue",
        (State.SUBMITTED,),
        Unit.WORKING_DAYS,
        lambda s: s.host_review_working_days,
        Audience.CASE_MANAGER,
        "The host's pre-review falls due; past it, it is overdue.",
        zh="接入商初审到期，逾期即为超时。",
        label_zh="接入商初审到期",
        title="Host review due",
        overdue=True,
        per=Per.KIND,
    ),
    DeadlineSpec(
        "resubmit_overdue",
        (State.HOST_RETURNED, State.REJECTED),
        Unit.WORKING_DAYS,
        lambda s: s.resubmit_working_days,
        Audience.CASE_MANAGER,
        "The corrections fall due for resubmission; past it, they are overdue.",
        zh="退回修改后的重新提交到期，逾期即为超时。",
        label_zh="重新提交到期",
        title="Resubmission due",
        overdue=True,
    ),
    DeadlineSpec(
        "miit_reminder",
        (State.MIIT_PENDING,),
        Unit.WEEKS,
        lambda s: s.miit_reminder_weeks,
        Audience.CASE_MANAGER,
        "MIIT review is taking long; check with the host.",
        zh="管局审核时间较长，请与接入商确认进度。",
        label_zh="管局审核提醒",
        reminds_of="miit_legal_limit",
    ),
    DeadlineSpec(
        "miit_legal_limit",
        (State.MIIT_PENDING,),
        Unit.WORKING_DAYS,
        lambda s: s.miit_legal_limit_working_days,
        Audience.CASE_MANAGER,
        "The bureau's legal limit of {miit_legal_limit_working_days} working days ends.",
        zh="管局{miit_legal_limit_working_days}个工作日的法定审核时限届满。",
        label_zh="管局法定审核时限",
        overdue=True,
        by_end_of_day=True,
        source="Decree 33, Art. 12",
    ),
    DeadlineSpec(
        "miit_sla_breach",
        (State.MIIT_PENDING,),
        Unit.WEEKS,
        lambda s: s.miit_breach_weeks,
        Audience.OPS,
        "MIIT review reaches the {miit_breach_weeks:g}-week SLA: past it, escalate.",
        zh="管局审核达到{miit_breach_weeks:g}周时限，逾期请升级处理。",
        label_zh="管局审核超时升级",
        overdue=True,
    ),
    DeadlineSpec(
        "stuck",
        NON_TERMINAL_STATES,
        Unit.WORKING_DAYS,
        lambda s: s.stuck_working_days,
        Audience.OPS,
        "No transition for longer than this state's threshold.",
        zh="该备案在当前状态停留过久。",
        label_zh="停滞",
        stuck=True,
    ),
    DeadlineSpec(
        "idle_reminder",
        IDLE_STATES,
        Unit.DAYS,
        lambda s: s.idle_reminder_days,
        Audience.CASE_MANAGER,
        "This order waits on the applicant. Unless they act, it lapses after {idle_lapse_days} "
        "days: the host keeps the data and the applicant must resubmit it to first review.",
        zh="该订单正在等待申请人处理；{idle_lapse_days}天内未处理将失效，接入商保留资料，申请人需重新提交初审。",
        label_zh="待申请人处理提醒",
        reminds_of="idle_lapse",
        source=_IDLE_SOURCE,
    ),
    DeadlineSpec(
        "idle_escalation",
        IDLE_STATES,
        Unit.DAYS,
        lambda s: s.idle_escalate_days,
        Audience.OPS,
        "This order, waiting on the applicant, lapses soon and must then be resubmitted: escalate.",
        zh="该订单即将失效，失效后需重新提交，请升级处理。",
        label_zh="即将失效升级",
        overdue=True,
        reminds_of="idle_lapse",
    ),
    DeadlineSpec(
        "idle_lapse",
        IDLE_STATES,
        Unit.DAYS,
        lambda s: s.idle_lapse_days,
        Audience.CASE_MANAGER,
        "After {idle_lapse_days} days waiting on the applicant the order lapses: the host keeps "
        "the data; the applicant must resubmit it to first review.",
        zh="订单等待申请人满{idle_lapse_days}天即失效；接入商保留资料，申请人需重新提交初审。",
        label_zh="订单失效",
        event=Event.LAPSE,
        source=_IDLE_SOURCE,
    ),
)

EVENTS_BY_NAME: dict[str, EventSpec] = {e.name: e for e in EVENTS}
STATES_BY_NAME: dict[str, StateSpec] = {s.name.value: s for s in STATES}
DEADLINES_BY_KIND: dict[str, DeadlineSpec] = {d.kind: d for d in DEADLINES}
OVERDUE_KINDS: tuple[str, ...] = tuple(d.kind for d in DEADLINES if d.overdue)
STUCK_KINDS: tuple[str, ...] = tuple(d.kind for d in DEADLINES if d.stuck)
# Deadlines whose firing moves the filing on (the SMS window's expiry, the idle lapse).
EVENT_DEADLINE_KINDS: tuple[str, ...] = tuple(d.kind for d in DEADLINES if d.event is not None)
# Deadlines counted in working days: a holiday schedule loaded or corrected moves them.
WORKING_DAY_KINDS: tuple[str, ...] = tuple(d.kind for d in DEADLINES if d.unit is Unit.WORKING_DAYS)
# Deadlines that only tell someone: no event fired, the filing not late or stuck when passed.
REMINDER_KINDS: tuple[str, ...] = tuple(
    d.kind for d in DEADLINES if d.event is None and not d.overdue and not d.stuck
)
MANUAL_EVENTS: tuple[Event, ...] = tuple(e.name for e in EVENTS if not e.automatic)
# The first entry of every order's history: its opening, no event of the machine, yet named
# on pages as the events after it are.
OPENING = "create"
OPENING_LABEL = spoken(OPENING, "创建订单")


def event_named(event: str) -> str:
    """An event as its form is titled (``EventSpec.label``), or the order's opening, the
    history's entry of its own (``OPENING_LABEL``); one no longer declared, by its key. One
    naming for the console's pages and the CLI's lines alike."""
    spec = EVENTS_BY_NAME.get(event)
    if spec is not None:
        return spec.label
    return OPENING_LABEL if event == OPENING else event


@cache
def deadlines_for(state: str) -> tuple[DeadlineSpec, ...]:
    """Asked on every event; the declaration never changes while running, so asked once."""
    return tuple(d for d in DEADLINES if state in d.states)
