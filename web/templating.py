"""The pages' Jinja environment and the filters that turn times into words people act on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from importlib.resources import files
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from auth.tokens import Role
from config.clock import duration, in_beijing, lateness
from config.settings import get_settings
from models.tables import DeadlineStatus, NotificationStatus
from workflow.domain.definition import (
    DEADLINES_BY_KIND,
    STATES_BY_NAME,
    Event,
    Flag,
    State,
    event_named,
)
from workflow.domain.obligations import OBLIGATIONS_BY_KIND, ObligationKind
from workflow.domain.orders import EntityStatus, ServiceKind, VerifierResult, kind_spec
from workflow.domain.rules import Term, rules_for
from workflow.domain.wording import counted, worded
from workflow.forecast import Basis, basis_worded
from workflow.notices import notice_label
from workflow.views.held_up import meaning_among
from workflow.views.search import filing_named

templates = Jinja2Templates(directory=str(files("web") / "templates"))


# Every time a page shows says its zone, as the CLI prints it (``in_beijing``): "2026-03-02
# 10:00 Beijing". Said by the two filters that write a time, not by each column's header, so
# no header, card label (a phone's ``data-label``) or sentence can show a time without it;
# tests/web/test_time_zones.py finds a page's time that does not say it. Spans ("3 d ago",
# "in 40 s") need no zone and say none.
#
# The date is wrapped in ``<span class="date">`` (``.date`` does not wrap, icpflow.css): a
# narrow column would otherwise break it at a hyphen ("2026-11-" over "19 03:01 Beijing");
# the time and zone may still wrap at their spaces. Hence Markup, not text: the filters
# write the one place a time is shown, so no template repeats the span.


def _dated(text: str) -> Markup:
    """``in_beijing``'s text with its date (before the first space) kept on one line."""
    date, _, rest = text.partition(" ")
    return Markup('<span class="date">{}</span> {}').format(date, rest)


def beijing(at: datetime | None) -> Markup:
    """A moment on the Beijing clock, its zone said."""
    return _dated(in_beijing(at)) if at else Markup()


def due_by(at: datetime | str) -> Markup:
    """When something is due, on the Beijing clock (its last day's end as 24:00), its zone
    said; kept in a row's data, the time is ISO text."""
    return _dated(in_beijing(datetime.fromisoformat(at) if isinstance(at, str) else at, due=True))


def state_named(state: str) -> str:
    """A state as pages name it, its key beside its Chinese label (``StateSpec.label``)."""
    spec = STATES_BY_NAME.get(state)
    return spec.label if spec is not None else state


def deadline_named(kind: str) -> str:
    """A deadline as pages name it, as they name an event (``DeadlineSpec.label``)."""
    return DEADLINES_BY_KIND[kind].label


def duty_named(kind: str) -> str:
    """A duty after approval as pages name it, as they name a deadline
    (``ObligationSpec.label``)."""
    return OBLIGATIONS_BY_KIND[ObligationKind(kind)].label


def kind_named(kind: str) -> str:
    """An order kind as pages name it (``KindSpec.label``)."""
    return kind_spec(kind).label


def termed(key: str, table: str) -> str:
    """A key of one of the rules file's tables (``applicant_types``, ``documents``,
    ``licences``, ``sectors``) as pages name it, by the rules in force (``Term.label``); a key
    an edited rules file no longer defines, by itself, which is all a page then knows."""
    terms: Mapping[str, Term] = getattr(rules_for(get_settings()), table)
    return terms[key].label if key in terms else key


def material_named(key: str) -> str:
    """A material as pages name it (``Rules.material_label``), by the rules in force; one an edited
    rules file no longer lists, by its key."""
    return rules_for(get_settings()).material_label(key)


def province_chosen(value: str | None) -> str:
    """The province a list's filter chose, as its drop-down offers it: an alias typed into
    a shared link (蜀) selects the province it filters by (川), so the next search keeps it."""
    typed = (value or "").strip()
    return rules_for(get_settings()).canonical_province(typed) or typed if typed else ""


templates.env.filters["local"] = beijing
templates.env.filters["province_chosen"] = province_chosen
templates.env.filters["due"] = due_by
templates.env.filters["named"] = filing_named
templates.env.filters["counted"] = counted
templates.env.filters["state_named"] = state_named
templates.env.filters["event_named"] = event_named
templates.env.filters["deadline_named"] = deadline_named
templates.env.filters["meaning_among"] = meaning_among
templates.env.filters["duty_named"] = duty_named
templates.env.filters["notice_named"] = notice_label
templates.env.filters["termed"] = termed
templates.env.filters["material_named"] = material_named
templates.env.filters["kind_named"] = kind_named
templates.env.filters["basis_worded"] = lambda forecast: basis_worded(forecast, get_settings())
templates.env.filters["duration"] = duration
templates.env.filters["lateness"] = lateness
templates.env.filters["worded"] = lambda text: worded(text, get_settings())
templates.env.filters["zh"] = lambda kind: kind_spec(kind).label_zh  # an order kind's name

# The enums pages decide by, under their own names: a template compares ``n.status ==
# NotificationStatus.FAILED``, never a quoted value a rename would leave silently unmatched
# (tests/web/test_templates.py finds both a quoted value and a member no longer declared).
templates.env.globals.update(
    {
        enum.__name__: enum
        for enum in (
            Basis,
            DeadlineStatus,
            EntityStatus,
            Event,
            Flag,
            NotificationStatus,
            ObligationKind,
            Role,
            ServiceKind,
            State,
            VerifierResult,
        )
    }
)


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return templates.TemplateResponse(request, template, context, status_code=status_code)
