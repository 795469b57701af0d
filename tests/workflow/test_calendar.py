"""The working-day calendar, checked against the official 2025/2026 schedules in ``holidays``.

2026 per the State Council notice: Spring Festival off Feb 15-23 with Feb 14 and Feb 28
(Saturdays) worked; National Day off Oct 1-7 with Sep 20 (Sunday) and Oct 10 (Saturday) worked;
New Year off Jan 1-3 with Jan 4 (Sunday) worked. No official schedule is known for 2031.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from config.clock import CHINA
from tests.factories import HOLIDAYS_2031, SCHEDULE_2031
from workflow.domain.calendar import (
    STATUTORY_HOLIDAYS_SOURCE,
    WorkingCalendar,
    fixed_holidays,
    install_schedule_file,
    load_schedule_file,
)
from workflow.domain.errors import ValidationError

LOGGER = "workflow.domain.calendar"


def beijing(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHINA)


def write_json(path: Path, content: Any) -> Path:
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


@pytest.fixture
def calendar(tmp_path: Path) -> WorkingCalendar:
    return WorkingCalendar(tmp_path / "calendar")


def test_ordinary_week_skips_the_weekend_and_keeps_local_time(calendar: WorkingCalendar) -> None:
    due = calendar.add_working_days(beijing(2026, 3, 6, 10, 0), 3)
    assert due.at == beijing(2026, 3, 11, 10, 0)
    assert due.estimated is False


def test_due_time_is_returned_in_utc(calendar: WorkingCalendar) -> None:
    due = calendar.add_working_days(beijing(2026, 3, 6, 10, 0), 3)
    assert due.at.utcoffset() == timedelta(0)
    assert due.at == datetime(2026, 3, 11, 2, 0, tzinfo=UTC)


def test_days_are_counted_from_the_beijing_date_not_the_utc_date(
    calendar: WorkingCalendar,
) -> None:
    # Thursday 16:30 UTC is already Friday 00:30 in Beijing.
    due = calendar.add_working_days(datetime(2026, 3, 5, 16, 30, tzinfo=UTC), 1)
    assert due.at == beijing(2026, 3, 9, 0, 30)


def test_spring_festival_2026_days_are_not_working(calendar: WorkingCalendar) -> None:
    festival = [date(2026, 2, 15) + timedelta(n) for n in range(9)]
    assert [calendar.is_working_day(day) for day in festival] == [False] * 9


def test_make_up_saturday_is_a_working_day(calendar: WorkingCalendar) -> None:
    assert calendar.is_working_day(date(2026, 2, 14)) is True
    assert calendar.is_working_day(date(2026, 2, 7)) is False


def test_deadline_across_spring_festival_counts_the_make_up_saturday(
    calendar: WorkingCalendar,
) -> None:
    # Feb 14 (make-up Saturday) is day 1, then the festival, then Feb 24 and Feb 25.
    due = calendar.add_working_days(beijing(2026, 2, 13, 10, 0), 3)
    assert due.at == beijing(2026, 2, 25, 10, 0)
    assert due.estimated is False


def test_deadline_across_national_day_lands_on_make_up_saturday(
    calendar: WorkingCalendar,
) -> None:
    due = calendar.add_working_days(beijing(2026, 9, 30, 9, 0), 3)
    assert due.at == beijing(2026, 10, 10, 9, 0)


def test_deadline_reaching_into_next_year_uses_next_years_schedule(
    calendar: WorkingCalendar,
) -> None:
    # Dec 31 2025, then Jan 1-3 off, Jan 4 2026 is a make-up Sunday, then Jan 5.
    due = calendar.add_working_days(beijing(2025, 12, 30, 15, 0), 3)
    assert due.at == beijing(2026, 1, 5, 15, 0)
    assert due.estimated is False


def test_year_without_official_schedule_is_estimated_with_a_warning(
    calendar: WorkingCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        due = calendar.add_working_days(beijing(2031, 3, 7, 10, 0), 3)
    assert due.at == beijing(2031, 3, 12, 10, 0)
    assert due.estimated is True
    assert calendar.is_estimated(2031) is True
    assert any("2031" in record.getMessage() for record in caplog.records)


def test_estimated_year_warns_once_not_per_call(
    calendar: WorkingCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for day in range(1, 20):
            calendar.add_working_days(beijing(2031, 3, day, 10, 0), 2)
            calendar.is_working_day(date(2031, 4, day))
    assert len([r for r in caplog.records if "2031" in r.getMessage()]) == 1


def test_estimated_year_still_honours_fixed_rule_holidays(calendar: WorkingCalendar) -> None:
    # Rule-based 2031: National Day Oct 1-3 (Wed-Fri), then the weekend.
    due = calendar.add_working_days(beijing(2031, 9, 30, 10, 0), 1)
    assert due.at == beijing(2031, 10, 6, 10, 0)


def test_deadline_into_an_unknown_year_is_estimated(calendar: WorkingCalendar) -> None:
    due = calendar.add_working_days(beijing(2030, 12, 30, 10, 0), 3)
    assert due.estimated is True


def test_deadline_ending_before_an_unknown_year_is_not_estimated(
    calendar: WorkingCalendar,
) -> None:
    due = calendar.add_working_days(beijing(2026, 12, 28, 10, 0), 3)
    assert due.at == beijing(2026, 12, 31, 10, 0)
    assert due.estimated is False


def test_start_on_last_day_of_unknown_year_counts_only_the_next_year(tmp_path: Path) -> None:
    write_json(tmp_path / "2031.json", SCHEDULE_2031)
    calendar = WorkingCalendar(tmp_path)
    due = calendar.add_working_days(beijing(2030, 12, 31, 10, 0), 1)  # 1 January is off
    assert due.at == beijing(2031, 1, 2, 10, 0)
    assert due.estimated is False


def test_package_years_are_official(calendar: WorkingCalendar) -> None:
    assert calendar.is_estimated(2025) is False
    assert calendar.is_estimated(2026) is False


def test_schedule_file_in_dir_makes_year_official_and_changes_result(tmp_path: Path) -> None:
    write_json(tmp_path / "2031.json", SCHEDULE_2031)
    calendar = WorkingCalendar(tmp_path)
    due = calendar.add_working_days(beijing(2031, 9, 30, 10, 0), 1)
    assert due.at == beijing(2031, 10, 8, 10, 0)
    assert due.estimated is False
    assert calendar.is_estimated(2031) is False


def test_schedule_file_overrides_the_package(tmp_path: Path) -> None:
    fixed = [day.isoformat() for day, _ in fixed_holidays(2026)]
    write_json(
        tmp_path / "2026.json", {"year": 2026, "holidays": [*fixed, "2026-03-02"], "workdays": []}
    )
    calendar = WorkingCalendar(tmp_path)
    assert calendar.is_working_day(date(2026, 3, 2)) is False
    assert calendar.is_working_day(date(2026, 2, 14)) is False


def test_installed_schedule_applies_after_reload(tmp_path: Path) -> None:
    schedule_dir = tmp_path / "calendar"
    calendar = WorkingCalendar(schedule_dir)
    before = calendar.add_working_days(beijing(2031, 9, 30, 10, 0), 1)

    install_schedule_file(write_json(tmp_path / "notice.json", SCHEDULE_2031), schedule_dir)
    calendar.reload()

    after = calendar.add_working_days(beijing(2031, 9, 30, 10, 0), 1)
    assert (before.at, before.estimated) == (beijing(2031, 10, 6, 10, 0), True)
    assert (after.at, after.estimated) == (beijing(2031, 10, 8, 10, 0), False)


def test_running_calendar_sees_a_schedule_installed_since_at_its_next_look(
    tmp_path: Path,
) -> None:
    schedule_dir = tmp_path / "calendar"
    calendar = WorkingCalendar(schedule_dir, recheck_seconds=0)
    assert calendar.is_estimated(2031) is True

    install_schedule_file(write_json(tmp_path / "notice.json", SCHEDULE_2031), schedule_dir)
    calendar.refresh()

    after = calendar.add_working_days(beijing(2031, 9, 30, 10, 0), 1)
    assert (after.at, after.estimated) == (beijing(2031, 10, 8, 10, 0), False)


def test_calendar_looks_at_its_directory_at_most_once_per_recheck_interval(
    tmp_path: Path,
) -> None:
    schedule_dir = tmp_path / "calendar"
    calendar = WorkingCalendar(schedule_dir, recheck_seconds=3600)
    calendar.refresh()  # the first look, made at once

    install_schedule_file(write_json(tmp_path / "notice.json", SCHEDULE_2031), schedule_dir)
    calendar.refresh()  # within the hour: not looked at

    assert calendar.is_estimated(2031) is True


def test_bad_schedule_copied_in_by_hand_keeps_the_schedules_read_before_and_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_json(tmp_path / "2031.json", SCHEDULE_2031)
    calendar = WorkingCalendar(tmp_path, recheck_seconds=0)
    (tmp_path / "2031.json").write_text('{"year": 2031, "holidays": ["2031-13-01"]', "utf-8")

    with caplog.at_level(logging.ERROR, logger=LOGGER):
        calendar.refresh()
        calendar.refresh()

    assert calendar.is_estimated(2031) is False
    assert calendar.is_working_day(date(2031, 10, 2)) is False
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "2031.json" in logged.getMessage()
    assert "keeps the schedule read before" in logged.getMessage()


def test_a_process_starting_beside_a_bad_schedule_file_reads_the_good_ones_and_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A restart (a deploy, a crashed worker) must not turn a file copied in by hand into a
    refusal of every event that arms a working-day deadline."""
    write_json(tmp_path / "2031.json", SCHEDULE_2031)
    (tmp_path / "2032.json").write_text('{"year": 2032, "holidays": ["2032-1-3"]}', "utf-8")

    with caplog.at_level(logging.ERROR, logger=LOGGER):
        calendar = WorkingCalendar(tmp_path)

    assert calendar.is_estimated(2031) is False
    assert calendar.add_working_days(beijing(2032, 3, 1, 10, 0), 1).estimated is True
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "2032.json" in logged.getMessage()


