"""The filing rules as typed, read-only data, loaded once from ``rules.toml``.

MIIT and the provincial bureaus change their lists (new TLDs, local policies) more often
than icpflow is released, so the rules are data; this module only parses them and refuses a
file that contradicts itself, listing every problem so an edited copy is fixed in one pass.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from config.settings import Settings

_LDH_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


class RulesError(ValueError):
    """The rules file is unreadable or inconsistent; ``problems`` lists every fault found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"invalid rules in {source}: " + "; ".join(problems))
        self.problems = problems


def to_ascii_domain(name: str) -> str:
    """IDNA-encode and lowercase ``name`` so Unicode and punycode spellings compare equal.

    Raises ``ValueError`` for anything that is not a syntactically valid host name.
    """
    try:
        ascii_name = name.removesuffix(".").encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValueError(f"{name!r} is not a valid domain name") from exc
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LDH_LABEL.match(label) for label in labels):
        raise ValueError(f"{name!r} is not a valid domain name")
    return ascii_name


def _gb11643(number: str) -> bool:
    """Resident ID: a real birth date (digits 7-14) and the ISO 7064 MOD 11-2 check digit."""
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    total = sum(int(digit) * pow(2, 17 - i, 11) for i, digit in enumerate(number[:17]))
    return "10X98765432"[total % 11] == number[17].upper()


def _gb32100(code: str) -> bool:
    """Unified social credit code: the 18th character is a MOD 31 check over the first 17."""
    values = [_CREDIT_CODE_ALPHABET.index(char) for char in code[:17]]
    total = sum(value * pow(3, i, 31) for i, value in enumerate(values))
    return _CREDIT_CODE_ALPHABET[(31 - total % 31) % 31] == code[17]


def _gb11714(code: str) -> bool:
    """Organisation code: the 9th character is a MOD 11 check over the first 8."""
    body, check = code.replace("-", "")[:8], code[-1]
    total = sum(
        int(char, 36) * weight for char, weight in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)
    )
    expected = (11 - total % 11) % 11
    return check == ("X" if expected == 10 else str(expected))


CHECKS: Mapping[str, Callable[[str], bool]] = MappingProxyType(
    {"gb11643": _gb11643, "gb32100": _gb32100, "gb11714": _gb11714}
)


@dataclass(frozen=True)
class Province:
    char: str
    name_zh: str
    name_en: str
    id_prefix: str
    individuals_local_residents_only: bool
    min_domain_validity_months: int | None


@dataclass(frozen=True)
class Document:
    key: str
    name_zh: str
    pattern: re.Pattern[str]
    check: str | None

    def matches(self, number: str) -> bool:
        return self.pattern.fullmatch(number) is not None

    def passes_check(self, number: str) -> bool:
        """Only meaningful once ``matches`` holds: the checks index into a well-formed number."""
        return self.check is None or CHECKS[self.check](number)


@dataclass(frozen=True)
class ApplicantType:
    key: str
    name_zh: str
    documents: tuple[str, ...]
    materials: tuple[str, ...]


@dataclass(frozen=True)
class Licence:
    key: str
    name_zh: str
    applicant_types: tuple[str, ...]
    pre_approval_required: bool
    extra_materials: tuple[str, ...]
    number_pattern: re.Pattern[str]


@dataclass(frozen=True)
class Sector:
    key: str
    name_zh: str
    pre_approval_required: bool
    extra_materials: tuple[str, ...]


