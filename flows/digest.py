"""When the daily information-governance digest is due."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def next_digest_at(now: datetime, zone: ZoneInfo, at: time) -> datetime:
    """The next ``at`` (local time in ``zone``) strictly after ``now``."""
    local = now.astimezone(zone)
    candidate = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate = (local + timedelta(days=1)).replace(
            hour=at.hour, minute=at.minute, second=0, microsecond=0
        )
    return candidate
