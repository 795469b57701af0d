"""The console's forms, derived from the models the API reads: one input per field, so a new
event, duty or field shows up in the browser without touching a template. Here the event
forms, one per allowed event from its data model (``EventSpec.data``); ``web.duty_forms``
builds those of the duties after approval the same way.

A list field is a set of checkboxes (the materials the rules require of this filing), an enum
field a drop-down of its members (a verifier: of the people still to answer the SMS), a time
a date-and-time picker (its value has no offset, so it is read as Beijing time), a day a date
picker, a count a number, every other field a text input; only the fields the model requires
are required, and the approval's ICP number only where the order's kind issues one (required
for a first filing, left out where none is issued). Posted forms become the same commands the
API builds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import Enum
from itertools import groupby
from typing import Any, TypeVar, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from starlette.datastructures import FormData, ImmutableMultiDict

from config.settings import get_settings
from workflow.domain.bounded import stripped
from workflow.domain.definition import (
    EVENTS_BY_NAME,
    MANUAL_EVENTS,
    STATES_BY_NAME,
    EventSpec,
    State,
    spoken,
)
from workflow.domain.errors import IcpflowError, renamed
from workflow.domain.event_data import VerifierRole
from workflow.domain.guards import AUTHORISATION_LETTER, required_materials
from workflow.domain.orders import NumberAsked, kind_spec
from workflow.domain.rules import Rules
from workflow.domain.wording import ByDefault, ConsoleHelp, Example, counted, worded
from workflow.schemas import FilingOut

Held = TypeVar("Held")
# What a form's refusal says after its title (``Form.headline``).
_REFUSED = "refused 未通过"

# What the page calls each field in Chinese; the English is the field's name itself.
ZH = {
    "service_number": "备案服务号",
    "server_ip": "服务器 IP",
    "materials": "材料",
    "document": "前置审批文件",
    "reason": "原因",
    "icp_number": "ICP 备案号",
    "sent_at": "短信发送时间（北京时间）",
    "live_on": "上线日期",
    "home_url": "首页地址",
    "psb_number": "公安备案号",
    "expires_on": "到期日",
    "left_on": "迁出日期",
    "reference": "通知文号",
    "working_days": "工作日",
    "detail": "整改内容",
    "replaces": "更正",
    "rectification": "整改通知",
    "received_on": "收到日期",
    "domain": "域名",
    "domain_expires_on": "域名到期日",
    "province": "省份",
    "licence": "许可类型",
    "applicant_type": "主体类型",
    "applicant_name": "主体名称",
    "id_type": "证件类型",
    "id_number": "证件号码",
    "phone": "手机号码",
    "mobile": "手机号码",
    "email": "电子邮箱",
    "legal_representative": "是否法定代表人",
    "responsible": "主体负责人",
    "responsible_id_type": "主体负责人证件类型",
    "responsible_id_number": "主体负责人证件号码",
    "site_name": "网站名称",
    "sector": "行业",
    "domain_registrant": "域名持有者",
    "domain_real_name_verified": "域名已实名认证",
    "app_identifier": "包名或 Bundle ID",
    "android": "安卓",
    "ios": "iOS ",
    "harmonyos": "鸿蒙",
    "package": "包名或 Bundle ID",
    "public_key": "证书公钥",
    "fingerprint": "证书指纹",
    "record_number": "已有备案号",
    "entity_name": "主体名称",
    "service_name": "网站/App 名称",
}


@dataclass(frozen=True)
class Choice:
    key: str
    label: str
    checked: bool


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Group:
    """Inputs a form shows together, folded away under ``title`` (a ``<details>``) since
    most of its orders need none of them; ``note`` says which do."""

    title: str
    note: str


@dataclass(frozen=True)
class Input:
    name: str
    label: str
    description: str
    choices: tuple[Choice, ...] | None  # checkboxes when set
    options: tuple[Option, ...] | None  # a drop-down when set, an <input> when neither is
    required: bool
    html_type: str = "text"  # the <input>'s type
    default: str | None = None  # the option chosen until someone chooses another
    implied: str | None = None  # what the model takes when it is left out
    max_length: int | None = None  # the most characters its model takes, said in ``help``
    group: Group | None = None  # the inputs it is shown folded away with, if any
    # The labels of what the event sends again whether ticked or not (a resubmission's
    # materials on file), said above the boxes: ticked, they would read as a choice.
    on_file: tuple[str, ...] = ()
    # A value its format takes (``wording.Example``), said in ``help`` instead of a length.
    example: str | None = None

    @property
    def help(self) -> str:
        """What the page says under the input: its description and, for text typed, an
        example of its format where it declares one, else the most characters it takes; for
        a choice (a drop-down, boxes) neither: nothing is typed. The limit is said, not a
        ``maxlength``: a browser counts that in UTF-16 code units, two for a character beyond
        the BMP (𠀀 and the rest of CJK Extension B, met in personal names), and would stop
        such a name short of the limit the server counts in characters; the server's refusal
        names the field and the limit."""
        if self.options is not None or self.choices is not None:
            return self.description
        if self.example is not None:
            said: str | None = f"like {self.example} 例如 {self.example}"
        elif self.max_length is not None:
            said = f"at most {self.max_length} characters 最多 {self.max_length} 个字符"
        else:
            said = None
        return " · ".join(filter(None, (self.description, said)))


@dataclass(frozen=True)
class Form:
    """A form of the console: posted to ``path`` (under the filing's address, for a filing's
    forms), known on the page, and to a refusal shown beside it, by ``id``. ``paths`` maps
    the names the API gives fields (``data.reason``, ``applicant.name``) to the inputs'."""

    id: str
    path: str
    title: str
    description: str
    inputs: tuple[Input, ...]
    leads_to: str | None = None  # where an event's form takes the filing, in words (``leads_to``)
    paths: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # Labels of the parts its inputs make up (``changes``, a person), which a reason may name.
    parts: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # An irreversible event's form (``EventSpec.irreversible``): what it says cannot be undone,
    # which its sender confirms before the button that sends it is shown (``confirms``).
    confirm: str | None = None
    # Whether sending it gives the order up (``StateSpec.abandoned``): its button is red.
    danger: bool = False

    def named(self, error: IcpflowError) -> IcpflowError:
        """The refusal as the form's reader knows its fields: by their labels, not the
        paths the API names (``data.reason is required`` -> ``Reason 原因 is required``), and
        each reason about a field saying which."""
        labels = {i.name: i.label for i in self.inputs}
        by_path = {path: labels[name] for path, name in self.paths.items() if name in labels}
        return renamed(error, {**self.parts, **labels, **by_path}, say_which=True)

    def beside(self, error: IcpflowError) -> dict[str, list[str]]:
        """The reasons about each input (by its name), worded as ``named`` words them, to
        show beside it; one about no input (a guard's, a field the form does not show) is
        told only above the form."""
        said: dict[str, list[str]] = {}
        for name, told in self._placed(error):
            if name is not None:
                said.setdefault(name, []).append(told)
        return said

    def headline(self, error: IcpflowError) -> str:
        """The refusal's headline above the form, naming the form as the page titles it, in
        English and Chinese: ``Bind service number 绑定备案服务号 refused 未通过: 2 problems 2 个问题``.
        The domain's headline names the event by its key (``event 'bind_service_number'
        refused``), the API's and the CLI's words, not the page's. A lone reason about no
        input is quoted; reasons said beside their inputs are counted instead, so that each
        reads once, beside its input. A refusal giving no reasons (a conflict) keeps its words."""
        if not error.reasons:
            return self.named(error).message
        above = self.above(error)
        if len(error.reasons) == 1 and above:
            return f"{self.title} {_REFUSED}: {above[0]}"
        count = len(error.reasons)
        return f"{self.title} {_REFUSED}: {counted(count, 'problem')} {count} 个问题"

    def above(self, error: IcpflowError) -> list[str]:
        """The reasons about no input of the form, worded as ``named`` words them: told above
        it, the others beside their inputs alone (``beside``), so none is read twice."""
        return [told for name, told in self._placed(error) if name is None]

    def _placed(self, error: IcpflowError) -> Iterator[tuple[str | None, str]]:
        """Each reason, worded as ``named`` words it, with the input it is about (its name),
        or none when it is about no input the form shows."""
        shown = {i.name for i in self.inputs}
        for reason, told in zip(error.reasons, self.named(error).reasons, strict=True):
            field = reason.field or ""
            name = self.paths.get(field, field)
            yield (name if name in shown else None), told.message

    def sections(self) -> list[tuple[Group | None, tuple[Input, ...]]]:
        """The form's inputs in order, those of a group next to one another together, each
        run with its group (none for the inputs shown as they are)."""
        return [(group, tuple(run)) for group, run in groupby(self.inputs, lambda i: i.group)]

    def input(self, name: str) -> Input:
        """The form's input ``name``."""
        return next(i for i in self.inputs if i.name == name)

    def label(self, name: str) -> str:
        """What the page calls input ``name``."""
        return self.input(name).label

    def held(self, posted: ImmutableMultiDict[str, Any]) -> list[tuple[str, str]]:
        """What ``posted`` held in this form's inputs, by their labels, each value as the
        form showed it (``shown``); blanks and the page's own hidden fields left out."""
        return [
            (i.label, self.shown(i.name, str(value)))
            for i in self.inputs
            for value in posted.getlist(i.name)
            if str(value).strip()
        ]

    def shown(self, name: str, value: str) -> str:
        """What the page showed for ``value`` posted by input ``name``: the label of a
        drop-down's option or of a box ticked (``单位 (organisation)``, not ``organisation``),
        else the value as typed, or as posted by an option the form no longer offers."""
        found = next((i for i in self.inputs if i.name == name), None)
        if found is None:
            return value
        offered = {o.value: o.label for o in found.options or ()}
        ticked = {c.key: c.label for c in found.choices or ()}
        return {**offered, **ticked}.get(value, value)


