"""A production process refuses the shipped webhook secret; development keeps ``make run`` simple."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import DEFAULT_WEBHOOK_SECRET, Environment, Settings
from workflow.domain.errors import UnsafeSettings
from workflow.startup import check_settings


def test_development_is_the_default_and_accepts_the_shipped_secret() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.environment is Environment.DEVELOPMENT
    check_settings(settings)


def test_production_refuses_the_shipped_secret_naming_webhook_secret() -> None:
    settings = Settings(environment=Environment.PRODUCTION, webhook_secret=DEFAULT_WEBHOOK_SECRET)

    with pytest.raises(UnsafeSettings, match="WEBHOOK_SECRET") as refused:
        check_settings(settings)
    assert [r.field for r in refused.value.reasons] == ["webhook_secret"]


def test_production_starts_with_a_secret_of_its_own() -> None:
    check_settings(
        Settings(environment=Environment.PRODUCTION, webhook_secret="a-long-private-secret")
    )


def test_the_environment_is_read_from_icpflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICPFLOW_ENV", "production")

    assert Settings(_env_file=None).environment is Environment.PRODUCTION  # type: ignore[call-arg]


def test_a_misspelt_route_refuses_to_start_naming_each_problem() -> None:
    routes = {
        "case_managers": [{"channel": "log", "recipient": "desk"}],
        "ops": [{"channel": "emial", "recipent": "ops@example.cn"}],
    }

    with pytest.raises(UnsafeSettings) as refused:
        check_settings(Settings(notify_routes=routes))

    assert sorted(r.field or "" for r in refused.value.reasons) == [
        "notify_routes.case_managers",
        "notify_routes.ops[0].channel",
        "notify_routes.ops[0].recipent",
        "notify_routes.ops[0].recipient",
    ]


def test_a_misspelt_route_key_is_said_with_the_keys_a_route_takes() -> None:
    routes = {"ops": [{"channel": "log", "recipent": "desk"}]}

    with pytest.raises(UnsafeSettings) as refused:
        check_settings(Settings(notify_routes=routes))

    assert "unknown field 'notify_routes.ops[0].recipent'; allowed: channel, recipient" in [
        r.message for r in refused.value.reasons
    ]


def test_a_reminder_due_after_what_it_warns_of_refuses_to_start() -> None:
    late = Settings(sms_reminder_hours=[0, 12, 40], idle_reminder_days=[7, 45])

    with pytest.raises(UnsafeSettings) as refused:
        check_settings(late)

    assert [r.field for r in refused.value.reasons] == [
        "sms_reminder_hours",
        "idle_reminder_days",
    ]


@pytest.mark.parametrize(
    ("setting", "value", "said"),
    [
        ("psb_reminder_days", [40], "PSB_REMINDER_DAYS 40 is not inside PSB_FILING_DAYS (30)"),
        (
            "miit_reminder_weeks",
            [3, 7],
            "MIIT_REMINDER_WEEKS 7 is not before MIIT_LEGAL_LIMIT_WORKING_DAYS (20) ends and "
            "before MIIT_BREACH_WEEKS (6)",
        ),
        (
            "miit_breach_weeks",
            2,
            "MIIT_BREACH_WEEKS 2 is not after MIIT_LEGAL_LIMIT_WORKING_DAYS (20) ends",
        ),
    ],
    ids=["psb-reminder-before-go-live", "review-reminder-after-the-limit", "breach-before-it"],
)
def test_a_review_or_psb_figure_at_odds_with_what_it_warns_of_refuses_to_start(
    setting: str, value: object, said: str
) -> None:
    # An earlier breach is refused alone when the review's reminders come before it.
    reminders = {"miit_reminder_weeks": [1]} if setting == "miit_breach_weeks" else {}
    with pytest.raises(UnsafeSettings) as refused:
        check_settings(Settings.model_validate({**reminders, setting: value}))

    assert [(r.field, r.message) for r in refused.value.reasons] == [(setting, said)]


def test_stuck_working_days_for_a_state_orders_end_in_refuses_to_start() -> None:
    with pytest.raises(UnsafeSettings) as refused:
        check_settings(Settings(stuck_working_days={"approved": 2}))

    assert [r.field for r in refused.value.reasons] == ["stuck_working_days.approved"]


def test_an_order_called_stuck_while_its_sms_window_is_open_refuses_to_start() -> None:
    """A 48 h window and 1 working day: on a weekday, ops would chase it 24 h into its window."""
    with pytest.raises(UnsafeSettings) as refused:
        check_settings(Settings(sms_window_hours=48))

    [reason] = refused.value.reasons
    assert reason.field == "stuck_working_days.sms_pending"
    assert "SMS_WINDOW_HOURS (48)" in reason.message


def test_stuck_after_a_longer_sms_window_ends_starts() -> None:
    check_settings(Settings(sms_window_hours=48, stuck_working_days={"sms_pending": 2}))


def test_stuck_working_days_for_an_unknown_state_refuses_to_start_naming_those_it_takes() -> None:
    with pytest.raises(UnsafeSettings) as refused:
        check_settings(Settings(stuck_working_days={"submited": 3}))

    [reason] = refused.value.reasons
    assert (reason.field, reason.message) == (
        "stuck_working_days.submited",
        "STUCK_WORKING_DAYS names 'submited', not a state an order can be stuck in (one of "
        "domain_registered, service_number_bound, pre_approval_pending, draft, submitted, "
        "host_returned, host_pre_approved, sms_pending, miit_pending, rejected, lapsed)",
    )


def test_host_review_working_days_for_an_unknown_order_kind_refuses_to_start_naming_it() -> None:
    with pytest.raises(UnsafeSettings) as refused:
        check_settings(Settings(host_review_working_days={"chnage": 1}))

    [reason] = refused.value.reasons
    assert (reason.field, reason.message) == (
        "host_review_working_days.chnage",
        "HOST_REVIEW_WORKING_DAYS names 'chnage', not an order kind (one of first_filing, "
        "new_service, new_access, change, cancel_entity, cancel_service, cancel_access)",
    )


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_the_stuck_days_of_before_refuse_to_start_naming_what_replaced_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: str
) -> None:
    """Left set, they would be ignored: thresholds in calendar days, now in working days."""
    monkeypatch.chdir(tmp_path)
    if where == ".env":
        (tmp_path / ".env").write_text('STUCK_DAYS={"submitted": 5}\n', encoding="utf-8")
    else:
        monkeypatch.setenv("STUCK_DAYS", '{"submitted": 5}')
    with pytest.raises(UnsafeSettings) as refused:
        check_settings(Settings())

    [reason] = refused.value.reasons
    assert (reason.code, reason.field) == ("renamed_setting", "stuck_days")
    assert "STUCK_WORKING_DAYS" in reason.message


def test_a_broken_rules_file_refuses_the_start_naming_every_problem(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[provinces\n", encoding="utf-8")

    with pytest.raises(UnsafeSettings) as refused:
        check_settings(Settings(rules_file=rules))
    [reason] = refused.value.reasons
    assert (reason.code, reason.field) == ("invalid_rule", "rules_file")
    assert reason.message.startswith("TOMLDecodeError")


def test_a_missing_rules_file_refuses_the_start(tmp_path: Path) -> None:
    with pytest.raises(UnsafeSettings) as refused:
        check_settings(Settings(rules_file=tmp_path / "absent.toml"))
    assert [(r.code, r.field) for r in refused.value.reasons] == [
        ("unreadable_rules", "rules_file")
    ]


def test_a_rules_file_that_is_not_utf8_refuses_the_start(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_bytes(b"\xff\xfe[provinces]\n")

    with pytest.raises(UnsafeSettings) as refused:
        check_settings(Settings(rules_file=rules))
    assert [r.message for r in refused.value.reasons] == [
        "not UTF-8 text: invalid start byte at byte 0"
    ]


def test_a_service_number_example_the_pattern_refuses_refuses_to_start_naming_both() -> None:
    mismatched = Settings(service_number_pattern=r"^BA[0-9]{6}$")

    with pytest.raises(UnsafeSettings) as refused:
        check_settings(mismatched)

    [reason] = refused.value.reasons
    assert reason.field == "service_number_example"
    named = "SERVICE_NUMBER_EXAMPLE 'BA2026000123' does not match SERVICE_NUMBER_PATTERN"
    assert reason.message.startswith(f"{named} '^BA[0-9]{{6}}$'")


def test_a_changed_service_number_pattern_starts_with_an_example_it_takes() -> None:
    check_settings(
        Settings(service_number_pattern=r"^BA[0-9]{6}$", service_number_example="ba202601")
    )


def test_a_service_number_pattern_that_is_no_regular_expression_refuses_to_start() -> None:
    with pytest.raises(UnsafeSettings, match="SERVICE_NUMBER_PATTERN") as refused:
        check_settings(Settings(service_number_pattern="[A-Z"))

    assert [r.field for r in refused.value.reasons] == ["service_number_pattern"]