def test_install_copies_the_file_under_its_year(tmp_path: Path) -> None:
    source = write_json(tmp_path / "notice.json", SCHEDULE_2031)
    schedule = install_schedule_file(source, tmp_path / "calendar")
    assert schedule.year == 2031
    assert (tmp_path / "calendar" / "2031.json").read_bytes() == source.read_bytes()
    assert source.exists()


def test_load_schedule_file_parses_both_lists(tmp_path: Path) -> None:
    schedule = load_schedule_file(write_json(tmp_path / "s.json", SCHEDULE_2031))
    assert date(2031, 10, 7) in schedule.holidays
    assert schedule.workdays == frozenset({date(2031, 9, 28), date(2031, 10, 11)})


_FIXED_2031 = ["2031-01-01", "2031-05-01", "2031-05-02", "2031-10-01", "2031-10-02", "2031-10-03"]


def test_malformed_schedule_lists_every_problem(tmp_path: Path) -> None:
    bad = {
        "year": 2031,
        "holidays": [*_FIXED_2031, "2030-12-31", "2031-13-01", "20311002", "2031-10-04"],
        "workdays": ["2031-10-04", "2031-10-06", 5],
        "source": "typo",
    }
    with pytest.raises(ValidationError) as caught:
        load_schedule_file(write_json(tmp_path / "bad.json", bad))
    assert sorted((r.code, r.field) for r in caught.value.reasons) == [
        ("bad_date", "holidays[7]"),
        ("bad_date", "holidays[8]"),
        ("bad_date", "workdays[2]"),
        ("in_both_lists", "workdays"),
        ("unknown_field", "source"),
        ("workday_not_weekend", "workdays[1]"),
        ("wrong_year", "holidays[6]"),
    ]