def field_input(
    name: str, field: FieldInfo, *, required: bool | None = None, label: str | None = None
) -> Input:
    """The input of one field of a model: its type says which (a drop-down for an enum or a
    yes/no, a date picker for a day, a number for a count); ``required`` overrides the
    model's say, ``label`` the one made of the field's name."""
    enum = held_type(field.annotation, Enum)
    options = tuple(Option(m.value, _offered(m)) for m in enum) if enum is not None else None
    if _holds(field.annotation, bool):
        options = _YES_NO
    default = field.get_default(call_default_factory=False)
    preset = None if default is None or field.is_required() else _posted_as(default)
    return Input(
        name,
        label or spoken(name, ZH.get(name, "")),
        hint(field),
        None,
        options,
        field.is_required() if required is None else required,
        _html_type(field.annotation),
        preset,
        preset,
        _max_length(field),
        example=_example(field),
    )


def hint(field: FieldInfo) -> str:
    """What a form says under a field: the console's own help where the field declares one
    (``ConsoleHelp``, for a description written for the API: its nulls, field names, files),
    else its description; ``worded`` as this install has it as the form's own description
    is. A description naming a setting's figure was worded by default when its model was
    made (``the SMS_WINDOW_HOURS (default 24) h window``), which help needs and a page,
    saying the figure in force, does not."""
    settings = get_settings()
    declared = (field.annotation, *field.metadata)
    own = next((c for c in _constraints(declared) if isinstance(c, ConsoleHelp)), None)
    if own is not None:
        return worded(own.text, settings)
    text = field.description or ""
    return worded(text.declared, settings) if isinstance(text, ByDefault) else text


