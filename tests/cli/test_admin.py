"""``icpflow tokens|calendar|ops|diagram``: setting up an install and watching its work."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from auth.tokens import Role, TokenInfo, authenticate, create_token, list_tokens
from cli.main import app
from config.clock import FrozenClock, as_utc, lateness
from config.settings import Settings, get_settings
from models import ApiToken, FailedJob, Job, Notification
from tests.databases import POSTGRES_ONLY, Database
from tests.delivery_kit import failed_jobs
from tests.factories import HOLIDAYS_2031, SCHEDULE_2031, MakeFiling, order_on
from workflow import failures, service
from workflow.domain import diagram
from workflow.domain.commands import EventCommand
from workflow.domain.definition import DEADLINES_BY_KIND, EVENTS, STATES, Flag
from workflow.domain.errors import Unauthorized
from workflow.outbox import FooterCheck
from workflow.schemas import FailedJobOut, FilingOut, RetryingDeliveryOut

if TYPE_CHECKING:
    from tests.cli.conftest import Cli
    from tests.conftest import Open


def test_tokens_create_prints_one_line_that_authenticates(cli: Cli, db: Database) -> None:
    result = cli("tokens", "create", "--role", "ops", "--name", "ci")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    with Session(db.engine) as session:
        token = authenticate(session, lines[0])
    assert (token.name, token.role) == ("ci", "ops")


def test_diagram_mermaid_names_every_state_and_event(cli: Cli) -> None:
    result = cli("diagram", "--format", "mermaid")

    assert result.exit_code == 0, result.output
    assert result.stdout == diagram.mermaid()
    for state in STATES:
        assert state.name.value in result.stdout
    for event in EVENTS:
        assert event.name in result.stdout


def test_calendar_load_installs_a_schedule_and_recomputes_estimated_deadlines(
    cli: Cli, tmp_path: Path, settings: Settings, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    clock.set(datetime(2031, 9, 26, 2, 0, tzinfo=UTC))  # Friday before National Day 2031
    filing = new_filing("submitted", domain_expires_on="2033-06-30")
    assert any(d.estimated for d in filing.deadlines)
    path = tmp_path / "2031.json"
    path.write_text(json.dumps(SCHEDULE_2031), encoding="utf-8")

    result = cli("calendar", "load", str(path), "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["year"], report["holidays"], report["workdays"]) == (2031, 10, 2)
    assert report["changed"] >= 1
    assert (settings.var_dir / "calendar" / "2031.json").exists()
    shown = json.loads(cli("filings", "show", str(filing.id), "--json").stdout)
    review = next(d for d in shown["deadlines"] if d["kind"] == "host_review_overdue")
    assert review["estimated"] is False


def test_a_corrected_schedule_moves_a_deadline_counted_with_the_one_it_replaces(
    cli: Cli, tmp_path: Path, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    path = tmp_path / "2031.json"
    path.write_text(json.dumps(SCHEDULE_2031), encoding="utf-8")
    assert cli("calendar", "load", str(path)).exit_code == 0
    clock.set(datetime(2031, 9, 22, 2, 0, tzinfo=UTC))  # a Monday
    filing = new_filing("submitted", domain_expires_on="2033-06-30")
    [before] = [d for d in filing.deadlines if d.kind == "host_review_overdue"]
    assert before.estimated is False
    corrected = {**SCHEDULE_2031, "holidays": ["2031-09-23", *HOLIDAYS_2031]}
    path.write_text(json.dumps(corrected), encoding="utf-8")

    assert cli("calendar", "load", str(path)).exit_code == 0

    shown = json.loads(cli("filings", "show", str(filing.id), "--json").stdout)
    [after] = [d for d in shown["deadlines"] if d["kind"] == "host_review_overdue"]
    assert as_utc(datetime.fromisoformat(after["due_at"])) == before.due_at + timedelta(days=1)


def test_calendar_load_recomputes_estimated_rectification_notices(
    cli: Cli, tmp_path: Path, session: Session, on_file: FilingOut, clock: FrozenClock
) -> None:
    clock.set(datetime(2031, 9, 26, 2, 0, tzinfo=UTC))  # Friday before National Day 2031
    site = str(on_file.service_id)
    told = cli(
        "services",
        "rectify",
        site,
        "--reference",
        "京通管〔2031〕1号",
        "--working-days",
        "5",
        "--json",
    )
    assert told.exit_code == 0, told.output
    [before] = [o for o in json.loads(told.stdout)["obligations"] if o["kind"] == "rectification"]
    assert before["estimated"] is True
    path = tmp_path / "2031.json"
    path.write_text(json.dumps(SCHEDULE_2031), encoding="utf-8")

    assert cli("calendar", "load", str(path)).exit_code == 0

    shown = json.loads(cli("services", "obligations", site, "--json").stdout)
    [after] = [o for o in shown["obligations"] if o["kind"] == "rectification"]
    # 5 working days from Friday 26 September: 28, 29, 30 September, then 8 and 9 October.
    assert (after["estimated"], after["due_at"][:10]) == (False, "2031-10-09")


def test_calendar_load_refuses_a_bad_file_with_every_reason(
    cli: Cli, tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps({"year": 2031, "holidays": ["2031-13-01"], "workdays": ["2031-10-06"]})
    )

    result = cli("calendar", "load", str(path))

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: invalid holiday schedule file")
    assert any("holidays[0]" in line for line in lines[1:])
    assert any("workdays[0]" in line for line in lines[1:])
    assert not (settings.var_dir / "calendar").exists()


def test_ops_stuck_lists_a_filing_once_the_clock_passes_its_threshold(
    cli: Cli, created: dict[str, Any], clock: FrozenClock, settings: Settings
) -> None:
    assert json.loads(cli("ops", "stuck", "--json").stdout)["total"] == 0

    clock.advance(timedelta(days=13))  # a Sunday: 9 working days, not yet stuck
    assert json.loads(cli("ops", "stuck", "--json").stdout)["total"] == 0
    clock.advance(timedelta(days=1, minutes=1))  # the 10th working day has passed
    result = cli("ops", "stuck", "--json")

    assert result.exit_code == 0, result.output
    assert [f["id"] for f in json.loads(result.stdout)["items"]] == [created["id"]]


def test_ops_stuck_takes_the_filters_filings_list_takes(
    cli: Cli, new_filing: MakeFiling, clock: FrozenClock
) -> None:
    new_filing(domain="slow.cn")
    new_filing(domain="other.cn")
    clock.advance(timedelta(days=15))  # both past the stuck threshold

    result = cli("ops", "stuck", "--domain", "slow", "--json")

    assert result.exit_code == 0, result.output
    assert [f["domain"] for f in json.loads(result.stdout)["items"]] == ["slow.cn"]


def test_ops_stuck_names_the_stuck_deadline_and_how_long_the_filing_is_stuck(
    cli: Cli, created: dict[str, Any], clock: FrozenClock
) -> None:
    clock.advance(timedelta(days=15))
    [listed] = json.loads(cli("ops", "stuck", "--json").stdout)["items"]
    fell_due = datetime.fromisoformat(listed["listed_for"]["due_at"])

    result = cli("ops", "stuck")

    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if created["domain"] in line]
    cells = [cell.strip() for cell in row.split("│")]
    assert DEADLINES_BY_KIND["stuck"].label in cells
    assert lateness(fell_due, clock.now(), Flag.STUCK) in cells


def test_ops_stuck_keeps_each_domain_and_state_whole_on_an_80_column_terminal(
    cramped_cli: Cli, new_filing: MakeFiling, clock: FrozenClock
) -> None:
    """Its nine columns folded a long domain and state mid-word (``host_pr`` / ``e_appro`` /
    ``ved``): each filing is a record there, its identifiers on one line."""
    filing = new_filing("host_pre_approved", domain="shop-online-example-company.com.cn")
    clock.advance(timedelta(days=15))  # past the stuck threshold

    shown = [line.split() for line in cramped_cli("ops", "stuck").stdout.splitlines()]

    assert [str(filing.id), filing.domain, filing.state] in [line[:3] for line in shown]


def test_ops_overdue_help_says_it_is_in_the_filings_lists_order_not_the_longest_overdue_first(
    cli: Cli,
) -> None:
    shown = " ".join(cli("ops", "overdue", "--help").stdout.replace("│", " ").split())
    assert "Ordered as 'filings list' orders them (by id, or --sort)" in shown
    assert "for the one overdue the longest first, 'filings overdue'" in shown


@pytest.mark.parametrize("command", [("ops", "overdue"), ("filings", "overdue")])
def test_the_overdue_lists_say_each_orders_kind_and_name_one_on_the_entity_alone(
    cli: Cli,
    on_file: FilingOut,
    open_order: Open,
    session: Session,
    clock: FrozenClock,
    command: tuple[str, str],
) -> None:
    cancel = open_order(**order_on("cancel_entity", on_file.entity_id, 0))
    submit = EventCommand(event="submit", data={"materials": ["cancellation_request"]})
    service.fire_event(session, cancel.id, submit, actor="t")
    clock.advance(timedelta(days=7))  # past the host's review

    result = cli(*command)

    [row] = [line for line in result.stdout.splitlines() if line.startswith(f"│ {cancel.id} ")]
    cells = [cell.strip() for cell in row.split("│")][1:-1]
    assert cells[1:3] == [f"{on_file.applicant.name} {cancel.icp_number}", "cancel_entity 注销主体"]


def test_ops_overdue_json_keeps_each_filing_and_adds_the_deadline_filings_due_shows(
    cli: Cli, new_filing: MakeFiling, clock: FrozenClock
) -> None:
    new_filing("submitted")
    clock.advance(timedelta(days=7))  # past the host's review
    [late] = json.loads(cli("filings", "overdue", "--within-hours", "0", "--json").stdout)["items"]

    result = cli("ops", "overdue", "--json")

    assert result.exit_code == 0, result.output
    [listed] = json.loads(result.stdout)["items"]
    assert {k: v for k, v in listed.items() if k != "listed_for"} == late["filing"]
    assert listed["listed_for"] == late["deadline"]


def test_tokens_list_shows_each_token_without_its_secret(
    cli: Cli, session: Session, clock: FrozenClock
) -> None:
    secret = create_token(session, "ci", Role.OPS, clock.now() + timedelta(days=30))

    result = cli("tokens", "list", "--json")

    assert result.exit_code == 0, result.output
    (listed,) = json.loads(result.stdout)
    assert (listed["name"], listed["role"], listed["revoked_at"]) == ("ci", "ops", None)
    assert listed["expires_at"] == "2026-04-01T02:00:00Z"  # the frozen clock + 30 days
    assert set(listed) == {
        "id",
        "name",
        "role",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "status",
    }
    assert secret not in result.stdout and "hash" not in result.stdout


def test_tokens_list_says_which_have_expired_or_been_revoked(
    cli: Cli, session: Session, clock: FrozenClock
) -> None:
    create_token(session, "soon", Role.VIEWER, clock.now() + timedelta(days=1))
    create_token(session, "later", Role.VIEWER, clock.now() + timedelta(days=3))
    create_token(session, "gone", Role.VIEWER)
    cli("tokens", "revoke", "3")
    clock.advance(timedelta(days=2))

    listed = json.loads(cli("tokens", "list", "--json").stdout)

    assert [(t["name"], t["status"]) for t in listed] == [
        ("soon", "expired"),
        ("later", "active"),
        ("gone", "revoked"),
    ]
    assert "expired" in cli("tokens", "list").stdout


def test_tokens_create_json_gives_an_expiry_day_in_utc_as_the_list_does(cli: Cli) -> None:
    args = ("--role", "ops", "--name", "ci", "--expires-on", "2026-04-01", "--json")
    created = json.loads(cli("tokens", "create", *args).stdout)
    [listed] = json.loads(cli("tokens", "list", "--json").stdout)
    assert created["expires_at"] == listed["expires_at"] == "2026-03-31T16:00:00Z"


def test_tokens_create_json_gives_the_token_with_its_name_role_and_expiry(cli: Cli) -> None:
    result = cli(
        "tokens", "create", "--role", "ops", "--name", "ci", "--expires-in", "1d", "--json"
    )
    created = json.loads(result.stdout)
    assert (created["name"], created["role"], created["expires_at"]) == (
        "ci",
        "ops",
        "2026-03-03T02:00:00Z",
    )
    assert created["token"].startswith("icp_")


def test_tokens_revoke_makes_the_token_unusable(cli: Cli, session: Session) -> None:
    secret = create_token(session, "ci", Role.OPS)

    result = cli("tokens", "revoke", "1")

    assert result.exit_code == 0, result.output
    with pytest.raises(Unauthorized):
        authenticate(session, secret)


def _listed(session: Session, secret: str) -> TokenInfo:
    """The token a printed secret authenticates as, as ``tokens list`` shows it."""
    caller = authenticate(session, secret)
    return next(t for t in list_tokens(session) if t.id == caller.id)


def test_tokens_rotate_prints_a_successor_with_the_same_name_role_and_lifetime(
    cli: Cli, session: Session, clock: FrozenClock
) -> None:
    old = create_token(session, "ci", Role.OPS, clock.now() + timedelta(days=30))
    clock.advance(timedelta(days=10))

    result = cli("tokens", "rotate", "1")

    assert result.exit_code == 0, result.output
    (new,) = result.stdout.splitlines()
    successor = _listed(session, new)
    assert (successor.name, successor.role) == ("ci", "ops")
    assert successor.expires_at is not None
    assert as_utc(successor.expires_at) == clock.now() + timedelta(days=30)
    with pytest.raises(Unauthorized):
        authenticate(session, old)


def test_a_token_named_before_names_were_checked_rotates_under_its_own_name(
    cli: Cli, session: Session, clock: FrozenClock
) -> None:
    """Its name is who its history and its filings' assignments say acted: kept as it was."""
    session.add(ApiToken(name=" ci ", role="ops", token_hash="0" * 64, created_at=clock.now()))
    session.commit()

    result = cli("tokens", "rotate", "1")

    assert result.exit_code == 0, result.output
    assert _listed(session, result.stdout.strip()).name == " ci "


