"""ICP numbers: which licence's format a number has, which province issued it, and whether
a service's number carries its kind's suffix letter and sits under its entity's.

Separate because a number is judged alike where MIIT's approval is recorded (an event
guard) and where an order names a number already issued (a new access).
"""

from __future__ import annotations

from config.settings import Settings
from workflow.domain.citing import cite
from workflow.domain.errors import Reason
from workflow.domain.orders import SUFFIX_LETTER, ServiceKind, split_number
from workflow.domain.rules import Rules, rules_for


def _parse_icp_number(number: str, rules: Rules) -> tuple[str, str] | None:
    """The licence kind whose format ``number`` has, and the province character it bears."""
    for key, licence in rules.licences.items():
        province = licence.province_of(number)
        if province is not None:
            return key, province
    return None


def check_access_number(
    number: str, licence: str, province: str | None, entity_number: str | None, settings: Settings
) -> list[Reason]:
    """The number a new access names: of the order's licence kind (whose format asks a filing
    number for its service's suffix; a commercial licence's may stand alone), issued by the
    entity's province and, when the entity's number is on file, under it. A new access keeps
    the number MIIT issued, so a wrong one could never be approved."""
    field = "service.record_number"
    reasons = check_number(number, licence, province, rules_for(settings), field)
    if reasons:
        return reasons
    under = split_number(number)[0]
    if entity_number is not None and not rules_for(settings).same_number(under, entity_number):
        return [
            Reason(
                "record_number_not_the_entitys",
                f"{number!r} is not under the entity's number {entity_number}",
                field=field,
                details={"entity_number": entity_number},
            )
        ]
    return []


def check_suffix_letter(number: str, kind: ServiceKind, field: str) -> list[Reason]:
    """A service's number ends in its kind's letter: -2 a website, -2A an app, -2X a mini
    program, -2K a quick app (docs/domain-facts.md, Apps: HW App备案咨询.md). A new access names a
    number MIIT issued, so an app's without its letter is another service's."""
    suffix = split_number(number)[1]
    letter = number[-1] if number[-1:].isalpha() else ""
    if suffix is None or letter == SUFFIX_LETTER[kind]:
        return []
    return [
        Reason(
            "suffix_not_the_kinds",
            f"{number!r} is not the number of a service of kind {kind.label}: its suffix "
            f"ends in -{suffix}{SUFFIX_LETTER[kind]}",
            field=field,
            details={"expected": f"-{suffix}{SUFFIX_LETTER[kind]}"},
        )
    ]


# How a suffix tells the kind: "-1A for an app, -1X for a mini program, -1K for a quick app".
_LETTERED = ", ".join(
    f"-1{letter} for {'an' if kind.value[0] in 'aeiou' else 'a'} {kind.value.replace('_', ' ')}"
    for kind, letter in SUFFIX_LETTER.items()
    if letter
)


def check_number(
    number: str, licence: str, province: str | None, rules: Rules, field: str
) -> list[Reason]:
    """``number`` has the format of ``licence``'s numbers and was issued by ``province``."""
    parsed = _parse_icp_number(number, rules)
    if parsed is None and _parse_icp_number(f"{number}-1", rules) is not None:
        return [
            Reason(
                "invalid_icp_number",
                f"{number!r} is an entity's number; a site's or an app's carries its suffix "
                f"too, such as {number}-1 ({_LETTERED})",
                field=field,
                details={"example": f"{number}-1"},
            )
        ]
    if parsed is None:
        expected = " or ".join(rules.licences[licence].number_examples)
        return [
            Reason(
                "invalid_icp_number",
                f"{number!r} is not an ICP number: expected like {expected}",
                field=field,
            )
        ]
    kind, found = parsed
    reasons: list[Reason] = []
    cited = rules.licences[kind]
    if kind != licence:
        reasons.append(
            Reason(
                "icp_number_kind_mismatch",
                f"a {kind} number was given where the order asks for a {licence} number",
                field=field,
                details={"expected": licence, "found": kind},
                **cite(cited),
            )
        )
    if province is not None and rules.canonical_province(found) != province:
        reasons.append(
            Reason(
                "icp_number_province_mismatch",
                f"the number was issued by {found}, the filing is with {province}",
                field=field,
                details={"expected": province, "found": found},
                **cite(cited),
            )
        )
    return reasons
