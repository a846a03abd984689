"""Message builders for the request lifecycle. Plain text only; adapters escape everything.

Two audiences, two rules:

- the SPOC channel (and the copies of its card in the paged officers' DMs) is *redacted*:
  reference, organisations, requesting officer, phone on record, urgency grounds, information
  categories, consent status and times. Never a subject detail, never free text (``summary``,
  ``consent_reason``, ``info_other``, decision notes, questions and answers).
- private messages to the requester or to the SPOC who asked may carry the request's own
  content (``details_message``, the outcome with its note, relayed questions and answers).

Every ``notification`` is generic and carries at most the reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from flows import forms
from flows.directory import Directory
from flows.messages import Action, Card, CardField, Text
from flows.policy import Policy
from flows.request import Request

if TYPE_CHECKING:
    from flows.lifecycle import LifecycleContext

GROUNDS = {c.key: c.label for c in forms.GROUNDS}
INFO_REQUIRED = {c.key: c.label for c in forms.INFO_REQUIRED}
CONSENT = {c.key: c.label for c in forms.CONSENT}
_KEY = re.compile(r"^[a-z0-9_]{1,40}$")
DECIDED = frozenset({"approved", "declined", "retro_due", "retro_overdue", "retro_submitted"})
SPOC_BUTTONS: tuple[tuple[str, str, Literal["default", "primary", "danger"]], ...] = (
    ("spoc:ack", "Acknowledge", "default"),
    ("spoc:details", "Details", "default"),
    ("spoc:approve", "Approve", "primary"),
    ("spoc:decline", "Decline", "danger"),
    ("spoc:ask", "Ask a question", "default"),
)


# --- small helpers ---------------------------------------------------------------------------


def hhmm(at: datetime | None, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%H:%M") if at else "-"


def when(at: datetime | None, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%a %d %b %H:%M") if at else "-"


def who(directory: Directory, officer_id: str | None) -> str:
    """'Name, post' for a directory officer (the id when unknown)."""
    officer = directory.officer(officer_id or "")
    return f"{officer.name}, {officer.post}" if officer else (officer_id or "unknown")


def post_of(directory: Directory, officer_id: str) -> str:
    officer = directory.officer(officer_id)
    return officer.post if officer else officer_id


def keys_of(value: Any) -> list[str]:
    """Choice keys from an answer held as a list or a comma-separated string."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, Iterable):
        return [str(part) for part in value]
    return []


def labels(value: Any, names: dict[str, str]) -> str:
    """Labels for choice keys; anything that is not a plain key is withheld (it may be text)."""
    shown = [names.get(k, k.replace("_", " ")) if _KEY.match(k) else "(withheld)" for k in value]
    return ", ".join(shown) or "-"


def _org_line(request: Request, directory: Directory) -> str:
    org = directory.organisation(request.org)
    name = org.name if org else request.org
    if request.on_behalf_of and request.on_behalf_of != request.org:
        other = directory.organisation(request.on_behalf_of)
        return f"{name}, on behalf of {other.name if other else request.on_behalf_of}"
    return name


# --- the SPOC channel card -------------------------------------------------------------------


def spoc_card_id(ref: str) -> str:
    return f"spoc:{ref}"


def spoc_card(request: Request, directory: Directory, ctx: LifecycleContext) -> Card:
    """The redacted channel card (also the paged officers' DM copy); buttons while open."""
    zone = ctx.calendar.zone
    requester = directory.officer(request.requester)
    answers = request.answers
    fields = (
        CardField("Reference", request.ref),
        CardField("Requesting organisation", _org_line(request, directory)),
        CardField("Requested by", who(directory, request.requester)),
        CardField("Phone on record", (requester.phone if requester else "") or "-"),
        CardField("Urgency grounds", labels(keys_of(answers.get("grounds")), GROUNDS)),
        CardField(
            "Information requested", labels(keys_of(answers.get("info_required")), INFO_REQUIRED)
        ),
        CardField("Consent", labels(keys_of(answers.get("consent")), CONSENT)),
        CardField("Requested at", when(request.created_at, zone)),
        CardField("Response due", when(request.response_due_at, zone)),
    )
    return Card(
        card_id=spoc_card_id(request.ref),
        title=f"Urgent information request {request.ref}",
        fields=fields,
        actions=_spoc_actions(request),
        status=spoc_status(request, directory, ctx),
        notification=f"Urgent request {request.ref} for the SPOC",
    )


def _spoc_actions(request: Request) -> tuple[Action, ...]:
    if request.state not in {"submitted", "paged", "acknowledged", "info_requested"}:
        return ()
    return tuple(Action(a, label, request.ref, style) for a, label, style in SPOC_BUTTONS)


def spoc_status(request: Request, directory: Directory, ctx: LifecycleContext) -> str:
    """One line saying where the request stands (no personal data)."""
    zone = ctx.calendar.zone
    if request.outcome is not None:
        verb = "Approved" if request.outcome == "approved" else "Declined"
        line = f"{verb} by {who(directory, request.decided_by)} at {hhmm(request.decided_at, zone)}"
        if request.retro_submitted_at:
            line += f". Retrospective form received {when(request.retro_submitted_at, zone)}"
        return line
    if request.state == "withdrawn":
        return f"Withdrawn by the requester at {hhmm(request.withdrawn_at, zone)}"
    if request.state == "info_requested":
        return f"Question with the requester (asked by {who(directory, request.info[-1].asked_by)})"
    if request.acknowledged_by:
        return f"Acknowledged by {who(directory, request.acknowledged_by)}"
    return _paging_status(request, directory, ctx)


