"""What every long-running process checks before it starts serving.

Settings come from the environment as plain JSON, so a misspelt team, channel, route key or
state would otherwise surface much later: as an error inside a notifying event's transaction,
or as notices and stuck alarms that silently never happen. Each process refuses to start
instead, naming every problem at once.
"""

from __future__ import annotations

import re
from typing import Any

import pydantic
from cryptography.fernet import Fernet

from config.keys import split_keys
from config.settings import DEFAULT_WEBHOOK_SECRET, Environment, Settings
from workflow.domain.commands import RouteIn, reasons_from
from workflow.domain.definition import Audience, State
from workflow.domain.errors import Reason, UnsafeSettings, summarise
from workflow.domain.guards import takes_service_number
from workflow.domain.overrides import PER_KEY
from workflow.domain.rules import RulesError, rules_for
from workflow.domain.wording import counted

_ROUTES = dict[Audience, list[RouteIn]]


def check_settings(settings: Settings, *, refusing: str = "refusing to start") -> None:
    """Raise ``UnsafeSettings`` listing every setting that is malformed or, in production,
    still at its public shipped default (anyone could forge signed webhook deliveries);
    ``refusing`` heads its message (a CLI command refuses to run, not to start)."""
    reasons = _problems("notify_routes", _ROUTES, settings.notify_routes)
    reasons += [reason for per_key in PER_KEY.values() for reason in per_key.refused(settings)]
    reasons += _late_reminders(settings)
    reasons += _stuck_inside_the_sms_window(settings)
    if settings.stuck_days is not None:
        reasons.append(
            Reason(
                "renamed_setting",
                "STUCK_DAYS is now STUCK_WORKING_DAYS, counted in working days",
                field="stuck_days",
            )
        )
    if (
        settings.environment is Environment.PRODUCTION
        and settings.webhook_secret == DEFAULT_WEBHOOK_SECRET
    ):
        reasons.append(
            Reason(
                "default_webhook_secret",
                f"WEBHOOK_SECRET is still the default {DEFAULT_WEBHOOK_SECRET!r}: "
                "set a secret of your own to run with ICPFLOW_ENV=production",
                field="webhook_secret",
            )
        )
    reasons += _key_problems(settings)
    reasons += _rules_problems(settings)
    reasons += _service_number_problems(settings)
    if reasons:
        raise UnsafeSettings(summarise(refusing, reasons), reasons)


def _late_reminders(settings: Settings) -> list[Reason]:
    """A reminder due once what it warns of has come is never sent: the SMS window returns
    the order, the lapse ends its idling, and the reminder goes with the state; a review
    reminder once the legal limit has ended is closed unsent (``deadlines.close_overtaken``);
    a PSB reminder before the go-live is never armed. An escalation of the bureau's review
    before its legal limit ends would call breached a review the law still allows."""
    window, lapse = settings.sms_window_hours, settings.idle_lapse_days
    limit, breach = settings.miit_legal_limit_working_days, settings.miit_breach_weeks
    psb = settings.psb_filing_days
    late = [
        (
            "sms_reminder_hours",
            f"SMS_REMINDER_HOURS {h:g} is not inside SMS_WINDOW_HOURS ({window:g})",
        )
        for h in settings.sms_reminder_hours
        if h >= window
    ]
    late += [
        (name.lower(), f"{name} {days} is not before IDLE_LAPSE_DAYS ({lapse})")
        for name, figures in (
            ("IDLE_REMINDER_DAYS", settings.idle_reminder_days),
            ("IDLE_ESCALATE_DAYS", [settings.idle_escalate_days]),
        )
        for days in figures
        if days >= lapse
    ]
    # Weeks against working days: five a week, fewer around holidays, six with a make-up day.
    late += [
        (
            "miit_reminder_weeks",
            f"MIIT_REMINDER_WEEKS {weeks:g} is not before MIIT_LEGAL_LIMIT_WORKING_DAYS "
            f"({limit}) ends and before MIIT_BREACH_WEEKS ({breach:g})",
        )
        for weeks in settings.miit_reminder_weeks
        if weeks * 5 > limit or weeks >= breach
    ]
    if breach * 5 <= limit:
        late.append(
            (
                "miit_breach_weeks",
                f"MIIT_BREACH_WEEKS {breach:g} is not after MIIT_LEGAL_LIMIT_WORKING_DAYS "
                f"({limit}) ends",
            )
        )
    late += [
        ("psb_reminder_days", f"PSB_REMINDER_DAYS {days} is not inside PSB_FILING_DAYS ({psb})")
        for days in settings.psb_reminder_days
        if days >= psb
    ]
    return [Reason("reminder_too_late", message, field=field) for field, message in late]


