"""The protocol's reference format: organisation prefix / number / year (``DPT/17/2026``)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flows.directory import Directory


def prefix_for(directory: Directory, org_code: str) -> str:
    """The requesting organisation's reference prefix (its code when none is set)."""
    org = directory.organisation(org_code)
    return org.reference_prefix if org else org_code


def year_of(now: datetime, zone: ZoneInfo) -> int:
    """References count per year in the service's time zone."""
    return now.astimezone(zone).year


def format_reference(prefix: str, number: int, year: int) -> str:
    return f"{prefix}/{number:02d}/{year}"