def test_tokens_rotate_refuses_a_revoked_token(cli: Cli, session: Session) -> None:
    create_token(session, "ci", Role.OPS)
    cli("tokens", "revoke", "1")

    result = cli("tokens", "rotate", "1")

    assert (result.exit_code, "revoked" in result.stderr) == (1, True)


def test_tokens_create_expires_in_sets_the_expiry_from_now(
    cli: Cli, db: Database, clock: FrozenClock
) -> None:
    result = cli("tokens", "create", "--role", "viewer", "--name", "x", "--expires-in", "30d")

    assert result.exit_code == 0, result.output
    with Session(db.engine) as session:
        token = _listed(session, result.stdout.strip())
    assert token.expires_at is not None
    assert as_utc(token.expires_at) == clock.now() + timedelta(days=30)


def test_tokens_create_expires_on_ends_at_the_start_of_that_day_in_beijing(
    cli: Cli, db: Database
) -> None:
    result = cli(
        "tokens", "create", "--role", "viewer", "--name", "x", "--expires-on", "2026-04-01"
    )

    assert result.exit_code == 0, result.output
    with Session(db.engine) as session:
        token = _listed(session, result.stdout.strip())
    assert token.expires_at is not None
    assert as_utc(token.expires_at) == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)


def test_tokens_create_refuses_both_expiry_options(cli: Cli) -> None:
    result = cli(
        "tokens", "create", "--role", "viewer", "--name", "x",
        "--expires-in", "1d", "--expires-on", "2026-04-01",
    )  # fmt: skip

    assert (result.exit_code, "not both" in result.stderr) == (1, True)


