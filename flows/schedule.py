"""The SPOC desk's on-call schedule: layered rotations with hand-over times, and overrides.

A **rotation** (one layer, e.g. ``primary`` or ``backup``) hands over every ``shift`` starting
at ``handover`` on ``start`` in the service's time zone, going round its officers in order.
Shifts are counted in local wall-clock time, so a 12-hour rotation hands over at 08:00 and
20:00 on both sides of a clock change. An **override** ("I cover Friday night for Sam") puts
another officer on one layer for a stretch of time and wins over the rotation. **Shifts**
are explicit stretches of duty, as imported from an iCalendar file; in a layer they win over
the rotation, and overrides win over them.

Pure data and rules: loading files (and iCalendar) lives in ``bot``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flows.policy import WallSetting

_UTC = ZoneInfo("UTC")
PRIMARY = "primary"
BACKUP = "backup"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rotation(_Strict):
    """One layer's rotation: ``officers`` take ``shift``-long turns from ``start`` at
    ``handover`` (local time)."""

    layer: str = PRIMARY
    officers: tuple[str, ...]
    shift: WallSetting = timedelta(hours=12)
    handover: time = time(8, 0)
    start: date = date(2026, 1, 5)

    @field_validator("shift")
    @classmethod
    def _whole_minutes(cls, value: timedelta) -> timedelta:
        if value < timedelta(hours=1) or value.total_seconds() % 60:
            raise ValueError("a shift is at least 1 hour, in whole minutes, e.g. '12h'")
        return value


class Cover(_Strict):
    """An officer on one layer from ``start`` to ``end`` (local time unless an offset is
    given): an override, or an explicit shift imported from a calendar."""

    officer: str
    start: datetime
    end: datetime
    layer: str = PRIMARY

    def local(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """(start, end) as aware datetimes in ``zone``."""
        return _aware(self.start, zone), _aware(self.end, zone)


class Schedule(_Strict):
    """Layers of rotations, explicit shifts (``shifts``, e.g. from ``calendar``) and
    ``overrides``; ``calendar`` names an iCalendar file beside the directory to import."""

    rotations: tuple[Rotation, ...] = ()
    shifts: tuple[Cover, ...] = ()
    overrides: tuple[Cover, ...] = ()
    calendar: str | None = Field(
        default=None, description="an iCalendar (.ics) file, relative to the directory file"
    )

    def layers(self) -> tuple[str, ...]:
        """Layer names in the order they escalate (first seen first; primary first)."""
        seen: dict[str, None] = {PRIMARY: None}
        for layer in (
            *(r.layer for r in self.rotations),
            *(s.layer for s in self.shifts),
            *(o.layer for o in self.overrides),
        ):
            seen.setdefault(layer, None)
        return tuple(seen)

    def officers(self) -> tuple[str, ...]:
        """Every officer the schedule can put on duty."""
        found: dict[str, None] = {}
        for rotation in self.rotations:
            found.update(dict.fromkeys(rotation.officers))
        found.update(dict.fromkeys(c.officer for c in (*self.shifts, *self.overrides)))
        return tuple(found)


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def _covering(covers: Iterable[Cover], layer: str, at: datetime, zone: ZoneInfo) -> Cover | None:
    """The latest-starting cover of ``layer`` running at ``at`` (a later entry wins a tie)."""
    best: tuple[datetime, Cover] | None = None
    for cover in covers:
        if cover.layer != layer:
            continue
        start, end = cover.local(zone)
        if start <= at < end and (best is None or start >= best[0]):
            best = (start, cover)
    return best[1] if best else None


def rotation_turn(rotation: Rotation, at: datetime, zone: ZoneInfo) -> tuple[str, datetime]:
    """(officer on duty, when their shift ends) for ``rotation`` at ``at``."""
    first = datetime.combine(rotation.start, rotation.handover)
    wall = at.astimezone(zone).replace(tzinfo=None)
    n = (wall - first) // rotation.shift
    officer = rotation.officers[n % len(rotation.officers)]
    return officer, _aware(first + (n + 1) * rotation.shift, zone)


def on_duty(schedule: Schedule, at: datetime, zone: ZoneInfo) -> dict[str, str]:
    """Layer → officer on duty at ``at``: an override, else an explicit shift, else the
    layer's rotation. A layer with nobody on duty is left out."""
    local = at.astimezone(zone)
    found: dict[str, str] = {}
    for layer in schedule.layers():
        cover = _covering(schedule.overrides, layer, local, zone) or _covering(
            schedule.shifts, layer, local, zone
        )
        if cover is not None:
            found[layer] = cover.officer
            continue
        rotation = next((r for r in schedule.rotations if r.layer == layer and r.officers), None)
        if rotation is not None:
            found[layer] = rotation_turn(rotation, local, zone)[0]
    return found


