"""What a record owes after approval, declared once as data, and the rules that check it.

An approved service (a site, app or mini program with its record number) has duties the
order's state machine knows nothing of: the police (PSB) filing within 30 days of going live,
the footer showing the record number, a domain and a server that must not expire, a host it
must not leave without cancelling access, and rectification notices with one extension. Each is an
*obligation*: a row with a due time, opened by something recorded and closed by something
recorded, never by the order's state. The specs below say how long, who hears of it and
where the figure comes from; ``workflow.obligations`` stores them and the scheduler fires them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from config.settings import MAX_RECTIFICATION_WORKING_DAYS, Settings
from workflow.domain.bounded import Count, Day, Document, PsbNumber, Url
from workflow.domain.bounded import Reason as ReasonText
from workflow.domain.creation_rules import check_registration_term
from workflow.domain.definition import Audience, Figure, setting_name, spoken
from workflow.domain.errors import Reason
from workflow.domain.event_data import STRICT
from workflow.domain.orders import ServiceKind
from workflow.domain.rules import Rules, Source
from workflow.domain.wording import ConsoleHelp, worded_by_default


class ObligationKind(StrEnum):
    PSB_FILING = "psb_filing"
    PSB_FILING_REMINDER = "psb_filing_reminder"
    FOOTER_CHECK = "footer_check"
    DOMAIN_EXPIRY = "domain_expiry"
    DOMAIN_EXPIRED = "domain_expired"
    SERVER_EXPIRY = "server_expiry"
    SERVER_EXPIRED = "server_expired"
    CANCEL_ACCESS = "cancel_access"
    RECTIFICATION = "rectification"


class Recorded(StrEnum):
    """What a write to an approved service's facts recorded, as its audit row names it
    (``models.ServiceAudit``): one per recording function of ``workflow.obligations``."""

    GO_LIVE = "go_live"
    PSB_NUMBER = "psb_number"
    RENEWAL = "renewal"
    SERVER_RENEWAL = "server_renewal"
    LEFT_HOST = "left_host"
    RECTIFICATION = "rectification"
    EXTENSION = "extension"
    RECTIFIED = "rectified"

    @property
    def label(self) -> str:
        """What pages and the CLI call it, in English and Chinese."""
        return _RECORDED_LABELS[self]


_RECORDED_LABELS = {
    Recorded.GO_LIVE: "Go-live 上线",
    Recorded.PSB_NUMBER: "PSB number 公安备案号",
    Recorded.RENEWAL: "Domain renewal 域名续费",
    Recorded.SERVER_RENEWAL: "Server expiry 服务器到期",
    Recorded.LEFT_HOST: "Left the host 迁出",
    Recorded.RECTIFICATION: "Rectification notice 整改通知",
    Recorded.EXTENSION: "Rectification extended 整改延期",
    Recorded.RECTIFIED: "Rectified 整改完成",
}


class Action(StrEnum):
    """What the scheduler does when an obligation comes due: tell its audience, or run a job
    (the footer check) and open the next one."""

    NOTIFY = "notify"
    CHECK_FOOTER = "check_footer"


# How a due time is counted: calendar days or working days from the start, days before the
# domain's expiry (none: the expiry day itself), days before another duty's due day, or hours
# (a recurring check's interval).
ObligationUnit = Literal["days", "working_days", "days_before_expiry", "days_before_due", "hours"]


@dataclass(frozen=True)
class ObligationSpec:
    """One kind of obligation. ``figure`` reads its duration from ``Settings`` (``None`` when the
    duration comes with what is recorded, as a rectification notice's due date does);
    ``overdue`` marks kinds whose passing puts the service in the ops lists; ``reminds`` makes
    the kind a reminder of that duty; ``source`` is where the duty comes from. ``zh`` is the
    description in Chinese, ``label_zh`` the duty's short Chinese name."""

    kind: ObligationKind
    unit: ObligationUnit
    figure: SkipJsonSchema[Annotated[Callable[[Settings], Figure] | None, Field(exclude=True)]]
    audience: Audience
    description: str
    zh: str
    label_zh: str
    opened_by: str
    closed_by: str
    source: str
    overdue: bool = False
    reminds: ObligationKind | None = None
    action: Action = Action.NOTIFY
    setting: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.figure is not None:
            object.__setattr__(self, "setting", setting_name(self.figure))

    @property
    def label(self) -> str:
        """What pages call it, as they call a deadline: ``PSB filing 公安联网备案``."""
        return spoken(self.kind, self.label_zh)


SERVER_EXPIRY_SOURCE = (
    "alibabacloud.com/help/en/icp-filing/user-guide/prepare-and-check-the-instance-and-access-"
    "information (renew the instance: once it expires the site may be identified as one whose "
    "ICP filing is invalid, and the filing canceled)"
)

OBLIGATIONS: tuple[ObligationSpec, ...] = (
    ObligationSpec(
        ObligationKind.PSB_FILING,
        "days",
        lambda s: s.psb_filing_days,
        Audience.CASE_MANAGER,
        "The public-security (PSB) filing is due within {psb_filing_days} days of the site going "
        "live.",
        "网站开通后{psb_filing_days}日内须办理公安联网备案。",
        label_zh="公安联网备案",
        opened_by="go-live date recorded",
        closed_by="PSB number recorded",
        source="yun.pingan.com help, PSB filing; app100.cn/news/content/2.html",
        overdue=True,
    ),
    ObligationSpec(
        ObligationKind.PSB_FILING_REMINDER,
        "days_before_due",
        lambda s: s.psb_reminder_days,
        Audience.CASE_MANAGER,
        "The public-security (PSB) filing falls due soon: {psb_filing_days} days after the site "
        "went live.",
        "公安联网备案即将到期：须在网站开通后{psb_filing_days}日内办理。",
        label_zh="公安联网备案提醒",
        opened_by="go-live date recorded (one per figure still ahead)",
        closed_by="PSB number recorded",
        source="yun.pingan.com help, PSB filing (the 30 days); how early to remind is ours",
        reminds=ObligationKind.PSB_FILING,
    ),
    ObligationSpec(
        ObligationKind.FOOTER_CHECK,
        "hours",
        lambda s: s.footer_check_interval_hours,
        Audience.CASE_MANAGER,
        "The home page must show the record number linked to https://beian.miit.gov.cn.",
        "网站首页底部须展示备案号并链接至 https://beian.miit.gov.cn。",
        label_zh="底部备案号检查",
        opened_by="go-live date recorded (then after every check)",
        closed_by="the service cancelled, its access removed or its leaving the host recorded",
        source="Decree 33 art. 13 and 25 (fine 5,000-10,000 CNY); tlyjmh.cn/beian/279.html",
        action=Action.CHECK_FOOTER,
    ),
    ObligationSpec(
        ObligationKind.DOMAIN_EXPIRY,
        "days_before_expiry",
        lambda s: s.domain_expiry_reminder_days,
        Audience.CASE_MANAGER,
        "The domain expires soon: an expired domain leaves an empty record the bureau cancels.",
        "域名即将到期；域名过期后备案将成为空壳并被管局注销。",
        label_zh="域名到期提醒",
        opened_by="approval of the service's record, or a renewal recorded",
        closed_by="a renewal recorded (a new expiry date)",
        source="help.aliyun.com/en/icp-filing/basic-icp-service/user-guide/"
        "prepare-and-check-the-domain-name (a filed domain must not expire)",
        reminds=ObligationKind.DOMAIN_EXPIRED,
    ),
    ObligationSpec(
        ObligationKind.DOMAIN_EXPIRED,
        "days_before_expiry",
        None,
        Audience.OPS,
        "The domain's expiry, escalated once it passes with no renewal recorded: an expired "
        "domain leaves an empty record the bureau cancels.",
        "域名到期且未登记续费即升级处理：域名过期后备案成为空壳，将被管局注销。",
        label_zh="域名已到期",
        opened_by="approval of the service's record, or a renewal recorded (due the day the "
        "domain expires)",
        closed_by="a renewal recorded (a new expiry date)",
        source="help.aliyun.com/en/icp-filing/basic-icp-service/user-guide/"
        "prepare-and-check-the-domain-name (a filed domain must not expire)",
        overdue=True,
    ),
    ObligationSpec(
        ObligationKind.SERVER_EXPIRY,
        "days_before_expiry",
        lambda s: s.server_expiry_reminder_days,
        Audience.CASE_MANAGER,
        "The server the site is accessed on expires soon: renew it, or the site goes dark and "
        "its record may be cancelled as invalid.",
        "接入服务器即将到期：请及时续费，否则网站无法访问，备案可能因失效被注销。",
        label_zh="服务器到期提醒",
        opened_by="a server expiry recorded (then each one recorded later)",
        closed_by="a later server expiry recorded; the site left the host, or its access removed "
        "or its record cancelled",
        source=SERVER_EXPIRY_SOURCE,
        reminds=ObligationKind.SERVER_EXPIRED,
    ),
    ObligationSpec(
        ObligationKind.SERVER_EXPIRED,
        "days_before_expiry",
        None,
        Audience.OPS,
        "The server's expiry, escalated once it passes with no renewal recorded: the site "
        "cannot be reached and its record may be cancelled as invalid.",
        "接入服务器到期且未登记续费即升级处理：网站无法访问，备案可能因失效被注销。",
        label_zh="服务器已到期",
        opened_by="a server expiry recorded (due the day the server expires)",
        closed_by="a later server expiry recorded; the site left the host, or its access removed "
        "or its record cancelled",
        source=SERVER_EXPIRY_SOURCE,
        overdue=True,
    ),
    ObligationSpec(
        ObligationKind.CANCEL_ACCESS,
        "days",
        lambda s: s.cancel_access_days,
        Audience.OPS,
        "The site left this host's servers: a cancel-access order (取消接入) falls due.",
        "网站已不再使用本接入商服务器，须在期限内提交取消接入。",
        label_zh="取消接入",
        opened_by="the service recorded as having left the host's servers",
        closed_by="a cancel_access order for the service approved, or the leaving taken back",
        source="Tencent Cloud 取消接入.md (qcloud-documents); the number of days is unsourced",
        overdue=True,
    ),
    ObligationSpec(
        ObligationKind.RECTIFICATION,
        "working_days",
        None,
        Audience.OPS,
        "A rectification notice (整改通知) falls due: past it, escalate.",
        "整改通知的整改期限到期，逾期请升级处理。",
        label_zh="整改",
        opened_by="a rectification notice recorded with its due date in working days",
        closed_by="the rectification recorded as done",
        source="the bureau's notice sets the due date; one extension of at most 7 working days "
        "(docs/SPEC.md, Growing beyond one first filing)",
        overdue=True,
    ),
)

OBLIGATIONS_BY_KIND: dict[ObligationKind, ObligationSpec] = {o.kind: o for o in OBLIGATIONS}
OVERDUE_OBLIGATIONS: tuple[ObligationKind, ...] = tuple(o.kind for o in OBLIGATIONS if o.overdue)
# Kinds that only remind of another duty: closed, they say nothing the duty does not.
REMINDERS: tuple[ObligationKind, ...] = tuple(o.kind for o in OBLIGATIONS if o.reminds)


def has_home_page(kind: ServiceKind) -> bool:
    """Whether a service has a home page showing its number: a website does; an app or a
    mini program shows its number inside itself, where fetching a page cannot look."""
    return kind is ServiceKind.WEBSITE


# 京公网安备11010502030143号: province character, 公网安备, 14 digits, 号.
PSB_RULE = "psb_number"
PSB_SOURCE = "yun.pingan.com help, PSB filing (numbers read like 京公网安备11010502030143号)"
# Its first six digits are the issuing bureau's GB/T 2260 region (110105: Chaoyang, Beijing).
PSB_REGION_RULE = "psb_number_region"
PSB_REGION_SOURCE = Source(
    "GB/T 2260 (administrative division codes: the first two digits name the province); "
    "yun.pingan.com help, PSB filing (京公网安备11010502030143号: 110105 is Chaoyang, Beijing); "
    "no page found stating the digits' meaning",
    thin=True,
)
# One CJK character, a province's or its alias (蜀): with ``\w``, A公网安备… passed as a number
# issued in province "A", a mismatch instead of what it is, a malformed number.
_PSB = re.compile(r"^(?P<province>[\u4e00-\u9fff])公网安备(?P<digits>[0-9]{14})号$")
# The number a refusal and the API's schema show as expected (the check takes it: tested).
PSB_EXAMPLE = "京公网安备11010502030143号"


def psb_digits(number: str) -> str | None:
    """The 14 digits that tell one PSB number from another (``None``: not a PSB number): the
    province character before them may be written as its alias (黔 for 贵) and still be the
    same number."""
    match = _PSB.match(number)
    return match["digits"] if match else None


def same_psb_number(
    one: str | None, other: str | None, canonical: Callable[[str], str | None]
) -> bool:
    """Whether two numbers, as given, are one PSB number: the same digits under one province,
    its character or its alias (蜀 for 川); ``None`` is none. Another province's character is
    another number, though its digits are taken (``psb_digits`` tells holders apart)."""
    if one is None or other is None:
        return one is other
    first, second = _PSB.match(one), _PSB.match(other)
    if first is None or second is None:
        return one == other
    one_province, other_province = first["province"], second["province"]
    return first["digits"] == second["digits"] and (canonical(one_province) or one_province) == (
        canonical(other_province) or other_province
    )


def check_psb_number(number: str, province: str, rules: Rules) -> list[Reason]:
    """Every problem with ``number`` as the PSB number of a service filed in ``province``: its
    format, a province character (or alias) leading it, region digits lying in the province
    that character names, and that province being the service's. A number whose character
    names no province is malformed rather than another province's."""
    match = _PSB.match(number)
    found = None if match is None else rules.canonical_province(match["province"])
    if match is None or found is None:
        return [
            Reason(
                "invalid_psb_number",
                f"{number!r} is not a PSB number: a province character, 公网安备, 14 digits "
                f"and 号, like {PSB_EXAMPLE}",
                field="psb_number",
                rule=PSB_RULE,
                source=PSB_SOURCE,
            )
        ]
    reasons = _check_psb_region(match["province"], match["digits"][:6], rules)
    if found != rules.canonical_province(province):
        reasons.append(
            Reason(
                "psb_number_province_mismatch",
                f"the PSB number was issued in {match['province']}, the service is filed in "
                f"{province}",
                field="psb_number",
                details={"expected": province, "found": match["province"]},
                rule=PSB_RULE,
                source=PSB_SOURCE,
            )
        )
    return reasons


def _check_psb_region(char: str, region: str, rules: Rules) -> list[Reason]:
    """The six digits after 公网安备 are the GB/T 2260 region of the bureau that issued the
    number, so they lie in the province its character (or that character's alias) names: a
    mistyped digit or character shows as a disagreement, not as a number the police never
    issued accepted on file. Only the provinces are known here (``[provinces]`` in the rules),
    so a region is judged by its first two digits; the national code (100000) is no local
    bureau's."""
    named = rules.provinces[rules.canonical_province(char) or char]
    home = rules.province_by_region(region)
    if home is not None and home.char == named.char:
        return []
    where = "no province" if home is None else f"{home.name_en} ({home.char})"
    return [
        Reason(
            "psb_number_region_mismatch" if home is not None else "psb_number_unknown_region",
            f"the PSB number's region digits {region} lie in {where}, but it reads {char} "
            f"({named.name_en}): a {char} number's digits begin {named.id_prefix}, like "
            f"{char}公网安备{named.id_prefix}…号; check the character and the digits",
            field="psb_number",
            details={"region": region, "expected_prefix": named.id_prefix, "found": char},
            rule=PSB_REGION_RULE,
            source=str(PSB_REGION_SOURCE),
        )
    ]


RECTIFICATION_RULE = "rectification_extension"


def check_extension(already_extended: bool, working_days: int, limit: int) -> list[Reason]:
    """A rectification may be extended once, by at most ``limit`` working days."""
    reasons: list[Reason] = []
    source = OBLIGATIONS_BY_KIND[ObligationKind.RECTIFICATION].source
    if already_extended:
        reasons.append(
            Reason(
                "extension_used",
                "this rectification was extended once already; only one extension is allowed",
                rule=RECTIFICATION_RULE,
                source=source,
            )
        )
    if working_days > limit:
        reasons.append(
            Reason(
                "extension_too_long",
                f"an extension is at most {limit} working days, not {working_days}",
                field="working_days",
                details={"limit": limit},
                rule=RECTIFICATION_RULE,
                source=source,
            )
        )
    return reasons


# A day recorded about an approved service. Before approval a site may not resolve (a typical
# refusal), so it neither went live nor was served by this host, nor left it, before then.
APPROVAL_RULE = "not_before_approval"
APPROVAL_SOURCE = (
    "Huawei Cloud, skills/cdi/assist/huawei-cloud-icp-process-guidance/kb/faq/备案驳回咨询.md in "
    "github.com/huaweicloud/huaweicloud-skills; Tencent "
    "Cloud 常见驳回原因及其处理.md (qcloud-documents): the site resolving before approval"
)


def check_day_has_come(day: date, field: str, what: str, *, today: date) -> list[Reason]:
    """``day``, the Beijing day ``what`` happened, is not still to come."""
    if day <= today:
        return []
    return [
        Reason(
            f"{field}_in_the_future",
            f"{day} has not come yet (today is {today}): record {what} on the day it happens",
            field=field,
            details={"today": str(today)},
        )
    ]


def check_service_day(
    day: date, field: str, what: str, *, today: date, approved_on: date
) -> list[Reason]:
    """``day``, the Beijing day ``what`` happened, has come and is not before the service's
    approval: another day would open obligations due at the wrong time (before approval,
    overdue at once), and a go-live, recorded once, could never be corrected."""
    reasons = check_day_has_come(day, field, what, today=today)
    if day < approved_on:
        reasons.append(
            Reason(
                f"{field}_before_approval",
                f"{field} {day} is before the service was approved on {approved_on}: a site "
                "may not resolve before its record is approved",
                field=field,
                details={"approved_on": str(approved_on)},
                rule=APPROVAL_RULE,
                source=APPROVAL_SOURCE,
            )
        )
    return reasons


def check_notice_day(received_on: date, *, today: date, approved_on: date) -> list[Reason]:
    """A rectification notice was received on a day that has come, and not before the
    service was approved: the bureau rectifies a record it holds."""
    reasons = check_day_has_come(received_on, "received_on", "the notice", today=today)
    if received_on < approved_on:
        reasons.append(
            Reason(
                "received_on_before_approval",
                f"received_on {received_on} is before the service was approved on "
                f"{approved_on}: a rectification notice is about a record on file",
                field="received_on",
                details={"approved_on": str(approved_on)},
            )
        )
    return reasons


def check_live_before_leaving(
    live_on: date | None, left_on: date | None, field: str
) -> list[Reason]:
    """A site leaves the host it went live on, on that day or later, whichever of the two
    days is recorded (``field``) second: a cancel-access order falls due from the day it left,
    so a left day before the go-live would owe one for a site not yet live."""
    if live_on is None or left_on is None or left_on >= live_on:
        return []
    said = (
        f"the site would leave this host on {left_on}, before it went live on {live_on}"
        if field == "left_on"
        else f"the site would go live on {live_on}, after it left this host on {left_on}"
    )
    return [
        Reason(
            "live_after_leaving",
            f"{said}: a site leaves the host it went live on, on that day or later",
            field=field,
            details={"live_on": str(live_on), "left_on": str(left_on)},
        )
    ]


def check_renewal(
    expires_on: date,
    current: date | None,
    today: date,
    replaces: date | None = None,
    escalated: ObligationKind = ObligationKind.DOMAIN_EXPIRED,
) -> list[Reason]:
    """A renewal moves the expiry later, to a day still to come: an expiry already past
    leaves no reminder to send, and an expired domain (or server, ``escalated`` says which
    expiry) leaves an empty record. A correction names the expiry on file it corrects
    (``replaces``), and may move it earlier, even past: it then stands expired, and is
    escalated as one. A server's first expiry (``current`` none) need only be to come."""
    what: Literal["domain", "server"] = (
        "server" if escalated is ObligationKind.SERVER_EXPIRED else "domain"
    )
    reasons = check_registration_term(expires_on, today, "expires_on", what)
    if replaces is not None and current is None:
        reasons.append(
            Reason(
                "nothing_to_replace",
                f"no {what} expiry is on file for {replaces} to replace",
                field="replaces",
            )
        )
    elif replaces is not None and replaces != current:
        reasons.append(
            Reason(
                "not_on_file",
                f"the expiry on file is {current}, not {replaces}",
                field="replaces",
                details={f"{what}_expires_on": str(current)},
            )
        )
    elif replaces is None and current is not None and expires_on <= current:
        reasons.append(
            Reason(
                "not_later",
                f"the new expiry {expires_on} is not after {current}",
                field="expires_on",
            )
        )
    if expires_on <= today and replaces is None:
        reasons.append(
            Reason(
                "already_expired",
                f"the new expiry {expires_on} is not after today ({today}): a renewed {what} "
                "expires later than today",
                field="expires_on",
                details={"today": str(today)},
                rule=f"{what}_not_expired",
                source=OBLIGATIONS_BY_KIND[escalated].source,
            )
        )
    return reasons


# -- what is recorded about a service after approval (typed inputs) -------------------------


def _web_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


class GoLive(BaseModel):
    """The service went live: the PSB filing is due from this day, the footer checks start."""

    model_config = STRICT

    live_on: Day = Field(description="the day the site opened to the public (Beijing date)")
    home_url: Annotated[Url, AfterValidator(_web_url)] | None = Field(
        default=None, description="the page whose footer is checked; default https://<domain>/"
    )
    replaces: Day | None = Field(
        default=None,
        description="to correct a go-live day on file, that day: the PSB filing still open is "
        "then due from the corrected one",
    )


class PsbNumberIn(BaseModel):
    model_config = STRICT

    psb_number: PsbNumber = Field(description=f"e.g. {PSB_EXAMPLE}")
    replaces: PsbNumber | None = Field(
        default=None,
        description="the number on file this one corrects: a recorded number is replaced only "
        "by one that names it, so a second number is not taken for the first by mistake",
    )


class Renewal(BaseModel):
    model_config = STRICT

    expires_on: Day = Field(description="the domain's new expiry date")
    replaces: Day | None = Field(
        default=None,
        description="to correct an expiry on file that was mistyped, that expiry: the new one "
        "may then be earlier",
    )


class ServerRenewal(Renewal):
    """The expiry of the server the site is accessed on: recorded first, renewed, corrected."""

    expires_on: Day = Field(description="the day the server the site is accessed on expires")


class LeftHost(BaseModel):
    """The site no longer uses this host's servers: a cancel-access order is owed."""

    model_config = STRICT

    left_on: Annotated[
        Day | None,
        ConsoleHelp("the day the site moved off this host's servers 网站迁出本接入商服务器的日期"),
    ] = Field(
        description="the day the site moved off this host's servers; null, with replaces "
        "naming the day on file, takes back a leaving recorded by mistake"
    )
    replaces: Annotated[
        Day | None,
        ConsoleHelp(
            "tick to correct the day of leaving on file: the cancel-access order owed is then "
            "due from the corrected day 勾选以更正已登记的迁出日期，应办的取消接入订单按更正后的"
            "日期起算"
        ),
    ] = Field(
        default=None,
        description="to correct a day of leaving on file, that day: the cancel-access order "
        "owed is then due from the corrected one (or, left_on null, closes)",
    )


class RectificationIn(BaseModel):
    """A rectification notice (整改通知) from the bureau, due in working days from the day it
    was received: recorded a few days late, it is still due when the bureau said."""

    model_config = STRICT

    reference: Document = Field(description="the notice's reference or title")
    working_days: Count = Field(ge=1, le=MAX_RECTIFICATION_WORKING_DAYS)
    detail: ReasonText | None = Field(default=None, description="what must be rectified")
    received_on: Day | None = Field(
        default=None,
        description="the day the notice was received (Beijing), which its working days count "
        "from; default today",
    )


class ExtensionIn(BaseModel):
    model_config = STRICT

    working_days: Count = Field(
        ge=1,
        le=MAX_RECTIFICATION_WORKING_DAYS,
        description=worded_by_default("at most {rectification_max_extension_working_days}, once"),
    )
