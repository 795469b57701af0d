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
from typing import Any, Generic, TypeVar

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
    ServerRenewal,
    has_home_page,
)
from workflow.domain.orders import ServiceStatus
from workflow.domain.wording import worded
from workflow.obligations import ObligationOut, ServiceDutiesOut

# The rectification notice an extension or its completion is about.
NOTICE = "rectification"
Body = TypeVar("Body", bound=BaseModel)
# Fields about a home page, whose footer is checked: asked of a service that has one.
_ABOUT_THE_HOME_PAGE = frozenset({"home_url"})


class Nothing(BaseModel):
    """A duty recorded by the button alone (a rectification done)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Duty(Generic[Body]):
    """One thing a case manager records about an approved service, ``record``-ed (of the
    service, or of the notice chosen) from its ``body``, as the person signed in.
    ``description`` may name a setting (``{psb_filing_days}``), so the page says the figure in
    force. ``on_file`` reads what a ``replaces`` field corrects; ``of_notice`` makes it about
    an open rectification notice."""

    name: str
    title: str
    description: str
    body: type[Body]
    record: Callable[[Session, int, Body, Settings, str], ServiceDutiesOut]
    on_file: Callable[[ServiceDutiesOut], object] = lambda duties: None
    of_notice: Callable[[ObligationOut], bool] | None = None


DUTIES = (
    Duty(
        "go_live",
        "Record go-live 登记上线",
        "The PSB filing falls due {psb_filing_days} days later; a website's footer checks start.",
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
        "server_renewal",
        "Record server expiry 登记服务器到期",
        "The day the server the site is accessed on expires: reminders before it, ops told after.",
        ServerRenewal,
        obligations.server_renewal,
        on_file=lambda duties: duties.server_expires_on,
    ),
    Duty(
        "left_host",
        "Record leaving the host 登记迁出",
        "A cancel-access order falls due {cancel_access_days} days after the site moved off.",
        LeftHost,
        obligations.left_host,
        on_file=lambda duties: duties.left_on,
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
        "Once per notice, by at most {rectification_max_extension_working_days} working days.",
        ExtensionIn,
        obligations.extend,
        of_notice=lambda notice: notice.data.get("extended_by") is None,
    ),
    Duty(
        "rectified",
        "Record rectified 登记整改完成",
        "The notice's obligation closes.",
        Nothing,
        lambda session, notice, _nothing, settings, actor: obligations.rectified(
            session, notice, settings, actor
        ),
        of_notice=lambda notice: True,
    ),
)
DUTIES_BY_NAME: dict[str, Duty[Any]] = {duty.name: duty for duty in DUTIES}


def notices(duties: ServiceDutiesOut, duty: Duty[Any]) -> list[ObligationOut]:
    """The open rectification notices ``duty``'s form offers (an extension: those not
    extended yet)."""
    if duty.of_notice is None:
        return []
    return [
        o
        for o in duties.obligations
        if o.kind is ObligationKind.RECTIFICATION and o.closed_at is None and duty.of_notice(o)
    ]


def duty_forms(duties: ServiceDutiesOut | None, settings: Settings) -> list[Form]:
    """The forms of the duties an active service's page offers now: none for a service no
    longer on record with this host (cancelled, its access removed), which owes nothing."""
    if duties is None or duties.status != ServiceStatus.ACTIVE:
        return []
    forms = []
    for duty in DUTIES:
        offered = notices(duties, duty)
        if duty.of_notice and not offered:
            continue
        inputs = [_input(name, duty, duties) for name in duty.body.model_fields]
        if duty.of_notice:
            inputs.insert(0, _notice_input(offered))
        forms.append(
            Form(
                f"duty-{duty.name}",
                f"duties/{duty.name}",
                duty.title,
                worded(duty.description, settings),
                tuple(i for i in inputs if i is not None),
            )
        )
    return forms


def _input(name: str, duty: Duty[Any], duties: ServiceDutiesOut) -> Input | None:
    """A field's input; a correction's, a box naming what the page shows on file (none when
    nothing is: there is nothing to correct)."""
    if name in _ABOUT_THE_HOME_PAGE and not has_home_page(duties.kind):
        return None
    shown = field_input(name, duty.body.model_fields[name])
    if name != "replaces":
        return shown
    on_file = duty.on_file(duties)
    if on_file is None:
        return None  # nothing to correct yet
    # The box shows its label alone, so the label names what is on file.
    corrects = Choice(
        str(on_file), f"corrects the one on file, {on_file} 更正已登记的", checked=False
    )
    return replace(shown, choices=(corrects,))


def _notice_input(offered: list[ObligationOut]) -> Input:
    """A choice among the open notices, by the reference the bureau gave each."""
    options = tuple(Option(str(o.id), f"{o.data.get('reference')} (#{o.id})") for o in offered)
    return Input(NOTICE, "Rectification 整改通知", "the open notice", None, options, True)