@pytest.mark.parametrize(
    ("year", "left_out"),
    [(2031, "2031-01-01"), (2031, "2031-05-02"), (2031, "2031-10-03"), (2024, "2024-05-01")],
    ids=["new-year", "labour-day-second-from-2025", "national-day-third", "labour-day-2024"],
)
def test_a_schedule_without_a_fixed_date_statutory_holiday_is_refused_naming_it(
    tmp_path: Path, year: int, left_out: str
) -> None:
    """An official schedule lists every one: a file without one was typed from something
    else, or cut short, and would have them counted as working days."""
    days = [day.isoformat() for day, _ in fixed_holidays(year) if day.isoformat() != left_out]
    schedule = {"year": year, "holidays": days, "workdays": []}

    with pytest.raises(ValidationError) as caught:
        load_schedule_file(write_json(tmp_path / "cut.json", schedule))

    [reason] = caught.value.reasons
    assert (reason.code, reason.details, reason.source) == (
        "missing_statutory_holiday",
        {"date": left_out},
        STATUTORY_HOLIDAYS_SOURCE,
    )


def test_labour_days_second_day_is_asked_from_2025_only(tmp_path: Path) -> None:
    schedule = {
        "year": 2024,
        "holidays": ["2024-01-01", "2024-05-01", "2024-10-01", "2024-10-02", "2024-10-03"],
        "workdays": [],
    }

    assert load_schedule_file(write_json(tmp_path / "2024.json", schedule)).year == 2024


