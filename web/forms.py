"""The console's event forms, derived from the declaration: one form per allowed event, one
input per field of the event's data model (``EventSpec.data``), so a new event or a new field
shows up in the browser without touching a template.

A list field is a set of checkboxes (the materials the rules require of this filing), an enum
field a drop-down of its members (a verifier: of the people still to answer the SMS), a time
a date-and-time picker (its value has no offset, so it is read as Beijing time), every other
field a text input; only the fields the model requires are required, and the approval's ICP
number only where the order's kind issues one (required for a first filing, left out where
none is issued). Posted forms become the same ``EventCommand`` the API builds.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, get_args, get_origin

from starlette.datastructures import FormData

from workflow.domain.definition import EVENTS_BY_NAME, MANUAL_EVENTS, EventSpec
from workflow.domain.event_data import VerifierRole
from workflow.domain.guards import AUTHORISATION_LETTER, required_materials
from workflow.domain.orders import NumberAsked, kind_spec
from workflow.domain.rules import Rules
from workflow.schemas import FilingOut

# What the page calls each data key in Chinese; the English is the key itself.
_ZH = {
    "service_number": "备案服务号",
    "server_ip": "服务器 IP",
    "materials": "材料",
    "document": "前置审批文件",
    "reason": "原因",
    "icp_number": "ICP 备案号",
    "sent_at": "短信发送时间（北京时间）",
}


# A field of an event's data as a refusal names it.
_DATA_FIELD = re.compile(r"\bdata\.[a-z_]+")


@dataclass(frozen=True)
class Choice:
    key: str
    label: str
    checked: bool


@dataclass(frozen=True)
class Input:
    name: str
    label: str
    description: str
    choices: tuple[Choice, ...] | None  # checkboxes when set
    options: tuple[str, ...] | None  # a drop-down when set, an <input> when neither is
    required: bool
    html_type: str = "text"  # the <input>'s type


@dataclass(frozen=True)
class EventForm:
    event: EventSpec
    inputs: tuple[Input, ...]

    @property
    def title(self) -> str:
        return self.event.name.replace("_", " ").capitalize()

    def in_words(self, refusal: str) -> str:
        """A refusal's text as the form's reader knows its fields: by their labels, not the
        paths the API names (``data.reason is required`` -> ``Reason 原因 is required``)."""
        labels = {f"data.{i.name}": i.label for i in self.inputs}
        return _DATA_FIELD.sub(lambda m: labels.get(m.group(), m.group()), refusal)


def _materials(filing: FilingOut, rules: Rules) -> tuple[Choice, ...]:
    """The materials a submission of this order must carry, then the authorisation letter
    (needed where the responsible person is not the legal representative); those already
    submitted ticked (a resubmission usually sends them again)."""
    keys = (
        *required_materials(
            filing.kind,
            filing.changing,
            filing.applicant.type,
            filing.licence,
            filing.website.sector,
            rules,
        ),
        AUTHORISATION_LETTER,
    )
    return tuple(
        Choice(k, rules.materials.get(k, k), k in filing.materials) for k in dict.fromkeys(keys)
    )


def _input(
    name: str, spec: EventSpec, filing: FilingOut, rules: Rules, answering: Collection[str] | None
) -> Input:
    field = spec.data.model_fields[name]
    is_list = get_origin(field.annotation) is list
    if is_list and name != "materials":
        raise LookupError(f"no choices known for the list field {name!r} of {spec.name!r}")
    label = f"{name.replace('_', ' ').capitalize()} {_ZH.get(name, '')}".strip()
    choices = _materials(filing, rules) if is_list else None
    enum = next((t for t in (field.annotation, *get_args(field.annotation)) if _is_enum(t)), None)
    options = tuple(member.value for member in enum) if enum is not None else None
    if enum is VerifierRole and answering is not None:
        # Only someone still to answer may answer, or enter a wrong code.
        options = tuple(role for role in options or () if role in answering)
    html_type = "datetime-local" if _is_moment(field.annotation) else "text"
    description = field.description or ""
    required = field.is_required() or _number_asked(name, filing) is NumberAsked.REQUIRED
    return Input(name, label, description, choices, options, required, html_type)


def _number_asked(name: str, filing: FilingOut) -> NumberAsked | None:
    """For the approval's ICP number, whether this order's kind asks it (the data model
    leaves it optional, as only some kinds do)."""
    return kind_spec(filing.kind).number_asked if name == "icp_number" else None


def _is_enum(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Enum)


def _is_moment(annotation: object) -> bool:
    """A time, optional or constrained (``Annotated``) or not."""
    return any(datetime in (t, *get_args(t)) for t in (annotation, *get_args(annotation)))


def event_forms(
    filing: FilingOut, rules: Rules, answering: Collection[str] | None = None
) -> list[EventForm]:
    """A form for each event a person may fire on the filing now; ``answering``, when known,
    narrows the SMS forms to the roles of the verifiers who have not answered yet."""
    return [
        EventForm(
            spec,
            tuple(
                _input(name, spec, filing, rules, answering)
                for name in spec.data_keys
                if _number_asked(name, filing) is not NumberAsked.NONE
            ),
        )
        for spec in (EVENTS_BY_NAME[name] for name in filing.allowed_events)
        if spec.name in MANUAL_EVENTS
    ]


def event_data(spec: EventSpec, form: FormData) -> dict[str, Any]:
    """The event's data as posted: every checked box of a list field, the text of the others.
    Fields left out or left blank stay out, so the data model reports a required one missing
    like the API does and an optional one takes its default."""
    data: dict[str, Any] = {}
    for name in spec.data_keys:
        if get_origin(spec.data.model_fields[name].annotation) is list:
            data[name] = [str(value) for value in form.getlist(name)]
        elif value := str(form.get(name) or "").strip():
            data[name] = value
    return data
