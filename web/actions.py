"""What the console's forms post: fire an event, assign a filing, retry a failed job.

Each goes through the same function as the API (``web.api.fire``,
``auth.tokens.assign_filing`` and ``workers.failures.retry_failed``), after the CSRF check
and the role check, then redirects back (post/redirect/get), so a reload never posts twice.
A refused event shows the filing's page again, the form filled as sent and its reasons beside
it; any other refusal raises the domain error, which the error pages render: a stale page
gets 409 "changed by someone else, reload".
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from auth.tokens import Role, assign_filing
from web import api, console
from web.auth import SessionDep
from web.console import Refused
from web.forms import event_data
from web.pages import FormUserDep, PostedForm
from workers import failures
from workflow.domain.bounded import RowId
from workflow.domain.commands import AssignCommand, EventCommand, parse
from workflow.domain.definition import EVENTS_BY_NAME
from workflow.domain.errors import GuardFailed, TransitionNotAllowed, ValidationError

router = APIRouter(include_in_schema=False)


def _back_to(filing_id: int) -> Response:
    return RedirectResponse(f"/filings/{filing_id}", status_code=303)


@router.post("/filings/{filing_id}/events/{event}")
def fire_event(
    request: Request,
    filing_id: RowId,
    event: str,
    session: SessionDep,
    user: FormUserDep,
    form: PostedForm,
    expected_version: Annotated[int, Form(ge=1)],
) -> Response:
    """Fire ``event`` with the form's inputs, expecting the version the page showed."""
    user.require(Role.CASE_MANAGER)
    spec = EVENTS_BY_NAME.get(event)
    data = event_data(spec, form) if spec else {}
    try:
        command = parse(EventCommand, {"event": event, "data": data}, "event refused")
        api.fire(session, filing_id, command, user.caller, expected_version)
    except (ValidationError, GuardFailed, TransitionNotAllowed) as refused:
        if spec is None:
            raise  # no form of the page to show again
        return console.filing_page(request, session, user, filing_id, Refused(event, refused, form))
    return _back_to(filing_id)


@router.get("/filings/{filing_id}/events/{event}", include_in_schema=False)
def after_a_refused_event(filing_id: RowId, event: str) -> Response:
    """The address a refused form's page shows: reloaded, it is the filing's page again."""
    return _back_to(filing_id)


@router.post("/filings/{filing_id}/assignee")
def assign(
    filing_id: RowId,
    session: SessionDep,
    user: FormUserDep,
    assignee: Annotated[str, Form()] = "",
) -> Response:
    """Give the filing to the chosen case manager; the empty choice unassigns it."""
    user.require(Role.CASE_MANAGER)
    command = parse(AssignCommand, {"assignee": assignee or None}, "assignee refused")
    assign_filing(session, filing_id, command, user.caller.actor)
    return _back_to(filing_id)


@router.post("/failed/{job_id}/retry")
def retry(
    job_id: RowId, session: SessionDep, user: FormUserDep, back: Annotated[str, Form()] = "/failed"
) -> Response:
    """Owe a failed job again; back to where the button was (this site's pages only)."""
    user.require(Role.OPS)
    failures.retry_failed(session, job_id)
    # Only a path on this site: "//host" and "/\host" are read by browsers as another site.
    local = back.startswith("/") and not back.startswith("//") and "\\" not in back
    return RedirectResponse(back if local else "/failed", status_code=303)