@dataclass(frozen=True)
class Rules:
    accepted_tlds: frozenset[str]
    second_level_suffixes: frozenset[str]
    provinces: Mapping[str, Province]
    aliases: Mapping[str, str]
    documents: Mapping[str, Document]
    materials: Mapping[str, str]
    applicant_types: Mapping[str, ApplicantType]
    licences: Mapping[str, Licence]
    sectors: Mapping[str, Sector]

    def canonical_province(self, value: str) -> str | None:
        """Map an alias (蜀) to its canonical character (川); ``None`` when not a province."""
        canonical = self.aliases.get(value, value)
        return canonical if canonical in self.provinces else None

    def public_suffix(self, ascii_domain: str) -> str | None:
        """The longest accepted suffix of ``ascii_domain`` (itself possibly), or ``None``."""
        labels = ascii_domain.split(".")
        for start in range(len(labels)):
            suffix = ".".join(labels[start:])
            if suffix in self.second_level_suffixes or suffix in self.accepted_tlds:
                return suffix
        return None

    def required_materials(self, applicant_type: str, licence: str, sector: str) -> tuple[str, ...]:
        """Materials in the order a case manager would gather them: identity, licence, sector."""
        keys = (
            *self.applicant_types[applicant_type].materials,
            *self.licences[licence].extra_materials,
            *self.sectors[sector].extra_materials,
        )
        return tuple(dict.fromkeys(keys))

    def needs_pre_approval(self, licence: str, sector: str) -> bool:
        return self.licences[licence].pre_approval_required or (
            self.sectors[sector].pre_approval_required
        )


