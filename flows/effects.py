"""Effects a pure flow asks the engine to carry out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.messages import Message, Recipient


@dataclass(frozen=True)
class Send:
    """Deliver ``message`` to ``to``."""

    to: Recipient
    message: Message


@dataclass(frozen=True)
class Schedule:
    """Schedule (or re-schedule: same id replaces) a durable timer job."""

    job_id: str
    kind: str
    due_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CancelJob:
    """Drop a scheduled job (a no-op when it is gone)."""

    job_id: str


@dataclass(frozen=True)
class Audit:
    """An audit entry. ``details`` must never hold personal data (only ids, keys, states)."""

    action: str
    ref: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


Effect = Send | Schedule | CancelJob | Audit