def test_tokens_create_refuses_a_malformed_duration(cli: Cli) -> None:
    result = cli("tokens", "create", "--role", "viewer", "--name", "x", "--expires-in", "soon")

    assert (result.exit_code, "12h, 30d or 2w" in result.stderr) == (2, True)


@pytest.mark.parametrize("duration", ["99999999999d", "36501d", "9999999w"])
def test_tokens_create_refuses_a_lifetime_past_what_dates_reach(cli: Cli, duration: str) -> None:
    result = cli("tokens", "create", "--role", "viewer", "--name", "x", "--expires-in", duration)

    assert (result.exit_code, "at most 36500 days" in result.stderr) == (2, True)


@pytest.mark.parametrize(
    "name", ["n" * 101, " ", "bob\nEVIL", "zw\u200bx"], ids=["long", "blank", "newline", "zwsp"]
)
def test_tokens_create_refuses_a_name_no_filing_could_be_assigned_to(cli: Cli, name: str) -> None:
    result = cli("tokens", "create", "--role", "case_manager", "--name", name)

    assert (result.exit_code, result.stderr.startswith("error: token refused: name")) == (1, True)
    assert cli("tokens", "list", "--json").stdout.count('"name"') == 0


def test_tokens_create_stores_and_gives_the_name_without_its_surrounding_spaces(cli: Cli) -> None:
    created = json.loads(
        cli("tokens", "create", "--role", "viewer", "--name", " ci ", "--json").stdout
    )

    assert created["name"] == "ci" == json.loads(cli("tokens", "list", "--json").stdout)[0]["name"]


