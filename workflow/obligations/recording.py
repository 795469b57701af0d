"""How recording what happened to a service runs, whatever was recorded.

Each public recording function is one transaction, like ``workflow.service``'s: it checks the
service is on record, lists every problem at once, then writes the service's new facts and
opens or closes its obligations, and an audit row saying who recorded what, and when
(``models.ServiceAudit``), as history says it of an order's events. A refused write leaves
no row; one sent again as recorded (a retry) changes nothing, and adds none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from config.clock import get_clock
from config.settings import Settings
from models import Filing, Service, ServiceAudit
from workflow.domain.errors import Reason
from workflow.domain.obligations import Recorded
from workflow.domain.orders import ServiceStatus
from workflow.obligations.reading import ServiceDutiesOut, duties
from workflow.obligations.rows import approving_order, get_service, refused
from workflow.records import service_named


@dataclass(frozen=True)
class Written:
    """What a write changed, for its audit rows: the facts on file it ``replaced`` (a
    correction's, a renewal's), named as the service's view names them, so an auditor reads
    what they were; the services written ``also`` (those sharing a renewed domain); and what
    it ``settled`` for a field the command left to default (a notice's day received, today; a go-live's home page, the domain's),
    so the audit says what was used, not that nothing was said."""

    replaced: Mapping[str, object] | None = None
    also: Sequence[int] = ()
    settled: Mapping[str, object] = field(default_factory=dict)


# A write returns None when it was sent again as recorded: nothing new, nobody to name.
Write = Callable[[Service, Filing, datetime], Written | None]


def record_write(
    session: Session,
    service_id: int,
    write: Write,
    settings: Settings,
    *,
    what: Recorded,
    said: Mapping[str, object],
    actor: str,
) -> ServiceDutiesOut:
    """Run ``write`` on the service, locked, and keep ``what`` ``actor`` recorded (``said``)
    in the same transaction; the view it answers with is worded by the caller's ``settings``."""
    now = get_clock().now()
    try:
        # Locked: what is recorded about a service is judged on what it holds (a go-live
        # recorded once, a notice not already open), so two writers take turns on it.
        service = get_service(session, service_id, lock=True)
        if service.record_number is None or service.status != ServiceStatus.ACTIVE:
            raise refused(
                "not recorded",
                Reason(
                    "not_on_record",
                    f"{service_named(service)} has no approved record with this host "
                    f"(status {service.status})",
                ),
            )
        written = write(service, approving_order(session, service), now)
        if written is not None:
            used = {**said, **written.settled}
            for written_id in (service_id, *written.also):
                audit(session, written_id, what, used, actor, now, written.replaced)
        session.flush()
        view = duties(session, service_id, now, settings)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return view


def audit(
    session: Session,
    service_id: int,
    what: Recorded,
    said: Mapping[str, object],
    actor: str,
    now: datetime,
    replaced: Mapping[str, object] | None = None,
) -> None:
    """The audit row of one write to the service's facts, added to the writer's session so it
    commits, or rolls back, with what it records."""
    session.add(
        ServiceAudit(
            service_id=service_id,
            what=what,
            data=dict(said),
            replaced=dict(replaced) if replaced is not None else None,
            actor=actor,
            at=now,
        )
    )
