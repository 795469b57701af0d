"""Checks on people: a mobile, an email address, a name, a responsible person and their
identity document, and how two listed people are told apart.

Separate from the filing rules because an order checks its people wherever they appear
(the applicant of a new filing, the responsible persons and contacts of any order), and the
outcomes compare them after approval.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from workflow.domain.bounded import INVISIBLE, valid_email
from workflow.domain.citing import cite
from workflow.domain.commands import ApplicantKind
from workflow.domain.errors import Reason
from workflow.domain.rules import CHECKS, MISTYPED, ApplicantType, Rules

# A mainland mobile, and the one a refusal shows as expected (the check takes it: tested).
_MAINLAND_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
MOBILE_EXAMPLE = "13800138000"


def check_person_document(
    id_type: str | None, id_number: str | None, field: str, rules: Rules
) -> list[Reason]:
    """A responsible person's document, when they give one: type and number together, of a
    kind an individual files with, judged as an applicant's is (``check_document``). It is
    optional, as clients and imports written before it send none; the bureau asks each
    person for their ID's last 6 digits when they answer its SMS."""
    if id_type is None and id_number is None:
        return []
    if id_type is None or id_number is None:
        missing = "id_number" if id_number is None else "id_type"
        return [
            Reason(
                "missing_field",
                f"{field}.{missing} is required: a document is given with its type and its "
                "number, or not at all",
                field=f"{field}.{missing}",
            )
        ]
    individual = rules.applicant_types[ApplicantKind.INDIVIDUAL]  # a person's documents
    return check_document(id_type, id_number, individual, "a person", field, rules)


def check_document(
    id_type: str, id_number: str, kind: ApplicantType, whose: str, field: str, rules: Rules
) -> list[Reason]:
    """The document is one ``kind`` files with (named ``whose``), its number is well formed,
    passes its standard's checks, and any region it carries is a real province; reasons name
    ``field``'s ``id_type`` and ``id_number``."""
    if id_type not in kind.documents:
        return [
            Reason(
                "id_type_not_accepted",
                f"{id_type!r} is not an identity document for {whose}",
                field=f"{field}.id_type",
                details={"accepted": list(kind.documents)},
                **cite(kind),
            )
        ]
    document = rules.documents[id_type]
    number = id_number.upper()
    details: dict[str, object] = {"id_type": id_type}
    if not document.matches(number):
        code = "invalid_id_number"
        message = f"not a well-formed {id_type} number: expected like {document.example}"
    elif failed := document.failed_checks(number):
        said = "; and ".join(CHECKS[check].failure for check in failed)
        code = "id_number_check_failed"
        message = f"{said}: {MISTYPED}; expected like {document.example}"
        details["checks"] = failed  # the standards' keys, as rules.toml names them
    elif (
        (region := document.region(number))
        and not rules.is_national(region)
        and rules.province_by_region(region) is None
    ):
        code, message = "unknown_region", f"region code {region} is in no province"
    else:
        return []
    return [
        Reason(
            code,
            message,
            field=f"{field}.id_number",
            details=details,
            **cite(document),
        )
    ]


def check_mobile(mobile: str, field: str) -> list[Reason]:
    """A mobile that is to answer the bureau's SMS: a mainland one (11 digits, 13x to 19x)."""
    if _MAINLAND_MOBILE.match(mobile):
        return []
    return [
        Reason(
            "invalid_phone",
            f"{field} must be a mainland mobile number (11 digits from 13 to 19), which receives "
            f"the bureau's SMS: expected like {MOBILE_EXAMPLE}",
            field=field,
        )
    ]


def check_email(email: str, field: str) -> list[Reason]:
    """An address the bureau and the host may write to, judged as a notification route's is
    (``valid_email``)."""
    try:
        valid_email(email)
    except ValueError as error:
        return [Reason("invalid_email", f"{field}: {error}", field=field)]
    return []


def same_name(one: str, other: str) -> bool:
    """Two names as a reader reads them: case, width (（北京） and (北京)), spacing and
    characters that do not show aside. A registrar shows an entity's name in its own way,
    and an entity's people type it in theirs; a document filed under another name is refused
    by it, so a look of the same name must not count as another.

    Chinese is written without spaces, so any between two Han characters (王 伟, 王　伟) or
    beside the middle dot of a transliterated name is typing, not spelling; the dot itself is
    typed as any of several (阿卜杜·热合曼, 阿卜杜•热合曼, 阿卜杜・热合曼, 阿卜杜.热合曼),
    all one. Between Latin letters a space parts a given name from a family name: "John
    Smith" and "JohnSmith" stay two spellings, as MIIT compares them."""
    return _name(one) == _name(other)


@dataclass(frozen=True)
class Someone:
    """A responsible person as ``same_person`` tells them apart: their name and, when given,
    their identity document."""

    name: str
    id_type: str | None = None
    id_number: str | None = None

    @property
    def document(self) -> tuple[str, str] | None:
        if self.id_type is None or self.id_number is None:
            return None
        return self.id_type, self.id_number.upper()


def same_person(one: Someone, other: Someone) -> bool:
    """Whether two listed people are one person, who may hold two roles with one mobile and
    keep what the record says of them. Their identity documents decide when both have one:
    names do not, as two people may share one (王伟 is borne by hundreds of thousands). A
    person listed without a document (it is optional: clients and imports older than it
    send none) is told by name (``same_name``), as before documents were taken."""
    if one.document is not None and other.document is not None:
        return one.document == other.document
    return same_name(one.name, other.name)


def as_spelt(name: str) -> str:
    """A name as written, spacing aside: unlike ``same_name``, case and width count, since a
    change order may exist to correct just those."""
    return " ".join(unicodedata.normalize("NFC", name).split())


# Han characters (CJK Unified Ideographs, Extension A, the compatibility block, and the
# supplementary planes' extensions, where rare characters of personal names are).
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
# The middle dot of a transliterated name (间隔号) as typed: Latin's, a bullet, the
# hyphenation point, the katakana middle dot, a (full-width, after NFKC) full stop and the
# mathematical dots; ``_DOT`` is the one they all read as.
_DOTS = re.compile(r"[.\u00b7\u2022\u2027\u2219\u22c5\u30fb]")
_DOT = "\u00b7"
_SPACE_IN_HAN = re.compile(rf"(?<=[{_HAN}{_DOT}]) (?=[{_HAN}{_DOT}])")


def _name(text: str) -> str:
    spaced = INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold()
    return _SPACE_IN_HAN.sub("", " ".join(_DOTS.sub(_DOT, spaced).split()))


def check_responsible(kind: ApplicantKind, entity: str, person: str, field: str) -> list[Reason]:
    """Whoever is named responsible for an entity (主体负责人) is a person: an individual is
    their own; any other entity names someone other than itself, since a company's name
    cannot answer MIIT's SMS or face check (names compare by ``same_name``)."""
    if same_name(person, entity) == (kind is ApplicantKind.INDIVIDUAL):
        return []
    if kind is ApplicantKind.INDIVIDUAL:
        return [
            Reason(
                "responsible_not_applicant",
                f"an individual is their own responsible person: {person!r} is not {entity!r}",
                field=field,
            )
        ]
    return [
        Reason(
            "responsible_person_missing",
            f"name the person responsible for the {kind.value} (主体负责人), "
            f"not the {kind.value} itself",
            field=field,
        )
    ]