def test_ops_failed_shows_the_failed_job_the_api_shows(
    cli: Cli, session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing = new_filing("withdrawn")  # withdrawing notifies the case managers
    notification = session.exec(select(Notification)).first()
    assert notification is not None and notification.id is not None
    failures.record_final_failure(session, notification.id, "SMTP refused", clock.now())
    session.commit()

    result = cli("ops", "failed", "--json")

    assert result.exit_code == 0, result.output
    [job] = json.loads(result.stdout)["items"]
    assert job == FailedJobOut.model_validate(job).model_dump(mode="json")
    assert (job["filing_id"], job["notification_id"], job["error"]) == (
        filing.id,
        notification.id,
        "SMTP refused",
    )


def test_ops_retrying_shows_the_deliveries_failing_now_the_api_shows(
    cli: Cli, retrying_delivery: Notification
) -> None:
    result = cli("ops", "retrying", "--json")

    assert result.exit_code == 0, result.output
    [listed] = json.loads(result.stdout)["items"]
    assert listed == RetryingDeliveryOut.model_validate(listed).model_dump(mode="json")
    assert (listed["notification_id"], listed["attempts"], listed["last_error"]) == (
        retrying_delivery.id,
        4,
        "webhook answered HTTP 501",
    )


def test_ops_retrying_names_each_delivery_s_filing_recipient_and_attempt_of_how_many(
    cli: Cli, retrying_delivery: Notification
) -> None:
    result = cli("ops", "retrying")

    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if "HTTP 501" in line]
    cells = [cell.strip() for cell in row.split("│")]
    assert str(retrying_delivery.filing_id) in cells
    assert f"webhook: {retrying_delivery.recipient}" in cells
    assert "4 of 11" in cells


