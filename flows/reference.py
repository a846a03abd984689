"""The protocol's reference format: organisation prefix / number / year (``DPT/17/2026``)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flows.directory import Directory
from flows.validators import InvalidAnswer


def prefix_for(directory: Directory, org_code: str) -> str:
    """The requesting organisation's reference prefix (its code when none is set)."""
    org = directory.organisation(org_code)
    return org.reference_prefix if org else org_code


def year_of(now: datetime, zone: ZoneInfo) -> int:
    """References count per year in the service's time zone."""
    return now.astimezone(zone).year


def format_reference(prefix: str, number: int, year: int) -> str:
    return f"{prefix}/{number:02d}/{year}"


MASTER_REF = "master_ref"
"""The intake field that names the earlier request an update belongs to."""
_REFERENCE = re.compile(r"^([A-Z&]{1,12})\s*/\s*0*(\d{1,6})\s*/\s*(\d{4})$")


def parse_reference(raw: str) -> str:
    """A reference as typed (``dpt/17/2026``, ``DPT / 17 / 2026``) in its stored form."""
    found = _REFERENCE.match(raw.strip().upper())
    if not found:
        raise InvalidAnswer(
            "A reference looks like DPT/17/2026: the organisation's prefix, the number and the "
            "year, with slashes.",
            "reference",
        )
    prefix, number, year = found.groups()
    return format_reference(prefix, int(number), int(year))


def try_reference(raw: str) -> str | None:
    """``parse_reference``, or None when the text is not a reference."""
    try:
        return parse_reference(raw)
    except InvalidAnswer:
        return None
