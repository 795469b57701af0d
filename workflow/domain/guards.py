"""The guards: pure functions from a filing and an event's data to the conditions it fails.

A guard returns every unmet condition, never only the first, so a case manager fixes a
rejected request in one round trip. An empty list means the guard passes. What the guards
accept (TLDs, provinces, documents, materials, licence kinds) is data in ``rules.toml``;
only the shape of the checks lives here. The checks a guard shares with the orders live
beside it: a new filing's rules in ``creation_rules``, people in ``persons``, ICP numbers in
``record_numbers``, an app's identity in ``app_identity``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, Protocol

import pydantic

from config.clock import CHINA, as_utc
from config.settings import Settings
from workflow.domain.bounded import ServiceNumber
from workflow.domain.citing import check_known, cite
from workflow.domain.definition import Event
from workflow.domain.errors import Reason, ValidationError
from workflow.domain.event_data import (
    EventData,
    IcpNumberData,
    MaterialsData,
    ServiceNumberData,
    SmsSentData,
    VerifierData,
    WrongEntryData,
)
from workflow.domain.orders import (
    NumberAsked,
    OrderFacts,
    kind_spec,
    order_materials,
    split_number,
)
from workflow.domain.record_numbers import check_number
from workflow.domain.rules import Policy, Rules, Source, rules_for


class FilingFacts(Protocol):
    """What a guard may read from a stored filing (``models.tables.Filing`` has it)."""

    kind: str
    domain: str
    domain_expires_on: date
    province: str
    licence: str
    applicant_type: str
    applicant_id_type: str
    applicant_id_number: str
    service_kind: str | None  # website, app, ...: None for an order on the entity alone
    sector: str
    pre_approval_document: str | None
    service_number: str | None
    created_at: datetime
    personal_data_purged_at: datetime | None

    @property
    def changes(self) -> Mapping[str, Any]: ...  # read only: a change order's changes


# A guard gets the event's data already parsed with the model the event declares
# (``EventSpec.data``), so it narrows to that model and judges values, never shapes.
Guard = Callable[[FilingFacts, EventData, Settings], list[Reason]]
# Guards that also read the order's verifiers and the record on file.
OrderGuard = Callable[[OrderFacts, FilingFacts, EventData, Settings], list[Reason]]


def province_named(value: str, rules: Rules) -> str:
    """The province a filter names, as filings store it (蜀 -> 川). Refused when it names none:
    a typo that matched no filing would pass for an empty province. ``rules`` are the caller's
    (``rules_for(settings)``): the domain reads no settings of its own."""
    canonical = rules.canonical_province(value)
    if canonical is None:
        known = {**rules.provinces, **rules.aliases}
        raise ValidationError(
            f"{value!r} is not a province",
            check_known(value, "province", known, "unknown_province"),
        )
    return canonical


def guard_service_number(filing: FilingFacts, data: EventData, settings: Settings) -> list[Reason]:
    """A well-formed service number and a public IPv4 server address.

    Whether the server is in mainland China cannot be verified offline (it needs a GeoIP
    database or the host's word), so only the address's form and publicness are checked. A
    malformed number is shown SERVICE_NUMBER_EXAMPLE, as the other formats' refusals show
    theirs: the format is the host's, a setting, so its example is one too.
    """
    assert isinstance(data, ServiceNumberData)
    reasons: list[Reason] = []
    if not takes_service_number(data.service_number, settings):
        reasons.append(
            Reason(
                "invalid_service_number",
                "the service number does not have the host's format: expected like "
                f"{settings.service_number_example}",
                field="data.service_number",
                details={"pattern": settings.service_number_pattern},
            )
        )
    return reasons + _check_server_ip(data.server_ip)


_SERVICE_NUMBER: pydantic.TypeAdapter[str] = pydantic.TypeAdapter(ServiceNumber)


def takes_service_number(number: str, settings: Settings) -> bool:
    """Whether ``number``, read as a form reads one (``bounded.ServiceNumber``: trimmed and
    upper-cased), has the host's format, SERVICE_NUMBER_PATTERN: the guard's test, and the
    start's of SERVICE_NUMBER_EXAMPLE, which a refusal shows as one the guard takes."""
    try:
        read = _SERVICE_NUMBER.validate_python(number)
    except pydantic.ValidationError:
        return False
    return re.fullmatch(settings.service_number_pattern, read) is not None


SERVICE_NUMBER_RULE = "service_number_used_once"
SERVICE_NUMBER_SOURCE = Source(
    "hosts issue a Bei'an service number for one filing of a server subscribed for 3 months or "
    "more (Alibaba Cloud, 备案服务号; SPEC)",
    thin=True,
)


def guard_service_number_free(
    order: OrderFacts, filing: FilingFacts, data: EventData, settings: Settings
) -> list[Reason]:
    """A service number serves one order: one another order bound (and did not withdraw) is a
    typo or someone else's, and the host's pre-review would return the order for it."""
    assert isinstance(data, ServiceNumberData)
    holder = order.record.service_number_held_by
    if holder is None:
        return []
    return [
        Reason(
            "service_number_in_use",
            f"{data.service_number} is already bound to order {holder}: a service number is "
            "used once; ask the host for one of this order's own",
            field="data.service_number",
            details={"order_id": holder},
            rule=SERVICE_NUMBER_RULE,
            source=str(SERVICE_NUMBER_SOURCE),
        )
    ]


# A public IPv4 address a refusal shows as expected (the check takes it: tested).
SERVER_IP_EXAMPLE = "114.114.114.114"


def _check_server_ip(address: str) -> list[Reason]:
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return [
            Reason(
                "invalid_server_ip",
                f"{address!r} is not an IPv4 address: expected four numbers from 0 to 255 "
                f"separated by dots, like {SERVER_IP_EXAMPLE}",
                field="data.server_ip",
            )
        ]
    if ip.is_global and not ip.is_multicast:
        return []
    return [
        Reason(
            "server_ip_not_public",
            f"{address} is not a public address (private, loopback, reserved or multicast)",
            field="data.server_ip",
        )
    ]


def _check_filing_kinds(filing: FilingFacts, rules: Rules) -> list[Reason]:
    """A stored filing whose sector the current rules no longer define cannot be judged
    (licences and applicant types are the enums' members, which every rules file defines)."""
    return check_known(filing.sector, "filing.sector", rules.sectors, "unknown_sector")


def _unknown_materials(materials: list[str], rules: Rules) -> list[Reason]:
    return [
        Reason(
            "unknown_material",
            f"{key!r} is not a known material",
            field="data.materials",
            details={"material": key},
        )
        for key in dict.fromkeys(materials)
        if key not in rules.materials
    ]


def required_materials(
    kind: str,
    changing: Iterable[str],
    applicant_type: str,
    service_kind: str | None,
    licence: str,
    sector: str,
    rules: Rules,
) -> tuple[str, ...]:
    """What a submission of an order of ``kind`` must carry: its kind's materials and those of
    the parts it is ``changing`` and, where it files a service, the applicant type's, the
    service kind's (an app's, not a website's), the licence's and the sector's (the console
    offers the same list)."""
    spec = kind_spec(kind)
    required = order_materials(spec, changing)
    if spec.files_service:
        assert service_kind is not None, f"a {kind} order files a service of some kind"
        required += rules.required_materials(applicant_type, service_kind, licence, sector)
    return tuple(dict.fromkeys(required))


def guard_submission(filing: FilingFacts, data: EventData, settings: Settings) -> list[Reason]:
    """Every material required for the order's kind (and, where it files a service, the
    applicant type, service kind, licence and sector), known material keys only. What the
    filing itself must have before it is submitted is ``guard_ready_to_submit``'s, which the
    same events run after this one, so a refusal still lists the materials' faults and the
    filing's together."""
    assert isinstance(data, MaterialsData)
    rules = rules_for(settings)
    materials = data.materials
    reasons = _unknown_materials(materials, rules)
    if _check_filing_kinds(filing, rules):
        # Without its sector the materials required are unknown; ``guard_ready_to_submit``
        # reports the sector, once.
        return reasons
    required = required_materials(
        filing.kind,
        filing.changes,
        filing.applicant_type,
        filing.service_kind,
        filing.licence,
        filing.sector,
        rules,
    )
    return reasons + [
        Reason(
            "missing_material",
            f"{rules.materials.get(key, key)} ({key}) is required",
            field="data.materials",
            details={"material": key},
        )
        for key in required
        if key not in materials
    ]


def guard_ready_to_submit(filing: FilingFacts, data: EventData, settings: Settings) -> list[Reason]:
    """The pre-approval granted where the sector or licence needs one, and the service number
    bound where the kind binds one (an order that lapsed before binding must not reach review
    without it). It reads the filing alone, never ``data``: ``submit`` and ``resubmit`` name it
    in ``offered_if`` too, so an order these refuse is not offered to submit (a clinic without
    its pre-approval is offered to request it instead), and a few dict look-ups keep that
    cheap in every reply."""
    rules = rules_for(settings)
    unjudgeable = _check_filing_kinds(filing, rules)
    if unjudgeable:
        return unjudgeable
    spec = kind_spec(filing.kind)
    reasons: list[Reason] = []
    if Event.BIND_SERVICE_NUMBER in spec.events and filing.service_number is None:
        reasons.append(
            Reason(
                "service_number_missing",
                f"bind the host's service number ({Event.BIND_SERVICE_NUMBER}) before submitting",
                field="filing.service_number",
            )
        )
    if not spec.files_service:
        return reasons
    if (
        rules.needs_pre_approval(filing.licence, filing.sector, filing.province)
        and filing.pre_approval_document is None
    ):
        licence = rules.licences[filing.licence]
        rule = licence if licence.pre_approval_required else rules.sectors[filing.sector]
        reasons.append(
            Reason(
                "pre_approval_required",
                "this sector or licence needs a granted pre-approval before submission",
                details={"sector": filing.sector, "licence": filing.licence},
                **cite(rule),
            )
        )
    return reasons


def guard_icp_number(filing: FilingFacts, data: EventData, settings: Settings) -> list[Reason]:
    """The number MIIT issued (the data may omit it, other order kinds issue none), of the
    filing's licence kind and issued by the filing's province (aliases count)."""
    assert isinstance(data, IcpNumberData)
    number = data.icp_number
    if number is None:
        return [Reason("missing_field", "data.icp_number is required", field="data.icp_number")]
    return check_number(
        number, filing.licence, filing.province, rules_for(settings), "data.icp_number"
    )


def guard_pre_approval_needed(
    filing: FilingFacts, data: EventData, settings: Settings
) -> list[Reason]:
    """Only a sector or licence that needs pre-approval asks a regulator for it. It reads the
    filing alone, never ``data``: ``request_pre_approval`` names it in ``offered_if`` too, so
    an order needing none is not offered the request (and a few dict look-ups keep that cheap
    in every reply)."""
    rules = rules_for(settings)
    reasons = _check_filing_kinds(filing, rules)
    if reasons or rules.needs_pre_approval(filing.licence, filing.sector, filing.province):
        return reasons
    return [
        Reason(
            "pre_approval_not_needed",
            f"neither the {filing.sector} sector nor a {filing.licence} licence needs pre-approval",
            details={"sector": filing.sector, "licence": filing.licence},
        )
    ]


# The material a responsible person who is not the legal representative brings.
AUTHORISATION_LETTER = "authorisation_letter"


def guard_authorisation(
    order: OrderFacts, filing: FilingFacts, data: EventData, settings: Settings
) -> list[Reason]:
    """Where the province wants the legal representative responsible, anyone else needs the
    authorisation letter among the materials."""
    assert isinstance(data, MaterialsData)
    rules = rules_for(settings)
    province = rules.provinces.get(filing.province)
    rule = province.policies.get(Policy.LEGAL_REP_RESPONSIBLE) if province else None
    if rule is None or not rule.value or order.record.responsible_is_legal_rep:
        return []
    if AUTHORISATION_LETTER in data.materials:
        return []
    return [
        Reason(
            "authorisation_letter_required",
            "the responsible person is not the legal representative: submit the "
            "authorisation letter (authorisation_letter)",
            field="data.materials",
            details={"material": AUTHORISATION_LETTER},
            **cite(rule),
        )
    ]


def guard_sms_verifier(
    order: OrderFacts, filing: FilingFacts, data: EventData, settings: Settings
) -> list[Reason]:
    """The person named is one the order lists and has not answered yet."""
    assert isinstance(data, VerifierData | WrongEntryData)
    role = data.verifier
    if role is None:
        return []
    pending = {v.role for v in order.pending()}
    if role in pending:
        return []
    listed = {v.role for v in order.verifiers}
    message = "has already answered" if role in listed else "is not listed on this order"
    return [
        Reason(
            "verifier_not_pending",
            f"the {role} responsible person {message}",
            field="data.verifier",
            details={"pending": sorted(pending)},
        )
    ]


def guard_sms_sent_at(
    order: OrderFacts, filing: FilingFacts, data: EventData, settings: Settings
) -> list[Reason]:
    """An SMS recorded late came after the order was opened here, and after the round before
    (its SMS sent; its window closed unanswered, or the order lapsed): an earlier time is a
    typo, or the old SMS's time copied, that would close the window at once and return the
    order. Not checked against the host's pre-approval or a return by hand: those too may
    have been recorded late, and their recorded times are no bound on when the SMS came."""
    assert isinstance(data, SmsSentData)
    if data.sent_at is None:
        return []
    opened = as_utc(filing.created_at)
    previous = max(
        (v.window_started_at for v in order.verifiers if v.window_started_at), default=None
    )
    ended = order.record.round_ended_at
    if previous is not None and data.sent_at <= previous:
        code, said, bound = "sms_sent_before_previous_sms", "its previous SMS came", previous
    elif ended is not None and data.sent_at < ended:
        code, said = "sms_sent_before_round_ended", "its earlier round ended (window or lapse)"
        bound = ended
    elif data.sent_at < opened:
        code, said, bound = "sms_sent_before_order_opened", "the order was opened", opened
    else:
        return []
    return [
        Reason(
            code,
            f"{said} at {bound.astimezone(CHINA):%Y-%m-%d %H:%M:%S} Beijing time; MIIT's SMS "
            "for it came after that",
            field="data.sent_at",
            details={"after": bound.isoformat()},
        )
    ]


def guard_record_number(
    order: OrderFacts, filing: FilingFacts, data: EventData, settings: Settings
) -> list[Reason]:
    """A first filing's number is a valid one of its province, its service's suffix the
    first (-1, an app's -1A); a new service's follows the entity's (its number plus the next
    suffix); other kinds issue none."""
    assert isinstance(data, IcpNumberData)
    number, asked = data.icp_number, kind_spec(order.kind).number_asked
    if asked is NumberAsked.REQUIRED:
        reasons = guard_icp_number(filing, data, settings) + _check_number_free(order, data)
        if reasons or number is None or split_number(number)[1] is None:
            return reasons  # a commercial licence's number may come without the service's
        return _check_following(
            number, split_number(number)[0], order, "an entity's first", settings
        )
    if number is None:
        return []
    if asked is NumberAsked.OPTIONAL:
        return _check_following(number, order.record.entity_number, order, "a new", settings)
    return [
        Reason(
            "no_number_issued",
            f"a {order.kind} order issues no number; send none",
            field="data.icp_number",
        )
    ]


def _check_following(
    number: str, entity_number: str | None, order: OrderFacts, which: str, settings: Settings
) -> list[Reason]:
    """The service's number is the entity's with the next suffix and the service kind's
    letter (-1 for an entity's first site, -2A for a second service that is an app); the
    province may be written with its alias."""
    expected = f"{entity_number}{order.record.next_suffix}"
    if rules_for(settings).same_number(number, expected):
        return []
    return [
        Reason(
            "record_number_not_following",
            f"{which} service's number follows the entity's: {expected}",
            field="data.icp_number",
            details={"expected": expected},
        )
    ]


def _check_number_free(order: OrderFacts, data: IcpNumberData) -> list[Reason]:
    holder = order.record.number_held_by
    if holder is None:
        return []
    return [
        Reason(
            "icp_number_in_use",
            f"{data.icp_number!r} is already the number of entity {holder}: "
            "MIIT issues an entity number once; check the number on the approval",
            field="data.icp_number",
            details={"entity_id": holder},
        )
    ]


GUARDS: dict[str, Guard] = {
    "service_number": guard_service_number,
    "submission": guard_submission,
    "ready_to_submit": guard_ready_to_submit,
    "pre_approval_needed": guard_pre_approval_needed,
}


ORDER_GUARDS: dict[str, OrderGuard] = {
    "service_number_free": guard_service_number_free,
    "authorisation": guard_authorisation,
    "sms_verifier": guard_sms_verifier,
    "sms_sent_at": guard_sms_sent_at,
    "record_number": guard_record_number,
}
