"""The service went live: its PSB filing falls due from that day, and a website's footer checks
start. Going live opens what the PSB number closes; a day mistyped is corrected here, moving
what it opened.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from urllib.parse import urlsplit

from sqlmodel import Session

from config.clock import CHINA, end_of_day
from config.domains import to_ascii_domain
from config.settings import Settings
from models import DeadlineStatus, Filing, Service
from workflow.domain.errors import Reason
from workflow.domain.obligations import (
    GoLive,
    ObligationKind,
    Recorded,
    check_live_before_leaving,
    check_service_day,
    has_home_page,
)
from workflow.domain.orders import ServiceKind
from workflow.obligations.reading import ServiceDutiesOut
from workflow.obligations.recording import Written, record_write
from workflow.obligations.rows import (
    approval_day,
    close_obligations,
    figures_to_arm,
    left_host_on,
    open_obligation,
    open_row,
    refused,
    remind_before,
    within,
)
from workflow.records import service_named

log = logging.getLogger(__name__)


def go_live(
    session: Session, service_id: int, command: GoLive, settings: Settings, actor: str
) -> ServiceDutiesOut:
    """The service went live: its PSB filing is due ``psb_filing_days`` later, with reminders
    before that day; a website's footer checks start. A day mistyped is corrected by naming
    it (``replaces``): the PSB filing, if still open, is then due from the corrected day."""

    def write(service: Service, filing: Filing, now: datetime) -> Written | None:
        if _as_on_file(command, service):
            return None  # sent again (a retry after a timeout): the same answer, nothing new
        if service.live_on != command.replaces:
            raise refused("go-live not recorded", _correcting(service, command.replaces))
        approved_on, left_on = approval_day(filing), left_host_on(session, service.id)
        if reasons := _check_go_live(command, service, approved_on, left_on, now):
            raise refused("go-live not recorded", *reasons)
        if service.live_on is not None:
            replaced = {"live_on": str(service.live_on), "home_url": service.home_url}
            _correct_go_live(session, service, filing, command, left_on, now, settings)
            return Written(replaced, settled={"home_url": service.home_url})
        service.live_on = command.live_on
        service.home_url = command.home_url or f"https://{service.domain}/"
        session.add(service)
        if service.psb_number is None:
            armed = figures_to_arm(ObligationKind.PSB_FILING, settings)
            due_on = within(command.live_on, armed)
            kind = ObligationKind.PSB_FILING
            open_obligation(session, service, filing, kind, end_of_day(due_on), now, armed)
            kind = ObligationKind.PSB_FILING_REMINDER
            remind_before(session, service, filing, kind, due_on, now, settings, armed)
        if footer_checked(service, left_on):
            open_obligation(session, service, filing, ObligationKind.FOOTER_CHECK, now, now)
        return Written(settled={"home_url": service.home_url})

    said = command.model_dump(mode="json")
    return record_write(
        session, service_id, write, settings, what=Recorded.GO_LIVE, said=said, actor=actor
    )


def footer_checked(service: Service, left_on: date | None) -> bool:
    """Whether the service's home page is checked for its number: a website's still on this
    host. An app or mini program shows its number inside itself, where fetching a home page
    cannot look; a site gone from the host (recorded as left before its go-live was) has no
    page here to check, and would fail for the wrong reason."""
    return has_home_page(ServiceKind(service.kind)) and left_on is None


def _correct_go_live(
    session: Session,
    service: Service,
    filing: Filing,
    command: GoLive,
    left_on: date | None,
    now: datetime,
    settings: Settings,
) -> None:
    """The go-live day on file corrected (logged): the open PSB filing moves to the new due
    day in place, so one already told overdue is not told again while it still is, and its
    reminders open again for that day. A new home page is checked at once. The day it replaced
    is kept once, by the correction's audit row (``Written.replaced``)."""
    old = service.live_on
    log.info("service %s go-live %s corrected to %s", service.id, old, command.live_on)
    service.live_on = command.live_on
    if command.home_url and command.home_url != service.home_url:
        service.home_url = command.home_url
        if footer_checked(service, left_on):
            close_obligations(session, service.id, (ObligationKind.FOOTER_CHECK,), now)
            open_obligation(session, service, filing, ObligationKind.FOOTER_CHECK, now, now)
    session.add(service)
    psb = open_row(session, service.id, ObligationKind.PSB_FILING)
    if psb is None or old == command.live_on:
        return  # the PSB filing was made, or is due from the same day
    armed = figures_to_arm(ObligationKind.PSB_FILING, settings, psb)
    due_on = within(command.live_on, armed)
    psb.due_at = end_of_day(due_on)
    if psb.due_at > now:
        psb.status, psb.fired_at = DeadlineStatus.PENDING, None  # told again if it passes
    psb.data = {**psb.data, **armed}
    session.add(psb)
    kind = ObligationKind.PSB_FILING_REMINDER
    close_obligations(
        session, service.id, (kind,), now, {"corrected_live_on": str(command.live_on)}
    )
    remind_before(session, service, filing, kind, due_on, now, settings, armed)


def _as_on_file(command: GoLive, service: Service) -> bool:
    """Whether a go-live says again what is on file: the day, and the home page if it names
    one; a correction sent again too (the day it replaced is no longer on file, the day it
    asked for is)."""
    return service.live_on == command.live_on and command.home_url in (None, service.home_url)


def _correcting(service: Service, replaces: date | None) -> Reason:
    """Why a go-live was not taken: it would replace a day on file it does not name."""
    if service.live_on is None:
        return Reason(
            "nothing_to_replace",
            f"{service_named(service)} has no go-live on file for {replaces} to replace",
            field="replaces",
        )
    return Reason(
        "already_live",
        f"{service_named(service)} went live on {service.live_on}; to correct the day or the "
        "home page, send that day as replaces",
        field="replaces",
        details={"live_on": str(service.live_on)},
    )


def _check_go_live(
    command: GoLive, service: Service, approved_on: date, left_on: date | None, now: datetime
) -> list[Reason]:
    """A go-live is recorded once it happened, not before approval (its PSB filing is due
    from that day) nor after the site left this host (``left_on``), and the page whose footer
    is checked is the service's own: another site's proves nothing."""
    today = now.astimezone(CHINA).date()
    reasons = check_service_day(
        command.live_on, "live_on", "the go-live", today=today, approved_on=approved_on
    )
    reasons += check_live_before_leaving(command.live_on, left_on, "live_on")
    if command.home_url and not has_home_page(ServiceKind(service.kind)):
        reasons.append(
            Reason(
                "no_home_page",
                f"{service_named(service)} shows its record number inside itself: it has no home "
                "page whose footer is checked",
                field="home_url",
            )
        )
    host = urlsplit(command.home_url).hostname if command.home_url else None
    try:
        domain = to_ascii_domain(service.domain)
    except ValueError:  # stored before IDNA2008 was applied (an emoji domain): as stored
        domain = service.domain
    if host is not None and not _on_domain(host, domain):
        reasons.append(
            Reason(
                "home_url_off_the_domain",
                f"{command.home_url} is not on the domain of {service_named(service)}: the footer "
                "checked must be the filed site's",
                field="home_url",
            )
        )
    return reasons


def _on_domain(host: str, domain: str) -> bool:
    try:
        name = to_ascii_domain(host)
    except ValueError:
        return False
    return name == domain or name.endswith(f".{domain}")
