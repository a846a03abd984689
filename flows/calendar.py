"""Office hours, working days and deadlines in the service's time zone.

The seeds define neither "working day" nor "normal office hours" (protocol-requirements §11.17),
so both are configuration: office hours and days from ``service.office_hours``, bank holidays
of a UK subdivision (``ENG``, ``WLS``, ``SCT``, ``NIR``; ``NONE`` for no bank holidays) from the
``holidays`` library, by way of the table in ``flows.bank_holidays``.

Working-day rule (``add_working_days``): a working day is a configured office day that is not a
bank holiday. Counting starts with the first working day whose office hours *open after*
``at``, and the deadline is the close of office hours on the n-th such day. So the requester
always gets n whole working days:

- Friday 22:00 + 1 working day → Monday 17:00 (Tuesday 17:00 if Monday is a bank holiday);
- Monday 06:00 (before opening) + 1 → Monday 17:00;
- Monday 10:00 (in hours) + 1 → Tuesday 17:00.

All arithmetic on working days happens on local calendar dates; results are aware UTC datetimes,
so a DST change never shifts a deadline off the local close of business. Wall-clock durations
(``72h``) are elapsed time: 72 real hours, whatever the clocks do.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flows import bank_holidays
from flows.durations import Duration

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NO_BANK_HOLIDAYS = "NONE"
REGIONS = ("ENG", "WLS", "SCT", "NIR", NO_BANK_HOLIDAYS)


def known_days(days: tuple[str, ...]) -> tuple[str, ...]:
    """Office days as written (``Mon``, ``tue``…), lower-cased; ``ValueError`` names the
    unknown ones (for settings validators)."""
    bad = [d for d in days if d.lower() not in WEEKDAYS]
    if bad:
        raise ValueError(f"unknown day(s) {bad}: use {', '.join(WEEKDAYS)}")
    return tuple(d.lower() for d in days)


def known_region(region: str) -> str:
    """A bank-holiday region, upper-cased; ``ValueError`` for one the calendar lacks."""
    if region.upper() not in REGIONS:
        raise ValueError(f"use {', '.join(REGIONS)}")
    return region.upper()


class BusinessCalendar:
    """Office hours and working days for one service (pure; no clock of its own)."""

    def __init__(
        self, zone: ZoneInfo, start: time, end: time, days: tuple[str, ...], region: str
    ) -> None:
        self.zone = zone
        self.start = start
        self.end = end
        self.days = frozenset(WEEKDAYS.index(d.lower()[:3]) for d in days)
        self.region = region.upper()

    def is_bank_holiday(self, day: date) -> bool:
        return self.region != NO_BANK_HOLIDAYS and bank_holidays.is_bank_holiday(self.region, day)

    def is_working_day(self, day: date) -> bool:
        """An office day that is not a bank holiday."""
        return day.weekday() in self.days and not self.is_bank_holiday(day)

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    def in_office_hours(self, at: datetime) -> bool:
        """True during office hours on a working day (bank holidays are out of hours)."""
        local = self.local(at)
        return self.is_working_day(local.date()) and self.start <= local.time() < self.end

    def add_working_days(self, at: datetime, n: int) -> datetime:
        """Close of office hours on the n-th working day after ``at`` (see the module rule)."""
        if n <= 0:
            return at.astimezone(UTC)
        day, counted = self.local(at).date(), 0
        if not (self.is_working_day(day) and self._opening(day) > at):
            day += timedelta(days=1)
        while True:
            if self.is_working_day(day):
                counted += 1
                if counted == n:
                    return self._at(day, self.end)
            day += timedelta(days=1)

    def deadline(self, at: datetime, duration: Duration) -> datetime:
        """``at`` plus a wall-clock span and/or working days (the earlier end), as aware UTC."""
        ends = []
        if duration.working_days is not None:
            ends.append(self.add_working_days(at, duration.working_days))
        if duration.wall is not None:
            ends.append(at.astimezone(UTC) + duration.wall)  # in UTC: elapsed, not local, hours
        return min(ends)

    def _opening(self, day: date) -> datetime:
        return self._at(day, self.start)

    def _at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(UTC)