def _example(field: FieldInfo) -> str | None:
    """A value the field's format takes (``wording.Example``), as this install sets it."""
    declared = (field.annotation, *field.metadata)
    found = next((c for c in _constraints(declared) if isinstance(c, Example)), None)
    return None if found is None else worded(found.text, get_settings())


def _offered(member: Enum) -> str:
    """An enum's member as a drop-down offers it: by the ``label`` pages call it where it
    declares one (a verifier, a service's kind), else by the value the API takes."""
    label = getattr(member, "label", None)
    return label if isinstance(label, str) else str(member.value)


def province_options(rules: Rules) -> tuple[Option, ...]:
    """The provinces the rules know, as a drop-down offers them (``京 北京 Beijing``): the
    opening form's choice and the lists' province filters."""
    return tuple(Option(p.char, p.label) for p in rules.provinces.values())


# A yes or no, as a form posts it and the models read it.
_YES_NO = (Option("true", "yes 是"), Option("false", "no 否"))


def _posted_as(value: object) -> str:
    """A default as a form posts it: an enum's value, a yes/no's ``true``/``false``."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(getattr(value, "value", value))


def _holds(annotation: object, wanted: type) -> bool:
    """Whether a field holds ``wanted``, optional or not."""
    return wanted in (annotation, *get_args(annotation))


def _max_length(field: FieldInfo) -> int | None:
    """The most characters a text field's model takes (``Field(max_length=)``, ``line(n)``),
    optional or not, as its input's help says it (``Input.help``), the figure stated once.
    None for a field that is not text."""
    if _html_type(field.annotation) != "text":
        return None
    found = [
        bound
        for constraint in _constraints((field.annotation, *field.metadata))
        if isinstance(bound := getattr(constraint, "max_length", None), int)
    ]
    return min(found, default=None)


def _constraints(declared: Iterable[object]) -> Iterator[object]:
    """Every constraint in ``declared``, those of a type ``Annotated`` inside an optional
    (``Annotated[str, line(253)] | None``) or of a ``Field()`` in one included."""
    for item in declared:
        yield item
        yield from _constraints(get_args(item))
        if isinstance(item, FieldInfo):
            yield from _constraints(item.metadata)


def _html_type(annotation: object) -> str:
    """A time, a day or a count, optional or constrained (``Annotated``) or not; else text."""
    types = {t for a in (annotation, *get_args(annotation)) for t in (a, *get_args(a))}
    if datetime in types:
        return "datetime-local"
    if date in types:
        return "date"
    return "number" if int in types else "text"


def _materials(filing: FilingOut, rules: Rules, carried: Collection[str]) -> tuple[Choice, ...]:
    """The materials a submission of this order must carry, then the authorisation letter
    (needed where the responsible person is not the legal representative); those already
    submitted ticked, but those ``carried`` over, which the event sends again ticked or not."""
    keys = (
        *required_materials(
            filing.kind,
            filing.changing,
            filing.applicant.type,
            filing.service_kind,
            filing.licence,
            filing.website.sector,
            rules,
        ),
        AUTHORISATION_LETTER,
    )
    return tuple(
        Choice(k, rules.material_label(k), k in filing.materials and k not in carried)
        for k in dict.fromkeys(keys)
    )


def _carried_over(name: str, spec: EventSpec, filing: FilingOut, rules: Rules) -> list[str]:
    """What of list field ``name`` on file the event sends again with none of it ticked: what
    its data model settles from the filing when sent empty (a resubmission's materials carry
    over; a submission's are what is ticked alone)."""
    on_file = {key: getattr(filing, column) for key, column in spec.data.stored.items()}
    return list(getattr(spec.data().settled(on_file, rules), name))


def _input(
    name: str, spec: EventSpec, filing: FilingOut, rules: Rules, answering: Collection[str] | None
) -> Input:
    field = spec.data.model_fields[name]
    if get_origin(field.annotation) is list:
        if name != "materials":
            raise LookupError(
                f"no choices known for the list field {name!r} of {spec.name.value!r}"
            )
        carried = _carried_over(name, spec, filing, rules)
        choices = _materials(filing, rules, carried)
        on_file = tuple(rules.material_label(k) for k in carried)
    else:
        choices, on_file = None, ()
    asked = _number_asked(name, filing) is NumberAsked.REQUIRED
    shown = field_input(name, field, required=field.is_required() or asked)
    options = shown.options
    if (
        options is not None
        and answering is not None
        and held_type(field.annotation, Enum) is VerifierRole
    ):
        # Only someone still to answer may answer, or enter a wrong code.
        options = tuple(o for o in options if o.value in answering)
    return replace(shown, choices=choices, options=options, on_file=on_file)


def _number_asked(name: str, filing: FilingOut) -> NumberAsked | None:
    """For the approval's ICP number, whether this order's kind asks it (the data model
    leaves it optional, as only some kinds do)."""
    return kind_spec(filing.kind).number_asked if name == "icp_number" else None


def held_type(annotation: object, base: type[Held]) -> type[Held] | None:
    """The subclass of ``base`` (an enum, a model) a field holds, optional or not."""
    return next(
        (
            t
            for t in (annotation, *get_args(annotation))
            if isinstance(t, type) and issubclass(t, base)
        ),
        None,
    )


# The hidden field an event's form sends the filing's version in, as its page showed it: the
# page writes it under this name (``web.console.filing_page``), the route reads it by it
# (``web.actions.fire_event``).
VERSION_FIELD = "expected_version"


def event_forms(
    filing: FilingOut, rules: Rules, answering: Collection[str] | None = None
) -> list[Form]:
    """A form for each event a person may fire on the filing now; ``answering``, when known,
    narrows the SMS forms to the roles of the verifiers who have not answered yet."""
    return [
        event_form(spec, filing, rules, answering)
        for spec in (EVENTS_BY_NAME[name] for name in filing.allowed_events)
        if spec.name in MANUAL_EVENTS
    ]


def event_form(
    spec: EventSpec, filing: FilingOut, rules: Rules, answering: Collection[str] | None = None
) -> Form:
    """The form of event ``spec`` as the filing's page shows it (or would, were the event
    allowed now: what a form sent from a stale page held is listed by its labels)."""
    return Form(
        f"event-{spec.name}",
        f"events/{spec.name}",
        spec.label,
        _described(spec),
        tuple(
            _input(name, spec, filing, rules, answering)
            for name in spec.data_keys
            if _number_asked(name, filing) is not NumberAsked.NONE
        ),
        leads_to(spec, filing.state),
        {f"data.{name}": name for name in spec.data_keys},
        confirm=confirms(spec),
        danger=STATES_BY_NAME[spec.dest].abandoned,
    )


def _described(spec: EventSpec) -> str:
    """What an event's form says it records: in English, then in Chinese (``EventSpec.zh``)
    as its notice says it too, with the figures this install sets; what it offers to do
    instead where it declares that (``EventSpec.offers``: withdrawing, told as done)."""
    settings = get_settings()
    english, chinese = (spec.offers, spec.offers_zh) if spec.offers else (spec.description, spec.zh)
    return f"{worded(english, settings)} {worded(chinese, settings)}"


def confirms(spec: EventSpec) -> str | None:
    """What an irreversible event's form has its sender confirm: where it leaves the order for
    good. None for an event that can be undone (the order moves on from where it leads)."""
    if not spec.irreversible:
        return None
    ends = STATES_BY_NAME[spec.dest].label
    return (
        f"This cannot be undone: the order ends {ends} and goes no further. "
        f"此操作无法撤销：订单将以「{STATES_BY_NAME[spec.dest].label_zh}」结束，不再继续办理。"
    )


def leads_to(spec: EventSpec, now: State) -> str:
    """Where the event takes an order in ``now``, as its form's heading says, never further
    than it may: one with ``until`` moves only once its condition holds (the last person's
    SMS answer, the fifth wrong code), so it may stay; one leading to the state it leaves
    stays."""
    stays = f"stays 仍为 {STATES_BY_NAME[now].label}"
    if spec.dest == now:
        return stays
    moves = f"→ {STATES_BY_NAME[spec.dest].label}"
    return f"{moves} or {stays}" if spec.until else moves


def posted(model: type[BaseModel], form: FormData) -> dict[str, Any]:
    """The fields of ``model`` as posted: every checked box of a list field, the text of the
    others. Fields left out or left blank stay out, so the model reports a required one
    missing as the API does, and an optional one takes its default."""
    data: dict[str, Any] = {}
    for name, declared in model.model_fields.items():
        if get_origin(declared.annotation) is list:
            data[name] = [str(value) for value in form.getlist(name)]
        elif value := stripped(str(form.get(name) or "")):
            data[name] = value
    return data


def part_fields(
    model: type[BaseModel], prefix: str, *, required: bool = True
) -> Iterator[tuple[str, FieldInfo, bool]]:
    """Each field of ``model`` and of the parts it holds (a person), by the dotted path the
    API names it by (``service.responsible.mobile``), and whether a form must have it: its
    model requires it, in a part that is itself required."""
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}"
        part = held_type(field.annotation, BaseModel)
        if part is None:
            yield path, field, required and field.is_required()
        else:
            yield from part_fields(part, path, required=required and field.is_required())


def nested(inputs: Iterable[Input], form: FormData) -> dict[str, Any]:
    """What a form of dotted inputs posted, nested as the API takes it (``service.name`` ->
    ``{"service": {"name": ...}}``). A blank, or a choice left at what the model implies, is
    left out: the model fills in the same, and a part of which nothing else was typed (a
    person one may leave out) stays out whole instead of being named incomplete. A choice the
    form preset otherwise (a change's "legal representative" as the record has it) goes with
    its part only when something else of that part was typed."""
    data: dict[str, Any] = {}
    preset: list[tuple[list[str], str, str]] = []
    for shown in inputs:
        value = stripped(str(form.get(shown.name) or ""))
        if not value or value == shown.implied:
            continue
        *parents, leaf = shown.name.split(".")
        if parents and value == shown.default:
            preset.append((parents, leaf, value))
            continue
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    for parents, leaf, value in preset:
        part: Any = data
        for key in parents:
            part = part.get(key) if isinstance(part, dict) else None
        if isinstance(part, dict):
            part[leaf] = value
    return data
