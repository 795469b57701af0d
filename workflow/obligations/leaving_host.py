"""The site left this host's servers: a cancel-access order is owed, and its footer and server
are watched no more, until the leaving is taken back.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlmodel import Session, col, select

from config.clock import CHINA, end_of_day
from config.settings import Settings
from models import DeadlineStatus, Filing, Obligation, Service
from workflow.domain.definition import TERMINAL_STATES
from workflow.domain.errors import Reason
from workflow.domain.obligations import (
    LeftHost,
    ObligationKind,
    Recorded,
    check_live_before_leaving,
    check_service_day,
)
from workflow.domain.orders import OrderKind
from workflow.obligations.expiry import SERVER, watch_expiry
from workflow.obligations.going_live import footer_checked
from workflow.obligations.reading import ServiceDutiesOut
from workflow.obligations.recording import Written, record_write
from workflow.obligations.rows import (
    approval_day,
    close_obligations,
    day_left,
    figures_to_arm,
    latest_obligation,
    open_obligation,
    open_row,
    refused,
    within,
)

log = logging.getLogger(__name__)


def left_host(
    session: Session, service_id: int, command: LeftHost, settings: Settings, actor: str
) -> ServiceDutiesOut:
    """The site moved off this host's servers: a cancel-access order is owed (an empty record,
    空壳网站, is what the bureau cancels). A day mistyped is corrected by naming it
    (``replaces``): the cancel-access order owed is then due from the corrected day."""

    def write(service: Service, filing: Filing, now: datetime) -> Written | None:
        owed = open_row(session, service.id, ObligationKind.CANCEL_ACCESS)
        on_file = day_left(owed)
        if command.left_on is None:
            return _retract_left(session, service, filing, command.replaces, now, settings)
        if on_file == command.left_on:
            return None  # the day on file sent again (a retry, a correction's too): as it stands
        if on_file != command.replaces:
            raise refused("left-host not recorded", _correcting_left(on_file, command.replaces))
        reasons = check_service_day(
            command.left_on,
            "left_on",
            "leaving the host",
            today=now.astimezone(CHINA).date(),
            approved_on=approval_day(filing),
        )
        reasons += check_live_before_leaving(service.live_on, command.left_on, "left_on")
        if reasons:
            raise refused("left-host not recorded", *reasons)
        # A correction counts with the days the order owed was opened with, not today's.
        armed = figures_to_arm(ObligationKind.CANCEL_ACCESS, settings, owed)
        due = end_of_day(within(command.left_on, armed))
        if owed is not None:
            _correct_left(session, owed, command.left_on, due, now)
            return Written({"left_on": str(on_file)})
        open_obligation(
            session,
            service,
            filing,
            ObligationKind.CANCEL_ACCESS,
            due,
            now,
            {"left_on": str(command.left_on), **armed},
        )
        # Its page and its server are no longer this host's to check and watch.
        close_obligations(session, service.id, (ObligationKind.FOOTER_CHECK, *SERVER.kinds), now)
        return Written()

    said = command.model_dump(mode="json")
    return record_write(
        session, service_id, write, settings, what=Recorded.LEFT_HOST, said=said, actor=actor
    )


def _retract_left(
    session: Session,
    service: Service,
    filing: Filing,
    replaces: date | None,
    now: datetime,
    settings: Settings,
) -> Written | None:
    """A leaving recorded by mistake taken back, naming its day (``replaces``): the
    cancel-access order owed closes as retracted, and a live website's footer checks start
    again, as the watch of its server's expiry does. Sent again, once taken back, it changes
    nothing."""
    latest = latest_obligation(session, service.id, ObligationKind.CANCEL_ACCESS)
    if latest is not None and latest.data.get("retracted") == str(replaces):
        return None
    on_file = day_left(open_row(session, service.id, ObligationKind.CANCEL_ACCESS))
    if on_file is None or replaces != on_file:
        raise refused("left-host not taken back", _correcting_left(on_file, replaces))
    removing = session.exec(
        select(Filing.id).where(
            Filing.service_id == service.id,
            Filing.kind == OrderKind.CANCEL_ACCESS,
            col(Filing.state).not_in(list(TERMINAL_STATES)),
        )
    ).first()
    if removing is not None:
        reason = Reason(
            "cancel_access_in_flight",
            f"cancel-access order {removing} for the site is in flight: withdraw it first",
            field="left_on",
            details={"filing_id": removing},
        )
        raise refused("left-host not taken back", reason)
    kinds = (ObligationKind.CANCEL_ACCESS,)
    close_obligations(session, service.id, kinds, now, {"retracted": str(on_file)})
    log.info("service %s left-host %s taken back", service.id, on_file)
    if service.live_on is not None and footer_checked(service, None):
        open_obligation(session, service, filing, ObligationKind.FOOTER_CHECK, now, now)
    if service.server_expires_on is not None:
        watch_expiry(session, service, filing, now, settings, SERVER)
    return Written({"left_on": str(on_file)})


def _correcting_left(on_file: date | None, replaces: date | None) -> Reason:
    """Why a left-host day was not taken: it would replace a day on file it does not name."""
    if on_file is None:
        return Reason(
            "nothing_to_replace",
            f"no day of leaving the host is on file for {replaces} to replace",
            field="replaces",
        )
    return Reason(
        "already_owed",
        f"the site left this host on {on_file} and a cancel-access order is owed; to correct "
        "the day, send it as replaces",
        field="replaces",
        details={"left_on": str(on_file)},
    )


def _correct_left(
    session: Session, row: Obligation, left_on: date, due: datetime, now: datetime
) -> None:
    """The day on file corrected (logged): the cancel-access order owed (``row``) is due from
    the new one, in place, so one already told overdue is not told again while it still is. The
    day it replaced is kept once, by the correction's audit row (``Written.replaced``)."""
    old = row.data["left_on"]
    log.info("service %s left-host %s corrected to %s", row.service_id, old, left_on)
    row.data = {**row.data, "left_on": str(left_on)}
    row.due_at = due
    if due > now:
        row.status, row.fired_at = DeadlineStatus.PENDING, None  # told again if it passes
    session.add(row)
