"""The request record: one urgent request from submission to close.

Personal data lives only in ``answers``, ``decision``, ``decision_note``, ``info``, ``retro``
and ``versions`` (earlier versions kept by corrections); the store seals exactly these keys
(``store.keys.SEALED_KEYS``) under the request's own data key. Everything else is ids, states,
times. Once retention destroys the data, ``destroyed_at`` and ``destroyed_rule`` say when and
under which rule.
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


class LegalHold(BaseModel):
    """Stops retention destroying a request (litigation, a complaint, an inquiry)."""

    reason: str
    by: str
    at: datetime


class Version(BaseModel):
    """An earlier version of a corrected request: what it held, and who changed it, when and
    why (sealed with the request's personal data)."""

    n: int
    by: str
    at: datetime
    reason: str
    part: Literal["request", "form"] = "request"
    changed: list[str] = Field(default_factory=list)
    answers: dict[str, Any] = Field(default_factory=dict)
    retro: dict[str, Any] | None = None


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
    legal_hold: LegalHold | None = None
    destroyed_at: datetime | None = None
    destroyed_rule: str | None = None
    versions: list[Version] = Field(default_factory=list)
