"""The Chinese working-day calendar that working-day deadlines are counted in.

Working days are not just Monday to Friday: the State Council moves days off around official
holidays and makes some weekend days working days (调休). It publishes each year's schedule
around November, so a deadline may reach into a year nobody knows the schedule of yet. Such a
year falls back to rules (weekends plus the fixed-rule holidays) and every result touching it
is flagged *estimated*, never an error, until the ``holidays`` package or an ops-loaded
schedule file knows the year.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import holidays

from config.clock import CHINA
from workflow.domain.errors import Reason, ValidationError
from workflow.domain.json_files import read_json

logger = logging.getLogger(__name__)

PACKAGED_SCHEDULE_DIR = Path(__file__).resolve().parent / "calendars"

_SCHEDULE_KEYS = frozenset({"year", "holidays", "workdays"})


@dataclass(frozen=True)
class DueTime:
    at: datetime
    estimated: bool


@dataclass(frozen=True)
class YearSchedule:
    """An official schedule: ``holidays`` are days off, ``workdays`` are make-up weekend days."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


@dataclass(frozen=True)
class _Year:
    """One year's working days in order, so counting and stepping are binary searches."""

    working: tuple[date, ...]
    working_set: frozenset[date]
    estimated: bool


def _schedule_error(path: Path, reasons: list[Reason]) -> ValidationError:
    return ValidationError(f"invalid holiday schedule file {path}", reasons=reasons)


def _parse_dates(raw: Any, key: str, year: int | None, reasons: list[Reason]) -> set[date]:
    if not isinstance(raw, list):
        reasons.append(Reason("not_a_list", f"'{key}' must be a list of YYYY-MM-DD dates", key))
        return set()
    parsed: set[date] = set()
    for index, item in enumerate(raw):
        where = f"{key}[{index}]"
        try:
            day = date.fromisoformat(item) if isinstance(item, str) else None
        except ValueError:
            day = None
        # fromisoformat also takes "20270101"; people read these files, so insist on one form.
        if day is None or day.isoformat() != item:
            reasons.append(Reason("bad_date", f"{where} is not a YYYY-MM-DD date: {item!r}", where))
            continue
        if year is not None and day.year != year:
            reasons.append(
                Reason("wrong_year", f"{where} {item} is not in {year}", where, {"date": item})
            )
        if key == "workdays" and day.weekday() < 5:
            reasons.append(
                Reason(
                    "workday_not_weekend",
                    f"{where} {item} is a weekday; only make-up weekend days belong in workdays",
                    where,
                    {"date": item},
                )
            )
        parsed.add(day)
    return parsed


STATUTORY_HOLIDAYS_SOURCE = "国务院《全国年节及纪念日放假办法》第二条 (revised 2024-11-10)"


def fixed_holidays(year: int) -> list[tuple[date, str]]:
    """The holidays on a fixed date every year: New Year's Day, Labour Day (two days from
    2025, one before), National Day's three. An official schedule lists each; one without
    them was typed from something else, or cut short, and would count them as working days."""
    labour_days = (1, 2) if year >= 2025 else (1,)
    return [
        (date(year, 1, 1), "New Year's Day 元旦"),
        *((date(year, 5, d), "Labour Day 劳动节") for d in labour_days),
        *((date(year, 10, d), "National Day 国庆节") for d in (1, 2, 3)),
    ]


def load_schedule_file(path: Path) -> YearSchedule:
    """Read and strictly check an official schedule, naming every problem at once.

    Ops type these files by hand from the State Council notice; reporting all mistakes in one
    go saves a round trip per typo, and a wrong file silently moves every deadline.
    """
    try:
        data = read_json(Path(path))
    except OSError as exc:
        raise _schedule_error(path, [Reason("unreadable", f"cannot read {path}: {exc}")]) from exc
    except ValidationError as exc:
        raise _schedule_error(path, exc.reasons) from exc
    if not isinstance(data, dict):
        raise _schedule_error(path, [Reason("not_an_object", "the file must hold a JSON object")])

    reasons = [
        Reason("unknown_field", f"unknown field '{key}'", key)
        for key in sorted(set(data) - _SCHEDULE_KEYS)
    ]
    reasons += [
        Reason("missing_field", f"missing field '{key}'", key)
        for key in sorted(_SCHEDULE_KEYS - set(data))
    ]
    year = data.get("year")
    checked_year = year if type(year) is int and 1 <= year <= 9999 else None
    if "year" in data and checked_year is None:
        reasons.append(Reason("bad_year", f"'year' must be an integer year, not {year!r}", "year"))
    off = _parse_dates(data.get("holidays", []), "holidays", checked_year, reasons)
    on = _parse_dates(data.get("workdays", []), "workdays", checked_year, reasons)
    if checked_year is not None:
        reasons += [
            Reason(
                "missing_statutory_holiday",
                f"{day.isoformat()} is {name}, a holiday every year: the schedule must list it",
                "holidays",
                {"date": day.isoformat()},
                rule="statutory_holidays",
                source=STATUTORY_HOLIDAYS_SOURCE,
            )
            for day, name in fixed_holidays(checked_year)
            if day not in off
        ]
    reasons += [
        Reason(
            "in_both_lists",
            f"{day.isoformat()} is listed both as a holiday and as a workday",
            "workdays",
            {"date": day.isoformat()},
        )
        for day in sorted(off & on)
    ]
    if reasons or checked_year is None:
        raise _schedule_error(path, reasons)
    return YearSchedule(checked_year, frozenset(off), frozenset(on))


