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
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from config.domains import to_ascii_domain
from config.settings import Settings
from workflow.domain.commands import ApplicantKind, LicenceKind
from workflow.domain.errors import IcpflowError, Reason
from workflow.domain.orders import ServiceKind

NATIONAL_REGION = "100000"
_CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


class RulesError(IcpflowError):
    """The rules file is unreadable or inconsistent; ``problems`` lists every fault found."""

    code = "invalid_rules"

    def __init__(self, source: str, problems: list[str]) -> None:
        reasons = [Reason("invalid_rule", problem, field="rules_file") for problem in problems]
        super().__init__(f"invalid rules in {source}", reasons)
        self.problems = problems


def _gb11643(number: str) -> bool:
    """Resident ID: the ISO 7064 MOD 11-2 check character (the birth date is judged apart)."""
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


def _embedded_gb11714(code: str) -> bool:
    """Credit code: characters 9-17 are the entity's organisation code, with its own check."""
    return _gb11714(code[8:17])


@dataclass(frozen=True)
class NumberCheck:
    """A national standard's check on identity numbers (``rules.toml`` names it among a
    document's ``checks``), with what its failure means to the case manager who typed the
    number: said here once, beside the check, for every refusal to quote."""

    passes: Callable[[str], bool]
    failure: str

    def __call__(self, number: str) -> bool:
        return self.passes(number)


# What a failed check means in the end: the number is as its standard shapes it, so one of
# its characters was mistyped (or two swapped).
MISTYPED = "a character was mistyped or two swapped"
_LAST_WRONG = "the check character (the last) does not match the others"

CHECKS: Mapping[str, NumberCheck] = MappingProxyType(
    {
        "gb11643": NumberCheck(_gb11643, f"{_LAST_WRONG} (GB 11643)"),
        "gb32100": NumberCheck(_gb32100, f"{_LAST_WRONG} (GB 32100)"),
        "gb11714": NumberCheck(_gb11714, f"{_LAST_WRONG} (GB 11714)"),
        "embedded_gb11714": NumberCheck(
            _embedded_gb11714,
            "the organisation code within it (characters 9 to 17) does not match its own "
            "check character (GB 11714)",
        ),
    }
)


@dataclass(frozen=True)
class Source:
    """Where a rule comes from; ``thin`` when it rests on weak evidence and needs re-checking."""

    text: str
    thin: bool = False

    def __str__(self) -> str:
        return f"{self.text} (source thin)" if self.thin else self.text


class Policy(StrEnum):
    """The per-province rules ``[[provinces.rules]]`` may set."""

    INDIVIDUALS_RESIDENCY = "individuals_residency"
    MIN_AGE = "min_age"
    MIN_DOMAIN_VALIDITY_MONTHS = "min_domain_validity_months"
    # Domains one order of an entity (not an individual) may add; an individual's first
    # filing may add. Each holds for every order icpflow opens (``DOMAINS_AN_ORDER_ADDS``).
    MAX_DOMAINS_PER_ORDER = "max_domains_per_order"
    MAX_DOMAINS_INDIVIDUAL_FIRST_FILING = "max_domains_individual_first_filing"
    # 1: the entity's responsible person is its legal representative, or an authorisation
    # letter (material ``authorisation_letter``) is submitted.
    LEGAL_REP_RESPONSIBLE = "legal_rep_responsible"
    # 1: individuals filing with a document of foreign nationals (``foreign_nationals``) are
    # refused.
    NO_FOREIGN_INDIVIDUALS = "no_foreign_individuals"


