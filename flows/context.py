"""What a lifecycle call may know besides the request: the time and the configuration.

Its own module so that both the machine (``flows/lifecycle.py``) and the messages it builds
(``flows/cards.py``) can name it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flows.calendar import BusinessCalendar
from flows.directory import Directory
from flows.policy import Policy, Timers


@dataclass(frozen=True)
class LifecycleContext:
    """The time, the directory, the timers, the calendar and the local policy (its lawful
    bases and wording) a lifecycle call works with."""

    now: datetime
    directory: Directory
    timers: Timers
    calendar: BusinessCalendar
    policy: Policy = field(default_factory=Policy)
