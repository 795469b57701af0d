"""One filing as clients see it: masked, with its allowed events and open deadlines.

Every list and page of the read side describes its filings here, a page of them with one
query for their deadlines (``describe_many``); the service describes the filing it has just
changed with the deadlines it has just armed (``describe_open``). ``get_filing`` is how
everything that reads or changes one filing finds it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from config.clock import as_utc
from config.masking import mask_id_number, mask_phone
from config.settings import Settings
from models import Deadline, Filing
from workflow.deadlines import OpenDeadline, armed_figures
from workflow.domain.commands import ApplicantKind, LicenceKind
from workflow.domain.definition import DEADLINES_BY_KIND, STATES_BY_NAME, Flag, State
from workflow.domain.errors import FilingNotFound
from workflow.domain.machine import offered_events
from workflow.domain.orders import OrderKind, ServiceKind
from workflow.domain.wording import worded
from workflow.schemas import ApplicantOut, ChangesOut, DeadlineOut, FilingOut, WebsiteOut


def describe(session: Session, filing: Filing, now: datetime, settings: Settings) -> FilingOut:
    return describe_many(session, [filing], now, settings)[0]


def describe_open(
    filing: Filing, open_deadlines: Sequence[OpenDeadline], now: datetime, settings: Settings
) -> FilingOut:
    """Describe a filing whose open deadlines are in hand (just armed): no query needed."""
    return _describe(filing, open_deadlines, now, settings)


def describe_many(
    session: Session, filings: Sequence[Filing], now: datetime, settings: Settings
) -> list[FilingOut]:
    """Describe a page of filings with one query for all their open deadlines.

    ``settings`` word the deadlines and decide the events offered: the caller's, never the
    process's behind its back, so a caller holding its own (a test, the bench) reads what it
    set."""
    ids = [f.id for f in filings]
    open_deadlines: dict[int, list[Deadline]] = defaultdict(list)
    if ids:
        rows = session.exec(
            select(Deadline).where(
                col(Deadline.filing_id).in_(ids), col(Deadline.disarmed_at).is_(None)
            )
        )
        for row in rows:
            open_deadlines[row.filing_id].append(row)
    return [_describe(f, open_deadlines[f.id or 0], now, settings) for f in filings]


def _describe(
    filing: Filing,
    deadlines: Sequence[Deadline | OpenDeadline],
    now: datetime,
    settings: Settings,
) -> FilingOut:
    assert filing.id is not None
    armed = armed_figures(((d.kind, d.figure) for d in deadlines), settings)
    shown = sorted(
        (_deadline_out(d, now, armed, settings) for d in deadlines),
        key=lambda d: (d.due_at, d.id),
    )
    return FilingOut(
        id=filing.id,
        kind=OrderKind(filing.kind),
        entity_id=filing.entity_id,
        service_id=filing.service_id,
        service_kind=ServiceKind(filing.service_kind) if filing.service_kind else None,
        domain=filing.domain,
        # An order on the entity alone stores its opening day there: no domain expires.
        domain_expires_on=filing.domain_expires_on if filing.service_id is not None else None,
        province=filing.province,
        licence=LicenceKind(filing.licence),
        applicant=ApplicantOut(
            type=ApplicantKind(filing.applicant_type),
            name=filing.applicant_name,
            id_type=filing.applicant_id_type,
            id_number=mask_id_number(filing.applicant_id_number),
            phone=mask_phone(filing.applicant_phone),
            email=filing.applicant_email,
        ),
        website=WebsiteOut(name=filing.website_name, sector=filing.sector),
        state=State(filing.state),
        state_label=STATES_BY_NAME[filing.state].label_zh,
        version=filing.version,
        state_entered_at=as_utc(filing.state_entered_at),
        created_at=as_utc(filing.created_at),
        service_number=filing.service_number,
        server_ip=filing.server_ip,
        materials=list(filing.materials),
        changing=list(filing.changes),
        changes=_changes_out(filing.changes) if filing.changes else None,
        pre_approval_document=filing.pre_approval_document,
        icp_number=filing.icp_number,
        assignee=filing.assignee,
        personal_data_purged_at=(
            as_utc(filing.personal_data_purged_at) if filing.personal_data_purged_at else None
        ),
        allowed_events=offered_events(filing, filing.state, settings),
        deadlines=shown,
        stuck=any(d.flag is Flag.STUCK for d in shown),
        overdue=any(d.flag is Flag.OVERDUE for d in shown),
    )


def _changes_out(changes: Mapping[str, Any]) -> ChangesOut:
    """A change order's new values as stored, the new persons' mobiles and identity numbers
    masked, as entities and services show theirs."""
    masked = {
        part: _person_masked(value) if isinstance(value, dict) and "mobile" in value else value
        for part, value in changes.items()
    }
    return ChangesOut.model_validate(masked)


def _person_masked(person: Mapping[str, Any]) -> dict[str, Any]:
    number = person.get("id_number")
    return {
        **person,
        "mobile": mask_phone(person["mobile"]),
        "id_number": mask_id_number(number) if number else number,
    }


def _deadline_out(
    deadline: Deadline | OpenDeadline,
    now: datetime,
    armed: Mapping[str, float],
    settings: Settings,
) -> DeadlineOut:
    """``armed``: the figures the filing's deadlines were armed with, for its text to name."""
    assert deadline.id is not None
    due = as_utc(deadline.due_at)
    spec = DEADLINES_BY_KIND[deadline.kind]
    flag = spec.flag if due <= now else None
    return DeadlineOut(
        id=deadline.id,
        kind=deadline.kind,
        description=worded(spec.description, settings, armed),
        description_zh=worded(spec.zh, settings, armed),
        source=spec.source,
        due_at=due,
        status=deadline.status,
        estimated=deadline.estimated,
        flag=flag,
        overdue=flag is not None,
    )


def get_filing(session: Session, filing_id: int, *, lock: bool = False) -> Filing:
    """The filing, ``lock``-ed for this transaction's update if asked (PostgreSQL; a SQLite
    transaction holds the write lock already)."""
    filing = session.get(Filing, filing_id, with_for_update=lock)
    if filing is None:
        raise FilingNotFound(f"filing {filing_id} does not exist")
    return filing


def filing(session: Session, filing_id: int, now: datetime, settings: Settings) -> FilingOut:
    """One filing with its allowed events and open deadlines; ``FilingNotFound`` if none."""
    return describe(session, get_filing(session, filing_id), now, settings)
