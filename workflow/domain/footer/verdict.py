"""What is wrong with a footer as read: the record number (or the entity number) not shown, or
hidden, and the link to the MIIT site missing, hidden or not carrying the number; numbers
compared as a reader sees them (spacing, full-width forms, a province's alias aside)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

from workflow.domain.footer.reading import MIIT_URL, Footer
from workflow.domain.orders import split_number

# The province's character stands right before "ICP" (京ICP备…, 京ICP证…).
_PROVINCE = re.compile(r".(?=icp)")


def _squeezed(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _provinces(squeezed: str, canonical: Callable[[str], str | None]) -> str:
    """Each province character or alias before "ICP" replaced by its canonical character, one
    character for one."""
    return _PROVINCE.sub(lambda m: canonical(m[0]) or m[0], squeezed)


def _normal(text: str, canonical: Callable[[str], str | None]) -> str:
    """``text`` as numbers are compared: a reader sees the same number whether it is spaced,
    split by tags, in full-width forms (京ＩＣＰ备２０２６…), in lower case, or written with
    the province's alias (蜀ICP备 for 川ICP备)."""
    return _provinces(_squeezed(text), canonical)


def _hiding_number(
    pieces: list[tuple[str, str | None]],
    numbers: tuple[str, ...],
    canonical: Callable[[str], str | None],
) -> str | None:
    """What hides the first of ``numbers`` (normalised) found in the page's text, shown and
    hidden alike; ``None`` when none is there or no hidden piece holds part of it."""
    squeezed = [(_squeezed(text), hidden_by) for text, hidden_by in pieces]
    everything = _provinces("".join(text for text, _ in squeezed), canonical)
    for number in numbers:
        start = everything.find(number)
        if start < 0:
            continue
        end, at = start + len(number), 0
        for text, hidden_by in squeezed:
            if hidden_by is not None and at < end and start < at + len(text):
                return hidden_by
            at += len(text)
    return None


class _Judged(NamedTuple):
    """What is wrong with a footer, and whether the number or the link is there but hidden."""

    problems: list[str]
    hidden: bool


def judged(page: Footer, record_number: str, canonical: Callable[[str], str | None]) -> _Judged:
    """What is wrong with the footer of ``page`` as read, for ``HomePage.footer_problems``."""
    entity_number = split_number(record_number)[0]
    accepted = (_normal(record_number, canonical), _normal(entity_number, canonical))
    shown = _normal(
        "".join(text for text, hidden_by in page.pieces if hidden_by is None), canonical
    )
    visible = [link for link in page.miit_links if link.hidden_by is None]
    linked = [_normal("".join(link.text), canonical) for link in visible]
    problems: list[str] = []
    hidden = False
    if not any(number in shown for number in accepted):
        hidden_by = _hiding_number(page.pieces, accepted, canonical)
        hidden = hidden_by is not None
        why = f": hidden by {hidden_by}" if hidden_by else ""
        problems.append(f"the record number {record_number} is not shown{why}")
    if page.miit_links and not visible:
        hidden = True
        problems.append(
            f"the link to {MIIT_URL} is not shown: hidden by {page.miit_links[0].hidden_by}"
        )
    elif not linked:
        problems.append(f"no link to {MIIT_URL}")
    elif not any(number in text for text in linked for number in accepted):
        problems.append(f"the link to {MIIT_URL} does not carry the record number")
    return _Judged(problems, hidden)
