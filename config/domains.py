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


def domain_prefix(text: str) -> str:
    """What a search for domains starting with ``text`` looks for, in the stored spelling. A
    final dot is kept: ``site1.`` asks for ``site1.cn``, not ``site10.cn``."""
    text = _DOTS.sub(".", text)
    folded = canonical_domain(text.removesuffix("."))
    return f"{folded}." if text.endswith(".") else folded


def canonical_domain(name: str) -> str:
    """The one spelling a domain is stored, compared and searched in: lower case, no trailing
    dot, an IDN in Unicode (as people read it). Text that is no domain, or only the start of
    one (a search), is folded as far as it can be (width, full stops, case) and otherwise kept,
    for the checks to name."""
    try:
        return idna.decode(to_ascii_domain(name))
    except (ValueError, UnicodeError):
        return _DOTS.sub(".", unicodedata.normalize("NFKC", name)).removesuffix(".").lower()