def install_schedule_file(path: Path, schedule_dir: Path) -> YearSchedule:
    """Validate ``path`` and copy it to ``schedule_dir/<year>.json``, replacing that year's file.

    The copy goes through a temporary file and a rename so that a calendar reloading at the
    same moment sees either the old schedule or the new one, never half a file. Calendars
    already running see it at their next ``refresh()``.
    """
    schedule = load_schedule_file(path)
    target = f"{schedule.year}.json"
    if clash := [n for n in _holding(schedule_dir, schedule.year) if n != target]:
        message = (
            f"{', '.join(clash)} in {schedule_dir} also holds {schedule.year}: remove it first"
        )
        raise _schedule_error(path, [Reason("duplicate_year", message)])
    schedule_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{schedule.year}.", suffix=".tmp", dir=schedule_dir)
    os.close(fd)
    try:
        shutil.copyfile(path, tmp_name)
        os.replace(tmp_name, schedule_dir / f"{schedule.year}.json")
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return schedule


def _holding(directory: Path, year: int) -> list[str]:
    """The names of the files in ``directory`` holding ``year``: the good ones saying so, and
    a bad one named for it (``<year>.json``, which installing it replaces)."""
    held = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        holds: int | None
        try:
            holds = load_schedule_file(path).year
        except ValidationError:
            holds = int(path.stem) if path.stem.isdigit() else None
        if holds == year:
            held.append(path.name)
    return held


def _read_schedule_dir(
    directory: Path, before: Mapping[int, YearSchedule]
) -> tuple[dict[str, YearSchedule], list[str]]:
    """Every good schedule in ``directory`` by file name, and what is wrong with the others.

    A file that fails its checks (copied in by hand, not through ``install_schedule_file``)
    is left out, and so are two files holding one year (which is right cannot be told): the
    year keeps the schedule read ``before``, if any (a bad file's year is read off its name,
    ``<year>.json`` as installed). One bad file must not stop every event that arms a
    working-day deadline, in a process running or one starting.
    """
    read: dict[str, YearSchedule] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            read[path.name] = load_schedule_file(path)
        except ValidationError as exc:
            problems.append("; ".join([exc.message, *(reason.message for reason in exc.reasons)]))
            if path.stem.isdigit() and int(path.stem) in before:
                read[path.name] = before[int(path.stem)]
    holding: dict[int, list[str]] = {}
    for name, schedule in read.items():
        holding.setdefault(schedule.year, []).append(name)
    for year, names in holding.items():
        if len(names) > 1:
            problems.append(f"{' and '.join(names)} both hold {year}: neither is used")
            for name in names:
                del read[name]
            if year in before:
                read[f"{year}.json"] = before[year]
    return read, problems


def _package_knows_year(calendar: holidays.HolidayBase, year: int) -> bool:
    """Whether ``holidays`` carries the State Council schedule for ``year``.

    Every schedule published since 2001 has at least one make-up weekend working day, and the
    package only records those from the official notice, so their presence is the signal; a
    year the package merely computes by rule has none. Should a future notice have no make-up
    day, the year is wrongly reported as estimated, which only costs a warning.
    """
    return any(day.year == year for day in calendar.weekend_workdays)


def _local_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: working-day arithmetic needs aware times")
    return moment.astimezone(CHINA).date()


