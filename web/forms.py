"""The console's event forms, derived from the declaration: one form per allowed event, one
input per field of the event's data model (``EventSpec.data``), so a new event or a new field
shows up in the browser without touching a template.

A list field is a set of checkboxes (the materials the rules require of this filing); every
other field is a text input. Posted forms become the same ``EventCommand`` the API builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_origin

from starlette.datastructures import FormData

from workflow.domain.definition import EVENTS_BY_NAME, MANUAL_EVENTS, EventSpec
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
}


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
    choices: tuple[Choice, ...] | None  # checkboxes when set, a text input otherwise


@dataclass(frozen=True)
class EventForm:
    event: EventSpec
    inputs: tuple[Input, ...]

    @property
    def title(self) -> str:
        return self.event.name.replace("_", " ").capitalize()


def _materials(filing: FilingOut, rules: Rules) -> tuple[Choice, ...]:
    """The materials the rules require of this applicant, licence and sector, those already
    submitted ticked (a resubmission usually sends them again)."""
    keys = rules.required_materials(filing.applicant.type, filing.licence, filing.website.sector)
    return tuple(Choice(k, rules.materials.get(k, k), k in filing.materials) for k in keys)


def _input(name: str, spec: EventSpec, filing: FilingOut, rules: Rules) -> Input:
    field = spec.data.model_fields[name]
    is_list = get_origin(field.annotation) is list
    if is_list and name != "materials":
        raise LookupError(f"no choices known for the list field {name!r} of {spec.name!r}")
    label = f"{name.replace('_', ' ').capitalize()} {_ZH.get(name, '')}".strip()
    choices = _materials(filing, rules) if is_list else None
    return Input(name, label, field.description or "", choices)


def event_forms(filing: FilingOut, rules: Rules) -> list[EventForm]:
    """A form for each event a person may fire on the filing now."""
    return [
        EventForm(spec, tuple(_input(name, spec, filing, rules) for name in spec.data_keys))
        for spec in (EVENTS_BY_NAME[name] for name in filing.allowed_events)
        if spec.name in MANUAL_EVENTS
    ]


def event_data(spec: EventSpec, form: FormData) -> dict[str, Any]:
    """The event's data as posted: every checked box of a list field, the text of the others.
    Fields left out stay out, so the data model reports them missing like the API does."""
    data: dict[str, Any] = {}
    for name in spec.data_keys:
        if get_origin(spec.data.model_fields[name].annotation) is list:
            data[name] = [str(value) for value in form.getlist(name)]
        elif (value := form.get(name)) is not None:
            data[name] = str(value)
    return data
