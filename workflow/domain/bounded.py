"""Input types bounded like the columns they end up in; a new model picks one per field.

Each text type strips surrounding spaces, refuses blanks (a blank is a missing value) and
anything longer than its column (``config.bounds``), and refuses control characters: NUL is
what PostgreSQL cannot store, and the others have no business in a name or a number. A line
also refuses the invisible ones (zero-width spaces and joiners, direction overrides, the byte
order mark): a name made of them alone looks blank, and one with them inside looks like
another name, domain or number it is not. Only free text (``Paragraph``) keeps line breaks
and tabs. The limits show in the OpenAPI document
as ``maxLength`` and ``pattern``, so clients and fuzzers know them before they send.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, LiteralString

from annotated_types import Interval
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from config import bounds
from config.clock import CHINA, get_clock
from config.domains import canonical_domain
from workflow.domain.wording import Example

# C0 controls, DEL and the C1 controls; a paragraph allows tab, line feed and carriage return.
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
# Unicode's default-ignorable characters (zero-width spaces and joiners, direction marks and
# overrides, fillers, variation selectors, the byte order mark; beyond the BMP the shorthand
# format controls, the musical formatting ones and the tag characters), the line and paragraph
# separators, and the blank braille pattern: none shows, or shows as more than blank. The
# escapes are ones Python's ``re`` and pydantic's Rust regex both read.
_INVISIBLE = (
    r"\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e"
    r"\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    r"\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
INVISIBLE = re.compile(f"[{_INVISIBLE}]")
_CONTROLS_BUT_LINE_BREAKS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
LINE_PATTERN = rf"^[^{_CONTROLS}{_INVISIBLE}]*$"
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


# A whole number as a person writes one: its digits, after a minus sign if below 0. Python and
# pydantic would also read "+1_0" and "10.0" as 10, and "-0" as 0, more likely slips than the
# number meant: "-0" passes every bound a count has, though whoever typed the sign meant a number
# below 0, or typed a dash. A number below 0 is one, refused by its bounds for what it is, not
# for how it is written.
WHOLE_NUMBER = re.compile(r"[0-9]+|-[0-9]*[1-9][0-9]*")
_SIGNED_ZERO = re.compile(r"[-+]0+")


def written_whole_number(text: str) -> str:
    """``text`` if it is a whole number written in digits, else why not, in the error types the
    console words plainly (``int_parsing`` is pydantic's own for what reads as no number). Every
    edge reads its numbers through it: the API's and the console's queries and bodies, the CLI's
    options and arguments."""
    if WHOLE_NUMBER.fullmatch(text):
        return text
    if _SIGNED_ZERO.fullmatch(text):
        raise PydanticCustomError(
            "signed_zero", "must be written without a sign, not {typed}", {"typed": text}
        )
    raise PydanticCustomError("int_parsing", "must be a whole number written in digits")


def _digits(value: object) -> object:
    """A number typed in a path or a query is digits: pydantic would read "1.0" and "1 " as 1,
    naming a row the address does not."""
    return written_whole_number(value) if isinstance(value, str) else value


# A row's id as a path or query parameter: within PostgreSQL's INTEGER. The digits are judged
# first all the same (a before-validator wraps what precedes it); written after the bounds, it
# leaves them on the integer, which the API's schema then gives as JSON Schema's ``minimum``
# and ``maximum``, not as pydantic's own ``ge`` and ``le`` that no client reads.
RowId = Annotated[int, Interval(ge=1, le=bounds.MAX_ROW_ID), BeforeValidator(_digits)]
Offset = Annotated[int, Interval(ge=0, le=bounds.MAX_OFFSET), BeforeValidator(_digits)]
PageSize = Annotated[int, Interval(ge=1, le=bounds.MAX_PAGE), BeforeValidator(_digits)]

_DAY = re.compile(r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*")
# What a day is written as, with an example: every refusal of one says it, whether it is not
# written as a day or names none (2028-13-30), at every edge (the CLI's options too).
_DAY_FORMAT = "a date such as 2026-03-02 (YYYY-MM-DD)"


def _read_or_say(
    read: ValidatorFunctionWrapHandler, value: object, kind: LiteralString, expected: str
) -> object:
    """``value``, written in the right shape, as pydantic reads it; refused when it names no
    real day or time (2028-13-30), with pydantic's why and what is ``expected``, as its
    shape's refusal says: pydantic's own "month value is outside expected range of 1-12" gives
    no example. ``kind`` is pydantic's error type, which the API reports as
    ``invalid_date``."""
    try:
        return read(value)
    except ValidationError as exc:
        problem = exc.errors()[0]
        why = str(problem.get("ctx", {}).get("error") or problem["msg"])
        raise PydanticCustomError(
            kind, "{why}; give {expected}", {"why": why, "expected": expected}
        ) from None


def _a_day(value: object, read: ValidatorFunctionWrapHandler) -> object:
    """A day written as one: pydantic would also take a count of seconds (1830297600 for
    2028-01-01) or a date and time at midnight, more likely mistakes than the day meant."""
    if isinstance(value, str) and _DAY.fullmatch(value):
        # stripped as the text types strip theirs
        return _read_or_say(read, value.strip(), "date_from_datetime_parsing", _DAY_FORMAT)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    # pydantic's own kind of a day's error, which the API reports as ``invalid_date``.
    raise PydanticCustomError("date_type", "give {expected}", {"expected": _DAY_FORMAT})


def _a_count(value: object) -> object:
    """A whole number, or its digits as a form posts them: pydantic reads ``true`` as 1 (a box
    ticked is not one working day), and "1_0", "+10" and "10.0" as 10."""
    if isinstance(value, bool):
        raise ValueError("give a whole number, not true or false")
    return written_whole_number(value.strip()) if isinstance(value, str) else value


def _yes_or_no(value: object) -> object:
    """``true`` or ``false``, as JSON writes them and a form's yes/no posts them: pydantic
    would also read "off", "n", 0 and 1, which a client sending them more likely mistyped."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip()
    if isinstance(value, bool):
        return value
    raise ValueError("give true or false")


# A day, a count of days and a yes/no, as a client writes them: JSON's own types, or the text a
# form or a CSV row posts ("2026-03-02", "5", "true"), nothing else pydantic would coerce.
Day = Annotated[date, WrapValidator(_a_day)]
Count = Annotated[int, BeforeValidator(_a_count)]
YesNo = Annotated[bool, BeforeValidator(_yes_or_no)]
# Counts a list is filtered by in its query, bounded as RowId is (the digits judged after).
DaysCount = Annotated[int, Interval(ge=0, le=bounds.MAX_DAYS), BeforeValidator(_a_count)]
HoursAhead = Annotated[int, Interval(ge=0, le=bounds.MAX_WITHIN_HOURS), BeforeValidator(_a_count)]

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


_HEX_DIGITS = {"MD5": 32, "SHA-1": 40}


@dataclass(frozen=True)
class CertificateHash:
    """Which hash of its signing certificate an app is filed with as its fingerprint on a
    platform (``_HEX_DIGITS``'s names), declared once, in the fingerprint's type: it reads the
    value (``read``), describes the field in the API's schema and the CLI's help, and names
    it in the console's label (``certificate_hash``), so none of them can tell another hash."""

    names: tuple[str, ...]

    @property
    def en(self) -> str:
        return " or ".join(self.names)

    @property
    def zh(self) -> str:
        return " 或 ".join(self.names)

    @property
    def described(self) -> str:
        return f"the certificate's {self.en}"

    def read(self, value: str) -> str:
        """The fingerprint as keytool and openssl print it (pairs with colons) or run
        together, kept upper case and run together, so one compares equal however it was
        pasted."""
        digits = value.replace(":", "").replace(" ", "").upper()
        lengths = [_HEX_DIGITS[name] for name in self.names]
        if len(digits) not in lengths or not all(c in "0123456789ABCDEF" for c in digits):
            named = " or ".join(f"{_HEX_DIGITS[name]} hex digits ({name})" for name in self.names)
            raise ValueError(f"must be a certificate fingerprint of {named}")
        return digits


def certificate_hash(field: FieldInfo) -> CertificateHash | None:
    """The hash a fingerprint field is of (its type's ``CertificateHash``); None for any
    other field."""
    return next((m for m in field.metadata if isinstance(m, CertificateHash)), None)


def _fingerprint(*names: str) -> tuple[object, ...]:
    """A fingerprint type's metadata: bounded like its column, read, described and named by
    one ``CertificateHash`` of ``names``."""
    hashed = CertificateHash(names)
    described = Field(description=hashed.described)
    return line(bounds.FINGERPRINT), AfterValidator(hashed.read), hashed, described


# An app's signing certificate as MIIT files it: Android's MD5, iOS's SHA-1, HarmonyOS's MD5
# (a SHA-1 is taken too). docs/domain-facts.md, Apps: HW App备案咨询.md.
Md5Fingerprint = Annotated[str, *_fingerprint("MD5")]
Sha1Fingerprint = Annotated[str, *_fingerprint("SHA-1")]
AnyFingerprint = Annotated[str, *_fingerprint("MD5", "SHA-1")]

_PEM_ARMOUR = re.compile(r"-----(BEGIN|END) [A-Z ]+-----")
_KEY_TEXT = re.compile(r"[A-Za-z0-9+/=:]{64,}")


def _public_key(value: str) -> str:
    """A platform public key as the hosts' forms take it: its hex, with colons or without (the
    modulus a decompiler or keytool shows), or its base64 (a PEM's body); a PEM's armour and
    every space or line break are dropped, so one key compares equal however it was pasted."""
    body = "".join(_PEM_ARMOUR.sub("", value).split())
    if not _KEY_TEXT.fullmatch(body):
        raise ValueError(
            "must be a public key of at least 64 characters: its hex (colons allowed) or its "
            "base64 (a PEM's body)"
        )
    return body


# The public key of the certificate an app is signed with on one platform (docs/domain-facts.md,
# Apps: HW App备案咨询.md); several lines, as a PEM, are taken.
PublicKey = Annotated[str, paragraph(bounds.PUBLIC_KEY), AfterValidator(_public_key)]

# A mainland mobile as people write it: grouped, and with the country code or without.
_WRITTEN_MOBILE = re.compile(
    r"(?:\+\s*86|0086|86)?[\s-]*(1[3-9][0-9])[\s-]*([0-9]{4})[\s-]*([0-9]{4})"
)


def _one_mobile(value: str) -> str:
    """A mobile written "+86 138-0013-8000" as the 11 digits the bureau's SMS goes to: one
    number however it was typed, so a mobile listed for another person is told, and its mask
    is one. Anything else is kept as typed, for the check of a mobile to name."""
    written = _WRITTEN_MOBILE.fullmatch(value)
    return "".join(written.groups()) if written else value


def valid_email(address: str) -> str:
    """``address`` as mail is sent to it (its domain lower-cased), when it is one bare
    address mail can reach: the bureau and the host write to an applicant's, notifications go
    to a route's, and one check serves both so neither takes what the other refuses. Judged
    by email-validator without asking DNS (a check must not hang on the network); a display
    name ("Foo <a@b.cn>") is refused, since the address kept would not be the text given.
    Raises ``ValueError`` saying why, for the caller to put after the field's name."""
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(f"{address!r} is not an email address: {error}") from error


Phone = Annotated[str, line(bounds.PHONE), AfterValidator(_one_mobile)]
Email = Annotated[str, line(bounds.EMAIL)]
# A host's letters and digits, one number however its letters were typed: "ba20…" and "BA20…"
# bound to two orders would be one number used twice. Its format is the host's (a setting,
# checked by ``guards.guard_service_number``), shown by its example.
ServiceNumber = Annotated[
    str,
    line(bounds.SERVICE_NUMBER),
    AfterValidator(str.upper),
    Example("{service_number_example}"),
]
ServerIp = Annotated[str, line(bounds.SERVER_IP)]
Document = Annotated[str, line(bounds.DOCUMENT)]
IcpNumber = Annotated[str, line(bounds.ICP_NUMBER)]
Material = Annotated[str, line(bounds.MATERIAL)]
EventName = Annotated[str, line(bounds.EVENT)]
Recipient = Annotated[str, line(bounds.RECIPIENT)]
# Part of a recipient stored, to search by: team routes in the settings may name longer ones.
RecipientPart = Annotated[str, line(bounds.STORED_RECIPIENT)]
Reason = Annotated[str, paragraph(bounds.REASON)]
PsbNumber = Annotated[str, line(bounds.PSB_NUMBER)]
Url = Annotated[str, line(bounds.URL)]


# How far ahead of this server's clock a time may be and still count as now (another
# machine's clock, a phone's), rather than as a time still to come.
CLOCK_SKEW = timedelta(minutes=1)
_EXAMPLE_MOMENT = "a date and time such as 2026-03-02T22:10 (Beijing time) or 2026-03-02T14:10Z"


_DATE_THEN_TIME = re.compile(r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]")


def _date_and_time(value: object, read: ValidatorFunctionWrapHandler) -> object:
    """A time written with its date and clock time: a bare date or a count of seconds or
    milliseconds, which pydantic would also take, is more likely a mistake than a midnight or
    an epoch."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_THEN_TIME.match(value):
        return _read_or_say(read, value, "datetime_from_date_parsing", _EXAMPLE_MOMENT)
    raise ValueError(f"give {_EXAMPLE_MOMENT}")


def _past_moment(value: datetime) -> datetime:
    """In UTC, read as Beijing time when it names no offset (what a phone in China shows), and
    not later than now: a time something already happened."""
    try:
        moment = (value if value.tzinfo else value.replace(tzinfo=CHINA)).astimezone(UTC)
    except OverflowError:  # the first or last day of the calendar, moved past its edge
        raise ValueError(f"give {_EXAMPLE_MOMENT}") from None
    now = get_clock().now()
    if moment > now + CLOCK_SKEW:
        raise ValueError(
            f"{moment.astimezone(CHINA):%Y-%m-%d %H:%M} Beijing time is later than now "
            f"({now.astimezone(CHINA):%Y-%m-%d %H:%M})"
        )
    return min(moment, now)


# When something happened, as a person reads it off a message: an offset is optional.
PastMoment = Annotated[datetime, WrapValidator(_date_and_time), AfterValidator(_past_moment)]


# What a value is stripped of: Unicode's White_Space, as the API's text types strip it. Python's
# ``str.strip`` also takes the information separators FS, GS, RS and US for spaces; the API
# refuses them as control characters, so a value padded with one is kept, to be refused alike.
_WHITE_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def stripped(value: str) -> str:
    """A value typed into a form or a file cell, stripped as the text types strip it: what the
    CLI's flat fields and the console's forms send is then judged as the API judges it."""
    return value.strip(_WHITE_SPACE)