class WorkingCalendar:
    """Working days in mainland China, from ops-loaded files, else ``holidays``, else rules.

    Files come from the packaged ``workflow/domain/calendars`` directory, then ``schedule_dir``,
    whose files win for the same year. Years are built lazily and kept, so thousands of
    deadline computations cost a few binary searches each.
    """

    def __init__(self, schedule_dir: Path | None = None, *, recheck_seconds: float = 60) -> None:
        self.schedule_dir = schedule_dir
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._warned: set[int] = set()
        self._schedules: dict[int, YearSchedule] = {}
        self._loaded: dict[int, YearSchedule] = {}  # schedule_dir's, by year
        self._years: dict[int, _Year] = {}
        self._files: tuple[tuple[str, int, int], ...] = ()
        self._next_look = 0.0
        self.generation = 0  # how many times the files were read: a change to count again with
        self.reload()

    def reload(self) -> None:
        """Re-read the schedule files, e.g. after ops installed one, and forget built years.
        What is wrong with a file is logged, once per reading (see ``_read_schedule_dir``)."""
        files = self._stamp()
        packaged, broken = _read_schedule_dir(PACKAGED_SCHEDULE_DIR, {})
        if broken:  # shipped with the code: a bug, not an install's mistake
            raise RuntimeError(f"packaged holiday schedules: {'; '.join(broken)}")
        loaded: dict[int, YearSchedule] = {}
        if self.schedule_dir is not None:
            read, problems = _read_schedule_dir(self.schedule_dir, self._loaded)
            loaded = {schedule.year: schedule for schedule in read.values()}
            if problems:
                logger.error(
                    "holiday schedules in %s: %s (the year keeps the schedule read before, "
                    "else the package's or the rules')",
                    self.schedule_dir,
                    "; ".join(problems),
                )
        schedules = {s.year: s for s in packaged.values()} | loaded
        with self._lock:
            self._schedules = schedules
            self._loaded = loaded
            self._years = {}
            self._files = files
            self.generation += 1

    def refresh(self, *, look_now: bool = False) -> None:
        """Reload if ops changed ``schedule_dir`` since the last look, looking at most once per
        ``recheck_seconds`` (``look_now``: at once): a schedule loaded while web, workers and
        scheduler run reaches them without a restart, and the hot path pays a clock read, not a
        directory listing."""
        now = time.monotonic()
        if now < self._next_look and not look_now:
            return
        self._next_look = now + self.recheck_seconds
        if self._stamp() != self._files:
            self.reload()

    def _stamp(self) -> tuple[tuple[str, int, int], ...]:
        """What ``schedule_dir`` holds, as far as telling a change goes: names, times, sizes."""
        if self.schedule_dir is None or not self.schedule_dir.is_dir():
            return ()
        stamps = []
        for path in sorted(self.schedule_dir.glob("*.json")):
            try:
                found = path.stat()
            except FileNotFoundError:
                continue  # replaced between the listing and the look: seen at the next one
            stamps.append((path.name, found.st_mtime_ns, found.st_size))
        return tuple(stamps)

    def is_estimated(self, year: int) -> bool:
        return self._year(year).estimated

    def is_working_day(self, day: date) -> bool:
        return day in self._year(day.year).working_set

    def add_working_days(self, start: datetime, days: int) -> DueTime:
        """Same local (Asia/Shanghai) time of day on the ``days``-th working day after start.

        Deadlines are promised to people in Beijing time, so the time of day is kept locally.
        """
        if days < 1:
            raise ValueError(f"days must be at least 1, not {days}")
        after = _local_date(start)
        remaining, year, estimated = days, after.year, False
        while True:
            info = self._year(year)
            if after < date(year, 12, 31):
                estimated = estimated or info.estimated
            index = bisect_right(info.working, after)
            available = len(info.working) - index
            if remaining <= available:
                target = info.working[index + remaining - 1]
                break
            remaining -= available
            year += 1
        due = datetime.combine(target, start.astimezone(CHINA).time(), tzinfo=CHINA)
        return DueTime(at=due.astimezone(UTC), estimated=estimated)

    def _year(self, year: int) -> _Year:
        info = self._years.get(year)
        if info is None:
            with self._lock:
                info = self._years.get(year)
                if info is None:
                    info = self._build_year(year)
                    self._years[year] = info
        return info

    def _build_year(self, year: int) -> _Year:
        days = [date(year, 1, 1) + timedelta(n) for n in range(366)]
        days = [day for day in days if day.year == year]
        schedule = self._schedules.get(year)
        if schedule is not None:
            working = tuple(day for day in days if schedule.is_working_day(day))
            return _Year(working, frozenset(working), estimated=False)
        package = holidays.country_holidays("CN", years=year)
        estimated = not _package_knows_year(package, year)
        if estimated and year not in self._warned:
            self._warned.add(year)
            logger.warning(
                "no official holiday schedule for %d: working days are estimated from weekends "
                "and fixed-rule holidays until the holidays package or a loaded schedule knows it",
                year,
            )
        working = tuple(day for day in days if package.is_working_day(day))
        return _Year(working, frozenset(working), estimated)
