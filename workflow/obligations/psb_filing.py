"""The PSB number: checked against its format and the entity's province, it closes the PSB
filing that going live opened. Each site keeps its own, and a correction's audit row keeps what
it replaced.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from config.settings import Settings
from models import Entity, Filing, Service
from workflow.domain.errors import Reason
from workflow.domain.obligations import (
    ObligationKind,
    PsbNumberIn,
    Recorded,
    check_psb_number,
    psb_digits,
    same_psb_number,
)
from workflow.domain.orders import ServiceStatus
from workflow.domain.rules import Rules, rules_for
from workflow.obligations.reading import ServiceDutiesOut
from workflow.obligations.recording import Written, record_write
from workflow.obligations.rows import close_obligations, latest_obligation, refused
from workflow.records import service_named
from workflow.turns import take_turns

log = logging.getLogger(__name__)


def psb_number(
    session: Session, service_id: int, command: PsbNumberIn, settings: Settings, actor: str
) -> ServiceDutiesOut:
    """The PSB number, checked against its format and the entity's province, closes the PSB
    filing; the number is kept on the service. The same number again changes nothing; another
    replaces the one on file only if it names it (``replaces``). The audit row keeps the
    number a correction replaced, and when and by whom (``Written.replaced``); the PSB
    filing's row, once the site went live, says the number now on file."""

    rules = rules_for(settings)  # the configured rules' provinces, not the packaged ones

    def canonical(province: str) -> str | None:
        return rules.canonical_province(province) if province else None

    def write(service: Service, filing: Filing, now: datetime) -> Written | None:
        on_file = service.psb_number
        entity = session.get(Entity, service.entity_id)
        assert entity is not None
        reasons = check_psb_number(command.psb_number, entity.province, rules)
        if reasons:  # first: another province's prefix on the digits on file is no alias
            raise refused("PSB number refused", *reasons)
        if on_file is not None and same_psb_number(command.psb_number, on_file, canonical):
            return None  # the number on file, its province written as the alias or not
        if not same_psb_number(command.replaces, on_file, canonical):
            raise refused("PSB number refused", _replacing(service, on_file, command.replaces))
        digits = psb_digits(command.psb_number)
        assert digits is not None  # a number of the format, as checked above
        take_turns(session, [f"psb_number:{digits}"])  # then see the other's
        if holder := _psb_number_holder(session, digits, service, rules):
            raise refused(
                "PSB number refused",
                Reason(
                    "psb_number_of_another_service",
                    f"{command.psb_number} is the PSB number of {service_named(holder)}: each "
                    "site has its own",
                    field="psb_number",
                    details={"service_id": holder.id},
                ),
            )
        service.psb_number = command.psb_number
        session.add(service)
        if on_file is not None:
            log.info(
                "service %s PSB number %s corrected to %s", service.id, on_file, command.psb_number
            )
            _correct_filed(session, service.id, command.psb_number)
        close_obligations(
            session,
            service.id,
            (ObligationKind.PSB_FILING, ObligationKind.PSB_FILING_REMINDER),
            now,
            {"psb_number": command.psb_number},
        )
        return Written(None if on_file is None else {"psb_number": on_file})

    said = command.model_dump(mode="json")
    return record_write(
        session, service_id, write, settings, what=Recorded.PSB_NUMBER, said=said, actor=actor
    )


def _psb_number_holder(
    session: Session, digits: str, service: Service, rules: Rules
) -> Service | None:
    """Another service keeping the PSB number of these ``digits`` on file, its province
    written either way. A site's PSB filing is its own, and goes with it: one whose record was
    cancelled keeps it no more. One whose access was removed is still on record through
    another host, and keeps it from any other site, but its own: the same record (number)
    back through a new access is another service row, with the PSB number it had."""
    gone = [ServiceStatus.CANCELLED, ServiceStatus.WITHDRAWN]
    # Its own record under either character of its province (蜀ICP备… is 川ICP备…).
    own = rules.number_spellings(service.record_number) if service.record_number else ()
    return session.exec(
        select(Service).where(
            col(Service.psb_number).endswith(f"公网安备{digits}号"),
            Service.id != service.id,
            col(Service.status).not_in(gone),
            or_(
                col(Service.status) != ServiceStatus.ACCESS_REMOVED,
                col(Service.record_number).not_in(own),
            ),
        )
    ).first()


def _replacing(service: Service, on_file: str | None, replaces: str | None) -> Reason:
    """Why a PSB number was not taken: it would replace one it does not name."""
    if on_file is None:
        return Reason(
            "nothing_to_replace",
            f"{service_named(service)} has no PSB number on file for {replaces!r} to replace",
            field="replaces",
        )
    return Reason(
        "psb_number_on_file",
        f"{service_named(service)} has PSB number {on_file!r} on file; to correct it, send "
        "it as replaces",
        field="replaces",
        details={"psb_number": on_file},
    )


def _correct_filed(session: Session, service_id: int | None, corrected: str) -> None:
    """The PSB filing's row, closed by the number a correction replaced, says the corrected
    one, as the service does, rather than contradict it. What the correction replaced is the
    audit row's to keep (``Written.replaced``), once, with who corrected it."""
    row = latest_obligation(session, service_id, ObligationKind.PSB_FILING)
    if row is not None:
        row.data = {**row.data, "psb_number": corrected}
        session.add(row)
