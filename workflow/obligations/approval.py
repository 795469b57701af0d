"""What approval does to a service's obligations.

``on_approval`` is what an approved order does to them (the service's expiry watch starts; a
cancel-access order closes what it owed).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from config.settings import Settings
from models import Filing, Service
from workflow.domain.obligations import ObligationKind
from workflow.domain.orders import Effect, kind_spec
from workflow.obligations.expiry import DOMAIN, watch_expiry
from workflow.obligations.rows import FILED, close_obligations, open_row_ids

_GONE = (Effect.CANCEL_SERVICE, Effect.CANCEL_ENTITY, Effect.REMOVE_ACCESS)


def on_approval(session: Session, filing: Filing, now: datetime, settings: Settings) -> None:
    """Inside the approving event's transaction: a filed service's expiry watch starts; a
    service gone from this host (cancelled, access removed) owes nothing more, which closes
    its cancel-access obligation among the rest."""
    effect = kind_spec(filing.kind).effect
    if effect is Effect.CANCEL_ENTITY:
        query = select(Service.id).where(Service.entity_id == filing.entity_id)
        service_ids = [i for i in session.exec(query) if i is not None]
    else:
        service_ids = [filing.service_id] if filing.service_id is not None else []
    if effect in _GONE:
        for service_id in service_ids:
            close_obligations(
                session, service_id, tuple(ObligationKind), now, {"closed_by_order": filing.id}
            )
    elif effect in FILED and filing.service_id is not None:
        service = session.get(Service, filing.service_id)
        assert service is not None
        if not any(open_row_ids(session, filing.service_id, kind) for kind in DOMAIN.kinds):
            watch_expiry(session, service, filing, now, settings, DOMAIN)
