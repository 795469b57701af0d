"""What the console's forms post: fire an event, record a duty after approval, assign a
filing, retry a failed job.

Each goes through the same function as the API (``web.api.fire``, ``workflow.obligations``,
``auth.tokens.assign_filing`` and ``workflow.failures.retry_failed``), after the CSRF check
and the role check, then redirects back (post/redirect/get), so a reload never posts twice.
A refused event or duty shows the filing's page again, the form filled as sent and its
reasons beside it; so does an event sent from a page someone else's change made stale
(409), saying what changed. Any other refusal raises the domain error, which the error
pages render.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from auth.tokens import Role, assign_filing
from config.clock import get_clock
from config.settings import get_settings
from web import api, console, forms
from web.auth import SessionDep
from web.console import Refused
from web.duty_forms import DUTIES_BY_NAME, NOTICE, duty_forms
from web.forms import VERSION_FIELD, event_form, event_forms, posted
from web.pages import FormUserDep, PageUser, PostedForm, shown_by
from web.templating import state_named
from workflow import failures, obligations
from workflow.domain.bounded import RowId
from workflow.domain.commands import AssignCommand, EventCommand, parse
from workflow.domain.definition import EVENTS_BY_NAME, EventSpec, State
from workflow.domain.errors import (
    GuardFailed,
    NotFound,
    Reason,
    TransitionNotAllowed,
    ValidationError,
    VersionConflict,
)
from workflow.domain.obligations import ObligationKind
from workflow.domain.rules import rules_for
from workflow.obligations import ServiceDutiesOut
from workflow.outlook import outlook
from workflow.views import describing, history

router = APIRouter(include_in_schema=False)


def _back_to(filing_id: int) -> Response:
    return RedirectResponse(f"/filings/{filing_id}", status_code=303)


def _named(shown: Iterable[forms.Form], form_id: str) -> forms.Form | None:
    return next((form for form in shown if form.id == form_id), None)


def _event_shown(session: Session, _: PageUser, at: Mapping[str, str]) -> forms.Form | None:
    """The event's form as the filing's page shows it (none if the event is not allowed)."""
    settings = get_settings()
    filing = describing.filing(session, int(at["filing_id"]), get_clock().now(), settings)
    return _named(event_forms(filing, rules_for(settings)), f"event-{at['event']}")


def _duty_shown(session: Session, _: PageUser, at: Mapping[str, str]) -> forms.Form | None:
    """The duty's form as the filing's page shows it (none if the page offers it no more)."""
    now, settings = get_clock().now(), get_settings()
    filing = describing.filing(session, int(at["filing_id"]), now, settings)
    duties = outlook(session, filing, now, settings).duties
    return _named(duty_forms(duties, settings), f"duty-{at['duty']}")


@router.post("/filings/{filing_id}/events/{event}")
@shown_by(_event_shown, own=(VERSION_FIELD,))
def fire_event(
    request: Request,
    filing_id: RowId,
    event: str,
    session: SessionDep,
    user: FormUserDep,
    form: PostedForm,
    expected_version: Annotated[int, Form(ge=1, alias=VERSION_FIELD)],
) -> Response:
    """Fire ``event`` with the form's inputs, expecting the version the page showed; the
    filing changed since, the page as it is now, the form as it was filled (where its event
    is still allowed) to check against what changed and send again."""
    user.require(Role.CASE_MANAGER)
    spec = EVENTS_BY_NAME.get(event)
    data = posted(spec.data, form) if spec else {}
    try:
        command = parse(EventCommand, {"event": event, "data": data}, "event refused")
        api.fire(session, filing_id, command, user.caller, expected_version)
    except (ValidationError, GuardFailed, TransitionNotAllowed) as refused:
        if spec is None:
            raise  # no form of the page to show again
        again = Refused(f"event-{event}", refused, form)
        return console.filing_page(request, session, user, filing_id, again)
    except VersionConflict:
        since = tuple(
            h for h in history.history(session, filing_id) if h.version > expected_version
        )
        held = _held(session, filing_id, spec, form) if spec else ()
        changed = Refused(f"event-{event}", _changed(session, filing_id), form, since, held)
        return console.filing_page(request, session, user, filing_id, changed)
    return _back_to(filing_id)


def _changed(session: Session, filing_id: int) -> VersionConflict:
    """The conflict as the filing's page tells it: where others' changes since the form's
    page was loaded left the filing (the API's words say to reload, and the page it comes
    back on is the reloaded one); what they did is listed under it as the history shows
    it (``Refused.changed``)."""
    now = state_named(describing.get_filing(session, filing_id).state)
    return VersionConflict(
        "Changed by someone else since this page was loaded 页面加载后已被他人修改: it is now "
        f"{now}; check what changed, then send the form again if it is still needed "
        "请核对变更，如仍需要再重新提交"
    )


def _held(
    session: Session, filing_id: int, spec: EventSpec, form: FormData
) -> tuple[tuple[str, str], ...]:
    """What the event's form held, by the labels its form gives its inputs: the page lists
    it where the filing allows the event no more, so nothing typed is lost."""
    settings = get_settings()
    filing = describing.filing(session, filing_id, get_clock().now(), settings)
    return tuple(event_form(spec, filing, rules_for(settings)).held(form))


@router.post("/filings/{filing_id}/duties/{duty}")
@shown_by(_duty_shown)
def record_duty(
    request: Request,
    filing_id: RowId,
    duty: str,
    session: SessionDep,
    user: FormUserDep,
    form: PostedForm,
) -> Response:
    """Record ``duty`` about the service the approved filing put on record, as the API's
    ``/services/{id}/...`` routes do (of a rectification notice chosen on the form, for an
    extension or a rectification done)."""
    user.require(Role.CASE_MANAGER)
    spec = DUTIES_BY_NAME.get(duty)
    if spec is None:
        raise NotFound(f"no duty {duty!r} is recorded here")
    try:
        service_id = _service_on_record(session, filing_id)
        command = parse(spec.body, posted(spec.body, form), "not recorded")
        target = service_id
        if spec.of_notice:
            now = get_clock().now()
            target = _notice(form, obligations.duties(session, service_id, now, get_settings()))
        spec.record(session, target, command, get_settings(), user.caller.actor)
    except (ValidationError, GuardFailed) as refused:
        again = Refused(f"duty-{duty}", refused, form)
        return console.filing_page(request, session, user, filing_id, again)
    return _back_to(filing_id)


def _service_on_record(session: Session, filing_id: int) -> int:
    """The service an approved filing put on record: what its duties are recorded about."""
    filing = describing.get_filing(session, filing_id)
    if filing.state != State.APPROVED or filing.service_id is None:
        raise GuardFailed(
            "not recorded",
            [
                Reason(
                    "not_approved",
                    f"filing {filing_id} is {filing.state}: duties after approval are recorded "
                    "on the page of the order that was approved",
                )
            ],
        )
    return filing.service_id


def _notice(form: FormData, duties: ServiceDutiesOut) -> int:
    """The rectification notice chosen: any of the service's open ones (one the form no
    longer offers, extended since the page was read, is refused by the duty itself, saying
    why), named by its reference when it is not open."""
    chosen = str(form.get(NOTICE) or "")
    if not chosen:
        reason = Reason("missing_field", f"{NOTICE} is required: choose the notice", field=NOTICE)
        raise ValidationError("not recorded", [reason])
    notices = {str(o.id): o for o in duties.obligations if o.kind is ObligationKind.RECTIFICATION}
    notice = notices.get(chosen)
    if notice is None or notice.closed_at is not None:
        said = f"notice {notice.data.get('reference')}" if notice else f"notice {chosen!r}"
        why = "is done already" if notice else "is not one of this service's"
        reason = Reason("not_open", f"{said} {why}: reload the page", field=NOTICE)
        raise ValidationError("not recorded", [reason])
    return int(chosen)


@router.get("/filings/{filing_id}/{forms}/{name}", include_in_schema=False)
def after_a_refused_form(
    filing_id: RowId, forms: Literal["events", "duties"], name: str
) -> Response:
    """The address a refused event's or duty's page shows: reloaded, it is the filing's page
    again (the POST's address alone would answer 405)."""
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
    """Owe a failed job again; back to where the button was (this site's pages only). Back
    on /failed, where its row is gone, the page says it was queued again (``retried``); a
    filing's page says so in the notification's row."""
    user.require(Role.OPS)
    failures.retry_failed(session, job_id)
    # Only a path on this site: "//host" and "/\host" are read by browsers as another site.
    local = back.startswith("/") and not back.startswith("//") and "\\" not in back
    target = back if local else "/failed"
    return RedirectResponse(
        f"/failed?retried={job_id}" if target == "/failed" else target, status_code=303
    )
