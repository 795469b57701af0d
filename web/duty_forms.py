"""The forms of an approved service's duties on its filing's page: go-live, the PSB number,
a renewal, leaving the host and rectification notices, each built from the model the API
reads (``GoLive``, ``PsbNumberIn``...) and recorded by the same ``workflow.obligations``
function, so the console, the API and the CLI judge them alike.

A correction names what it corrects (``replaces``): here a box to tick, whose value is what
the page showed on file. A page gone stale since is refused as the API refuses a correction
of something no longer on file, not taken for a correction of what replaced it. An extension
or a rectification done is chosen among the service's open notices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session

from config.settings import Settings
from web.forms import Choice, Form, Input, Option, field_input
from workflow import obligations
from workflow.domain.obligations import (
    ExtensionIn,
    GoLive,
    LeftHost,
    ObligationKind,
    PsbNumberIn,
    RectificationIn,
    Renewal,
)
from workflow.domain.orders import ServiceStatus
from workflow.obligations import ObligationOut, ServiceDutiesOut

# What records a duty: of the service, or of the open rectification notice chosen.
Recorder = Callable[[Session, int, Any, Settings], ServiceDutiesOut]
# The rectification notice an extension or its completion is about.
NOTICE = "rectification"


class Nothing(BaseModel):
    """A duty recorded by the button alone (a rectification done)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Duty:
    """One thing a case manager records about an approved service. ``on_file`` reads what a
    ``replaces`` field corrects; ``of_notice`` makes it about an open rectification notice;
    ``offered`` says whether the page offers it at all."""

    name: str
    title: str
    description: str
    body: type[BaseModel]
    record: Recorder
    on_file: Callable[[ServiceDutiesOut], object] = lambda duties: None
    of_notice: Callable[[ObligationOut], bool] | None = None
    offered: Callable[[ServiceDutiesOut], bool] = lambda duties: True


def _owes_no_cancel_access(duties: ServiceDutiesOut) -> bool:
    return not any(
        o.kind is ObligationKind.CANCEL_ACCESS and not o.closed_at for o in duties.obligations
    )


DUTIES: tuple[Duty, ...] = (
    Duty(
        "go_live",
        "Record go-live 登记上线",
        "The PSB filing falls due 30 days later; a website's footer checks start.",
        GoLive,
        obligations.go_live,
        on_file=lambda duties: duties.live_on,
    ),
    Duty(
        "psb_number",
        "Record PSB number 登记公安备案号",
        "Closes the PSB filing; a number of another province is refused.",
        PsbNumberIn,
        obligations.psb_number,
        on_file=lambda duties: duties.psb_number,
    ),
    Duty(
        "renewal",
        "Record renewal 登记续费",
        "The domain's new expiry: the expiry reminders move to it.",
        Renewal,
        obligations.renewal,
        on_file=lambda duties: duties.domain_expires_on,
    ),
    Duty(
        "left_host",
        "Record leaving the host 登记迁出",
        "The site no longer uses this host's servers: a cancel-access order is owed.",
        LeftHost,
        obligations.left_host,
        offered=_owes_no_cancel_access,
    ),
    Duty(
        "rectification",
        "Record rectification notice 登记整改通知",
        "Due in working days from today; overdue, it goes to ops.",
        RectificationIn,
        obligations.rectification,
    ),
    Duty(
        "extension",
        "Extend rectification 整改延期",
        "Once per notice, by at most 7 working days.",
        ExtensionIn,
        obligations.extend,
        of_notice=lambda notice: notice.data.get("extended_by") is None,
    ),
    Duty(
        "rectified",
        "Record rectified 登记整改完成",
        "The notice's obligation closes.",
        Nothing,
        lambda session, notice, _, __: obligations.rectified(session, notice),
        of_notice=lambda notice: True,
    ),
)
DUTIES_BY_NAME = {duty.name: duty for duty in DUTIES}


def notices(duties: ServiceDutiesOut, duty: Duty) -> list[ObligationOut]:
    """The service's open rectification notices ``duty`` may be recorded against."""
    if duty.of_notice is None:
        return []
    return [
        o
        for o in duties.obligations
        if o.kind is ObligationKind.RECTIFICATION and o.closed_at is None and duty.of_notice(o)
    ]


def duty_forms(duties: ServiceDutiesOut | None) -> list[Form]:
    """The forms of the duties an active service's page offers now: none for a service no
    longer on record with this host (cancelled, its access removed), which owes nothing."""
    if duties is None or duties.status != ServiceStatus.ACTIVE:
        return []
    forms = []
    for duty in DUTIES:
        open_notices = notices(duties, duty)
        if not duty.offered(duties) or (duty.of_notice and not open_notices):
            continue
        inputs = [_input(name, duty, duties) for name in duty.body.model_fields]
        if duty.of_notice:
            inputs.insert(0, _notice_input(open_notices))
        forms.append(
            Form(
                f"duty-{duty.name}",
                f"duties/{duty.name}",
                duty.title,
                duty.description,
                tuple(i for i in inputs if i is not None),
            )
        )
    return forms


def _input(name: str, duty: Duty, duties: ServiceDutiesOut) -> Input | None:
    shown = field_input(name, duty.body.model_fields[name])
    if name != "replaces":
        return shown
    on_file = duty.on_file(duties)
    if on_file is None:
        return None  # nothing to correct yet
    corrects = Choice(str(on_file), f"corrects the one on file, {on_file}", checked=False)
    return replace(shown, choices=(corrects,))


def _notice_input(open_notices: list[ObligationOut]) -> Input:
    options = tuple(Option(str(o.id), f"{o.data.get('reference')} (#{o.id})") for o in open_notices)
    return Input(NOTICE, "Rectification 整改通知", "the open notice", None, options, True)
