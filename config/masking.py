"""Masks for identity and phone numbers shown in lists, pages, logs and notifications.

Enough stays visible for a case manager to tell two applicants apart (region digits and
the tail) while the number as a whole cannot be read back. Known numbers (a filing's own)
are masked wherever they occur; anything shaped like a mainland mobile, a resident identity
number or a unified social credit code is masked too, as free text (a reason a case manager
pasted, a log line) may quote someone else's. It lives in ``config`` because the log
configuration masks every line with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_MOBILE = re.compile(r"^(?P<country>\+?86)?(?P<local>1[0-9]{10})$")
# Not inside a longer run of letters or digits: a mainland mobile, also written in groups as
# people do (138 0013 8000, 138-0013-8000), an 18-character resident identity number
# (GB 11643) and an 18-character unified social credit code (GB 32100).
_SHAPED = re.compile(
    r"(?<![0-9A-Za-z])(?:"
    r"(?:\+?86[ -]?)?1[3-9][0-9](?:[ .-]?[0-9]{4}){2}"
    r"|[0-9]{17}[0-9Xx]"
    r"|[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}"
    r")(?![0-9A-Za-z])"
)


def mask_id_number(value: str) -> str:
    """Keep at most 3 leading and 4 trailing characters, fewer for short values.

    The visible share shrinks with the length (a sixth in front, a quarter behind) so a
    short passport number is not left mostly readable.
    """
    head, tail = min(3, len(value) // 6), min(4, len(value) // 4)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_phone(value: str) -> str:
    """``13800138000`` -> ``138****8000``; a country code stays readable, as it is no secret."""
    match = _MOBILE.match(value)
    if match is None:
        return mask_id_number(value)
    local = match.group("local")
    return (match.group("country") or "") + local[:3] + "****" + local[7:]


_GROUPING = re.compile(r"[ .-]")


def _mask(secret: str) -> str:
    ungrouped = _GROUPING.sub("", secret)
    return mask_phone(ungrouped) if _MOBILE.match(ungrouped) else mask_id_number(secret)


def mask_shaped(text: str) -> str:
    """``text`` with every mobile, resident identity number and credit code in it masked."""
    return _SHAPED.sub(lambda match: _mask(match.group(0)), text)


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every occurrence of each secret, and anything shaped like one of the
    numbers above, replaced by its mask.

    Longer secrets are matched first so one that contains another is masked whole; letters
    match regardless of case because an ID's check character is written either way.
    """
    ordered = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
    if ordered:
        masks = {secret.upper(): _mask(secret) for secret in ordered}
        pattern = re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)
        text = pattern.sub(lambda match: masks[match.group(0).upper()], text)
    return mask_shaped(text)
