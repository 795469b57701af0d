"""The service's typed inputs, and the one translation of their shape errors into reasons.

Every edge (the API, the CLI's options and ``--file``, the CSV import) builds these models,
so a misspelt or unknown key is refused at any depth instead of being silently dropped.
The models check shape (types, required fields, blanks, dates, closed vocabularies); the
guards judge the values against the filing rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address, ip_address
from socket import inet_aton
from types import UnionType
from typing import Annotated, Any, Self, TypeVar, Union, get_args, get_origin
from urllib.parse import urlsplit

import pydantic
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from config import bounds
from workflow.domain.bounded import (
    AnyFingerprint,
    Day,
    DocumentType,
    Domain,
    DomainStart,
    Email,
    EventName,
    IcpNumber,
    IdNumber,
    Md5Fingerprint,
    Name,
    Person,
    Phone,
    Province,
    PublicKey,
    Recipient,
    RecipientPart,
    RowId,
    Sector,
    Sha1Fingerprint,
    YesNo,
    valid_email,
)
from workflow.domain.definition import Channel
from workflow.domain.errors import (
    GuardFailed,
    Reason,
    TransitionNotAllowed,
    ValidationError,
    allowed_said,
    summarise,
)
from workflow.domain.event_data import STRICT
from workflow.domain.orders import OrderKind, ServiceKind
from workflow.domain.wording import ConsoleHelp


class LicenceKind(StrEnum):
    FILING = "filing"  # 备案: non-commercial information service
    COMMERCIAL = "commercial"  # ICP 证: commercial information service


class SetsUnknownAside(BaseModel):
    """A command whose unknown keys, when they are its only shape fault, are set aside rather
    than refused at once: the rest is judged against the filing rules by the service, which
    then refuses once with the unknown keys and the rules' reasons together
    (``unknown_keys``, ``judged_with``). Refused here, an unknown key would hide every other
    fault of the body. Any other shape fault is refused at once, the unknown keys with it;
    so is, before them and alone, what no key could change (a filing not found, a stale
    version, an event only the system fires), the service's own answer."""

    _unknown: tuple[Reason, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _set_unknown_aside(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            return handler(data)
        except pydantic.ValidationError as exc:
            problems = exc.errors()
            if not _only_unknown(problems, data):
                raise
        command = handler(_without(data, problems))
        command._unknown = tuple(reasons_from(problems, cls))
        return command


class ApplicantKind(StrEnum):
    """Who files; what each kind must show and may file is data, in ``rules.toml``, which
    must define exactly these kinds (see ``rules._Parser.vocabulary``)."""

    INDIVIDUAL = "individual"
    ORGANISATION = "organisation"
    PUBLIC_INSTITUTION = "public_institution"
    GOVERNMENT = "government"


# Whether the entity's responsible person is its legal representative: asked of a first
# filing's applicant as of an order's entity, so both are judged on the same facts.
_LEGAL_REPRESENTATIVE = (
    "the entity's legal representative; otherwise an authorisation letter is a material where "
    "the province asks for it"
)


class ApplicantIn(BaseModel):
    model_config = STRICT

    type: ApplicantKind
    name: Name
    id_type: DocumentType = Field(description="identity document type matching the applicant type")
    id_number: IdNumber
    phone: Phone = Field(description="mainland mobile number that receives MIIT's SMS")
    email: Email
    responsible: Annotated[
        Name | None,
        ConsoleHelp(
            "the person responsible for the entity, whose mobile is the one above: required "
            "unless the applicant is an individual, who is their own 主体负责人，使用上面的手机"
            "号码；个人主体不填（即本人）"
        ),
    ] = Field(
        default=None,
        description="the person responsible for the entity (主体负责人), whose mobile `phone` is: "
        "required unless the applicant is an individual, who is their own",
    )
    responsible_id_type: Annotated[
        DocumentType | None,
        ConsoleHelp(
            "the responsible person's identity document, given with its number (an "
            "individual's is the applicant's own) 主体负责人证件类型，与证件号码一并填写（个人"
            "主体即本人证件）"
        ),
    ] = Field(
        default=None,
        description="the responsible person's identity document type, with "
        "`responsible_id_number` (an individual's is the applicant's own)",
    )
    responsible_id_number: IdNumber | None = Field(
        default=None, description="the responsible person's identity document number"
    )
    legal_representative: YesNo = Field(
        default=True, description=f"the responsible person is {_LEGAL_REPRESENTATIVE}"
    )


class WebsiteIn(BaseModel):
    model_config = STRICT

    name: Name
    sector: Sector = "general"


def _is_loopback(host: str) -> bool:
    address = _numeric_host(host)
    return host.rstrip(".") == "localhost" or (address is not None and address.is_loopback)


def _numeric_host(host: str) -> IPv4Address | IPv6Address | None:
    """The address a numeric host names as the system's resolver reads it: "2852039166",
    "0x7f.1" and "169.254.169.254." are addresses too."""
    host = host.rstrip(".")
    try:
        return ip_address(host)
    except ValueError:
        pass
    try:
        return IPv4Address(inet_aton(host))
    except OSError:
        return None


# A cloud's metadata service at an address of a private range: AWS's over IPv6.
_METADATA = frozenset({IPv6Address("fd00:ec2::254")})


def _no_peer(host: str) -> bool:
    """An address no webhook receiver has: link-local (a cloud's metadata service answers at
    169.254.169.254, AWS's also at fd00:ec2::254), unspecified, multicast, reserved, or
    neither public nor private (shared address space: Alibaba Cloud's metadata service answers
    at 100.100.100.200)."""
    address = _numeric_host(host)
    if address is None:
        return False
    return (
        address in _METADATA
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or not (address.is_global or address.is_private)
    )


def _https_url(value: str) -> str:
    """Signed JSON crosses networks only over https; plain http stays on this machine. The
    request is signed, so a URL carries no password, which every list would show."""
    parts = urlsplit(value)
    if not parts.hostname or parts.scheme not in ("https", "http"):
        raise ValueError("must be an https:// URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError("must be an https:// URL (http:// only to this machine)")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password (each request is signed)")
    if _no_peer(parts.hostname):
        raise ValueError(f"{parts.hostname} is no webhook receiver's address")
    return value


def _apprise_url(value: str) -> str:
    import apprise  # only when a chat route is given: apprise takes a while to import

    if apprise.Apprise.instantiate(value) is None:
        raise ValueError("must be a chat URL apprise knows (dingtalk://, wecombot://, ...)")
    return value


_RECIPIENTS: dict[Channel, Callable[[str], str]] = {
    Channel.EMAIL: valid_email,
    Channel.WEBHOOK: _https_url,
    Channel.CHAT: _apprise_url,
}


class RouteIn(BaseModel):
    """Where a filing's own notifications also go. The recipient is checked against its
    channel, so a route that could never be delivered is refused when the filing is created
    instead of failing every notification after it."""

    model_config = STRICT

    channel: Channel
    recipient: Recipient = Field(
        description="email: an address; webhook: an https:// URL (http:// to this machine); "
        "chat: an apprise URL (dingtalk://, wecombot://, feishu://, ...); log: any name"
    )

    @field_validator("recipient")
    @classmethod
    def _fits_channel(cls, recipient: str, info: ValidationInfo) -> str:
        check = _RECIPIENTS.get(info.data.get("channel"))  # type: ignore[arg-type]
        return check(recipient) if check else recipient


class FilingCreate(SetsUnknownAside):
    """A filing to create; ``check_creation`` then applies the filing rules to it."""

    model_config = STRICT

    domain: Domain
    domain_expires_on: Day = Field(description="ISO date, YYYY-MM-DD")
    province: Annotated[
        Province, ConsoleHelp("the province the order is filed in 备案所在省份")
    ] = Field(description="a province character or its alias (蜀 for 川), as rules.toml lists them")
    licence: LicenceKind = LicenceKind.FILING
    applicant: ApplicantIn
    website: WebsiteIn
    notify: list[RouteIn] = Field(
        default_factory=list,
        max_length=bounds.MAX_ROUTES,
        description="extra recipients for this filing",
    )
    domain_registrant: Annotated[
        Name | None,
        ConsoleHelp(
            "the domain's registrant as the registrar shows it; must be the applicant (left "
            "blank: taken to be the applicant) 域名持有者，须与主体一致（不填即视为主体）"
        ),
    ] = Field(
        default=None,
        description="the domain's registrant as the registrar shows it; must be the applicant "
        "(omitted: taken to be the applicant, as before)",
    )
    domain_real_name_verified: YesNo = Field(
        default=True, description="the registrar has verified the registrant's real name"
    )


class PersonIn(BaseModel):
    """A responsible person: the one who answers MIIT's SMS on their mobile."""

    model_config = STRICT

    name: Name
    mobile: Phone = Field(description="mainland mobile; different for every listed person")
    email: Email | None = None
    id_type: Annotated[
        DocumentType | None,
        ConsoleHelp(
            "their identity document, given with its number: the bureau asks for it; without "
            "it, one person is told from another by name 证件类型，与证件号码一并填写"
        ),
    ] = Field(
        default=None,
        description="their identity document type, with id_number: the bureau asks for it; "
        "without it, one person is told from another by name",
    )
    id_number: Annotated[
        IdNumber | None,
        ConsoleHelp(
            "their identity document number, given with its type 证件号码，与证件类型一并填写"
        ),
    ] = Field(default=None, description="their identity document number, with id_type")

    @field_validator("id_number")
    @classmethod
    def _upper_case(cls, number: str | None) -> str | None:
        """Kept as the document rules read it (an X check digit typed x is one number)."""
        return number.upper() if number is not None else None


class EntityPersonIn(PersonIn):
    """The entity's responsible person, who may not be its legal representative: then an
    authorisation letter is a material where the province asks for it (docs/domain-facts.md, "Entity
    and people"). A service's person is asked no such thing."""

    legal_representative: YesNo = Field(default=True, description=_LEGAL_REPRESENTATIVE)


class EntityIn(BaseModel):
    """A new entity (主体): who files, with the identity document and the responsible person."""

    model_config = STRICT

    type: ApplicantKind
    name: Name
    id_type: DocumentType
    id_number: IdNumber
    province: Province
    responsible: EntityPersonIn


class _AppPlatformIn(BaseModel):
    """What MIIT files of an app on one platform it is published on: its package name there,
    and the public key and fingerprint of the certificate it is signed with (docs/domain-facts.md,
    Apps: HW App备案咨询.md)."""

    model_config = STRICT

    package: Annotated[
        Name | None,
        ConsoleHelp(
            "its package name or Bundle ID on this platform, when not the app's own "
            "此平台的包名或 Bundle ID（与 App 的不同时填写）"
        ),
    ] = Field(
        None,
        description="its package name or Bundle ID on this platform, when not the app's "
        "app_identifier",
    )
    public_key: PublicKey = Field(
        description="the public key of the certificate it is signed with here: hex or base64"
    )


class AndroidIn(_AppPlatformIn):
    fingerprint: Md5Fingerprint


class IosIn(_AppPlatformIn):
    fingerprint: Sha1Fingerprint


class HarmonyOsIn(_AppPlatformIn):
    fingerprint: AnyFingerprint


@dataclass(frozen=True)
class AppOnly:
    """Marks a field of a service (``ServiceIn``) or a change (``ChangesIn``) that only an
    app, a mini program or a quick app has, in its type (``Annotated[Name | None,
    AppOnly()]``): a website giving one is refused (``app_identity.check_website_fields``),
    and the console folds it away so that a website's order is short, both reading it here
    (``app_only``)."""


def app_only(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of ``model`` marked ``AppOnly``, in the order it declares them."""
    return tuple(
        name
        for name, field in model.model_fields.items()
        if any(isinstance(marker, AppOnly) for marker in field.metadata)
    )


class AppPlatformsIn(BaseModel):
    """An app on each platform it is published on, as MIIT files it; a new platform later is
    a change order."""

    model_config = STRICT

    android: AndroidIn | None = None
    ios: IosIn | None = None
    harmonyos: HarmonyOsIn | None = None


class ServiceIn(BaseModel):
    """A new website, app or mini program, with its own responsible person."""

    model_config = STRICT

    kind: ServiceKind = ServiceKind.WEBSITE
    name: Name
    domain: Domain = Field(description="the site's domain, or the domain an app uses")
    domain_expires_on: Day
    domain_registrant: Name = Field(description="must be the entity's name")
    domain_real_name_verified: YesNo = Field(description="must be true")
    app_identifier: Annotated[Name | None, AppOnly()] = Field(
        default=None,
        description="package name or Bundle ID of an app (a mini program's AppID): required "
        "for them, none for a website",
    )
    app_platforms: Annotated[AppPlatformsIn | None, AppOnly()] = Field(
        default=None,
        description="an app on each platform it is published on: at least one for an app, "
        "none for a website",
    )
    sector: Sector = "general"
    responsible: PersonIn | None = None
    record_number: IcpNumber | None = Field(
        default=None, description="new access only: the number filed through another host"
    )


class ChangesIn(BaseModel):
    """What a change order changes; province, identity number and domains cannot change."""

    model_config = STRICT

    entity_name: Name | None = None
    entity_responsible: EntityPersonIn | None = None
    service_name: Name | None = None
    service_responsible: PersonIn | None = None
    app_platforms: Annotated[AppPlatformsIn | None, AppOnly()] = Field(
        default=None,
        description="an app on the platforms given (one it is newly published on, or one "
        "whose package or certificate changed); those left out stay as on record",
    )


class OrderCreate(SetsUnknownAside):
    """An order of any kind: which entity and service it concerns depends on the kind
    (``workflow.domain.orders.KINDS``); every missing or surplus part is listed at once."""

    model_config = STRICT

    kind: OrderKind
    entity_id: RowId | None = None
    entity: EntityIn | None = None
    service_id: RowId | None = None
    service: ServiceIn | None = None
    changes: ChangesIn | None = None
    licence: LicenceKind = LicenceKind.FILING
    notify: list[RouteIn] = Field(default_factory=list, max_length=bounds.MAX_ROUTES)


class SearchText(BaseModel):
    """The text a list of filings or entities may be searched by, bounded as the API's query
    parameters are: for an edge with no query parser of its own (the CLI)."""

    model_config = STRICT

    province: Province | None = None
    domain: DomainStart | None = None
    applicant: Name | None = None
    icp_number: IcpNumber | None = None
    assignee: Person | None = None
    name: Name | None = None
    to: RecipientPart | None = None  # a failed delivery's recipient


def _absent_if_null(value: object) -> object:
    """Null for ``data`` is its absence: many generated clients send null for an optional
    object they were given no value for."""
    return {} if value is None else value


# An event's data as every edge takes it (the API's body adds its own documentation).
EventDataIn = Annotated[
    dict[str, Any],
    BeforeValidator(_absent_if_null, json_schema_input_type=dict[str, Any] | None),
]


class EventCommand(BaseModel):
    """An event to fire; ``service.fire_event`` parses ``data`` with the event's model first
    and passes only that typed data on."""

    model_config = STRICT

    event: EventName
    data: EventDataIn = Field(
        default_factory=dict, description="the event's data; left out, {} and null mean none"
    )


class AssignCommand(BaseModel):
    """Who works on a filing from now on: a case manager's token name, or nobody (``None``)."""

    model_config = STRICT

    assignee: Person | None = Field(description="a case manager's token name; null unassigns")


_CODES = {
    "extra_forbidden": "unknown_field",
    "missing": "missing_field",
    "string_too_short": "missing_field",  # bounded text: a blank value is a missing one
    "string_pattern_mismatch": "invalid_characters",  # bounded text's only pattern
}


def _path(loc: Iterable[str | int]) -> str:
    """``("notify", 0, "channel")`` -> ``notify[0].channel``; a refused mapping key is named by
    itself (pydantic adds a ``[key]`` marker after it)."""
    path = ""
    for part in loc:
        if part == "[key]":
            continue
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else part
    return path


def _said(problem: Mapping[str, Any]) -> str:
    """Pydantic's message, without the "Value error, " it puts before a validator's own."""
    error = problem.get("ctx", {}).get("error") if problem["type"] == "value_error" else None
    return str(error) if error else str(problem["msg"])


def _reason(problem: Mapping[str, Any], shape: Any, prefix: tuple[str | int, ...]) -> Reason:
    kind, loc = str(problem["type"]), tuple(problem["loc"])
    field = _path((*prefix, *loc))
    code = _CODES.get(kind, "invalid_date" if kind.startswith("date") else "invalid_field")
    # A blank value is a missing one (the same code), but it was sent: say so.
    blank = kind == "string_too_short"
    allowed, hint = (
        _allowed(_shape_at(shape, loc[:-1]), loc[-1], (*prefix, *loc[:-1]))
        if code == "unknown_field"
        else ({}, "")
    )
    message = {
        "unknown_field": f"unknown field {field!r}{hint}",
        "missing_field": f"{field} must not be empty" if blank else f"{field} is required",
        "invalid_characters": (
            f"{field}: control and invisible characters (such as NUL or a zero-width space)"
            " are not allowed"
        ),
    }.get(code, f"{field}: {_said(problem)}")
    return Reason(code, message, field=field, allowed=allowed)


def reasons_from(
    problems: Iterable[Mapping[str, Any]], shape: Any = None, prefix: tuple[str | int, ...] = ()
) -> list[Reason]:
    """One reason per problem pydantic found (``ValidationError.errors()`` or FastAPI's) in
    ``shape``, the model or type validated (``None``: not known), located under ``prefix``
    in the whole input. An unknown key is said with the keys allowed where it was sent."""
    return [_reason(problem, shape, prefix) for problem in problems]


# A model with more fields than this names this many of them beside an unknown key: those
# spelt like it first (a typo's field), then in the order it declares them.
_NAMED = 8


def _allowed(
    model: Any, unknown: str | int, at: tuple[str | int, ...]
) -> tuple[dict[str, str], str]:
    """The keys ``model`` (found at ``at`` in the input) takes, as an unknown key's reason
    lists them (by alias where a field has one, as the input spells them): each named one's
    path to it, and the list said; nothing when what was validated is unknown."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return {}, ""
    keys = [field.alias or name for name, field in model.model_fields.items()]
    close = get_close_matches(str(unknown), keys, n=_NAMED) if len(keys) > _NAMED else []
    named = [*close, *(key for key in keys if key not in close)][:_NAMED]
    more = f" and {len(keys) - _NAMED} more" if len(keys) > _NAMED else ""
    return {_path((*at, key)): key for key in named}, allowed_said(named) + more


def _shape_at(shape: Any, loc: Iterable[str | int]) -> Any:
    """What pydantic validated at ``loc`` inside ``shape``: a model's field (by name or
    alias), a list's item, a mapping's value; ``None`` where ``loc`` leaves what is known."""
    for part in loc:
        shape = _bare(shape)
        origin, args = get_origin(shape), get_args(shape)
        if isinstance(shape, type) and issubclass(shape, BaseModel):
            shape = next(
                (f.annotation for name, f in shape.model_fields.items() if part in (name, f.alias)),
                None,
            )
        elif origin is list and isinstance(part, int):
            shape = args[0]
        elif origin is dict:
            shape = args[1]
        else:
            return None
    return _bare(shape)


def _bare(shape: Any) -> Any:
    """``shape`` without an optional's ``None``, which pydantic's locations do not name."""
    if get_origin(shape) in (Union, UnionType):
        members = [member for member in get_args(shape) if member is not type(None)]
        if len(members) == 1:
            return members[0]
    return shape


Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], raw: Any, headline: str, prefix: tuple[str | int, ...] = ()) -> Model:
    """``raw`` as ``model``, or a domain ``ValidationError`` listing every shape problem;
    ``prefix`` places the model inside a larger input (``("data",)`` for event data)."""
    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as exc:
        reasons = reasons_from(exc.errors(), model, prefix)
        raise ValidationError(summarise(headline, reasons), reasons) from None


def parse_known(
    model: type[Model], raw: Any, headline: str, prefix: tuple[str | int, ...] = ()
) -> tuple[Model, list[Reason]]:
    """``parse``, but keys ``model`` does not take, when they are its only fault, are set
    aside as ``SetsUnknownAside`` sets them: the rest as ``model``, and the unknown keys'
    reasons for ``judged_with`` to list beside whatever else refuses the rest."""
    try:
        return model.model_validate(raw), []
    except pydantic.ValidationError as exc:
        problems = exc.errors()
    reasons = reasons_from(problems, model, prefix)
    if not _only_unknown(problems, raw):
        raise ValidationError(summarise(headline, reasons), reasons)
    return parse(model, _without(raw, problems), headline, prefix), reasons


def unknown_keys(command: BaseModel) -> list[Reason]:
    """The unknown keys ``SetsUnknownAside`` set aside of ``command``: none for any other."""
    return list(getattr(command, "_unknown", ()))


Judged = TypeVar("Judged")

# What judging an input's values raises with the reasons to list beside its unknown keys.
_JUDGING = (ValidationError, GuardFailed, TransitionNotAllowed)


def judged_with(unknown: list[Reason], headline: str, judge: Callable[[], Judged]) -> Judged:
    """``judge()``'s answer; but with ``unknown`` keys set aside, one ``ValidationError``
    listing them and every reason ``judge`` refuses the rest for: the rules and guards, not
    what the caller answers before judging (a filing not found, a stale version's 409, an
    event only the system fires), which no key changes and which stays refused alone, as it
    would be with no key. ``judge`` must write nothing: with unknown keys, what it would
    have done is refused all the same."""
    if not unknown:
        return judge()
    try:
        judge()
    except _JUDGING as refused:
        reasons = [*unknown, *refused.reasons]
    else:
        reasons = list(unknown)
    raise ValidationError(summarise(headline, reasons), reasons)


def _only_unknown(problems: list[Any], raw: Any) -> bool:
    """Whether every problem is an unknown key in a mapping that can be set aside."""
    return isinstance(raw, Mapping) and all(p["type"] == "extra_forbidden" for p in problems)


def _without(raw: Any, problems: list[Any]) -> Any:
    """``raw`` without the unknown keys ``problems`` locate, copied where they are left out."""
    if isinstance(raw, Mapping):
        here = {p["loc"][0] for p in problems if len(p["loc"]) == 1}
        return {k: _without(v, _under(problems, k)) for k, v in raw.items() if k not in here}
    if isinstance(raw, list):
        return [_without(item, _under(problems, index)) for index, item in enumerate(raw)]
    return raw


def _under(problems: list[Any], part: str | int) -> list[Any]:
    """The problems located inside ``part``, located from it."""
    return [
        {**p, "loc": p["loc"][1:]} for p in problems if len(p["loc"]) > 1 and p["loc"][0] == part
    ]