def _paging_status(request: Request, directory: Directory, ctx: LifecycleContext) -> str:
    if request.page_round >= ctx.timers.spoc_rota_rounds:
        fallback = directory.spoc.fallback
        alerted = f"; {post_of(directory, fallback)} alerted" if fallback else ""
        return f"Nobody on the rota acknowledged{alerted}"
    if not request.paged:
        return "Awaiting a SPOC"
    return f"Paged: {post_of(directory, request.paged[-1])}"


# --- private messages ------------------------------------------------------------------------


def details_message(request: Request, policy: Policy | None = None) -> Card:
    """The full request, privately to the rota SPOC who asked (audited by the caller)."""
    spec = forms.conversation_fields(policy or Policy())
    fields = [
        CardField(label, shown) for label, shown in forms.summary_lines(request.answers, spec)
    ]
    for n, exchange in enumerate(request.info, start=1):
        fields.append(CardField(f"Question {n}", exchange.question))
        fields.append(CardField(f"Answer {n}", exchange.answer or "(not answered yet)"))
    return Card(
        card_id=f"details:{request.ref}",
        title=f"Details of request {request.ref} (confidential)",
        fields=tuple(fields),
        notification=f"Details of {request.ref}",
    )


def retro_button(ref: str) -> Action:
    return Action("retro:open", "Submit the form", ref, "primary")


def outcome_card(request: Request, directory: Directory, ctx: LifecycleContext) -> Card:
    """The decision, privately to the requester (with the SPOC's note: it is their DM)."""
    zone = ctx.calendar.zone
    verb = "approved" if request.outcome == "approved" else "declined"
    fields = [
        CardField("Decision", f"{verb.capitalize()} by {who(directory, request.decided_by)}"),
        CardField("Note from the SPOC", request.decision_note or "-"),
    ]
    actions: tuple[Action, ...] = ()
    if request.retro_due_at is not None and request.state in {"retro_due", "retro_overdue"}:
        fields.append(CardField("Written form due", when(request.retro_due_at, zone)))
        actions = (retro_button(request.ref),)
    return Card(
        card_id=f"outcome:{request.ref}",
        title=f"Your request {request.ref} was {verb}",
        fields=tuple(fields),
        actions=actions,
        notification=f"Request {request.ref} was {verb}",
    )


def page_text(ref: str, repeat: bool) -> Text:
    again = "still " if repeat else ""
    return Text(
        f"Urgent information request {ref} is {again}waiting for a SPOC. "
        "Acknowledge it on the card, then approve, decline or ask a question.",
        notification=f"Urgent request {ref} needs a SPOC",
    )


def question_text(request: Request, directory: Directory, question: str) -> Text:
    asker = who(directory, request.info[-1].asked_by if request.info else None)
    return Text(
        f"{asker} asks about your request {request.ref}:\n{question}\nReply here with your "
        "answer (if you are in the middle of another request, start it with the word answer).",
        notification=f"A question about {request.ref}",
    )


def answer_text(request: Request, answer: str) -> Text:
    return Text(
        f"The requester answered your question about {request.ref}:\n{answer}",
        notification=f"An answer about {request.ref}",
    )


def reminder_card(request: Request, n: int, ctx: LifecycleContext) -> Card:
    """A reminder before the retrospective-form deadline."""
    due = when(request.retro_due_at, ctx.calendar.zone)
    return Card(
        card_id=f"reminder:{request.ref}:{n}",
        title=f"Written form for {request.ref} due {due}",
        fields=(CardField("Reference", request.ref), CardField("Due", due)),
        actions=(retro_button(request.ref),),
        status="The protocol needs the written form to back up the telephone request.",
        notification=f"Written form for {request.ref} due soon",
    )


def nudge_card(
    request: Request, n: int, recipient: str, directory: Directory, ctx: LifecycleContext
) -> Card:
    """An overdue nudge; the requester gets the button, managers and IG see who owes it."""
    due = when(request.retro_due_at, ctx.calendar.zone)
    mine = recipient == request.requester
    fields = [CardField("Reference", request.ref), CardField("Was due", due)]
    if not mine:
        fields.append(CardField("Owed by", who(directory, request.requester)))
    return Card(
        card_id=f"nudge:{request.ref}:{n}",
        title=f"Written form for {request.ref} is overdue",
        fields=tuple(fields),
        actions=(retro_button(request.ref),) if mine else (),
        status=f"Reminder {n}",
        notification=f"Written form for {request.ref} is overdue",
    )


def digest_card(requests: Sequence[Request], recipient: str, ctx: LifecycleContext) -> Card:
    """The daily IG digest: counts and references only."""
    zone = ctx.calendar.zone
    groups = (
        ("Awaiting a SPOC decision", {"submitted", "paged", "acknowledged", "info_requested"}),
        ("Written forms due", {"retro_due"}),
        ("Written forms overdue", {"retro_overdue"}),
    )
    fields = []
    for label, states in groups:
        refs = [r.ref for r in requests if r.state in states]
        fields.append(CardField(f"{label}: {len(refs)}", ", ".join(refs) or "-"))
    day = ctx.now.astimezone(zone).strftime("%Y-%m-%d")
    return Card(
        card_id=f"digest:{day}:{recipient}",
        title=f"oohbot daily digest {day}",
        fields=tuple(fields),
        notification="oohbot daily digest",
    )


def channel_text(text: str, ref: str) -> Text:
    """A short channel notice: the reference and a state, never personal data."""
    return Text(text, notification=f"Update on {ref}")