def changes(schedule: Schedule, start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """Every moment in ``[start, end)`` at which someone may come on duty: rotation
    hand-overs and the starts and ends of shifts and overrides, sorted, without repeats."""
    moments: set[datetime] = set()
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    for rotation in schedule.rotations:
        if not rotation.officers:
            continue
        _, boundary = rotation_turn(rotation, local_start, zone)
        while boundary < local_end:
            moments.add(boundary)
            _, boundary = rotation_turn(rotation, boundary, zone)
    for cover in (*schedule.shifts, *schedule.overrides):
        for moment in cover.local(zone):
            if local_start <= moment < local_end:
                moments.add(moment)
    return sorted(moments)


def next_change(schedule: Schedule, after: datetime, zone: ZoneInfo) -> datetime | None:
    """The first moment after ``after`` at which the people on duty change, within 31 days."""
    horizon = after + timedelta(days=31)
    before = on_duty(schedule, after, zone)
    candidates = changes(schedule, after + timedelta(seconds=1), horizon, zone)
    for moment in candidates:
        if on_duty(schedule, moment, zone) != before:
            return moment
    return None


def duty_spans(
    schedule: Schedule, layer: str, start: datetime, end: datetime, zone: ZoneInfo
) -> list[tuple[str, datetime, datetime]]:
    """(officer, from, to) for ``layer`` over ``[start, end)``: consecutive duty merged."""
    bounds = [start.astimezone(zone), *changes(schedule, start, end, zone), end.astimezone(zone)]
    bounds = sorted(set(bounds))
    spans: list[tuple[str, datetime, datetime]] = []
    for a, b in pairwise(bounds):
        officer = on_duty(schedule, a, zone).get(layer)
        if officer is None:
            continue
        if spans and spans[-1][0] == officer and spans[-1][2] == a:
            spans[-1] = (officer, spans[-1][1], b)
        else:
            spans.append((officer, a, b))
    return spans


def problems(schedule: Schedule, known: Iterable[str], rota: Iterable[str]) -> list[str]:
    """Problems in a schedule, each naming its path: unknown officers, officers who are not on
    the SPOC rota (they could not acknowledge), covers that end before they start."""
    ids, on_rota = set(known), set(rota)
    found: list[str] = []
    for i, rotation in enumerate(schedule.rotations):
        if not rotation.officers:
            found.append(f"spoc.schedule.rotations[{i}].officers: list at least one officer")
        for j, officer in enumerate(rotation.officers):
            found += _officer_problem(f"spoc.schedule.rotations[{i}].officers[{j}]", officer, ids)
            if officer in ids and officer not in on_rota:
                found.append(
                    f"spoc.schedule.rotations[{i}].officers[{j}]: {officer!r} is not on "
                    "spoc.rota, so they could not acknowledge a page"
                )
    for kind, covers in (("shifts", schedule.shifts), ("overrides", schedule.overrides)):
        for i, cover in enumerate(covers):
            path = f"spoc.schedule.{kind}[{i}]"
            found += _officer_problem(f"{path}.officer", cover.officer, ids)
            if cover.officer in ids and cover.officer not in on_rota:
                found.append(f"{path}.officer: {cover.officer!r} is not on spoc.rota")
            start, end = cover.local(_UTC)
            if end <= start:
                found.append(f"{path}: ends before it starts")
    return found


def _officer_problem(path: str, officer: str, ids: set[str]) -> list[str]:
    return [] if officer in ids else [f"{path}: unknown officer {officer!r}"]
