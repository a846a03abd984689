"""Load the nominated-officer directory file into a validated ``Directory``.

A schedule's ``spoc.schedule.calendar`` (an iCalendar file, relative to the directory file)
is imported here, its events becoming shifts and overrides (``bot.ical``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from bot.errors import DirectoryError
from bot.yamlfile import YamlFileError, describe, read_mapping
from flows.directory import Directory

__all__ = ["DirectoryError", "calendar_path", "load_directory"]


_UTC = ZoneInfo("UTC")


def load_directory(path: Path, zone: ZoneInfo = _UTC, now: datetime | None = None) -> Directory:
    """Read and validate ``path`` (structure only; ``find_problems`` checks the references).
    ``zone`` places calendar times written without a zone; ``now`` centres the stretch a
    calendar's recurring events are expanded over."""
    try:
        directory = Directory.model_validate(
            read_mapping(path, missing_hint="set 'directory:' in app.yaml")
        )
    except YamlFileError as error:
        raise DirectoryError(str(error)) from None
    except ValidationError as error:
        raise DirectoryError(describe(error)) from None
    return _with_calendar(directory, path, zone, now or datetime.now(UTC))


def calendar_path(directory: Directory, path: Path) -> Path | None:
    """The iCalendar file the directory's schedule imports, if any."""
    schedule = directory.spoc.schedule
    if schedule is None or not schedule.calendar:
        return None
    return path.parent / schedule.calendar


def _with_calendar(directory: Directory, path: Path, zone: ZoneInfo, now: datetime) -> Directory:
    ics = calendar_path(directory, path)
    schedule = directory.spoc.schedule
    if ics is None or schedule is None:
        return directory
    try:
        data = ics.read_bytes()
    except OSError as error:
        raise DirectoryError(
            f"spoc.schedule.calendar: cannot read {ics} ({error.strerror}); check the path "
            "(it is relative to the directory file)"
        ) from None
    # The iCalendar libraries load only for a desk that imports its calendar.
    from bot.ical import CalendarError, import_ics, import_window

    start, end = import_window(now)
    try:
        shifts, overrides = import_ics(data, directory.officers, start, end, zone)
    except CalendarError as error:
        raise DirectoryError(f"spoc.schedule.calendar {ics}: {error}") from None
    imported = schedule.model_copy(
        update={
            "shifts": (*schedule.shifts, *shifts),
            "overrides": (*schedule.overrides, *overrides),
        }
    )
    spoc = directory.spoc.model_copy(update={"schedule": imported})
    return directory.model_copy(update={"spoc": spoc})
