"""The footer check's results, the worker's half of it: what it fetches, whether a redelivery
has its result already, and keeping one (two failures in a row tell the case managers).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from config.clock import get_clock
from config.settings import Settings
from models import FooterCheck, Service
from workflow import notices
from workflow.domain.obligations import OBLIGATIONS_BY_KIND, ObligationKind
from workflow.domain.orders import ServiceStatus
from workflow.domain.wording import worded
from workflow.obligations.rows import approving_order, get_service


def footer_target(session: Session, service_id: int) -> tuple[str, str] | None:
    """(home page URL, record number) of a live service still filed, else None."""
    service = session.get(Service, service_id)
    if (
        service is None
        or service.status != ServiceStatus.ACTIVE
        or service.record_number is None
        or service.home_url is None
    ):
        return None
    return service.home_url, service.record_number


def checked(session: Session, obligation_id: int | None) -> bool:
    """Whether the scheduled check ``obligation_id`` has its result already (a redelivery)."""
    if obligation_id is None:
        return False
    found = session.exec(
        select(FooterCheck.id).where(FooterCheck.obligation_id == obligation_id)
    ).first()
    return found is not None


def record_footer(
    session: Session,
    service_id: int,
    obligation_id: int | None,
    *,
    url: str,
    status_code: int | None,
    problems: list[str],
    settings: Settings,
) -> FooterCheck:
    """Keep one check's result (its own row is its audit: the ``service_audit`` table keeps
    what people record, which a check a day would bury); the second failure in a row
    notifies the case managers (once per run of failures, not at every check after it)."""
    now = get_clock().now()
    check = FooterCheck(
        service_id=service_id,
        obligation_id=obligation_id,
        checked_at=now,
        url=url,
        ok=not problems,
        status_code=status_code,
        problems=problems,
    )
    session.add(check)
    session.flush()
    recent = session.exec(
        select(FooterCheck.ok)
        .where(FooterCheck.service_id == service_id)
        .order_by(col(FooterCheck.checked_at).desc(), col(FooterCheck.id).desc())
        .limit(3)
    ).all()
    if list(recent[:2]) == [False, False] and (len(recent) < 3 or recent[2]):
        filing = approving_order(session, get_service(session, service_id))
        spec = OBLIGATIONS_BY_KIND[ObligationKind.FOOTER_CHECK]
        notices.for_service(
            session,
            filing,
            service_id,
            kind=notices.FOOTER_FAILING,
            audience=spec.audience,
            key=f"{filing.id}:footer:{check.id}",
            title=("网站底部备案号检查连续两次未通过。", "The footer check failed twice in a row."),
            lines=[
                f"URL: {url}",
                *(f"- {p}" for p in problems),
                worded(spec.description, settings),
            ],
            now=now,
            settings=settings,
        )
    return check