class _Parser:
    """Reads the raw TOML tables, noting every problem instead of stopping at the first."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.problems: list[str] = []

    def table(self, *path: str) -> Mapping[str, Any]:
        node: Any = self.raw
        for key in path:
            node = node.get(key, {}) if isinstance(node, Mapping) else {}
        if not isinstance(node, Mapping):
            self.problems.append(f"[{'.'.join(path)}] must be a table")
            return {}
        return node

    def regex(self, where: str, pattern: Any) -> re.Pattern[str]:
        try:
            return re.compile(str(pattern))
        except re.error as exc:
            self.problems.append(f"{where}: bad pattern ({exc})")
            return re.compile("(?!)")

    def domains(self, key: str) -> frozenset[str]:
        names: set[str] = set()
        for name in self.table("domains").get(key, []):
            try:
                names.add(to_ascii_domain(str(name)))
            except ValueError:
                self.problems.append(f"domains.{key}: {name!r} is not a domain name")
        return frozenset(names)

    def provinces(self) -> dict[str, Province]:
        defaults = self.table("provinces", "defaults")
        overrides = self.table("provinces", "rules")
        provinces: dict[str, Province] = {}
        for entry in self.table("provinces").get("known", []):
            policy = {**defaults, **overrides.get(entry["char"], {})}
            months = policy.get("min_domain_validity_months")
            if months is not None and (not isinstance(months, int) or months < 0):
                self.problems.append(f"provinces {entry['char']}: bad min_domain_validity_months")
            provinces[entry["char"]] = Province(
                char=entry["char"],
                name_zh=entry["zh"],
                name_en=entry["en"],
                id_prefix=entry["id_prefix"],
                individuals_local_residents_only=bool(
                    policy.get("individuals_local_residents_only", False)
                ),
                min_domain_validity_months=months,
            )
        self.problems += [
            f"provinces.rules: unknown province {c!r}" for c in overrides.keys() - provinces.keys()
        ]
        prefixes = [province.id_prefix for province in provinces.values()]
        self.problems += [
            f"provinces: id_prefix {p!r} used twice"
            for p in sorted(set(prefixes))
            if prefixes.count(p) > 1
        ]
        return provinces

    def documents(self) -> dict[str, Document]:
        documents: dict[str, Document] = {}
        for key, entry in self.table("documents").items():
            check = entry.get("check")
            if check is not None and check not in CHECKS:
                self.problems.append(f"documents.{key}: unknown check {check!r}")
            documents[key] = Document(
                key, entry["zh"], self.regex(f"documents.{key}", entry["pattern"]), check
            )
        return documents

    def applicant_types(self) -> dict[str, ApplicantType]:
        return {
            key: ApplicantType(
                key, entry["zh"], tuple(entry["documents"]), tuple(entry["materials"])
            )
            for key, entry in self.table("applicant_types").items()
        }

    def licences(self) -> dict[str, Licence]:
        licences: dict[str, Licence] = {}
        for key, entry in self.table("licences").items():
            pattern = self.regex(f"licences.{key}", entry["number_pattern"])
            if "province" not in pattern.groupindex:
                self.problems.append(f"licences.{key}: number_pattern lacks a 'province' group")
            licences[key] = Licence(
                key,
                entry["zh"],
                tuple(entry["applicant_types"]),
                bool(entry["pre_approval_required"]),
                tuple(entry["extra_materials"]),
                pattern,
            )
        return licences

    def sectors(self) -> dict[str, Sector]:
        return {
            key: Sector(
                key,
                entry["zh"],
                bool(entry["pre_approval_required"]),
                tuple(entry["extra_materials"]),
            )
            for key, entry in self.table("sectors").items()
        }

    def rules(self) -> Rules:
        provinces = self.provinces()
        aliases = {
            str(alias): str(char) for alias, char in self.table("provinces", "aliases").items()
        }
        rules = Rules(
            accepted_tlds=self.domains("accepted_tlds"),
            second_level_suffixes=self.domains("second_level_suffixes"),
            provinces=MappingProxyType(provinces),
            aliases=MappingProxyType(aliases),
            documents=MappingProxyType(self.documents()),
            materials=MappingProxyType(
                {str(k): str(v) for k, v in self.table("materials").items()}
            ),
            applicant_types=MappingProxyType(self.applicant_types()),
            licences=MappingProxyType(self.licences()),
            sectors=MappingProxyType(self.sectors()),
        )
        self.cross_check(rules)
        return rules

    def cross_check(self, rules: Rules) -> None:
        """Every name one table uses must be defined by the table it points to."""

        def expect(where: str, names: tuple[str, ...], known: Mapping[str, Any], what: str) -> None:
            self.problems += [
                f"{where}: unknown {what} {name!r}" for name in names if name not in known
            ]

        for alias, char in rules.aliases.items():
            if alias in rules.provinces or char not in rules.provinces:
                self.problems.append(f"provinces.aliases: {alias!r} = {char!r} is not an alias")
        for suffix in rules.second_level_suffixes:
            if suffix.rsplit(".", 1)[-1] not in rules.accepted_tlds:
                self.problems.append(
                    f"domains.second_level_suffixes: {suffix!r} is under no accepted TLD"
                )
        for key, kind in rules.applicant_types.items():
            expect(f"applicant_types.{key}", kind.documents, rules.documents, "document")
            expect(f"applicant_types.{key}", kind.materials, rules.materials, "material")
        for key, licence in rules.licences.items():
            expect(
                f"licences.{key}", licence.applicant_types, rules.applicant_types, "applicant type"
            )
            expect(f"licences.{key}", licence.extra_materials, rules.materials, "material")
        for key, sector in rules.sectors.items():
            expect(f"sectors.{key}", sector.extra_materials, rules.materials, "material")


def parse_rules(text: str, source: str = "<string>") -> Rules:
    """Build ``Rules`` from TOML text; ``RulesError`` lists every problem in it."""
    try:
        parser = _Parser(tomllib.loads(text))
        rules = parser.rules()
    except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise RulesError(source, [f"{type(exc).__name__}: {exc}"]) from exc
    if parser.problems:
        raise RulesError(source, parser.problems)
    return rules


@lru_cache(maxsize=8)
def load_rules(path: Path | None = None) -> Rules:
    """The rules in ``path``, or the packaged ``workflow/domain/rules.toml``; parsed once per path."""
    if path is None:
        packaged = resources.files("workflow.domain").joinpath("rules.toml")
        return parse_rules(packaged.read_text(encoding="utf-8"), "workflow/domain/rules.toml")
    return parse_rules(Path(path).read_text(encoding="utf-8"), str(path))


def rules_for(settings: Settings) -> Rules:
    return load_rules(settings.rules_file)
