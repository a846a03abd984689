"""The request record: one urgent request from submission to close.

Personal data lives only in ``answers``, ``decision``, ``decision_note``, ``info`` and ``retro``;
the store seals exactly these keys (``store.keys.SEALED_KEYS``). Everything else is ids, states,
times.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from flows.decision import Decision

Outcome = Literal["approved", "declined"]


class InfoExchange(BaseModel):
    """A SPOC question and the requester's answer (both free text: sealed)."""

    question: str
    asked_by: str
    asked_at: datetime
    answer: str | None = None
    answered_at: datetime | None = None


class Request(BaseModel):
    """A request as stored. ``state`` is the lifecycle machine's state."""

    ref: str
    state: str = "submitted"
    requester: str
    org: str
    on_behalf_of: str
    form: Literal["mh1", "pdp"] = "mh1"
    created_at: datetime
    answers: dict[str, Any] = Field(default_factory=dict)
    paged: list[str] = Field(default_factory=list)
    page_round: int = 0
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    outcome: Outcome | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None  # the note; records from before ``decision`` have only it
    decision: Decision | None = None
    info: list[InfoExchange] = Field(default_factory=list)
    response_due_at: datetime
    retro_due_at: datetime | None = None
    retro: dict[str, Any] | None = None
    retro_submitted_at: datetime | None = None
    nudges_sent: int = 0
    withdrawn_at: datetime | None = None
    closed_at: datetime | None = None