def test_schedule_missing_fields_and_bad_year_are_listed(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        load_schedule_file(write_json(tmp_path / "bad.json", {"year": "2031"}))
    assert sorted(r.code for r in caught.value.reasons) == [
        "bad_year",
        "missing_field",
        "missing_field",
    ]


def test_schedule_that_is_not_json_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{year: 2031", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_schedule_file(path)
    assert [r.code for r in caught.value.reasons] == ["bad_json"]


def test_install_rejects_malformed_file_and_writes_nothing(tmp_path: Path) -> None:
    source = write_json(tmp_path / "bad.json", {**SCHEDULE_2031, "workdays": ["2031-10-01"]})
    with pytest.raises(ValidationError):
        install_schedule_file(source, tmp_path / "calendar")
    assert not (tmp_path / "calendar").exists()


def test_two_files_for_one_year_are_both_left_out_and_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_json(tmp_path / "2031.json", SCHEDULE_2031)
    write_json(tmp_path / "copy.json", SCHEDULE_2031)

    with caplog.at_level(logging.ERROR, logger=LOGGER):
        calendar = WorkingCalendar(tmp_path)

    assert calendar.is_estimated(2031) is True
    assert "2031.json and copy.json both hold 2031" in caplog.text


def test_a_second_file_for_a_year_copied_in_keeps_the_schedule_read_before(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Which of the two is right cannot be told: the one in use stays, not the estimate."""
    write_json(tmp_path / "2031.json", SCHEDULE_2031)
    calendar = WorkingCalendar(tmp_path, recheck_seconds=0)
    other = {**SCHEDULE_2031, "holidays": [*HOLIDAYS_2031, "2031-03-03"]}
    write_json(tmp_path / "copy.json", other)

    with caplog.at_level(logging.ERROR, logger=LOGGER):
        calendar.refresh()

    assert calendar.is_estimated(2031) is False
    assert calendar.is_working_day(date(2031, 10, 2)) is False
    assert "2031.json and copy.json both hold 2031" in caplog.text


@pytest.mark.parametrize("installed_before", [False, True])
def test_install_refuses_a_year_another_file_in_the_directory_holds(
    tmp_path: Path, installed_before: bool
) -> None:
    """Installed beside it, neither would be used: loaded before or not."""
    schedule_dir = tmp_path / "calendar"
    schedule_dir.mkdir()
    if installed_before:
        write_json(schedule_dir / "2031.json", SCHEDULE_2031)
    write_json(schedule_dir / "notice-2031.json", SCHEDULE_2031)

    with pytest.raises(ValidationError) as refused:
        install_schedule_file(write_json(tmp_path / "2031.json", SCHEDULE_2031), schedule_dir)

    assert [r.code for r in refused.value.reasons] == ["duplicate_year"]
    assert "notice-2031.json" in refused.value.reasons[0].message
    assert (schedule_dir / "2031.json").exists() is installed_before


def test_naive_start_is_refused(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="naive"):
        calendar.add_working_days(datetime(2026, 3, 6, 10, 0), 3)
