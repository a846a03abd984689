"""Who is on duty for the SPOC desk at a moment, level by level. Pure builders.

With a schedule (``spoc.schedule``) the layers come from it; without one the rota stands in
as before: its first member is the officer on duty, its second the backup. The levels are the
escalation policy's (``spoc.escalation``), or, without one, the officer on duty, the backup
and the fallback contact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flows.directory import Directory
from flows.escalation_policy import FALLBACK, ON_DUTY, Level
from flows.messages import Card, CardField
from flows.schedule import BACKUP, PRIMARY, next_change, on_duty

ONCALL_CARD_ID = "oncall"


@dataclass(frozen=True)
class DutyLevel:
    """One level of the desk's escalation at a moment: who it reaches (None: nobody)."""

    number: int
    label: str
    officer: str | None
    wait: timedelta


def layers_on_duty(directory: Directory, at: datetime, zone: ZoneInfo) -> dict[str, str]:
    """Layer → officer on duty who may act that day (a lapsed or mis-roled officer is left
    out, as the pager skips them)."""
    schedule = directory.spoc.schedule
    if schedule is None:
        rota = pageable_rota(directory, at, zone)
        found = dict(zip((PRIMARY, BACKUP), rota, strict=False))
    else:
        found = on_duty(schedule, at, zone)
    return {layer: o for layer, o in found.items() if _may_act(directory, o, at, zone)}


def pageable_rota(directory: Directory, at: datetime, zone: ZoneInfo) -> tuple[str, ...]:
    """Rota members who may act on ``at``'s date, in rota order."""
    return tuple(o for o in directory.spoc.rota if _may_act(directory, o, at, zone))


def page_order(directory: Directory, at: datetime, zone: ZoneInfo) -> tuple[str, ...]:
    """Whom the rota pages, in order: those on duty layer by layer, then the rest of the
    rota (so a schedule decides who is first, and nobody on the rota is ever left out)."""
    first = tuple(dict.fromkeys(layers_on_duty(directory, at, zone).values()))
    return (*first, *(o for o in pageable_rota(directory, at, zone) if o not in first))


def _may_act(directory: Directory, officer_id: str, at: datetime, zone: ZoneInfo) -> bool:
    officer = directory.officer(officer_id)
    day = at.astimezone(zone).date()
    return officer is not None and officer.has_role("spoc") and officer.is_valid_on(day)


def policy_levels(directory: Directory, default_wait: timedelta) -> tuple[Level, ...]:
    """The configured levels, or the implied ones: on duty, backup, fallback."""
    if directory.spoc.escalation is not None:
        return directory.spoc.escalation.levels
    implied = [Level(who=ON_DUTY, wait=default_wait), Level(who=BACKUP, wait=default_wait)]
    if directory.spoc.fallback:
        implied.append(Level(who=FALLBACK, wait=default_wait))
    return tuple(implied)


def resolve(level: Level, layers: dict[str, str], directory: Directory) -> str | None:
    """The officer a level reaches, given who is on duty in each layer."""
    if level.who == ON_DUTY:
        return layers.get(PRIMARY)
    if level.who == FALLBACK:
        return directory.spoc.fallback
    if level.who in layers or directory.officer(level.who) is None:
        return layers.get(level.who)
    return level.who


def level_label(level: Level, directory: Directory) -> str:
    """A level in plain words (no names: safe for the requester and the channel)."""
    labels = {
        ON_DUTY: "the officer on duty",
        BACKUP: "the backup officer on duty",
        FALLBACK: "the desk's fallback contact",
    }
    if level.who in labels:
        return labels[level.who]
    if directory.officer(level.who) is not None:
        return "the second-level officer"
    return f"the {level.who} officer on duty"


def duty_levels(
    directory: Directory, at: datetime, zone: ZoneInfo, default_wait: timedelta
) -> list[DutyLevel]:
    """Each level of the desk's escalation at ``at`` and whom it reaches."""
    layers = layers_on_duty(directory, at, zone)
    return [
        DutyLevel(n, level_label(level, directory), resolve(level, layers, directory), level.wait)
        for n, level in enumerate(policy_levels(directory, default_wait), start=1)
    ]


def shift_change(directory: Directory, at: datetime, zone: ZoneInfo) -> datetime | None:
    """When the people on duty next change (None without a schedule)."""
    schedule = directory.spoc.schedule
    return next_change(schedule, at, zone) if schedule is not None else None


def _name(directory: Directory, officer_id: str | None) -> str:
    officer = directory.officer(officer_id or "")
    if officer is None:
        return officer_id or "nobody"
    return f"{officer.name}, {officer.post}"


def _phone(directory: Directory, officer_id: str | None) -> str:
    officer = directory.officer(officer_id or "")
    return officer.phone if officer is not None else ""


def oncall_card(
    directory: Directory, at: datetime, zone: ZoneInfo, default_wait: timedelta
) -> Card:
    """The on-duty card for home and status views and ``oncall``: officers' names and posts
    from the directory only, never anything about a request."""
    levels = duty_levels(directory, at, zone, default_wait)
    fields = tuple(
        CardField(f"Level {d.number}: {d.label.capitalize()}", _name(directory, d.officer))
        for d in levels
    )
    change = shift_change(directory, at, zone)
    status = f"Next shift change {_when(change, zone)}." if change else ""
    return Card(
        card_id=ONCALL_CARD_ID,
        title=f"SPOC desk on duty at {_when(at, zone)}",
        fields=fields,
        status=status,
    )


def oncall_text(directory: Directory, at: datetime, zone: ZoneInfo, default_wait: timedelta) -> str:
    """``oohbot oncall`` as plain text, one line per level."""
    lines = [f"SPOC desk on duty at {at.astimezone(zone).isoformat(timespec='minutes')}"]
    for d in duty_levels(directory, at, zone, default_wait):
        phone = _phone(directory, d.officer)
        tail = f" (phone {phone})" if phone else ""
        wait = int(d.wait.total_seconds() // 60)
        lines.append(
            f"  {d.number}. {d.label}: {_name(directory, d.officer)}{tail}; waits {wait} min"
        )
    change = shift_change(directory, at, zone)
    if change is not None:
        lines.append(f"Next shift change: {change.isoformat(timespec='minutes')}")
    return "\n".join(lines)


def oncall_json(
    directory: Directory, at: datetime, zone: ZoneInfo, default_wait: timedelta
) -> dict[str, Any]:
    """``oohbot oncall --format json``."""
    change = shift_change(directory, at, zone)
    return {
        "at": at.astimezone(zone).isoformat(),
        "layers": layers_on_duty(directory, at, zone),
        "levels": [
            {
                "level": d.number,
                "label": d.label,
                "officer": d.officer,
                "wait_minutes": d.wait.total_seconds() / 60,
            }
            for d in duty_levels(directory, at, zone, default_wait)
        ],
        "next_shift_change": change.isoformat() if change else None,
    }


def _when(at: datetime | None, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%a %d %b %H:%M") if at else "-"
