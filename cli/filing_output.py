"""What ``icpflow filings`` prints of filings as text: a filing on one screen, a page of
them, the held-up list, a history; ``cli.orders`` and ``ops`` show filings through them too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from cli.obligations import render_duties, render_forecast
from cli.output import Column, Due, Whole, cell, fields, span, table, table_or_none
from config.clock import lateness
from config.settings import get_settings
from workflow.domain.definition import DEADLINES_BY_KIND, EVENTS_BY_NAME, event_named
from workflow.domain.orders import kind_spec
from workflow.domain.wording import worded
from workflow.outlook import Outlook
from workflow.schemas import (
    ChangesOut,
    DeadlineOut,
    FilingOut,
    FilingPage,
    HistoryOut,
    OverduePage,
    SentBackOut,
)
from workflow.views import held_up


def _changes(changes: ChangesOut | None) -> str | None:
    """A change order's new values, one part a line ("entity_name → 贝塔集团")."""
    if changes is None:
        return None
    lines = []
    for part, value in changes.model_dump(exclude_none=True).items():
        if part == "app_platforms":
            said = "; ".join(_platform(name, on) for name, on in value.items())
        elif isinstance(value, dict):  # a person
            said = f"{value['name']} {value['mobile']}"
        else:
            said = str(value)
        lines.append(f"{part} → {said}")
    return "\n".join(lines)


def _platform(name: str, on: Mapping[str, str]) -> str:
    """An app on one platform, its public key cut short: a line must stay readable
    ("android cn.example.app 9F3B…21, key 30820122…")."""
    key = on.get("public_key")
    said = [name, on.get("package"), on["fingerprint"] + (f", key {key[:8]}…" if key else "")]
    return " ".join(part for part in said if part)


def render_filing(view: FilingOut, returned: SentBackOut | None = None) -> RenderableType:
    """The filing, why it came back (``returned``, where read), what may happen next, and what
    is due: what a case manager needs on one screen."""
    summary = fields(
        [
            ("id", view.id),
            ("kind", view.kind),
            ("entity", view.entity_id),
            ("service", view.service_id),
            ("service kind", view.service_kind.label if view.service_kind else None),
            ("state", f"{view.state} ({view.state_label})"),
            ("version", view.version),
            ("in state since", view.state_entered_at),
            ("assignee", view.assignee or "nobody"),
            ("domain", view.domain),
            ("domain expires", view.domain_expires_on),
            ("province", view.province),
            ("licence", view.licence),
            *(
                [("personal data purged", view.personal_data_purged_at)]
                if view.personal_data_purged_at
                else []
            ),
            ("applicant", f"{view.applicant.name} ({view.applicant.type})"),
            ("identity", f"{view.applicant.id_type} {view.applicant.id_number}"),
            ("contact", f"{view.applicant.phone} {view.applicant.email}"),
            (
                "website",
                f"{view.website.name} ({view.website.sector})" if view.service_id else None,
            ),
            ("changes", _changes(view.changes)),
            ("service number", view.service_number),
            ("server", view.server_ip),
            ("materials", view.materials),
            ("pre-approval", view.pre_approval_document),
            ("ICP number", view.icp_number),
            ("stuck", view.stuck),
            ("overdue", view.overdue),
        ],
        title=f"filing {view.id}",
    )
    allowed = table_or_none(
        "allowed events",
        [Whole("event"), "what it records", Whole("data")],
        [
            (
                e,
                worded(EVENTS_BY_NAME[e].description, get_settings()),
                "\n".join(EVENTS_BY_NAME[e].data_keys),  # one key a line, each whole
            )
            for e in view.allowed_events
        ],
    )
    due = table_or_none(
        "deadlines",
        [Whole("deadline"), "due", "past due", "estimated", Whole("status"), "meaning"],
        [
            (
                d.kind,
                Due(d.due_at),
                d.flag,  # stuck or overdue: the filing's flags' words
                d.estimated,
                d.status,
                # a reminder listed with what it reminds of is named its reminder
                held_up.meaning_among(d, view.deadlines)[0]
                + (f" ({d.source})" if d.source else ""),
            )
            for d in view.deadlines
        ],
    )
    return Group(summary, *_sent_back(returned), allowed, due)


