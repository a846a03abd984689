"""The states of a request and the groups every surface asks about, written once.

``RequestState`` members are strings (``RequestState.PAGED == "paged"``), so they are stored,
compared and shown exactly as the plain names were. The lifecycle machine
(``flows/lifecycle.py``) moves between them; the groups below are what the views, cards, CLI and
store queries test a request against.
"""

from __future__ import annotations

from enum import StrEnum


class RequestState(StrEnum):
    """Where a request is (DESIGN.md: Request lifecycle)."""

    SUBMITTED = "submitted"
    PAGED = "paged"
    ACKNOWLEDGED = "acknowledged"
    INFO_REQUESTED = "info_requested"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    RETRO_DUE = "retro_due"
    RETRO_OVERDUE = "retro_overdue"
    RETRO_SUBMITTED = "retro_submitted"
    CLOSED = "closed"


def _names(*states: RequestState) -> tuple[str, ...]:
    # plain strings: ``transitions`` would name Enum states by their member names
    return tuple(state.value for state in states)


S = RequestState
STATES = _names(*RequestState)
OPEN = _names(S.SUBMITTED, S.PAGED, S.ACKNOWLEDGED, S.INFO_REQUESTED)
"""Waiting for a SPOC decision (the requester may still withdraw)."""
DECIDABLE = _names(S.PAGED, S.ACKNOWLEDGED, S.INFO_REQUESTED)
"""A rota officer may approve, decline or ask (deciding from ``paged`` acknowledges)."""
FORM_DUE = _names(S.RETRO_DUE, S.RETRO_OVERDUE)
"""Decided, and the written (retrospective) form is still to come."""
FORM_STATES = frozenset({*FORM_DUE, S.RETRO_SUBMITTED.value})
"""The states of the written form's clock."""
FINAL = _names(S.WITHDRAWN, S.CLOSED)
"""Nothing more happens."""
NOT_ENDED = frozenset(STATES) - frozenset(FINAL)

__all__ = [
    "DECIDABLE",
    "FINAL",
    "FORM_DUE",
    "FORM_STATES",
    "NOT_ENDED",
    "OPEN",
    "STATES",
    "RequestState",
]
