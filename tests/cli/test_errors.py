"""How every command fails: one ``error:`` line naming what is wrong (and one line per reason),
exit code 1, never a traceback, whatever the failure's origin."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from cli.errors import _as_domain_error
from config import bounds
from config.settings import get_settings
from models import Filing
from tests.databases import ABSENT_PASSWORD, POSTGRES_ONLY, Absent
from tests.factories import make_payload

if TYPE_CHECKING:
    from tests.cli.conftest import Cli


def test_a_file_that_cannot_be_written_is_named_on_one_line(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "workflow.mmd"

    result = cli("diagram", "--output", str(target))

    assert (result.exit_code, result.stderr.splitlines()) == (
        1,
        [f"error: No such file or directory: {target}"],
    )


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        pytest.param(
            "WEB_THREADS",
            "many",
            "WEB_THREADS: Input should be a valid integer, unable to parse string as an integer",
            id="a-number",
        ),
        pytest.param(
            "STUCK_WORKING_DAYS",
            '{"submitted": "soon"}',
            "STUCK_WORKING_DAYS.submitted: Input should be a valid integer",
            id="an-entry-inside-a-mapping",
        ),
        pytest.param(
            "MIIT_LEGAL_LIMIT_WORKING_DAYS",
            "0",
            "MIIT_LEGAL_LIMIT_WORKING_DAYS: Input should be greater than or equal to 1",
            id="a-deadline-of-no-time",
        ),
        pytest.param(
            "MIIT_LEGAL_LIMIT_WORKING_DAYS",
            "5000000",
            "MIIT_LEGAL_LIMIT_WORKING_DAYS: Input should be less than or equal to 2500",
            id="a-deadline-past-the-calendar",
        ),
        pytest.param(
            "IDLE_LAPSE_DAYS",
            "1000000000",
            "IDLE_LAPSE_DAYS: Input should be less than or equal to 3650",
            id="a-typo-of-a-deadline",
        ),
        pytest.param(
            "PSB_REMINDER_DAYS",
            "[true, 2]",
            "PSB_REMINDER_DAYS[0]: Input should be a valid integer",
            id="a-yes-for-a-figure",
        ),
        pytest.param(
            "RECTIFICATION_MAX_EXTENSION_WORKING_DAYS",
            "100",
            "RECTIFICATION_MAX_EXTENSION_WORKING_DAYS: Input should be less than or equal to 60",
            id="an-extension-no-notice-takes",
        ),
        pytest.param(
            "DELIVERY_LEASE_SECONDS",
            "1",
            "DELIVERY_LEASE_SECONDS (1) must be longer than DELIVERY_TIME_LIMIT_SECONDS (45)",
            id="two-settings-at-odds",
        ),
        pytest.param(
            "LEADER_TAKEOVER_SECONDS",
            "5",
            "LEADER_TAKEOVER_SECONDS (5) must be at least 3 polls of LEADER_POLL_SECONDS (2): 6",
            id="a-takeover-sooner-than-a-live-leader-shows-itself",
        ),
        pytest.param(
            "DELIVERY_MAX_RETRIES",
            "12",
            "STRANDED_AFTER_MINUTES (30) must be longer than a delivery's retries may take (38.2 "
            "minutes: DELIVERY_MAX_RETRIES 12 waiting up to DELIVERY_MAX_BACKOFF_MS 300000, each "
            "attempt up to DELIVERY_TIME_LIMIT_SECONDS 45)",
            id="retries-outlasting-the-backstop",
        ),
        pytest.param(
            "DELIVERY_MAX_RETRIES",
            "-1",
            "DELIVERY_MAX_RETRIES: Input should be greater than or equal to 0",
            id="retries-below-none",
        ),
        pytest.param(
            "HOST_REVIEW_WORKING_DAYS",
            "{change: 1}",
            "HOST_REVIEW_WORKING_DAYS: not valid JSON (Expecting property name enclosed in "
            "double quotes: line 1 column 2 (char 1))",
            id="a-mapping-that-is-not-json",
        ),
    ],
)
def test_a_malformed_setting_is_named_as_it_is_set(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()

    result = cli("filings", "list")

    assert (result.exit_code, result.stderr.splitlines()) == (
        1,
        ["error: invalid settings", f"  {named}"],
    )


def test_a_database_url_that_is_no_url_is_refused_naming_the_forms_it_takes(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "icpflow.db")
    get_settings.cache_clear()

    result = cli("filings", "list")

    assert (result.exit_code, result.stderr.splitlines()[1]) == (
        1,
        "  DATABASE_URL: not a database URL (sqlite:///path or postgresql://user@host/db)",
    )


@pytest.mark.parametrize(
    "url",
    [
        "mysql://x@y/z",  # a dialect SQLAlchemy knows, whose driver is not installed
        "postgresql+psycopg2://postgres@localhost/icpflow",
        "mongodb://localhost/icpflow",  # one it does not know
    ],
)
def test_a_database_url_naming_a_database_icpflow_does_not_run_on_is_refused_naming_it(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()

    result = cli("filings", "list")

    scheme = url.partition("://")[0]
    assert (result.exit_code, result.stderr.splitlines()) == (
        1,
        [
            "error: invalid settings",
            f"  DATABASE_URL: {scheme}: not a database icpflow runs on "
            "(sqlite:///path or postgresql://user@host/db)",
        ],
    )


@pytest.mark.parametrize(
    "args",
    [
        ("filings", "show", str(2**31)),
        ("filings", "list", "--offset", str(2**64)),
        ("services", "obligations", str(2**63)),
        ("ops", "retry", "0"),
    ],
)
def test_an_id_or_offset_outside_what_the_database_holds_is_a_usage_error(
    cli: Cli, args: tuple[str, ...]
) -> None:
    result = cli(*args)

    assert result.exit_code == 2
    assert "Invalid value for" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("services", "go-live", "1", "--on", "2027-3-5"), "give a date such as"),
        (
            ("services", "go-live", "1", "--on", "2028-13-30"),
            "month value is outside expected range of 1-12; give a date such as 2026-03-02",
        ),
        (("services", "obligations", "+1_0"), "must be a whole number written in digits"),
        (("filings", "list", "--limit", "1_0"), "must be a whole number written in digits"),
        (("services", "rectify", "1", "--reference", "R", "--working-days", "+5"), "digits"),
        (("services", "extend", "1", "--working-days", "+1_0"), "digits"),
    ],
    ids=[
        "day without its zeros",
        "day that does not exist",
        "signed and grouped id",
        "grouped count",
        "signed count",
        "extension",
    ],
)
def test_a_day_or_number_typed_as_the_api_would_refuse_it_is_a_usage_error(
    cli: Cli, args: tuple[str, ...], said: str
) -> None:
    """The CLI takes what the API takes: Python's own parsers would read these as numbers."""
    result = cli(*args)

    assert result.exit_code == 2
    assert said in " ".join(result.output.split())


