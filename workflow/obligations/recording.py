"""How recording what happened to a service runs, whatever was recorded.

Each public recording function is one transaction, like ``workflow.service``'s: it checks the
service is on record, lists every problem at once, then writes the service's new facts and
opens or closes its obligations.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from config.clock import get_clock
from models import Filing, Service
from workflow.domain.errors import Reason
from workflow.domain.orders import ServiceStatus
from workflow.obligations.reading import ServiceDutiesOut, duties
from workflow.obligations.rows import _approving_order, _refused, _service
from workflow.records import service_named


def _record(
    session: Session, service_id: int, write: Callable[[Service, Filing, datetime], None]
) -> ServiceDutiesOut:
    now = get_clock().now()
    try:
        # Locked: what is recorded about a service is judged on what it holds (a go-live
        # recorded once, a notice not already open), so two writers take turns on it.
        service = _service(session, service_id, lock=True)
        if service.record_number is None or service.status != ServiceStatus.ACTIVE:
            raise _refused(
                "not recorded",
                Reason(
                    "not_on_record",
                    f"{service_named(service)} has no approved record with this host "
                    f"(status {service.status})",
                ),
            )
        write(service, _approving_order(session, service), now)
        session.flush()
        view = duties(session, service_id, now)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return view
