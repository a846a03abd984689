"""Timer job kinds and deterministic job ids.

A job id is a pure function of (kind, subject, n): scheduling the same job twice replaces it,
and a flow can cancel a job without remembering anything but the request.
"""

from __future__ import annotations

SPOC_ACK = "spoc_ack"
"""Nobody acknowledged the page in time: page the next officer on the rota."""
RESPONSE_WARNING = "response_warning"
"""The 2-hour urgent response (protocol §3 T2) is about to run out."""
RESPONSE_BREACH = "response_breach"
"""The urgent response time has passed without a decision."""
RETRO_REMINDER = "retro_reminder"
"""The retrospective form is due soon (protocol §3 T1/T4)."""
RETRO_OVERDUE = "retro_overdue"
"""The retrospective form deadline has passed."""
OVERDUE_NUDGE = "overdue_nudge"
"""A repeated nudge while the retrospective form is overdue."""
IG_DIGEST = "ig_digest"
"""The daily information-governance digest."""
HOUSEKEEPING = "housekeeping"
"""The daily sweep of stored working data past its lifetime (``store.lifetimes``)."""
IDLE = "idle"
"""A draft's one idle timer: it warns, expires, or waits longer if the person replied."""
IDLE_WARNING = "idle_warning"
"""Older stores: a draft's warning timer (handled as ``IDLE``)."""
IDLE_EXPIRE = "idle_expire"
"""Older stores: a draft's expiry timer (handled as ``IDLE``)."""
RETENTION = "retention"
"""The daily retention run: destroys personal data past its retention period."""
HANDOVER = "handover"
"""A shift change of the SPOC desk: summarise the open requests for the incoming officers."""
INBOUND = "inbound"
"""An event in the inbox whose first handling did not finish (the process died)."""

REQUEST_KINDS = frozenset(
    {SPOC_ACK, RESPONSE_WARNING, RESPONSE_BREACH, RETRO_REMINDER, RETRO_OVERDUE, OVERDUE_NUDGE}
)
CONVERSATION_KINDS = frozenset({IDLE, IDLE_WARNING, IDLE_EXPIRE})
ALL_KINDS = (
    REQUEST_KINDS | CONVERSATION_KINDS | {IG_DIGEST, HOUSEKEEPING, INBOUND, RETENTION, HANDOVER}
)


def job_id(kind: str, ref: str, n: int = 0) -> str:
    """The deterministic id of the n-th job of ``kind`` for ``ref`` (a reference or a key)."""
    return f"{kind}:{ref}:{n}"


__all__ = [
    "ALL_KINDS",
    "CONVERSATION_KINDS",
    "HANDOVER",
    "IDLE",
    "IDLE_EXPIRE",
    "IDLE_WARNING",
    "IG_DIGEST",
    "INBOUND",
    "OVERDUE_NUDGE",
    "REQUEST_KINDS",
    "RESPONSE_BREACH",
    "RESPONSE_WARNING",
    "RETENTION",
    "RETRO_OVERDUE",
    "RETRO_REMINDER",
    "SPOC_ACK",
    "job_id",
]