def test_ops_failed_names_each_job_s_filing_and_recipient_for_people(
    cli: Cli, session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    filing = new_filing("withdrawn")
    notification = session.exec(select(Notification)).first()
    assert notification is not None and notification.id is not None
    failures.record_final_failure(session, notification.id, "SMTP refused", clock.now())
    session.commit()

    result = cli("ops", "failed")

    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if "SMTP refused" in line]
    cells = [cell.strip() for cell in row.split("│")]
    assert str(filing.id) in cells and f"{notification.channel}: {notification.recipient}" in cells


def test_ops_failed_keeps_the_error_readable_on_an_80_column_terminal(
    session: Session, clock: FrozenClock, new_filing: MakeFiling
) -> None:
    """The default width when piped: the error column was folded two letters a line."""
    new_filing("withdrawn")
    notification = session.exec(select(Notification)).first()
    assert notification is not None and notification.id is not None
    error = "DeliveryFailed: webhook answered 500"
    failures.record_final_failure(session, notification.id, error, clock.now())
    session.commit()

    result = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["ops", "failed"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(any(word in line for line in lines) for word in ("webhook", "answered"))


def test_ops_failed_names_what_a_failed_footer_check_was_to_check(
    cli: Cli, session: Session, clock: FrozenClock
) -> None:
    check = FooterCheck(service_id=4, obligation_id=9)
    failures.record_failed_job(session, Job.CHECK_FOOTER, check, "no such table", 4, clock.now())
    session.commit()

    result = cli("ops", "failed")

    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if "no such table" in line]
    assert "service_id 4 · obligation_id 9" in [cell.strip() for cell in row.split("│")]


