"""The filters, order and page of ``filings list``, declared once so that every list of
filings (``filings list``, ``ops stuck|overdue``) is narrowed by the same options.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated

import typer

from cli.output import (
    JsonOption,
    choice_option,
    count_option,
    limit_option,
    offset_option,
    province_option,
    text_option,
)
from cli.search import search_text
from config import bounds
from workflow.domain.definition import Flag, State
from workflow.domain.orders import OrderKind
from workflow.schemas import FilingSort
from workflow.views.search import FilingFilters

LimitOption = Annotated[int, limit_option("filings")]
OffsetOption = Annotated[int, offset_option("filings")]
StateOption = Annotated[State | None, choice_option("Only filings in this state.", State, "STATE")]


# What a list of filings shows, given the filters typed and the page asked for.
ShowFilings = Callable[[FilingFilters, int, int, bool], None]


def filings_command(show: ShowFilings, *, fixed: Flag | None = None) -> Callable[..., None]:
    """A command taking the filters, order and page of ``filings list`` (the console's
    search), declared once here so that every list of filings (``ops stuck|overdue`` too) is
    narrowed the same way; without the option of the flag a list ``fixed`` (``--stuck``)."""

    def command(
        state: StateOption = None,
        kind: Annotated[
            OrderKind | None, choice_option("Only orders of this kind.", OrderKind, "KIND")
        ] = None,
        entity: Annotated[
            int | None,
            count_option("Only the orders of this entity.", 1, bounds.MAX_ROW_ID),
        ] = None,
        province: Annotated[
            str | None, province_option("Only filings of this province (aliases too), e.g. 京.")
        ] = None,
        stuck: Annotated[
            bool | None,
            typer.Option(
                "--stuck/--not-stuck",
                help=f"Only filings that are (or are not) stuck: {Flag.STUCK.meaning}.",
                show_default=False,
            ),
        ] = None,
        overdue: Annotated[
            bool | None,
            typer.Option(
                "--overdue/--not-overdue",
                help=f"Only filings that are (or are not) overdue: {Flag.OVERDUE.meaning}.",
                show_default=False,
            ),
        ] = None,
        domain: Annotated[
            str | None,
            text_option("Only domains that start with this, in Unicode or in punycode (xn--)."),
        ] = None,
        applicant: Annotated[
            str | None, text_option("Only applicants whose name holds this.")
        ] = None,
        icp_number: Annotated[
            str | None, text_option("Only ICP numbers that start with this, e.g. 京ICP备2026.")
        ] = None,
        min_days: Annotated[
            int | None,
            count_option(
                "Only filings that have not moved for this many days.", 0, bounds.MAX_DAYS
            ),
        ] = None,
        assignee: Annotated[
            str | None, text_option("Only filings given to this case manager.")
        ] = None,
        sort: Annotated[
            FilingSort | None,
            choice_option(
                "The order; a domain search's is by domain, others by id.", FilingSort, "COLUMN"
            ),
        ] = None,
        descending: Annotated[bool, typer.Option(help="Reverse the order.")] = False,
        limit: LimitOption = 50,
        offset: OffsetOption = 0,
        as_json: JsonOption = False,
    ) -> None:
        text = search_text(
            province=province, domain=domain, applicant=applicant, icp_number=icp_number,
            assignee=assignee,
        )  # fmt: skip
        filters = FilingFilters(
            **text.model_dump(exclude_unset=True),
            state=state,
            kind=kind,
            entity=entity,
            stuck=stuck,
            overdue=overdue,
            min_days_in_state=min_days,
            sort=sort,
            descending=descending,
        )
        show(filters, limit, offset, as_json)

    if fixed is not None:
        signature = inspect.signature(command, eval_str=True)
        kept = [p for p in signature.parameters.values() if p.name != fixed]
        command.__signature__ = signature.replace(parameters=kept)  # type: ignore[attr-defined]
    return command
