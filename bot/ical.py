"""The on-call schedule to and from iCalendar (RFC 5545), with ``icalendar`` and
``recurring-ical-events`` (which expands RRULE, RDATE and EXDATE as calendars do).

**Export** (``oohbot oncall --export-ics FILE``): one event per stretch of duty per layer,
already resolved (overrides applied), times in UTC. Each event carries the officer id in
``X-OOHBOT-OFFICER`` and the layer in ``X-OOHBOT-LAYER`` and ``CATEGORIES``.

**Import** (``spoc.schedule.calendar: desk-rota.ics`` in the directory, read at load and on
every reload): every event, recurring ones expanded, becomes a shift of its layer
(``X-OOHBOT-LAYER``, else its first category, else ``primary``). The officer is
``X-OOHBOT-OFFICER``, else the summary when it is an officer id or an officer's name. An event
marked ``X-OOHBOT-OVERRIDE:TRUE`` or with the category ``override`` is an override (it wins).
Events are expanded from 35 days before the load to 400 days after it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar, Event

from flows.directory import Officer
from flows.errors import OohbotError
from flows.schedule import PRIMARY, Cover, Schedule, duty_spans

PRODID = "-//oohbot//SPOC desk on-call schedule//EN"
LOOK_BACK = timedelta(days=35)
LOOK_AHEAD = timedelta(days=400)
_UTC = ZoneInfo("UTC")


class CalendarError(OohbotError):
    """An iCalendar file that cannot be read or names someone not in the directory."""


def export_ics(schedule: Schedule, start: datetime, end: datetime, zone: ZoneInfo) -> bytes:
    """The schedule's duty over ``[start, end)`` as an iCalendar file."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-timezone", str(zone))
    for layer in schedule.layers():
        for officer, begins, ends in duty_spans(schedule, layer, start, end, zone):
            event = Event()
            event.add("uid", f"{layer}-{begins.astimezone(_UTC):%Y%m%dT%H%M%SZ}@oohbot")
            event.add("dtstamp", start.astimezone(_UTC))
            event.add("dtstart", begins.astimezone(_UTC))
            event.add("dtend", ends.astimezone(_UTC))
            event.add("summary", f"SPOC desk {layer}: {officer}")
            event.add("categories", [layer])
            event.add("x-oohbot-officer", officer)
            event.add("x-oohbot-layer", layer)
            calendar.add_component(event)
    return bytes(calendar.to_ical())


def import_ics(
    data: bytes, officers: Iterable[Officer], start: datetime, end: datetime, zone: ZoneInfo
) -> tuple[tuple[Cover, ...], tuple[Cover, ...]]:
    """(shifts, overrides) from an iCalendar file, recurring events expanded over
    ``[start, end)``. Raises ``CalendarError`` naming the event when it cannot be placed."""
    try:
        calendar = Calendar.from_ical(data)
        events = recurring_ical_events.of(calendar).between(start, end)
    except Exception as error:  # the libraries raise ValueError and their own errors
        raise CalendarError(f"not a readable iCalendar file ({error})") from None
    known = {o.id: o.id for o in officers}
    known |= {o.name.casefold(): o.id for o in officers if o.name.casefold() not in known}
    shifts: list[Cover] = []
    overrides: list[Cover] = []
    for event in events:
        cover = _cover(event, known, zone)
        (overrides if _is_override(event) else shifts).append(cover)
    return tuple(sorted(shifts, key=_key)), tuple(sorted(overrides, key=_key))


def import_window(now: datetime) -> tuple[datetime, datetime]:
    """The stretch an imported calendar is expanded over, around ``now``."""
    return now - LOOK_BACK, now + LOOK_AHEAD


def _key(cover: Cover) -> tuple[datetime, str]:
    return cover.start, cover.layer


def _cover(event: Event, known: dict[str, str], zone: ZoneInfo) -> Cover:
    summary = str(event.get("summary", "")).strip()
    named = str(event.get("x-oohbot-officer", "")).strip()
    officer = known.get(named) or known.get(summary) or known.get(summary.casefold())
    begins = _moment(event.decoded("dtstart"), zone)
    if officer is None:
        who = named or summary or "(no summary)"
        raise CalendarError(
            f"the event {who!r} starting {begins.isoformat(timespec='minutes')} names nobody "
            "in the directory: set X-OOHBOT-OFFICER (or the summary) to an officer id"
        )
    ends = _moment(event.decoded("dtend"), zone) if "dtend" in event else begins
    if "dtend" not in event and "duration" in event:
        ends = begins + event.decoded("duration")
    layer = str(event.get("x-oohbot-layer", "")).strip() or _first_category(event) or PRIMARY
    return Cover(officer=officer, start=begins, end=ends, layer=layer)


def _first_category(event: Event) -> str:
    categories = [c for c in _categories(event) if c != "override"]
    return categories[0] if categories else ""


def _categories(event: Event) -> list[str]:
    raw = event.get("categories")
    if raw is None:
        return []
    values = raw if isinstance(raw, list) else [raw]
    return [str(c).strip().casefold() for v in values for c in v.cats]


def _is_override(event: Event) -> bool:
    flag = str(event.get("x-oohbot-override", "")).strip().upper() == "TRUE"
    return flag or "override" in _categories(event)


def _moment(value: datetime | date, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
    return datetime.combine(value, time(0), tzinfo=zone)