@pytest.fixture
def failed_deliveries(session: Session, clock: FrozenClock, new_filing: MakeFiling) -> list[int]:
    """Two deliveries failed for good, to ops@example.cn and to legal@example.cn."""
    new_filing("withdrawn")  # withdrawing notifies the case managers
    new_filing("withdrawn")
    jobs = []
    notifications = session.exec(select(Notification).order_by(col(Notification.id))).all()
    recipients = ["ops@example.cn", "Legal@Example.cn"]
    for notification, recipient in zip(notifications[:2], recipients, strict=True):
        notification.recipient = recipient
        assert notification.id is not None
        job = failures.record_final_failure(session, notification.id, "SMTP refused", clock.now())
        session.flush()
        assert job.id is not None
        jobs.append(job.id)
    session.commit()
    return jobs


def test_ops_failed_lists_only_the_jobs_of_the_kind_asked_for(
    cli: Cli, session: Session, clock: FrozenClock, failed_deliveries: list[int]
) -> None:
    check = FooterCheck(service_id=4, obligation_id=9)
    failures.record_failed_job(session, Job.CHECK_FOOTER, check, "no such table", 4, clock.now())
    session.commit()

    result = cli("ops", "failed", "--job", "check_footer", "--json")

    assert result.exit_code == 0, result.output
    assert [j["job"] for j in json.loads(result.stdout)["items"]] == ["check_footer"]


def test_ops_failed_to_lists_only_deliveries_whose_recipient_holds_the_text_case_aside(
    cli: Cli, failed_deliveries: list[int]
) -> None:
    result = cli("ops", "failed", "--to", "legal@example", "--json")

    assert result.exit_code == 0, result.output
    assert [j["recipient"] for j in json.loads(result.stdout)["items"]] == ["Legal@Example.cn"]


def test_ops_retry_retries_every_id_given_each_on_its_own(
    cli: Cli, session: Session, failed_deliveries: list[int]
) -> None:
    result = cli("ops", "retry", *map(str, failed_deliveries))

    assert result.exit_code == 0, result.output
    assert all(f"failed job {i} queued again" in result.stdout for i in failed_deliveries)
    retried = select(col(FailedJob.id)).where(col(FailedJob.retried_at).is_not(None))
    assert sorted(i or 0 for i in session.exec(retried)) == sorted(failed_deliveries)


