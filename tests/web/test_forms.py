"""Every form of the console, as its page shows it: the help under each field speaks to the
person filling it in, not in the API's terms (its JSON, its field names, its files)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from pydantic import BaseModel
from sqlmodel import Session

from config.clock import get_clock
from config.settings import get_settings
from web import actions, entities, opening, pages
from web import console as console_pages
from web.duty_forms import duty_forms
from web.forms import Choice, Form, Input, event_forms
from workflow import obligations
from workflow.domain.definition import MANUAL_EVENTS
from workflow.domain.obligations import LeftHost, ObligationKind
from workflow.domain.rules import rules_for
from workflow.obligations import ObligationOut
from workflow.schemas import FilingOut
from workflow.views import entities as entity_views

# What the API's descriptions say and a form's reader has no use for: code (backticks),
# JSON's null, a field left out of a body, the rules file, an endpoint, a field's name.
_JARGON = re.compile(
    r"`|\bnull\b|\bomitted\b|\bJSON\b|rules\.toml|POST |/api/v1|\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"
)
_SEARCHES: tuple[type[BaseModel], ...] = (
    console_pages.FilingSearch,
    console_pages.OverdueSearch,
    console_pages.PipelineSearch,
    console_pages.DutySearch,
    entities.EntitySearch,
)


def _every_form(session: Session, on_file: FilingOut) -> Iterator[Form]:
    """Each form the console shows, with every field it may show: the opening form, each of
    an entity's order forms, every event's form and every duty's (something on file to
    correct, a notice open), and the lists' searches."""
    settings, rules = get_settings(), rules_for(get_settings())
    mine = (
        Input(
            opening.ASSIGN_FIELD,
            "Assign to me 分配给我",
            "",
            (Choice("yes", "", True),),
            None,
            False,
        ),
    )
    yield opening.opening_form(rules, mine)
    yield from entities.order_forms(entity_views.entity(session, on_file.entity_id), rules, mine)
    yield from event_forms(
        on_file.model_copy(update={"allowed_events": sorted(MANUAL_EVENTS)}), rules
    )
    assert on_file.service_id is not None
    duties = obligations.duties(session, on_file.service_id, get_clock().now(), settings)
    day = date(2026, 3, 4)
    notice = ObligationOut.model_construct(
        id=1, kind=ObligationKind.RECTIFICATION, closed_at=None, data={"reference": "N-1"}
    )
    on_record = duties.model_copy(
        update={
            "live_on": day,
            "left_on": day,
            "psb_number": "京公网安备11010502030143号",
            "server_expires_on": day,
            "obligations": [notice],
        }
    )
    yield from duty_forms(on_record, settings)
    yield from (console_pages.search_form(model) for model in _SEARCHES)


def test_no_form_of_the_console_helps_in_the_apis_terms(
    session: Session, on_file: FilingOut
) -> None:
    # The routes that declare the form posted to them (``web.pages.shown_by``): each one's
    # forms are built by ``_every_form``, so a new one fails here until they are too.
    scanned = {opening.open_filing, entities.open_order, actions.fire_event, actions.record_duty}
    assert set(pages._FORMS_SHOWN) == scanned
    forms = list(_every_form(session, on_file))
    assert {"open-filing", "event-resubmit", "duty-left_host", "order-new_service"} <= {
        form.id for form in forms
    }
    helps = [(form.id, "(the form's description)", form.description) for form in forms] + [
        (form.id, shown.name, shown.description) for form in forms for shown in form.inputs
    ]
    said = [
        f"{form_id} {name}: {jargon} in {text!r}"
        for form_id, name, text in helps
        if (jargon := sorted(set(_JARGON.findall(text))))
    ]
    assert said == [], "\n".join(said)

    # The API's description stays as it was: the console's help is the console's alone.
    described = LeftHost.model_json_schema()["properties"]["left_on"]["description"]
    assert described.startswith("the day the site moved off this host's servers; null,")


def test_no_choice_of_any_form_is_said_to_take_a_number_of_characters(
    session: Session, on_file: FilingOut
) -> None:
    """A drop-down or a set of boxes takes no typing: a length is no hint to it."""
    said = [
        f"{form.id} {shown.name}: {shown.help!r}"
        for form in _every_form(session, on_file)
        for shown in form.inputs
        if (shown.options is not None or shown.choices is not None) and "characters" in shown.help
    ]
    assert said == [], "\n".join(said)


def test_the_service_numbers_hint_shows_the_hosts_format_by_its_example(
    session: Session, on_file: FilingOut
) -> None:
    example = get_settings().service_number_example
    hints = {
        shown.help
        for form in _every_form(session, on_file)
        for shown in form.inputs
        if shown.name == "service_number"
    }
    assert hints == {f"the host's Bei'an service number · like {example} 例如 {example}"}


# Words English writes in capitals that a field's name spells in lower case.
_ACRONYM = re.compile(
    r"\b(?!(?:API|ICP|ID|IP|MIIT|PSB|SLA|SMS|URL)\b)(?i:api|icp|id|ip|miit|psb|sla|sms|url)\b"
)


def test_no_label_of_any_form_writes_an_acronym_in_lower_case(
    session: Session, on_file: FilingOut
) -> None:
    """``id_type`` is "ID type", ``server_ip`` "Server IP": not "Id type", "Server ip"."""
    said = [
        f"{form.id} {shown.name}: {shown.label!r}"
        for form in _every_form(session, on_file)
        for shown in form.inputs
        if _ACRONYM.search(shown.label)
    ]
    assert said == [], "\n".join(said)
