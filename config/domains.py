"""Domain names in one spelling, so that one domain is one domain wherever it is typed.

People type a domain as their keyboard gives it: full-width letters (ｅｘａｍｐｌｅ.cn), an
ideographic full stop (example。cn), a trailing dot, capitals, or an IDN as Unicode (例子.中国)
or as punycode (xn--fsqu00a.xn--fiqs8s). Stored and compared as typed, each would pass the "one
entity per domain" check as a new domain. IDNA's mapping folds them all into one name.
It lives in ``config``, below every layer, because a migration folds the rows stored before.
"""

from __future__ import annotations

import re
import unicodedata

_LDH_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_DOTS = re.compile("[\u3002\uff0e\uff61]")  # the full stops IDNA reads as "."


def to_ascii_domain(name: str) -> str:
    """IDNA-encode and lowercase ``name`` so Unicode and punycode spellings compare equal.

    Raises ``ValueError`` for anything that is not a syntactically valid host name.
    """
    try:
        ascii_name = _DOTS.sub(".", name).removesuffix(".").encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValueError(f"{name!r} is not a valid domain name") from exc
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LDH_LABEL.match(label) for label in labels):
        raise ValueError(f"{name!r} is not a valid domain name")
    return ascii_name


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
        return to_ascii_domain(name).encode("ascii").decode("idna")
    except (ValueError, UnicodeError):
        return _DOTS.sub(".", unicodedata.normalize("NFKC", name)).removesuffix(".").lower()
