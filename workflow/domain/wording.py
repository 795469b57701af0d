"""Declared texts that name a setting's figure (``{idle_lapse_days}``, ``{sms_window_hours:g}``).

A state's meaning, an event's or a deadline's description and a duty's are declared once, in
the declaration; a figure in them that an install sets (45 days before an idle order lapses,
the SMS window's 24 h) is written as the setting's name, so what a notice, a page or the API
says is what this install does, not what the defaults do. Help built before any settings are
read (the CLI's, a field's schema) names the setting and its default instead.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

from config.settings import Settings

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Spec = TypeVar("Spec", bound="DataclassInstance")
# The declared texts a state, an event, a deadline or a kind may word with a setting.
_TEXTS = frozenset({"description", "zh", "offers", "offers_zh", "meaning", "meaning_zh"})


def worded(text: str, settings: Settings, armed: Mapping[str, float] | None = None) -> str:
    """``text`` with the figures it names as ``settings`` has them, or, for a deadline's, as
    its filing's deadlines were ``armed`` with (``workflow.deadlines.armed_figures``)."""
    return text.format_map(ChainMap(dict(armed), vars(settings)) if armed else vars(settings))


class _Named:
    """A setting as help shows it: ``IDLE_LAPSE_DAYS (default 45)``."""

    def __init__(self, name: str, default: Any) -> None:
        self.name, self.default = name, default

    def __format__(self, spec: str) -> str:
        return f"{self.name.upper()} (default {format(self.default, spec)})"


_BY_NAME = {name: _Named(name, field.default) for name, field in Settings.model_fields.items()}


class ByDefault(str):
    """A text worded by default that keeps the text it was declared as (``declared``): a
    field's description is fixed when its model is, before any settings are read, and read
    by the API's schema and the CLI's help as it is, but a page words it again as this
    install has it (``worded(text.declared, settings)``)."""

    declared: str

    def __new__(cls, declared: str) -> ByDefault:
        shown = super().__new__(cls, declared.format_map(_BY_NAME))
        shown.declared = declared
        return shown


@dataclass(frozen=True)
class ConsoleHelp:
    """What the console's form says under a field, declared beside the field in its type
    (``Annotated[Day | None, ConsoleHelp("...")]``) where its description, the API's, speaks
    of what a person filling in a form never sees: JSON's null, another field's name, the
    rules file, an endpoint. The description stays the API's (``/openapi.json``, the CLI's
    help); the console reads this instead (``web.forms.hint``), worded as a duty's is
    (``{psb_filing_days}``), English then Chinese as the console's labels are."""

    text: str


@dataclass(frozen=True)
class Example:
    """A value a field's format takes, declared beside the field in its type where that format
    is a pattern a person cannot read off a length (the host's service number, whose pattern
    and example are settings), worded as ``ConsoleHelp`` is (``{service_number_example}``):
    the console's hint shows it instead of the most characters the field takes."""

    text: str


def worded_by_default(text: str) -> ByDefault:
    """``text`` with each figure as its setting and default, for help written before any
    settings are read: ``IDLE_LAPSE_DAYS (default 45) days``."""
    return ByDefault(text)


def worded_spec(spec: Spec, settings: Settings) -> Spec:
    """``spec`` with its declared texts ``worded``: what ``GET /workflow`` publishes."""
    texts = {
        f.name: worded(getattr(spec, f.name), settings) for f in fields(spec) if f.name in _TEXTS
    }
    return replace(spec, **texts)


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``1 service``, ``2 services``: a count and its noun (or phrase: ``filing matches``,
    ``filings match``) as English says it, written once here rather than in each caption.
    The plural is the singular with an ``s`` unless given (``entity``, ``entities``); Chinese,
    beside it, needs none."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