# An order brings one service (``OrderCreate.service``) and a service one domain
# (``ServiceIn.domain``), so the bureaus' limits on the domains one order adds hold for every
# order icpflow opens and no guard counts them: they are data so that ``icpflow rules show``
# tells them with their sources. A limit below this one no order could meet, so the parser
# refuses it rather than let the file say what nothing enforces.
DOMAINS_AN_ORDER_ADDS = 1
# Rules a release dropped, with what a file of their day writes instead: an install's own
# RULES_FILE still naming one is refused, and told how to mend it rather than only "unknown".
_REPLACED_RULES = {
    "max_domains_per_individual": (
        f"{Policy.MAX_DOMAINS_PER_ORDER} (the domains an entity's order adds) or "
        f"{Policy.MAX_DOMAINS_INDIVIDUAL_FIRST_FILING} (an individual's first filing)"
    ),
}
_PER_ORDER_LIMITS = frozenset(
    {Policy.MAX_DOMAINS_PER_ORDER, Policy.MAX_DOMAINS_INDIVIDUAL_FIRST_FILING}
)


class Residency(StrEnum):
    """What shows an individual lives in the province they file in."""

    LOCAL_ID = "local_id"
    LOCAL_ID_OR_RESIDENCE_PERMIT = "local_id_or_residence_permit"


# The document a residence permit is filed as; accepted where a province's residency rule
# is ``local_id_or_residence_permit``.
RESIDENCE_PERMIT = "residence_permit"


def term_label(key: str, name_zh: str) -> str:
    """What pages call a term of the rules file, as they call a state, for the file declares
    no English beside the key: the key, which the API and the CLI take, then the Chinese,
    ``organisation 单位``."""
    return f"{key} {name_zh}"


class Term:
    """A term the rules file defines under its key with its Chinese name (``zh``)."""

    key: str
    name_zh: str

    @property
    def label(self) -> str:
        return term_label(self.key, self.name_zh)


@dataclass(frozen=True)
class ProvinceRule:
    """One ``[[provinces.rules]]`` entry: ``policy`` set to ``value`` where ``provinces`` say."""

    policy: Policy
    value: int | Residency
    provinces: tuple[str, ...]
    source: Source

    @property
    def name(self) -> str:
        return f"provinces.rules.{self.policy}"


@dataclass(frozen=True)
class Province:
    char: str
    name_zh: str
    name_en: str
    id_prefix: str
    policies: Mapping[Policy, ProvinceRule]

    @property
    def label(self) -> str:
        """What pages call it, as the province drop-downs offer it: ``京 北京 Beijing``."""
        return f"{self.char} {self.name_zh} {self.name_en}"


@dataclass(frozen=True)
class Document(Term):
    key: str
    name_zh: str
    pattern: re.Pattern[str]
    # A number of this document as its refusal shows one, which the pattern and the checks
    # take (the parser sees to it): declared beside them so that they cannot drift apart.
    example: str
    checks: tuple[str, ...]
    region_at: int | None
    birth_date_at: int | None
    # Foreign nationals file with it (a passport, a foreign permanent residence card), so a
    # province admitting no foreign individuals refuses it.
    foreign_nationals: bool
    source: Source

    @property
    def name(self) -> str:
        return f"documents.{self.key}"

    def matches(self, number: str) -> bool:
        return self.pattern.fullmatch(number) is not None

    def failed_checks(self, number: str) -> list[str]:
        """Only meaningful once ``matches`` holds: the checks index into a well-formed number."""
        return [check for check in self.checks if not CHECKS[check](number)]

    def region(self, number: str) -> str | None:
        """The GB/T 2260 region code the number carries, if the document has one."""
        return None if self.region_at is None else number[self.region_at : self.region_at + 6]

    def birth_date(self, number: str) -> date | None:
        """The birth date the number carries; ``ValueError`` when it is no real date."""
        if self.birth_date_at is None:
            return None
        digits = number[self.birth_date_at : self.birth_date_at + 8]
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


@dataclass(frozen=True)
class ApplicantType(Term):
    key: str
    name_zh: str
    documents: tuple[str, ...]
    materials: tuple[str, ...]
    home_province_only: bool
    source: Source

    @property
    def name(self) -> str:
        return f"applicant_types.{self.key}"


