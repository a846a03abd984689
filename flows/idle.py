"""The idle rule for a draft request: one timer per draft, warned once, then discarded.

A draft gets one idle job when it starts and loses it when it ends; replies do not touch the
job. When the job fires it looks at the draft's last activity and either waits longer (the
person replied meanwhile), warns, or expires the draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from flows import jobs
from flows.conversation import Session
from flows.effects import CancelJob, Effect, Schedule
from flows.policy import Timers

Verdict = Literal["wait", "warn", "expire"]


@dataclass(frozen=True)
class IdleCheck:
    """What a fired idle timer should do, and when to look again (``wait``/``warn``)."""

    verdict: Verdict
    next_at: datetime | None


def job_id(session_key: str) -> str:
    """The one idle job of this person's draft."""
    return jobs.job_id(jobs.IDLE, session_key)


def check(session: Session, now: datetime, timers: Timers) -> IdleCheck:
    """Decide from the draft's last activity (``updated_at``) and whether it was warned."""
    warn_at = session.updated_at + timers.conversation_idle - timers.conversation_idle_warning
    expire_at = session.updated_at + timers.conversation_idle
    if now >= expire_at:
        return IdleCheck("expire", None)
    if now < warn_at:
        return IdleCheck("wait", warn_at)
    if session.idle_warned:
        return IdleCheck("wait", expire_at)
    return IdleCheck("warn", expire_at)


def effects(
    before: Session | None,
    after: Session,
    *,
    finished: bool,
    was_finished: bool,
    key: str,
    payload: dict[str, Any],
    timers: Timers,
) -> list[Effect]:
    """The timer effects of one conversation step: start the timer with a draft, drop it when
    the draft ends, and otherwise leave it alone (it re-reads the draft when it fires)."""
    if finished:
        return [] if was_finished else [CancelJob(job_id(key))]
    if before is None or was_finished:
        due = after.updated_at + timers.conversation_idle - timers.conversation_idle_warning
        return [Schedule(job_id(key), jobs.IDLE, due, payload)]
    return []


def follow_up(key: str, at: datetime, payload: dict[str, Any]) -> Schedule:
    """Look again at ``at``."""
    return Schedule(job_id(key), jobs.IDLE, at, payload)
