"""The console's forms opening an order. A first filing (``/filings/new``) asks the flat
fields of a CSV import row (``workflow.domain.flat``), read by the same ``creation_from_flat``
and opened by the same ``service.create_filing`` as the API's ``POST /filings``; the other
kinds are opened from an entity's page (``web.entities``), through ``service.create_order``.

The rules file offers the choices (provinces, identity documents, applicant types, sectors),
so a province or a document the rules do not know cannot be picked. Each rendering of a
form carries a key of its own, sent as the API's ``Idempotency-Key``: a form posted twice (a
double click, a resend after a lost answer) opens one order.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from auth.tokens import Role, assign_filing, case_managers
from config.settings import get_settings
from web.auth import SessionDep
from web.console import Refused
from web.forms import Choice, Form, Input, Option, field_input, province_options
from web.pages import FormUserDep, PageUser, PageUserDep, PostedForm, show, shown_by
from workflow import service
from workflow.domain.commands import AssignCommand
from workflow.domain.errors import GuardFailed, IdempotencyKeyReused, Reason, ValidationError
from workflow.domain.flat import FLAT_FIELDS, IMPORT_COLUMNS, creation_from_flat, flat_field
from workflow.domain.rules import Rules, Term, rules_for
from workflow.schemas import FilingOut

router = APIRouter(include_in_schema=False)
FORM_ID = "open-filing"
KEY_FIELD = "opening_key"
ASSIGN_FIELD = "assign_to_me"
_KEY = re.compile(r"[0-9a-f]{32}")


def _terms(terms: Mapping[str, Term]) -> tuple[Option, ...]:
    """A rules table's terms as a drop-down offers them: Chinese first, the key after."""
    return tuple(Option(t.key, f"{t.name_zh} ({t.key})") for t in terms.values())


# The choices a field offers, from the rules file; a field not here takes its type's input.
_CHOICES: Mapping[str, Callable[[Rules], tuple[Option, ...]]] = {
    "province": province_options,
    "applicant_type": lambda rules: _terms(rules.applicant_types),
    "id_type": lambda rules: _terms(rules.documents),
    "responsible_id_type": lambda rules: _terms(rules.person_documents),
    "person_id_type": lambda rules: _terms(rules.person_documents),  # a PersonIn's id_type
    "licence": lambda rules: _terms(rules.licences),
    "sector": lambda rules: _terms(rules.sectors),
}


def opening_form(rules: Rules, mine: tuple[Input, ...]) -> Form:
    """The import's columns, and ``mine`` (``assign_to_me``)."""
    return Form(
        FORM_ID,
        "/filings/new",
        "Open a first filing 新建首次备案",
        "A new entity and its website; every problem is listed at once.",
        (*(_input(name, rules) for name in IMPORT_COLUMNS), *mine),
        paths={".".join(path): name for name, path in FLAT_FIELDS.items()},
    )


def _input(name: str, rules: Rules) -> Input:
    return with_choices(field_input(name, flat_field(name)), name, rules)


def with_choices(shown: Input, name: str, rules: Rules) -> Input:
    """``shown`` with the rules file's choices for a field called ``name``, if it has any."""
    choices = _CHOICES.get(name)
    return shown if choices is None else replace(shown, options=choices(rules))


def _page(
    request: Request,
    session: Session,
    user: PageUser,
    key: str,
    refused: Refused | None = None,
) -> Response:
    return show(
        request,
        "open.html",
        user,
        form=_shown(session, user),
        hidden={KEY_FIELD: key},
        refused=refused,
        status_code=422 if refused else 200,
        scroll_to="#refused" if refused else None,
    )


@router.get("/filings/new", response_class=HTMLResponse)
def new_filing(request: Request, session: SessionDep, user: PageUserDep) -> Response:
    """The form, with a key of its own for the filing it will open."""
    user.require(Role.CASE_MANAGER)
    return _page(request, session, user, new_key())


def _shown(session: Session, user: PageUser) -> Form:
    """The form as the page shows it to ``user``."""
    return opening_form(rules_for(get_settings()), assign_to_me(session, user))


@router.post("/filings/new")
@shown_by(lambda session, user, _: _shown(session, user), own=(KEY_FIELD,))
def open_filing(
    request: Request, session: SessionDep, user: FormUserDep, form: PostedForm
) -> Response:
    """Open the filing and show its page; refused, the form again, filled as sent."""
    user.require(Role.CASE_MANAGER)

    def first_filing(key: str) -> FilingOut:
        command = creation_from_flat({name: str(form.get(name) or "") for name in IMPORT_COLUMNS})
        return service.create_filing(session, command, user.caller.actor, idempotency_key=key)

    def again(key: str, refused: Refused) -> Response:
        return _page(request, session, user, key, refused)

    return opened(session, user, form, FORM_ID, first_filing, again)


def new_key() -> str:
    """The key a rendering of a form opens its order under."""
    return secrets.token_hex(16)


def opened(
    session: Session,
    user: PageUser,
    form: FormData,
    form_id: str,
    open_order: Callable[[str], FilingOut],
    again: Callable[[str, Refused], Response],
) -> Response:
    """Open an order under the form's key and show its page (given to its opener if the box
    says so); refused, ``again`` shows the form filled as sent, with every reason beside it and
    the same key (nothing was opened under it)."""
    key = str(form.get(KEY_FIELD) or "")
    try:
        if not _KEY.fullmatch(key):
            reason = Reason(
                "invalid_field",
                "the form's key is missing or altered: reload the form",
                field=KEY_FIELD,
            )
            raise ValidationError("reload the form: it was not sent as the page gave it", [reason])
        order = open_order(key)
        if form.get(ASSIGN_FIELD) and _assignable(session, user):
            # Sent again under the same key, the order is theirs already: that records nothing.
            mine = AssignCommand(assignee=user.caller.name)
            order = assign_filing(session, order.id, mine, user.caller.actor)
    except (ValidationError, GuardFailed) as refused:
        return again(key if _KEY.fullmatch(key) else new_key(), Refused(form_id, refused, form))
    except IdempotencyKeyReused:
        # Back to a form that opened an order, changed and sent again: say so, and let a
        # second sending open another under a key of its own.
        reason = Reason(
            "opened_already",
            "this form opened an order already (see the filings list); send it again to open "
            "another with what it holds now",
        )
        told = ValidationError("not opened", [reason])
        return again(new_key(), Refused(form_id, told, form))
    return RedirectResponse(f"/filings/{order.id}", status_code=303)


def assign_to_me(session: Session, user: PageUser) -> tuple[Input, ...]:
    """For someone orders can be given to, a box (ticked) giving them the order, so it is on
    their My filings from the start; nothing for anyone else."""
    if not _assignable(session, user):
        return ()
    mine = Input(
        ASSIGN_FIELD,
        "Assign to me 分配给我",
        "",
        (Choice("yes", "the order is mine to work 由我负责", checked=True),),
        None,
        required=False,
    )
    return (mine,)


def _assignable(session: Session, user: PageUser) -> bool:
    return user.caller.name in case_managers(session)
