"""The SPOC desk's escalation policy, as configured in the directory (``spoc.escalation``).

Levels are paged in order, each waiting its own ``wait`` for an acknowledgement before the
next; after the last level the policy starts again at the first level ``repeat_every`` later,
and keeps repeating until someone acknowledges (it never goes quiet). A level's ``who`` is
``on_duty`` (the primary layer's officer on duty), ``backup`` (the backup layer's), another
layer's name, ``fallback`` (``spoc.fallback``, the desk's fallback phone contact), or an
officer id (a named second level, e.g. the duty inspector).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from flows.policy import WallSetting

ON_DUTY = "on_duty"
FALLBACK = "fallback"


class Level(BaseModel):
    """One escalation level: who is paged and how long to wait for them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    who: str
    wait: WallSetting = timedelta(minutes=10)


class EscalationPolicy(BaseModel):
    """Levels in order, and the pause before the policy repeats from the first level."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    levels: tuple[Level, ...] = Field(min_length=1)
    repeat_every: WallSetting = timedelta(minutes=30)
