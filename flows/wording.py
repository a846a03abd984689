"""Plain words for what people read: a request's state, the events of its timeline, and how
long is left on a clock. One table each, used by every surface (the status views, the SPOC
card, refusals, the timeline, reminders), so a state is called the same everywhere and never
by its code (``retro_due``) or by an audit action (``request.retro_due``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flows.states import FORM_STATES

STATE_NAMES: dict[str, str] = {
    "submitted": "Sent, waiting for a SPOC",
    "paged": "Waiting for a SPOC to pick it up",
    "acknowledged": "Picked up by a SPOC",
    "info_requested": "The SPOC has asked a question",
    "approved": "Approved",
    "declined": "Declined",
    "withdrawn": "Withdrawn",
    "retro_due": "Written form due",
    "retro_overdue": "Written form overdue",
    "retro_submitted": "Written form received",
    "closed": "Closed",
}

EVENTS: dict[str, tuple[str, bool]] = {
    # action: (what happened, whether the audit entry's actor did it)
    "request.submitted": ("Request sent", True),
    "request.paged": ("SPOC paged", False),
    "request.acknowledged": ("Picked up", True),
    "request.details_viewed": ("Details read", True),
    "request.info_requested": ("Question asked", True),
    "request.info_answered": ("Question answered", True),
    "request.approved": ("Approved", True),
    "request.declined": ("Declined", True),
    "request.withdrawn": ("Withdrawn", True),
    "request.response_warning": ("Response due soon: SPOC channel reminded", False),
    "request.response_breached": ("The response time passed", False),
    "request.escalation_exhausted": ("Nobody on the rota picked it up: fallback alerted", False),
    "request.retro_due": ("Written form due", False),
    "request.retro_reminded": ("Reminder about the written form sent", False),
    "request.retro_overdue": ("Written form overdue", False),
    "request.overdue_nudged": ("Overdue reminder sent", False),
    "request.retro_submitted": ("Written form received", True),
    "request.closed": ("Closed", False),
    "request.action_refused": ("Action refused", True),
    "request.timeline_viewed": ("Timeline read", True),
    "request.record_opened": ("Case file opened", True),
    "request.record_refused": ("Case file refused", True),
    "request.reassigned": ("Handed over to a colleague", True),
    "request.reassign_refused": ("Hand-over refused", True),
}
SYSTEM = "system"
ONE_MINUTE = timedelta(minutes=1)


def state_name(state: str, outcome: str | None = None) -> str:
    """A lifecycle state in plain words; after a decision the form states say the outcome
    too ("Approved: written form due")."""
    name = STATE_NAMES.get(state, state.replace("_", " ").capitalize())
    if outcome and state in FORM_STATES:
        return f"{outcome.capitalize()}: {name[0].lower()}{name[1:]}"
    return name


def event_line(action: str, actor: str) -> str:
    """One timeline entry: "Request sent by Amara Okafor (On-call manager)", "SPOC paged".
    ``actor`` is the name to credit, or ``system``; consequences of an action (paging,
    reminders, the form falling due) are never credited to the person who caused them."""
    what, credited = EVENTS.get(action, (_fallback(action), True))
    return f"{what} by {actor}" if credited and actor and actor != SYSTEM else what


def _fallback(action: str) -> str:
    return action.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def duration(delta: timedelta) -> str:
    """A length of time in words, to the two largest units: "2 days 4 hours", "45 minutes"."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    units = (("day", minutes // 1440), ("hour", minutes // 60 % 24), ("minute", minutes % 60))
    shown = [f"{n} {unit}{'' if n == 1 else 's'}" for unit, n in units if n][:2]
    if len(shown) == 2 and units[0][1] and not units[1][1]:
        shown = shown[:1]  # "2 days", not "2 days 5 minutes"
    return " ".join(shown)


def time_left(due: datetime, now: datetime) -> str:
    """How long is left: "in 2 days 4 hours"; "due now" within the minute; "overdue by 3
    hours" once past."""
    if due - now >= ONE_MINUTE:
        return f"in {duration(due - now)}"
    if now - due < ONE_MINUTE:
        return "due now"
    return f"overdue by {duration(now - due)}"


def due_phrase(
    what: str, due: datetime | None, now: datetime | None, zone: ZoneInfo, late: bool = False
) -> str:
    """A deadline in words: "Form due in 2 days 4 hours (Tue 24 Nov 02:00)", or "Form overdue
    by 3 hours (was due …)" once past. Without ``now`` only the time: "Form due …", or "Form
    was due …" when ``late`` says it has passed."""
    if due is None:
        return f"{what} due: -"
    at = due.astimezone(zone).strftime("%a %d %b %H:%M")
    if now is None:
        return f"{what} was due {at}" if late else f"{what} due {at}"
    left = time_left(due, now)
    if left.startswith("overdue"):
        return f"{what} {left} (was due {at})"
    return f"{what} {left} ({at})" if left == "due now" else f"{what} due {left} ({at})"
