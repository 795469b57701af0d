"""The one source of "now".

Deadlines span weeks, so tests and ``icpflow demo`` need to move time forward in seconds;
every module asks this clock instead of calling ``datetime.now`` itself.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


class Clock:
    """Wall-clock time in UTC; the subclasses below are the ones simulations advance."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SharedOffsetClock(Clock):
    """Wall-clock time shifted by an offset kept in a file, so separate processes (web, worker,
    scheduler) driven by ``icpflow demo`` or an end-to-end test move through time together."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def now(self) -> datetime:
        try:
            seconds = float(self.path.read_text() or 0)
        except FileNotFoundError:
            seconds = 0.0
        return datetime.now(UTC) + timedelta(seconds=seconds)

    def advance(self, delta: timedelta) -> None:
        current = self.now() - datetime.now(UTC)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str((current + delta).total_seconds()))
        tmp.replace(self.path)


class FrozenClock(Clock):
    """A clock that only moves when told to: deterministic tests."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)


_clock: Clock | None = None


def get_clock() -> Clock:
    """The process's clock; ``ICPFLOW_CLOCK_FILE`` makes it a ``SharedOffsetClock``."""
    global _clock
    if _clock is None:
        shared = os.environ.get("ICPFLOW_CLOCK_FILE")
        _clock = SharedOffsetClock(Path(shared)) if shared else Clock()
    return _clock


def set_clock(clock: Clock | None) -> None:
    global _clock
    _clock = clock


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC, so re-attach it."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def end_of_day(day: date) -> datetime:
    """The end of ``day`` in Beijing (24:00), in UTC: what is due "within N days" may be met
    all that day. The calendar's last day (an expiry stored before expiries were bounded)
    ends at its start, the latest time that still has a next day in Beijing to be shown in."""
    if day == date.max:
        return datetime.combine(day, time(0), tzinfo=CHINA).astimezone(UTC)
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA).astimezone(UTC)


def due_day(at: datetime) -> date:
    """The Beijing day something due at ``at`` is due on: one due at midnight is due by the
    end (24:00) of the day before, as ``end_of_day`` makes it, not on the day that begins."""
    local = at.astimezone(CHINA)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return local.date() - timedelta(days=1)
    return local.date()


def beijing_text(at: datetime, *, due: bool = False) -> str:
    """``at`` on a Beijing wall clock. A time something is ``due`` by that falls at midnight
    reads as 24:00 of the day before: a duty due by the end of the 30th day read as due on
    the 31st ("2026-12-31 00:00") when its last day is the 30th."""
    local = at.astimezone(CHINA)
    if due and (local.hour, local.minute, local.second) == (0, 0, 0):
        return f"{due_day(at)} 24:00"
    return f"{local:%Y-%m-%d %H:%M}"


def in_beijing(at: datetime, *, due: bool = False) -> str:
    """``at`` as the CLI and its messages print a time, its zone said: ``2026-03-02 10:00
    Beijing`` (``beijing_text``'s, ``due`` as there)."""
    return f"{beijing_text(at, due=due)} Beijing"


def duration(span: timedelta) -> str:
    """The two largest units that matter: ``3 d 4 h``, ``5 h 10 min``, ``12 min``; under a
    minute, seconds (``40 s``: a delivery's next try)."""
    if span < timedelta(minutes=1):
        return f"{int(span.total_seconds())} s"
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def lateness(due: datetime, now: datetime, passed: str | None = "overdue") -> str:
    """``3 d overdue`` or ``3 d stuck`` for a deadline passed, by what its passing made of the
    filing (``passed``: a deadline's flag), ``5 h ago`` for one whose passing made nothing (a
    reminder sent), ``due in 5 h`` for one still ahead."""
    if due > now:
        return f"due in {duration(due - now)}"
    return f"{duration(now - due)} {passed or 'ago'}"
