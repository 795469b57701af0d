"""Input types bounded like the columns they end up in; a new model picks one per field.

Each text type strips surrounding spaces, refuses blanks (a blank is a missing value) and
anything longer than its column (``config.bounds``), and refuses control characters: NUL is
what PostgreSQL cannot store, and the others have no business in a name or a number. Only
free text (``Paragraph``) keeps line breaks and tabs. The limits show in the OpenAPI document
as ``maxLength`` and ``pattern``, so clients and fuzzers know them before they send.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from annotated_types import Interval
from pydantic import AfterValidator, StringConstraints

from config import bounds
from config.clock import CHINA, get_clock
from config.domains import canonical_domain

# C0 controls, DEL and the C1 controls; a paragraph allows tab, line feed and carriage return.
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_CONTROLS_BUT_LINE_BREAKS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
LINE_PATTERN = rf"^[^{_CONTROLS}]*$"
PARAGRAPH_PATTERN = rf"^[^{_CONTROLS_BUT_LINE_BREAKS}]*$"


def line(max_length: int) -> StringConstraints:
    """One line of text of at most ``max_length`` characters."""
    return StringConstraints(
        strip_whitespace=True, min_length=1, max_length=max_length, pattern=LINE_PATTERN
    )


def paragraph(max_length: int) -> StringConstraints:
    """Free text that may span lines, of at most ``max_length`` characters."""
    return StringConstraints(
        strip_whitespace=True, min_length=1, max_length=max_length, pattern=PARAGRAPH_PATTERN
    )


# A row's id as a path or query parameter: within PostgreSQL's INTEGER.
RowId = Annotated[int, Interval(ge=1, le=bounds.MAX_ROW_ID)]
Offset = Annotated[int, Interval(ge=0, le=bounds.MAX_OFFSET)]

# One spelling, whatever the keyboard typed (see config.domains); a search's start of one is
# folded where it is searched for, as a final dot there means something.
Domain = Annotated[str, line(bounds.DOMAIN), AfterValidator(canonical_domain)]
DomainStart = Annotated[str, line(bounds.DOMAIN)]
Province = Annotated[str, line(bounds.PROVINCE)]
Name = Annotated[str, line(bounds.NAME)]
Person = Annotated[str, line(bounds.PERSON)]
DocumentType = Annotated[str, line(bounds.DOCUMENT_TYPE)]
Sector = Annotated[str, line(bounds.SECTOR)]
IdNumber = Annotated[str, line(bounds.ID_NUMBER)]
Phone = Annotated[str, line(bounds.PHONE)]
Email = Annotated[str, line(bounds.EMAIL)]
ServiceNumber = Annotated[str, line(bounds.SERVICE_NUMBER)]
ServerIp = Annotated[str, line(bounds.SERVER_IP)]
Document = Annotated[str, line(bounds.DOCUMENT)]
IcpNumber = Annotated[str, line(bounds.ICP_NUMBER)]
Material = Annotated[str, line(bounds.MATERIAL)]
EventName = Annotated[str, line(bounds.EVENT)]
Recipient = Annotated[str, line(bounds.RECIPIENT)]
Reason = Annotated[str, paragraph(bounds.REASON)]
PsbNumber = Annotated[str, line(bounds.PSB_NUMBER)]
Url = Annotated[str, line(bounds.URL)]


def _past_moment(value: datetime) -> datetime:
    """In UTC, read as Beijing time when it names no offset (what a phone in China shows), and
    not later than now: a time something already happened."""
    moment = (value if value.tzinfo else value.replace(tzinfo=CHINA)).astimezone(UTC)
    now = get_clock().now()
    if moment > now:
        raise ValueError(
            f"{moment.astimezone(CHINA):%Y-%m-%d %H:%M} Beijing time is later than now "
            f"({now.astimezone(CHINA):%Y-%m-%d %H:%M})"
        )
    return moment


# When something happened, as a person reads it off a message: an offset is optional.
PastMoment = Annotated[datetime, AfterValidator(_past_moment)]
