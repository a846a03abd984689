"""Durations as written in ``app.yaml``: ``90s``, ``10m``, ``72h``, ``2d``, ``1 working day``,
and ``72h or 1 working day`` (whichever comes first: the protocol has both clocks for the
retrospective form, S4 App4 §1.5(c) and §2.4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_WALL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$", re.IGNORECASE)
_WORKING = re.compile(r"^\s*(\d+)\s+working\s+days?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True)
class Duration:
    """A wall-clock span, a number of working days, or both: then whichever ends first."""

    wall: timedelta | None = None
    working_days: int | None = None

    def __str__(self) -> str:
        parts = []
        if self.wall is not None:
            parts.append(describe(self.wall))
        if self.working_days is not None:
            plural = "" if self.working_days == 1 else "s"
            parts.append(f"{self.working_days} working day{plural}")
        return " or ".join(parts)


def parse_duration(text: str) -> Duration:
    """Parse a duration; raises ``ValueError`` with an example of what is accepted."""
    if " or " in text:
        return _earliest(*(parse_duration(part) for part in text.split(" or ", 1)))
    wall = _WALL.match(text)
    if wall:
        seconds = float(wall.group(1)) * _UNIT_SECONDS[wall.group(2).lower()]
        return Duration(wall=timedelta(seconds=seconds))
    working = _WORKING.match(text)
    if working:
        return Duration(working_days=int(working.group(1)))
    raise ValueError(
        f"{text!r} is not a duration: write e.g. '90s', '10m', '72h', '2d', '1 working day' "
        "or '72h or 1 working day'"
    )


def _earliest(first: Duration, second: Duration) -> Duration:
    wall = first.wall if second.wall is None else second.wall
    days = first.working_days if second.working_days is None else second.working_days
    if first.wall is not None and second.wall is not None:
        wall = min(first.wall, second.wall)
    if first.working_days is not None and second.working_days is not None:
        days = min(first.working_days, second.working_days)
    return Duration(wall=wall, working_days=days)


def describe(span: timedelta) -> str:
    """A short human description of a span: '72 hours', '10 minutes', '90 seconds'."""
    seconds = span.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    if seconds < 1:
        return f"{int(seconds * 1000)} ms"
    count = round(seconds)
    return f"{count} second{'' if count == 1 else 's'}"