@pytest.mark.parametrize(
    "args",
    [
        ("filings", "list", "--min-days", "-0"),
        ("filings", "list", "--offset", "-0"),
        ("privacy", "purge", "--older-than", "-0"),
    ],
    ids=["days in state", "offset", "purge's age"],
)
def test_a_count_typed_as_minus_zero_is_a_usage_error_naming_its_option(
    cli: Cli, args: tuple[str, ...]
) -> None:
    """The sign says a number below 0 was meant, or a dash slipped in: read as 0, it would list
    every filing or purge every ended order."""
    result = cli(*args)

    said = " ".join(result.output.split())
    assert result.exit_code == 2
    assert (
        f"Invalid value for '{args[-2]}'" in said
        and "must be written without a sign, not -0" in said
    )


@pytest.mark.parametrize(
    ("option", "said"),
    [
        ("--within-hours", f"-5 is not from 0 to {bounds.MAX_WITHIN_HOURS}"),
        ("--limit", f"-5 is not from 1 to {bounds.MAX_PAGE}"),
        ("--offset", f"-5 is not from 0 to {bounds.MAX_OFFSET}"),
    ],
)
def test_a_negative_count_is_a_usage_error_saying_the_range_it_may_be_in(
    cli: Cli, option: str, said: str
) -> None:
    result = cli("filings", "overdue", option, "-5")

    assert result.exit_code == 2
    assert said in " ".join(result.output.split())


def test_a_database_out_of_reach_for_a_while_is_told_to_try_again_not_to_upgrade() -> None:
    """A lock held, a server restarting: the set-up is not at fault."""
    engine = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(DBAPIError) as refused:
        engine.connect()

    told = _as_domain_error(refused.value)

    assert told is not None and "try again shortly" in told.message
    assert "db upgrade" not in " ".join(r.message for r in told.reasons)