@dataclass(frozen=True)
class ServiceKindRule:
    """What a service of one kind (website, app, ...) brings when its order is submitted; its
    names are its ``ServiceKind``'s."""

    key: str
    materials: tuple[str, ...]
    source: Source

    @property
    def name(self) -> str:
        return f"service_kinds.{self.key}"


@dataclass(frozen=True)
class ReservedSuffix:
    """A domain suffix only some applicant types may file (.公益, .政务, .gov.cn)."""

    suffix: str
    applicant_types: tuple[str, ...]
    source: Source

    @property
    def name(self) -> str:
        return f"domains.reserved.{self.suffix.encode('ascii').decode('idna')}"


@dataclass(frozen=True)
class RequiredSuffixes:
    """The suffixes an applicant type files under and no other (a government body's .gov.cn
    and .政务); ``suffixes`` in IDNA, as domains are compared."""

    applicant_type: str
    suffixes: tuple[str, ...]
    source: Source

    @property
    def name(self) -> str:
        return f"domains.required.{self.applicant_type}"

    @property
    def shown(self) -> tuple[str, ...]:
        """The suffixes as people write them: .政务, not its punycode."""
        return tuple(suffix.encode("ascii").decode("idna") for suffix in self.suffixes)


@dataclass(frozen=True)
class Licence(Term):
    key: str
    name_zh: str
    applicant_types: tuple[str, ...]
    pre_approval_required: bool
    extra_materials: tuple[str, ...]
    number_patterns: tuple[re.Pattern[str], ...]
    # One number of each pattern, in their order, as a refusal shows them (the parser checks
    # each against its pattern, so the two cannot drift apart).
    number_examples: tuple[str, ...]
    source: Source

    @property
    def name(self) -> str:
        return f"licences.{self.key}"

    def province_of(self, number: str) -> str | None:
        """The province character ``number`` bears if it has this licence's format."""
        for pattern in self.number_patterns:
            match = pattern.fullmatch(number)
            if match:
                return match.group("province")
        return None


@dataclass(frozen=True)
class Sector(Term):
    key: str
    name_zh: str
    pre_approval_required: bool
    pre_approval_provinces: tuple[str, ...] | None
    extra_materials: tuple[str, ...]
    source: Source

    @property
    def name(self) -> str:
        return f"sectors.{self.key}"

    def needs_pre_approval(self, province: str) -> bool:
        if self.pre_approval_provinces is None:
            return self.pre_approval_required
        return self.pre_approval_required and province in self.pre_approval_provinces


@dataclass(frozen=True)
class RuleInForce:
    """One rule as a person reads it: its name in ``rules.toml``, what it says, its source."""

    name: str
    statement: str
    source: Source