def test_ops_retry_names_each_id_refused_and_keeps_the_others_retried(
    cli: Cli, session: Session, failed_deliveries: list[int]
) -> None:
    first, second = failed_deliveries
    assert cli("ops", "retry", str(first)).exit_code == 0

    result = cli("ops", "retry", str(first), "999", str(second))

    assert result.exit_code == 1, result.output
    assert f"error: failed job {first} was already retried" in result.stderr
    assert "error: failed job 999 does not exist" in result.stderr
    assert f"failed job {second} queued again" in result.stdout
    job = session.get(FailedJob, second)
    assert job is not None
    session.refresh(job)
    assert job.retried_at is not None


def test_ops_retry_tries_no_further_id_once_the_database_cannot_be_reached(
    cli: Cli, failed_deliveries: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = failed_deliveries
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()

    result = cli("ops", "retry", str(first), str(second))

    assert result.exit_code == 1, result.output
    said = " ".join(result.stderr.split())
    assert f"error: failed job {first}: the database is unavailable" in said
    assert f"error: failed job {second} not tried: the database could not be reached" in said


@pytest.fixture
def retry_fails_on(db: Database) -> Iterator[Callable[..., None]]:
    """Make the database fail a retry of the failed job given, as a server going down fails a
    statement (SQLSTATE 57P01, which PostgreSQL raises on shutdown), or ``at_commit``, its
    commit; undone afterwards, as the session's database serves the tests after."""

    def fail_on(failed_id: int, *, at_commit: bool = False) -> None:
        when = (
            "CONSTRAINT TRIGGER shut_down AFTER UPDATE ON failed_jobs DEFERRABLE INITIALLY DEFERRED"
            if at_commit
            else "TRIGGER shut_down BEFORE UPDATE ON failed_jobs"
        )
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE FUNCTION shut_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " RAISE EXCEPTION 'terminating connection' USING ERRCODE = 'admin_shutdown';"
                " END $$"
            )
            conn.exec_driver_sql(
                f"CREATE {when} FOR EACH ROW"
                f" WHEN (OLD.id = {int(failed_id)}) EXECUTE FUNCTION shut_down()"
            )

    yield fail_on
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS shut_down ON failed_jobs")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS shut_down()")


@POSTGRES_ONLY
def test_ops_retry_reports_every_id_s_outcome_when_the_database_fails_on_one(
    cli: Cli, db: Database, failed_deliveries: list[int], retry_fails_on: Callable[..., None]
) -> None:
    first, second = failed_deliveries
    retry_fails_on(first)

    result = cli("ops", "retry", str(first), str(second))

    assert result.exit_code == 1, result.output
    assert f"error: failed job {first}: the database is unavailable" in result.stderr
    assert f"failed job {second} queued again" in result.stdout
    retried = {job.id for job in failed_jobs(db.engine) if job.retried_at is not None}
    assert retried == {second}


@POSTGRES_ONLY
def test_ops_retry_goes_on_after_a_commit_the_database_refused(
    cli: Cli, db: Database, failed_deliveries: list[int], retry_fails_on: Callable[..., None]
) -> None:
    first, second = failed_deliveries
    retry_fails_on(first, at_commit=True)

    result = cli("ops", "retry", str(first), str(second))

    assert result.exit_code == 1, result.output
    assert f"failed job {second} queued again" in result.stdout


def test_ops_retry_json_gives_per_id_the_job_retried_or_the_error(
    cli: Cli, failed_deliveries: list[int]
) -> None:
    result = cli("ops", "retry", str(failed_deliveries[0]), "999", "--json")

    assert result.exit_code == 1, result.output
    retried, refused = json.loads(result.stdout)
    assert retried == FailedJobOut.model_validate(retried).model_dump(mode="json")
    assert (retried["id"], retried["retried_at"] is not None) == (failed_deliveries[0], True)
    assert (refused["id"], refused["error"]) == (999, "not_found")
