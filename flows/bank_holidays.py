"""Whether a day is a UK bank holiday in a region (``ENG``, ``WLS``, ``SCT``, ``NIR``).

Read from a table (``flows/bank_holiday_dates.py``) generated from the ``holidays`` library
for ``FIRST_YEAR``–``LAST_YEAR``; a year outside it asks the library itself. The library loads
the calendars of every country it knows (about 17 MiB resident), which a running service
would otherwise carry for a few dates a year; ``tests/flows/test_calendar.py`` checks the
table against the installed library.
"""

from __future__ import annotations

from datetime import date
from functools import cache

FIRST_YEAR = 2010
LAST_YEAR = 2050
REGIONS = ("ENG", "WLS", "SCT", "NIR")


@cache
def _days(region: str, year: int) -> frozenset[str]:
    """The region's bank holidays in ``year`` as ``MM-DD``."""
    if FIRST_YEAR <= year <= LAST_YEAR:
        from flows.bank_holiday_dates import DATES

        return frozenset(DATES[region][year].split())
    return library_days(region, year)  # beyond the table: the library, and its memory


def library_days(region: str, year: int) -> frozenset[str]:
    """The ``holidays`` library's bank holidays of ``region`` in ``year``, as ``MM-DD`` (what
    the table holds, and what it is generated from)."""
    import holidays

    found = holidays.country_holidays("GB", subdiv=region, years=year)
    return frozenset(f"{d.month:02d}-{d.day:02d}" for d in found)


def is_bank_holiday(region: str, day: date) -> bool:
    """Whether ``day`` is a bank holiday in ``region`` (one of ``REGIONS``)."""
    return f"{day.month:02d}-{day.day:02d}" in _days(region, day.year)