@pytest.mark.postgres
@POSTGRES_ONLY
def test_a_role_or_database_the_server_lacks_is_named_with_how_to_create_it(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, absent: Absent
) -> None:
    """No retry mends it; DATABASE_URL's password is not shown."""
    monkeypatch.setenv("DATABASE_URL", absent.url)
    get_settings.cache_clear()

    result = cli("db", "upgrade")

    said = " ".join(result.stderr.split())
    create = {"database": "createdb", "role": "createuser"}[absent.what]
    assert result.exit_code == 1, result.output
    assert (
        f'error: the PostgreSQL server at {absent.server} has no {absent.what} "{absent.name}"'
        in said
    )
    assert f"{create} -h {absent.server.replace(':', ' -p ')}" in said and "try again" not in said
    assert ABSENT_PASSWORD not in result.output


def test_a_database_never_upgraded_is_told_to_upgrade(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with pytest.raises(DBAPIError) as missing, engine.connect() as connection:
        connection.execute(sa.text("SELECT * FROM notifications"))

    told = _as_domain_error(missing.value)

    assert told is not None and "icpflow db upgrade" in told.reasons[0].message


def test_an_event_name_too_long_to_exist_is_refused_on_one_line(
    cli: Cli, created: dict[str, Any]
) -> None:
    result = cli("filings", "fire", str(created["id"]), "x" * 50)

    assert (result.exit_code, result.stderr.splitlines()[0]) == (
        1,
        "error: event refused: event: String should have at most 40 characters",
    )


def test_a_broken_rules_file_is_named_on_one_line_with_its_problems(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[provinces\n", encoding="utf-8")
    monkeypatch.setenv("RULES_FILE", str(rules))
    get_settings.cache_clear()

    result = cli("rules", "show", "京")

    assert result.exit_code == 1
    first, problem = result.stderr.splitlines()
    assert first == f"error: invalid rules in {rules}"
    assert problem.startswith("  rules_file: TOMLDecodeError")
    assert "Traceback" not in result.output


def test_a_rules_file_nested_too_deeply_to_read_is_named_on_one_line(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("value = " + "[" * 100_000, encoding="utf-8")
    monkeypatch.setenv("RULES_FILE", str(rules))
    get_settings.cache_clear()

    result = cli("rules", "show", "京")

    assert (result.exit_code, result.stderr.splitlines()) == (
        1,
        [f"error: invalid rules in {rules}", "  rules_file: nested too deeply to read"],
    )


def test_a_command_on_filings_refuses_to_run_with_settings_a_process_refuses_and_writes_nothing(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session: Session
) -> None:
    monkeypatch.setenv("STUCK_WORKING_DAYS", '{"submited": 3}')
    get_settings.cache_clear()
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps(make_payload()), encoding="utf-8")

    result = cli("filings", "create", "--file", str(payload))

    assert result.exit_code == 1
    assert result.stderr.startswith("error: refusing to run: stuck_working_days.submited: ")
    assert session.exec(select(Filing)).all() == []


def test_the_commands_that_mend_settings_run_with_settings_a_process_refuses(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUCK_WORKING_DAYS", '{"submited": 3}')
    get_settings.cache_clear()

    assert cli("rules", "show", "京").exit_code == 0
    assert cli("db", "upgrade").exit_code == 0


@pytest.mark.slow
def test_a_reader_gone_before_the_output_ends_gets_no_error_line() -> None:
    """``icpflow ... | head -1``: the shell's code for a command whose reader left, silently."""
    shown = subprocess.Popen(
        [sys.executable, "-m", "cli", "rules", "show", "京"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert shown.stdout is not None and shown.stderr is not None
    shown.stdout.close()  # before the command has started: every write it makes fails

    assert (shown.wait(timeout=60), shown.stderr.read()) == (128 + signal.SIGPIPE, "")


def test_with_json_a_refusal_is_also_the_api_s_error_shape_on_stdout(cli: Cli) -> None:
    result = cli("filings", "show", "4242", "--json")

    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "error": "filing_not_found",
        "message": "filing 4242 does not exist",
        "reasons": [],
    }
    assert result.stderr.splitlines() == ["error: filing 4242 does not exist"]