@dataclass(frozen=True)
class Rules:
    accepted_tlds: frozenset[str]
    second_level_suffixes: frozenset[str]
    domains_source: Source
    reserved_suffixes: Mapping[str, ReservedSuffix]
    required_suffixes: Mapping[str, RequiredSuffixes]
    provinces: Mapping[str, Province]
    provinces_source: Source
    province_rules: tuple[ProvinceRule, ...]
    aliases: Mapping[str, str]
    documents: Mapping[str, Document]
    materials: Mapping[str, str]
    applicant_types: Mapping[str, ApplicantType]
    service_kinds: Mapping[str, ServiceKindRule]
    licences: Mapping[str, Licence]
    sectors: Mapping[str, Sector]

    @property
    def person_documents(self) -> Mapping[str, Document]:
        """The documents a responsible person gives: an individual's, as a person files with."""
        individual = self.applicant_types[ApplicantKind.INDIVIDUAL]
        return {key: self.documents[key] for key in individual.documents}

    def province_labels(self, char: str) -> tuple[str, str]:
        """A province as a sentence names it, in English (its ``label``, ``京 北京 Beijing``)
        and in Chinese (``北京``); one an edited rules file no longer lists, by its character.
        Words for a page, never a check: ``guards.province_named`` maps what a filter was given
        to a province, or refuses it."""
        province = self.provinces.get(char)
        return (province.label, province.name_zh) if province else (char, char)

    def material_label(self, key: str) -> str:
        """What pages call a material (``term_label``: ``business_licence_copy 营业执照副本``);
        one this file no longer lists, by its key, which is all a page then knows."""
        zh = self.materials.get(key)
        return term_label(key, zh) if zh else key

    def canonical_province(self, value: str) -> str | None:
        """Map an alias (蜀) to its canonical character (川); ``None`` when not a province."""
        canonical = self.aliases.get(value, value)
        return canonical if canonical in self.provinces else None

    def number_spellings(self, number: str) -> tuple[str, ...]:
        """``number`` as each character of its province writes it, the canonical one first:
        MIIT issues Sichuan's numbers as 蜀ICP备…, people type 川ICP备…, and both name one
        record (SPEC: a number's province character matches, aliases included)."""
        canonical = self.canonical_province(number[:1])
        if canonical is None:
            return (number,)
        alias_chars = [alias for alias, char in self.aliases.items() if char == canonical]
        return tuple(char + number[1:] for char in (canonical, *alias_chars))

    def same_number(self, one: str, other: str) -> bool:
        return other in self.number_spellings(one)

    def province_by_region(self, region: str) -> Province | None:
        """The province a GB/T 2260 region code lies in (its first two digits)."""
        return next((p for p in self.provinces.values() if p.id_prefix == region[:2]), None)

    @staticmethod
    def is_national(region: str) -> bool:
        """GB/T 2260 codes the whole country 100000, and GB 32100-2015 puts the registering
        authority's division code in a credit code (characters 3-8): an organisation registered
        by a national authority carries it. It is real, but names no province."""
        return region == NATIONAL_REGION

    def public_suffix(self, ascii_domain: str) -> str | None:
        """The longest accepted suffix of ``ascii_domain`` (itself possibly), or ``None``."""
        labels = ascii_domain.split(".")
        for start in range(len(labels)):
            suffix = ".".join(labels[start:])
            if suffix in self.second_level_suffixes or suffix in self.accepted_tlds:
                return suffix
        return None

    def required_materials(
        self, applicant_type: str, service_kind: str, licence: str, sector: str
    ) -> tuple[str, ...]:
        """Materials in the order a case manager would gather them: identity, the service's
        (a website's or an app's), licence, sector."""
        keys = (
            *self.applicant_types[applicant_type].materials,
            *self.service_kinds[service_kind].materials,
            *self.licences[licence].extra_materials,
            *self.sectors[sector].extra_materials,
        )
        return tuple(dict.fromkeys(keys))

    def in_force(self, province: str | None = None) -> list[RuleInForce]:
        """Every rule that applies in ``province`` (a canonical character), or everywhere
        with each province's own rules listed when ``province`` is ``None``."""
        tlds = ", ".join(sorted(t.encode("ascii").decode("idna") for t in self.accepted_tlds))
        rules = [
            RuleInForce("domains.accepted_tlds", f"fileable TLDs: {tlds}", self.domains_source),
            *(
                RuleInForce(r.name, f"only for {', '.join(r.applicant_types)}", r.source)
                for r in self.reserved_suffixes.values()
            ),
            *(
                RuleInForce(r.name, f"files only {', '.join(r.shown)}", r.source)
                for r in self.required_suffixes.values()
            ),
            *(
                RuleInForce(
                    rule.name,
                    f"{rule.value}" if province else f"{rule.value} in {''.join(rule.provinces)}",
                    rule.source,
                )
                for rule in (
                    self.provinces[province].policies.values() if province else self.province_rules
                )
            ),
        ]
        for kind in self.applicant_types.values():
            home = "; files in its home province" if kind.home_province_only else ""
            rules.append(
                RuleInForce(kind.name, f"documents: {', '.join(kind.documents)}{home}", kind.source)
            )
        for service in self.service_kinds.values():
            statement = f"materials: {', '.join(service.materials)}"
            rules.append(RuleInForce(service.name, statement, service.source))
        for document in self.documents.values():
            checks = f"; checks: {', '.join(document.checks)}" if document.checks else ""
            statement = f"pattern {document.pattern.pattern}{checks}"
            rules.append(RuleInForce(document.name, statement, document.source))
        for licence in self.licences.values():
            statement = f"for {', '.join(licence.applicant_types)}; numbers " + " or ".join(
                p.pattern for p in licence.number_patterns
            )
            rules.append(RuleInForce(licence.name, statement, licence.source))
        for sector in self.sectors.values():
            needed = (
                sector.needs_pre_approval(province) if province else sector.pre_approval_required
            )
            where = (
                f" (only in {''.join(sector.pre_approval_provinces)})"
                if sector.pre_approval_provinces is not None and province is None
                else ""
            )
            statement = f"pre-approval {'required' if needed else 'not required'}{where}"
            rules.append(RuleInForce(sector.name, statement, sector.source))
        return rules

    def needs_pre_approval(self, licence: str, sector: str, province: str) -> bool:
        return self.licences[licence].pre_approval_required or (
            self.sectors[sector].needs_pre_approval(province)
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

    def source(self, where: str, entry: Mapping[str, Any]) -> Source:
        """Every rule names where it comes from; a rule without a source is a problem."""
        text, thin = entry.get("source"), entry.get("source_thin", False)
        if not isinstance(text, str) or not text.strip():
            self.problems.append(f"{where}: no source")
            text = ""
        if not isinstance(thin, bool):
            self.problems.append(f"{where}: source_thin must be true or false")
        return Source(text, thin is True)

    def regex(self, where: str, pattern: Any) -> re.Pattern[str]:
        try:
            return re.compile(str(pattern))
        except re.error as exc:
            self.problems.append(f"{where}: bad pattern ({exc})")
            return re.compile("(?!)")

    def example(
        self, where: str, example: Any, pattern: re.Pattern[str], checks: tuple[str, ...] = ()
    ) -> str:
        """A number a refusal shows as what is expected: one ``pattern`` and ``checks`` take,
        else a problem, as a refusal must not show a number it would refuse."""
        if not isinstance(example, str) or not example:
            self.problems.append(f"{where}: no example")
            return ""
        if not pattern.fullmatch(example):
            self.problems.append(f"{where}: example {example!r} does not match its pattern")
        elif failed := [check for check in checks if not CHECKS[check](example)]:
            self.problems.append(
                f"{where}: example {example!r} fails the {', '.join(failed)} check"
            )
        return example

    def offset(self, where: str, entry: Mapping[str, Any], key: str) -> int | None:
        value = entry.get(key)
        if value is not None and (not isinstance(value, int) or value < 0):
            self.problems.append(f"{where}: {key} must be a non-negative integer")
            return None
        return value

    def domains(self, key: str) -> frozenset[str]:
        names: set[str] = set()
        for name in self.table("domains").get(key, []):
            try:
                names.add(to_ascii_domain(str(name)))
            except ValueError:
                self.problems.append(f"domains.{key}: {name!r} is not a domain name")
        return frozenset(names)

    def reserved_suffixes(self) -> dict[str, ReservedSuffix]:
        reserved: dict[str, ReservedSuffix] = {}
        for suffix, entry in self.table("domains", "reserved").items():
            where = f"domains.reserved.{suffix}"
            try:
                ascii_suffix = to_ascii_domain(suffix)
            except ValueError:
                self.problems.append(f"{where}: not a domain suffix")
                continue
            reserved[ascii_suffix] = ReservedSuffix(
                ascii_suffix, tuple(entry["applicant_types"]), self.source(where, entry)
            )
        return reserved

    def required_suffixes(self) -> dict[str, RequiredSuffixes]:
        required: dict[str, RequiredSuffixes] = {}
        for applicant_type, entry in self.table("domains", "required").items():
            where = f"domains.required.{applicant_type}"
            suffixes: list[str] = []
            for suffix in entry["suffixes"]:
                try:
                    suffixes.append(to_ascii_domain(str(suffix)))
                except ValueError:
                    self.problems.append(f"{where}: {suffix!r} is not a domain suffix")
            required[applicant_type] = RequiredSuffixes(
                applicant_type, tuple(suffixes), self.source(where, entry)
            )
        return required

    def province_rules(self, known: set[str]) -> tuple[ProvinceRule, ...]:
        rules: list[ProvinceRule] = []
        for index, entry in enumerate(self.table("provinces").get("rules", [])):
            where = f"provinces.rules[{index}]"
            try:
                policy = Policy(entry["rule"])
            except ValueError:
                replaced = _REPLACED_RULES.get(entry["rule"])
                instead = f", replaced by {replaced}" if replaced else ""
                self.problems.append(f"{where}: unknown rule {entry['rule']!r}{instead}")
                continue
            value = entry.get("value")
            if policy is Policy.INDIVIDUALS_RESIDENCY:
                if value not in set(Residency):
                    self.problems.append(f"{where}: {policy} must be one of {', '.join(Residency)}")
                    continue
                value = Residency(value)
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                self.problems.append(f"{where}: {policy} must be a non-negative integer")
                continue
            elif policy in _PER_ORDER_LIMITS and value < DOMAINS_AN_ORDER_ADDS:
                self.problems.append(
                    f"{where}: {policy} must be at least {DOMAINS_AN_ORDER_ADDS}, "
                    "the domains an order adds"
                )
                continue
            provinces = tuple(entry.get("provinces", []))
            self.problems += [
                f"{where}: unknown province {char!r}" for char in provinces if char not in known
            ]
            rules.append(ProvinceRule(policy, value, provinces, self.source(where, entry)))
        return tuple(rules)

    def provinces(self) -> tuple[dict[str, Province], tuple[ProvinceRule, ...]]:
        known = {entry["char"]: entry for entry in self.table("provinces").get("known", [])}
        rules = self.province_rules(set(known))
        provinces: dict[str, Province] = {}
        for char, entry in known.items():
            policies: dict[Policy, ProvinceRule] = {}
            for rule in rules:
                if char not in rule.provinces:
                    continue
                if rule.policy in policies:
                    self.problems.append(f"provinces.rules: {char} sets {rule.policy} twice")
                policies[rule.policy] = rule
            provinces[char] = Province(
                char=char,
                name_zh=entry["zh"],
                name_en=entry["en"],
                id_prefix=entry["id_prefix"],
                policies=MappingProxyType(policies),
            )
        prefixes = [province.id_prefix for province in provinces.values()]
        self.problems += [
            f"provinces: id_prefix {p!r} used twice"
            for p in sorted(set(prefixes))
            if prefixes.count(p) > 1
        ]
        return provinces, rules

    def documents(self) -> dict[str, Document]:
        documents: dict[str, Document] = {}
        for key, entry in self.table("documents").items():
            where = f"documents.{key}"
            checks = tuple(entry.get("checks", []))
            self.problems += [
                f"{where}: unknown check {check!r}" for check in checks if check not in CHECKS
            ]
            pattern = self.regex(where, entry["pattern"])
            known = tuple(check for check in checks if check in CHECKS)
            documents[key] = Document(
                key,
                entry["zh"],
                pattern,
                self.example(where, entry.get("example"), pattern, known),
                known,
                self.offset(where, entry, "region_at"),
                self.offset(where, entry, "birth_date_at"),
                bool(entry.get("foreign_nationals", False)),
                self.source(where, entry),
            )
        return documents

    def vocabulary(self, name: str, members: type[StrEnum]) -> None:
        """``[name.*]`` defines exactly the enum's members, no more and no fewer.

        Licences, applicant types and service kinds are a closed vocabulary owned by the code,
        not by this file: ``LicenceKind``, ``ApplicantKind`` (``workflow.domain.commands``) and
        ``ServiceKind`` (``workflow.domain.orders``) are what the API publishes and refuses
        against, what stored filings carry and what the guards branch on (an individual's
        residency, an app's platforms, say). The rules file says what each kind needs
        and may file, so it can change without a release, but it cannot add or drop a kind:
        a kind the code does not know could never be filed, and one missing here could not
        be judged. Checking the keys here, once, is what spares every guard a "known?" test.
        """
        keys, known = set(self.table(name)), {str(member) for member in members}
        self.problems += [
            f"{name}.{key}: not one of {', '.join(map(str, members))}"
            for key in sorted(keys - known)
        ]
        self.problems += [
            f"{name}.{member}: missing (every {members.__name__} needs an entry)"
            for member in map(str, members)
            if member not in keys
        ]

    def applicant_types(self) -> dict[str, ApplicantType]:
        return {
            key: ApplicantType(
                key,
                entry["zh"],
                tuple(entry["documents"]),
                tuple(entry["materials"]),
                bool(entry.get("home_province_only", False)),
                self.source(f"applicant_types.{key}", entry),
            )
            for key, entry in self.table("applicant_types").items()
        }

    def service_kinds(self) -> dict[str, ServiceKindRule]:
        return {
            key: ServiceKindRule(
                key,
                tuple(entry["materials"]),
                self.source(f"service_kinds.{key}", entry),
            )
            for key, entry in self.table("service_kinds").items()
        }

    def licences(self) -> dict[str, Licence]:
        licences: dict[str, Licence] = {}
        for key, entry in self.table("licences").items():
            where = f"licences.{key}"
            patterns = tuple(self.regex(where, p) for p in entry["number_patterns"])
            if not patterns or any("province" not in p.groupindex for p in patterns):
                self.problems.append(f"{where}: a number pattern lacks a 'province' group")
            given = entry.get("number_examples")
            if not isinstance(given, list) or len(given) != len(patterns):
                self.problems.append(f"{where}: number_examples must give one per number pattern")
                given = []
            examples = tuple(
                self.example(where, example, pattern)
                for example, pattern in zip(given, patterns, strict=False)
            )
            licences[key] = Licence(
                key,
                entry["zh"],
                tuple(entry["applicant_types"]),
                bool(entry["pre_approval_required"]),
                tuple(entry["extra_materials"]),
                patterns,
                examples,
                self.source(where, entry),
            )
        return licences

    def sectors(self) -> dict[str, Sector]:
        sectors: dict[str, Sector] = {}
        for key, entry in self.table("sectors").items():
            provinces = entry.get("pre_approval_provinces")
            sectors[key] = Sector(
                key,
                entry["zh"],
                bool(entry["pre_approval_required"]),
                None if provinces is None else tuple(provinces),
                tuple(entry["extra_materials"]),
                self.source(f"sectors.{key}", entry),
            )
        return sectors

    def rules(self) -> Rules:
        self.vocabulary("licences", LicenceKind)
        self.vocabulary("applicant_types", ApplicantKind)
        self.vocabulary("service_kinds", ServiceKind)
        provinces, province_rules = self.provinces()
        aliases = {
            str(alias): str(char) for alias, char in self.table("provinces", "aliases").items()
        }
        rules = Rules(
            accepted_tlds=self.domains("accepted_tlds"),
            second_level_suffixes=self.domains("second_level_suffixes"),
            domains_source=self.source("domains", self.table("domains")),
            reserved_suffixes=MappingProxyType(self.reserved_suffixes()),
            required_suffixes=MappingProxyType(self.required_suffixes()),
            provinces=MappingProxyType(provinces),
            provinces_source=self.source("provinces", self.table("provinces")),
            province_rules=province_rules,
            aliases=MappingProxyType(aliases),
            documents=MappingProxyType(self.documents()),
            materials=MappingProxyType(
                {str(k): str(v) for k, v in self.table("materials").items()}
            ),
            applicant_types=MappingProxyType(self.applicant_types()),
            service_kinds=MappingProxyType(self.service_kinds()),
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
        for reserved in rules.reserved_suffixes.values():
            expect(reserved.name, reserved.applicant_types, rules.applicant_types, "applicant type")
            # A reservation letting a type file a suffix its required ones exclude does nothing:
            # the two tables would contradict each other, and the file would say what no
            # filing may do.
            for applicant_type in reserved.applicant_types:
                required = rules.required_suffixes.get(applicant_type)
                if required is not None and not any(
                    f".{reserved.suffix}".endswith(f".{allowed}") for allowed in required.suffixes
                ):
                    self.problems.append(
                        f"{reserved.name}: {applicant_type} may file only "
                        f"{' or '.join('.' + shown for shown in required.shown)} ({required.name})"
                    )
        expect(
            "domains.required",
            tuple(rules.required_suffixes),
            rules.applicant_types,
            "applicant type",
        )
        for key, kind in rules.applicant_types.items():
            expect(f"applicant_types.{key}", kind.documents, rules.documents, "document")
            expect(f"applicant_types.{key}", kind.materials, rules.materials, "material")
        for key, service in rules.service_kinds.items():
            expect(f"service_kinds.{key}", service.materials, rules.materials, "material")
        for key, licence in rules.licences.items():
            expect(
                f"licences.{key}", licence.applicant_types, rules.applicant_types, "applicant type"
            )
            expect(f"licences.{key}", licence.extra_materials, rules.materials, "material")
        for key, sector in rules.sectors.items():
            expect(f"sectors.{key}", sector.extra_materials, rules.materials, "material")
            expect(
                f"sectors.{key}", sector.pre_approval_provinces or (), rules.provinces, "province"
            )
        # no_foreign_individuals refuses the documents marked foreign_nationals: with none an
        # individual may file, the rule would stand in the file and refuse no one.
        individual = rules.applicant_types.get(ApplicantKind.INDIVIDUAL)
        marked = individual is not None and any(
            (document := rules.documents.get(key)) is not None and document.foreign_nationals
            for key in individual.documents
        )
        if not marked and any(
            rule.policy is Policy.NO_FOREIGN_INDIVIDUALS and rule.value
            for rule in rules.province_rules
        ):
            self.problems.append(
                f"provinces.rules: {Policy.NO_FOREIGN_INDIVIDUALS} would refuse no one: mark "
                "the documents foreign nationals file with (in applicant_types.individual) "
                "foreign_nationals = true"
            )


def parse_rules(text: str, source: str = "<string>") -> Rules:
    """Build ``Rules`` from TOML text; ``RulesError`` lists every problem in it."""
    try:
        parser = _Parser(tomllib.loads(text))
        rules = parser.rules()
    except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise RulesError(source, [f"{type(exc).__name__}: {exc}"]) from exc
    except RecursionError:  # arrays or tables nested deeper than the parser recurses
        raise RulesError(source, ["nested too deeply to read"]) from None
    if parser.problems:
        raise RulesError(source, parser.problems)
    return rules


@lru_cache(maxsize=8)
def load_rules(path: Path | None = None) -> Rules:
    """The rules in ``path``, or the packaged ``workflow/domain/rules.toml``; parsed once per path."""
    if path is None:
        packaged = resources.files("workflow.domain").joinpath("rules.toml")
        return parse_rules(packaged.read_text(encoding="utf-8"), "workflow/domain/rules.toml")
    return read_rules(path)


def read_rules(path: Path) -> Rules:
    """The rules in the file at ``path``, read now: ``icpflow rules check`` judges an edited
    file as ``RULES_FILE`` would read it, a file that is not UTF-8 included. A byte order mark,
    which Windows editors write first, is skipped (TOML itself refuses one)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RulesError(str(path), [f"not UTF-8 text: {exc.reason} at byte {exc.start}"]) from exc
    return parse_rules(text, str(path))


def rules_for(settings: Settings) -> Rules:
    return load_rules(settings.rules_file)