def _stuck_inside_the_sms_window(settings: Settings) -> list[Reason]:
    """An order waiting on its SMS moves by itself when the window ends (returned, if no one
    answered): called stuck before that, ops would chase one the window still holds. N working
    days last at least N x 24 h (on a weekday, exactly that), so fewer hours than the window's
    put some orders in the stuck list while their window is open."""
    try:
        figures = PER_KEY["stuck"].figures(settings)
    except UnsafeSettings:  # the states it names that are none are refused already
        return []
    days, window = int(figures[State.SMS_PENDING]), settings.sms_window_hours
    if days * 24 >= window:
        return []
    message = (
        f"STUCK_WORKING_DAYS gives sms_pending {counted(days, 'working day')}, {days * 24} h on a "
        f"weekday: fewer than SMS_WINDOW_HOURS ({window:g}), whose end moves the order itself"
    )
    return [Reason("stuck_inside_window", message, field="stuck_working_days.sms_pending")]


def _key_problems(settings: Settings) -> list[Reason]:
    """Production keeps its own keys (development generates a pair under ``var_dir``); any
    data key given must be one Fernet can use."""
    reasons = []
    if settings.environment is Environment.PRODUCTION:
        reasons += [
            Reason(
                "missing_key",
                f"{name.upper()} is not set: personal data cannot be encrypted at rest; "
                "set it to run with ICPFLOW_ENV=production",
                field=name,
            )
            for name in ("data_keys", "lookup_key")
            if not getattr(settings, name)
        ]
    for position, key in enumerate(split_keys(settings.data_keys), start=1):
        try:
            Fernet(key)
        except ValueError:
            reasons.append(
                Reason(
                    "malformed_key",
                    f"DATA_KEYS key {position} is not a Fernet key (32 url-safe base64 bytes)",
                    field="data_keys",
                )
            )
    return reasons


def _rules_problems(settings: Settings) -> list[Reason]:
    """The rules every guard reads, parsed now: a broken file would otherwise refuse every
    opening and event later, as an internal error."""
    try:
        rules_for(settings)
    except RulesError as exc:
        return exc.reasons
    except OSError as exc:
        where = f"RULES_FILE {settings.rules_file}"
        return [Reason("unreadable_rules", f"{where}: {exc.strerror}", field="rules_file")]
    return []


def _service_number_problems(settings: Settings) -> list[Reason]:
    """The host's format is a setting, so its example is one too: a malformed service number
    is refused with SERVICE_NUMBER_EXAMPLE, which must then be a number the pattern takes
    (an install changing the pattern changes the example with it). A pattern that is no
    regular expression would otherwise fail every binding later, as an internal error."""
    pattern, example = settings.service_number_pattern, settings.service_number_example
    try:
        re.compile(pattern)
    except re.error as exc:
        message = f"SERVICE_NUMBER_PATTERN {pattern!r} is not a regular expression: {exc}"
        return [Reason("malformed_pattern", message, field="service_number_pattern")]
    if takes_service_number(example, settings):
        return []
    message = (
        f"SERVICE_NUMBER_EXAMPLE {example!r} does not match SERVICE_NUMBER_PATTERN {pattern!r}: "
        "a malformed service number is refused with it as an example, so give one the pattern "
        "takes"
    )
    return [Reason("service_number_example_refused", message, field="service_number_example")]


def _problems(name: str, shape: Any, value: object) -> list[Reason]:
    try:
        pydantic.TypeAdapter(shape).validate_python(value)
    except pydantic.ValidationError as exc:
        return reasons_from(exc.errors(), shape, (name,))
    return []
