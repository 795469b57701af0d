"""Domain names in one spelling, so that one domain is one domain wherever it is typed.

People type a domain as their keyboard gives it: full-width letters (ｅｘａｍｐｌｅ.cn), an
ideographic full stop (example。cn), a trailing dot, capitals, or an IDN as Unicode (例子.中国)
or as punycode (xn--fsqu00a.xn--fiqs8s). Stored and compared as typed, each would pass the "one
entity per domain" check as a new domain. IDNA's mapping folds them all into one name.
It lives in ``config``, below every layer, because a migration folds the rows stored before.

IDNA2008 with the UTS #46 mapping (the ``idna`` package), as registries and browsers apply
it, not Python's own codec (IDNA2003): that one let an emoji through, and punycode that
decodes to control characters (``xn--abc.cn``), names no registry would issue.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

import idna

_DOTS = re.compile("[\u3002\uff0e\uff61]")  # the full stops IDNA reads as "."


def to_ascii_domain(name: str) -> str:
    """IDNA-encode and lowercase ``name`` so Unicode and punycode spellings compare equal.

    Raises ``ValueError`` for anything that is not a valid host name under IDNA2008.
    """
    try:
        return idna.encode(_DOTS.sub(".", name).removesuffix("."), uts46=True).decode("ascii")
    except UnicodeError as exc:  # ``idna.IDNAError`` is one
        raise ValueError(f"{name!r} is not a valid domain name") from exc


# What begins the ASCII spelling of an internationalised label (``xn--fsqu00a`` is 例子).
_PUNYCODE_MARK = "xn--"


def ascii_spelling(domain: str) -> str | None:
    """The ASCII spelling (punycode) of a stored domain with an internationalised label, kept
    beside it for a search typed in that spelling; None for a domain spelt in ASCII already."""
    if domain.isascii():
        return None
    try:
        return to_ascii_domain(domain)
    except ValueError:  # no domain: nothing to search it by in ASCII
        return None


class DomainStarts(NamedTuple):
    """What a search for domains starting with some text looks for: the start of the stored
    spelling (Unicode), of the ASCII spelling of internationalised ones, or of either; None for
    a spelling the text says nothing about."""

    stored: str | None
    ascii: str | None


def domain_starts(text: str) -> DomainStarts:
    """The starts a search for domains beginning with ``text`` looks for. The labels before the
    last dot are whole, read in either spelling; the last may be cut short, and the start of a
    punycode label (``xn--fsqu``) is not the punycode of the start of a name, so it decodes to
    nothing or to another name (``xn--1lq``, the start of 北京's, decodes to 京): it is looked
    for among the ASCII spellings, as is ``xn-``, the mark's start none but a punycode label
    is likely to have (``x`` or ``xn`` would list every internationalised domain to someone
    typing ``xiaomi``). A final dot is kept: ``site1.`` asks for ``site1.cn``, not
    ``site10.cn``."""
    *whole, last = _DOTS.sub(".", unicodedata.normalize("NFKC", text)).lower().split(".")
    punycode = last.startswith(_PUNYCODE_MARK)
    stored = None if punycode else ".".join([*map(canonical_domain, whole), canonical_domain(last)])
    maybe_punycode = last == _PUNYCODE_MARK[:-1]
    ascii = ".".join([*map(_ascii_label, whole), last]) if punycode or maybe_punycode else None
    return DomainStarts(stored, ascii)


def _ascii_label(label: str) -> str:
    """A whole label of a search in its ASCII spelling; one that is no label, as typed (it
    then finds nothing, as it would in the other spelling)."""
    try:
        return to_ascii_domain(label)
    except ValueError:
        return label


def canonical_domain(name: str) -> str:
    """The one spelling a domain is stored, compared and searched in: lower case, no trailing
    dot, an IDN in Unicode (as people read it). Text that is no domain, or only the start of
    one (a search), is folded as far as it can be (width, full stops, case) and otherwise kept,
    for the checks to name."""
    try:
        return idna.decode(to_ascii_domain(name))
    except (ValueError, UnicodeError):
        return _DOTS.sub(".", unicodedata.normalize("NFKC", name)).removesuffix(".").lower()