def render_page(page: FilingPage, names: Mapping[int, str]) -> RenderableType:
    """Filings as a list shows them: identity numbers and phones masked; each named and its
    kind said as the console's list does, a cancelled site's approval being read for one that
    went live otherwise (``views.search.filings_named``)."""
    return table(
        [
            Whole("id"),
            Whole("domain"),
            "kind",
            "prov.",
            Whole("state"),
            "applicant",
            Whole("phone"),
            "stuck",
            "overdue",
        ],
        [
            (
                f.id,
                names[f.id],
                kind_spec(f.kind).label,
                f.province,
                f.state,
                f.applicant.name,
                f.applicant.phone,
                f.stuck,
                f.overdue,
            )
            for f in page.items
        ],
        caption=span(page.offset, len(page.items), page.total, exact=page.total_is_exact),
    )


# A list of filings held up (ops stuck|overdue, filings overdue): one row each, ``held_up_row``.
HELD_UP_COLUMNS: list[Column] = [
    Whole("id"),
    Whole("domain"),
    "kind",
    "prov.",
    Whole("state"),
    Whole("assignee"),
    "deadline",
    "due",
    "past due / due in",
]


def held_up_row(
    filing: FilingOut, deadline: DeadlineOut, name: str, now: datetime
) -> tuple[Any, ...]:
    """A filing named as the lists name it (``views.search.filing_named``) with the deadline it is
    listed for, how long past (or how soon due) by what its passing made of the filing."""
    return (
        filing.id,
        name,
        kind_spec(filing.kind).label,
        filing.province,
        filing.state,
        filing.assignee,
        DEADLINES_BY_KIND[deadline.kind].label,
        Due(deadline.due_at),
        lateness(deadline.due_at, now, deadline.flag),
    )


def render_overdue(page: OverduePage, names: Mapping[int, str], now: datetime) -> RenderableType:
    return table(
        HELD_UP_COLUMNS,
        [held_up_row(i.filing, i.deadline, names[i.filing.id], now) for i in page.items],
        caption=span(page.offset, len(page.items), page.total),
    )


def render_history(filing_id: int, entries: Sequence[HistoryOut]) -> RenderableType:
    """A transition a paragraph, as a log reads: its version, event and states on one line,
    then, indented, when and by whom, its reason and its data one a line. Six table columns
    left a 100-column terminal too little room: data and reasons folded mid-word,
    ``business_lic`` / ``ence_copy``; here each line has the terminal's width and wraps at
    its spaces."""
    paragraphs: list[RenderableType] = [Text(f"history of filing {filing_id}", style="bold")]
    for h in entries:
        moved = f"{h.from_state} → {h.to_state}" if h.from_state else f"→ {h.to_state}"
        paragraphs.append(Text.assemble((f"v{h.version}  {h.event}", "bold"), f"  {moved}"))
        when = Text.assemble(cell(h.at), f" by {h.actor}")
        # The history keeps the reason in the event's data too: said once, first.
        details = {"reason": h.reason} if h.reason else {}
        details |= {key: value for key, value in h.data.items() if key != "reason"}
        lines = Text("\n").join([when, cell(details)]) if details else when
        paragraphs.append(Padding(lines, (0, 0, 0, 4), expand=False))
    return Group(*paragraphs)


def _sent_back(returned: SentBackOut | None) -> list[RenderableType]:
    """Why an order came back, in the words of the console's /mine, so a case manager knows
    what to fix without reading its history: the event's reason, or the event alone for one
    that gives none (the SMS window closing). Plain text: a reason may hold ``[brackets]``."""
    if returned is None:
        return []
    said = f"Sent back 退回原因 ({event_named(returned.event)})"
    return [Text(f"{said}: {returned.reason}" if returned.reason else said)]


def rendered(after: Outlook | None) -> list[RenderableType]:
    """What a filing's page says comes next: the forecast while it is under review, the
    duties once it is approved, or why there is no forecast yet."""
    if after and after.forecast:
        return [render_forecast(after.forecast)]
    if after and after.duties:
        return [render_duties(after.duties)]
    if after and after.no_forecast:
        return [f"forecast: none yet, {after.no_forecast.message}"]
    return []
