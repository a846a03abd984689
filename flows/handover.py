"""Hand-over at a shift change: each incoming officer gets a private summary of the open
requests (references and where each stands, in plain words; no personal data), and the next
hand-over is scheduled. One ``handover`` job per shift change, its id the moment of the
change, so every replica scheduling it schedules the same job.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flows import jobs
from flows.directory import Directory
from flows.effects import Audit, Effect, Schedule, Send
from flows.messages import Card, CardField, ToOfficer
from flows.oncall import layers_on_duty, shift_change
from flows.request import Request
from flows.states import OPEN
from flows.wording import due_phrase, state_name

JUST_BEFORE = timedelta(seconds=1)


def job_at(at: datetime) -> Schedule:
    """The hand-over job for the shift change at ``at``."""
    stamp = int(at.timestamp())
    return Schedule(jobs.job_id(jobs.HANDOVER, "desk", stamp), jobs.HANDOVER, at, {"at": stamp})


def next_job(directory: Directory, now: datetime, zone: ZoneInfo) -> Schedule | None:
    """The hand-over job for the next shift change after ``now`` (None without a schedule)."""
    change = shift_change(directory, now, zone)
    return job_at(change) if change is not None else None


def incoming(directory: Directory, at: datetime, zone: ZoneInfo) -> dict[str, str]:
    """Officer → layer, for those on duty from ``at`` who were not in that layer before."""
    before = layers_on_duty(directory, at - JUST_BEFORE, zone)
    after = layers_on_duty(directory, at, zone)
    return {o: layer for layer, o in reversed(after.items()) if before.get(layer) != o}


def summary(
    layer: str, until: datetime | None, requests: Sequence[Request], zone: ZoneInfo, now: datetime
) -> Card:
    """The private hand-over card: what is open, by reference and state."""
    open_now = [r for r in requests if r.state in OPEN]
    fields = tuple(
        CardField(
            r.ref,
            f"{state_name(r.state)}. {due_phrase('Response', r.response_due_at, now, zone)}.",
        )
        for r in open_now
    )
    shift = f"You are now on duty ({layer})"
    if until is not None:
        shift += f" until {until.astimezone(zone):%a %d %b %H:%M}"
    return Card(
        card_id=f"handover:{int(now.timestamp())}",
        title="Hand-over: the SPOC desk is yours",
        fields=fields,
        status=f"{shift}. {len(open_now)} open request(s)."
        if open_now
        else f"{shift}. No open requests.",
        notification="Your SPOC shift has started",
    )


def at_shift_change(
    directory: Directory, at: datetime, requests: Sequence[Request], zone: ZoneInfo
) -> list[Effect]:
    """The hand-over's effects: a summary to each incoming officer, the next hand-over job."""
    until = shift_change(directory, at, zone)
    effects: list[Effect] = []
    for officer, layer in incoming(directory, at, zone).items():
        effects.append(Send(ToOfficer(officer), summary(layer, until, requests, zone, at)))
        effects.append(
            Audit(
                "desk.handover",
                "",
                {"officer": officer, "layer": layer, "open": [r.ref for r in requests]},
            )
        )
    if until is not None:
        effects.append(job_at(until))
    return effects
