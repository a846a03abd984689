"""Timers and local-protocol policy: the tunable parts of the rules, as typed settings.

These live in ``flows`` (not ``bot``) because the pure flows read them; ``bot.config`` embeds
them in ``Settings`` under ``timers:`` and ``policy:``.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from flows.decision import DecisionPolicy
from flows.durations import Duration, parse_duration


def _duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, timedelta):
        return Duration(wall=value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Duration(wall=timedelta(seconds=value))
    if not isinstance(value, str):
        raise ValueError("write a duration such as '10m', '72h' or '1 working day'")
    return parse_duration(value)


def _wall(value: Any) -> timedelta:
    parsed = _duration(value)
    if parsed.wall is None:
        raise ValueError("this timer must be wall-clock, e.g. '10m' or '2h', not working days")
    return parsed.wall


DurationSetting = Annotated[Duration, BeforeValidator(_duration), PlainSerializer(str)]
WallSetting = Annotated[timedelta, BeforeValidator(_wall)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LifetimeSettings(_Section):
    """How long stored working data lives (``lifetimes:``; see ``store.lifetimes``)."""

    session_idle: WallSetting = timedelta(days=30)
    message_handles: WallSetting = timedelta(days=90)
    addresses: WallSetting = timedelta(days=400)
    console: WallSetting = timedelta(days=7)
    dead_letters: WallSetting = timedelta(days=30)
    sweep_at: time = time(3, 30)


class Timers(_Section):
    conversation_idle: WallSetting = timedelta(minutes=30)
    conversation_idle_warning: WallSetting = timedelta(minutes=5)
    spoc_ack: WallSetting = timedelta(minutes=10)
    spoc_rota_rounds: int = Field(default=2, ge=1, le=10)
    response_due: DurationSetting = Duration(wall=timedelta(hours=2))  # urgent (S4 App4 §2.4)
    response_due_routine: DurationSetting = Duration(wall=timedelta(hours=48))  # or 10 working days
    response_warning: WallSetting = timedelta(minutes=30)
    retrospective_due: DurationSetting = Duration(wall=timedelta(hours=72))
    retrospective_after_decline: bool = True  # the form backs up the request (S4 App4 §1.5c)
    retrospective_after_withdraw: bool = True  # so does a withdrawn one: it was made
    retrospective_reminders: tuple[WallSetting, ...] = (timedelta(hours=24), timedelta(hours=2))
    overdue_nudge_every: WallSetting = timedelta(hours=24)
    ig_after_nudges: int = Field(default=2, ge=0)
    ig_digest_at: time = time(8, 0)
    job_lease: WallSetting = timedelta(seconds=60)
    job_max_attempts: int = Field(default=5, ge=1)
    job_poll: WallSetting = timedelta(seconds=1)
    dedupe_ttl: WallSetting = timedelta(hours=1)


class Choice(_Section):
    key: str
    label: str


class Policy(_Section):
    """Wording and lists that differ between local protocols."""

    emergency_advice: str = (
        "Call the police control room now on 999. This service is not for emergencies."
    )
    in_hours_route: str = (
        "During office hours, send the request on Form MH1 or PDP by secure e-mail to the "
        "police nominated officer."
    )
    refusal_contact: str = (
        "If you think you should be able to use this service, ask your organisation's "
        "information governance lead to update the nominated-officer directory."
    )
    ask_in_hours: bool = True
    routine_in_hours: bool = Field(
        default=False,
        description="in office hours, take a request that can wait as a routine one (48 h "
        "clock) instead of sending the requester to the written route",
    )
    child_protection_advice: str = Field(
        default="",
        description="when set, ask whether the concern is about a specific child and, if so, "
        "end with this advice (some protocols route those to child-protection procedures)",
    )
    lawful_bases: tuple[Choice, ...] = (
        Choice(key="cda_s115", label="Crime and Disorder Act 1998 s115"),
        Choice(key="dpa_crime", label="Data Protection Act: prevention or detection of crime"),
        Choice(key="vital_interests", label="Vital interests of the person or another"),
        Choice(key="common_law", label="Common law: public interest in preventing harm"),
        Choice(key="statutory_duty", label="Another statutory duty or court order"),
    )
    totp_attempts: int = Field(default=3, ge=1)
    decision: DecisionPolicy = DecisionPolicy()  # the structured decision (flows.decision)
