"""Office hours, working days and deadlines (protocol-requirements §3 T1/T4, §11.17)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import bank_holidays
from flows.calendar import BusinessCalendar
from flows.durations import Duration, parse_duration

LONDON = ZoneInfo("Europe/London")
WEEK = ("mon", "tue", "wed", "thu", "fri")


def calendar(region: str = "ENG") -> BusinessCalendar:
    return BusinessCalendar(LONDON, time(8, 30), time(17, 0), WEEK, region)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def test_friday_night_plus_one_working_day_is_monday_close() -> None:
    """§3 T4 example: 1 working day from Friday 22:00 ends Monday at close of business."""
    assert calendar().add_working_days(local(2026, 11, 20, 22), 1) == local(2026, 11, 23, 17)


def test_a_bank_holiday_monday_is_skipped() -> None:
    """2026-08-31 is the summer bank holiday in England."""
    assert calendar().add_working_days(local(2026, 8, 28, 22), 1) == local(2026, 9, 1, 17)


def test_christmas_and_the_boxing_day_substitute_are_skipped() -> None:
    """2026-12-25 (Fri) and 2026-12-28 (Mon, Boxing Day substitute) are bank holidays."""
    cal = calendar()
    assert not cal.is_working_day(date(2026, 12, 25))
    assert not cal.is_working_day(date(2026, 12, 28))
    assert cal.add_working_days(local(2026, 12, 24, 22), 1) == local(2026, 12, 29, 17)
    assert cal.add_working_days(local(2026, 12, 24, 22), 2) == local(2026, 12, 30, 17)


def test_region_none_has_no_bank_holidays() -> None:
    assert calendar("NONE").add_working_days(local(2026, 12, 24, 22), 1) == local(2026, 12, 25, 17)


def test_regions_differ() -> None:
    """St Andrew's Day (observed Mon 2026-11-30) is a Scottish bank holiday only."""
    assert calendar("ENG").is_working_day(date(2026, 11, 30))
    assert not calendar("SCT").is_working_day(date(2026, 11, 30))


def test_counting_starts_with_the_first_day_that_opens_after_the_request() -> None:
    cal = calendar()
    assert cal.add_working_days(local(2026, 11, 23, 6), 1) == local(2026, 11, 23, 17)
    assert cal.add_working_days(local(2026, 11, 23, 10), 1) == local(2026, 11, 24, 17)
    assert cal.add_working_days(local(2026, 11, 23, 10), 0) == local(2026, 11, 23, 10)


def test_office_hours() -> None:
    cal = calendar()
    assert cal.in_office_hours(local(2026, 11, 23, 8, 30))
    assert cal.in_office_hours(local(2026, 11, 23, 16, 59))
    assert not cal.in_office_hours(local(2026, 11, 23, 17, 0))
    assert not cal.in_office_hours(local(2026, 11, 23, 8, 29))
    assert not cal.in_office_hours(local(2026, 11, 21, 12))  # Saturday
    assert not cal.in_office_hours(local(2026, 12, 25, 12))  # Christmas Day


def test_office_hours_use_local_time_in_summer() -> None:
    """08:00 UTC in July is 09:00 BST: in hours."""
    assert calendar().in_office_hours(datetime(2026, 7, 1, 8, 0, tzinfo=UTC))
    assert not calendar().in_office_hours(datetime(2026, 1, 7, 8, 0, tzinfo=UTC))


def test_working_days_across_the_clocks_going_forward() -> None:
    """Clocks go forward on Sun 2026-03-29: Monday close is 16:00 UTC."""
    due = calendar().add_working_days(local(2026, 3, 27, 22), 1)
    assert due == datetime(2026, 3, 30, 16, 0, tzinfo=UTC)
    assert due.tzinfo == UTC


def test_working_days_across_the_clocks_going_back() -> None:
    """Clocks go back on Sun 2026-10-25: Monday close is 17:00 UTC."""
    due = calendar().add_working_days(local(2026, 10, 23, 22), 1)
    assert due == datetime(2026, 10, 26, 17, 0, tzinfo=UTC)


def test_wall_clock_deadline_is_elapsed_time_across_dst() -> None:
    """§3 T1: 72 hours are 72 real hours even when the clocks change."""
    start = local(2026, 3, 27, 22)
    due = calendar().deadline(start, Duration(wall=timedelta(hours=72)))
    assert due - start == timedelta(hours=72)
    assert due.astimezone(LONDON).hour == 23  # the local clock moved an hour
    assert due.tzinfo == UTC


def test_working_day_deadline() -> None:
    due = calendar().deadline(local(2026, 11, 20, 22), Duration(working_days=1))
    assert due == local(2026, 11, 23, 17)


@settings(max_examples=40)
@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)),
    st.integers(min_value=1, max_value=10),
)
def test_working_day_deadlines_are_always_a_close_of_business(start: datetime, n: int) -> None:
    cal = calendar()
    at = start.replace(tzinfo=UTC)
    due = cal.add_working_days(at, n)
    assert due > at
    assert cal.is_working_day(due.astimezone(LONDON).date())
    assert due.astimezone(LONDON).time() == time(17, 0)
    assert cal.add_working_days(at, n + 1) > due


def test_whichever_is_earlier_of_72_hours_and_one_working_day() -> None:
    """§3 "timer interaction": both retrospective clocks can apply; the earlier one wins."""
    both = parse_duration("72h or 1 working day")
    cal = calendar()
    friday_night = local(2026, 11, 20, 22)
    assert cal.deadline(friday_night, both) == local(
        2026, 11, 23, 17
    )  # Monday close < Monday 22:00
    christmas_eve = local(2026, 12, 24, 22)
    assert cal.deadline(christmas_eve, both) == local(2026, 12, 27, 22)  # 72 h < Tuesday 29th close


@pytest.mark.parametrize("region", bank_holidays.REGIONS)
def test_the_bank_holiday_table_is_the_librarys(region: str) -> None:
    """The table a running service reads is what the ``holidays`` library says, every day of
    every year it covers (after a library upgrade that changes a date: ``python -m
    tools.bank_holidays``)."""
    import holidays

    years = range(bank_holidays.FIRST_YEAR, bank_holidays.LAST_YEAR + 1)
    library = set(holidays.country_holidays("GB", subdiv=region, years=years))
    day, table = date(bank_holidays.FIRST_YEAR, 1, 1), set()
    while day.year <= bank_holidays.LAST_YEAR:
        if bank_holidays.is_bank_holiday(region, day):
            table.add(day)
        day += timedelta(days=1)
    assert table == library


def test_a_year_beyond_the_table_asks_the_library() -> None:
    year = bank_holidays.LAST_YEAR + 3
    assert bank_holidays.is_bank_holiday("ENG", date(year, 12, 25))
    assert bank_holidays.is_bank_holiday("SCT", date(year, 11, 30))
    assert not bank_holidays.is_bank_holiday("ENG", date(year, 11, 30))
