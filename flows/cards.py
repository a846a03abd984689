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
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from flows import forms
from flows.context import LifecycleContext
from flows.directory import Directory
from flows.ids import ActionId
from flows.messages import Action, Card, CardField, Choice, Text
from flows.policy import Policy, Timers
from flows.request import Request
from flows.retention import destruction_notice
from flows.states import FORM_DUE, OPEN, RequestState
from flows.validators import display_phone
from flows.wording import duration, state_name, time_left

GROUNDS = {c.key: c.label for c in forms.GROUNDS}
INFO_REQUIRED = {c.key: c.label for c in forms.INFO_REQUIRED}
CONSENT = {c.key: c.label for c in forms.CONSENT}
_KEY = re.compile(r"^[a-z0-9_]{1,40}$")
SPOC_BUTTONS: tuple[tuple[str, str, Literal["default", "primary", "danger"]], ...] = (
    (ActionId.SPOC_ACK, "Acknowledge", "default"),
    (ActionId.SPOC_DETAILS, "Details", "default"),
    (ActionId.SPOC_APPROVE, "Approve", "primary"),
    (ActionId.SPOC_DECLINE, "Decline", "danger"),
    (ActionId.SPOC_ASK, "Ask a question", "default"),
    (ActionId.SPOC_REASSIGN, "Hand over", "default"),
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


def phone_lines(request: Request, directory: Directory) -> tuple[CardField, ...]:
    """The number to call back (as the requester gave it) and the one the directory holds,
    both written the same way, so the SPOC can compare them when verifying the caller."""
    requester = directory.officer(request.requester)
    on_record = display_phone(requester.phone) if requester and requester.phone else "-"
    given = request.answers.get("contact_phone")
    callback = display_phone(str(given)) if given else on_record
    note = "" if callback == on_record else " (not the number on record)"
    return (
        CardField("Call-back number", f"{callback}{note}"),
        CardField("Phone on record", on_record),
    )


def spoc_card(request: Request, directory: Directory, ctx: LifecycleContext) -> Card:
    """The redacted channel card (also the paged officers' DM copy); buttons while open."""
    zone = ctx.calendar.zone
    answers = request.answers
    fields = (
        CardField("Reference", request.ref),
        *_update_and_priority(answers),
        CardField("Requesting organisation", _org_line(request, directory)),
        CardField("Requested by", who(directory, request.requester)),
        *phone_lines(request, directory),
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


def _update_and_priority(answers: Mapping[str, Any]) -> tuple[CardField, ...]:
    """An update names its master reference (§2.3); a routine request says so (§3 T3)."""
    fields = []
    if answers.get("master_ref"):
        fields.append(CardField("Update of", str(answers["master_ref"])))
    if answers.get("urgent_in_hours") == "no":
        fields.append(CardField("Priority", "Routine"))
    return tuple(fields)


def _spoc_actions(request: Request) -> tuple[Action, ...]:
    if request.outcome is not None:
        return (record_button(request.ref),)
    if request.state not in OPEN:
        return ()
    return tuple(Action(a, label, request.ref, style) for a, label, style in SPOC_BUTTONS)


def spoc_status(request: Request, directory: Directory, ctx: LifecycleContext) -> str:
    """One line saying where the request stands (no personal data)."""
    zone = ctx.calendar.zone
    if request.outcome is not None:
        verb = "Approved" if request.outcome == "approved" else "Declined"
        line = f"{verb} by {who(directory, request.decided_by)} at {hhmm(request.decided_at, zone)}"
        if request.retro_submitted_at:
            line += f". Written form received {when(request.retro_submitted_at, zone)}"
        return line
    if request.state == RequestState.WITHDRAWN:
        return f"{state_name('withdrawn')} by the requester at {hhmm(request.withdrawn_at, zone)}"
    if request.state == RequestState.INFO_REQUESTED:
        asker = who(directory, request.info[-1].asked_by)
        return f"{state_name('info_requested')} (asked by {asker}); waiting for the answer"
    if request.acknowledged_by:
        return f"{state_name('acknowledged')}: {who(directory, request.acknowledged_by)}"
    return _paging_status(request, directory, ctx)


def _paging_status(request: Request, directory: Directory, ctx: LifecycleContext) -> str:
    rota_only = directory.spoc.escalation is None
    if rota_only and request.page_round >= ctx.timers.spoc_rota_rounds:
        fallback = directory.spoc.fallback
        alerted = f"; {post_of(directory, fallback)} alerted" if fallback else ""
        return f"Nobody on the rota picked it up{alerted}"
    if not request.paged:
        return state_name("submitted")
    last = next((o for o in reversed(request.paged) if o), "")
    return f"{state_name('paged')} (paged: {post_of(directory, last)})"


# --- private messages ------------------------------------------------------------------------


def details_message(
    request: Request, directory: Directory | None = None, policy: Policy | None = None
) -> Card:
    """The full request, privately to the rota SPOC who asked (audited by the caller).
    Organisations are named as the SPOC card names them, never by code."""
    spec = forms.resolve(
        forms.conversation_fields(policy or Policy()), _context(request, directory)
    )
    fields = [
        CardField(label, shown) for label, shown in forms.summary_lines(request.answers, spec)
    ]
    notice = destruction_notice(request)
    if notice is not None:
        fields = [CardField("Personal data", notice)]
    for n, exchange in enumerate(request.info, start=1):
        fields.append(CardField(f"Question {n}", exchange.question))
        fields.append(CardField(f"Answer {n}", exchange.answer or "(not answered yet)"))
    return Card(
        card_id=f"details:{request.ref}",
        title=f"Details of request {request.ref} (confidential)",
        fields=tuple(fields),
        notification=f"Details of {request.ref}",
    )


def _context(request: Request, directory: Directory | None) -> forms.FormContext:
    codes = dict.fromkeys([request.org, request.on_behalf_of, request.answers.get("on_behalf_of")])
    named = tuple(
        Choice(code, org.name if directory and (org := directory.organisation(code)) else code)
        for code in codes
        if isinstance(code, str) and code
    )
    return forms.FormContext(organisations=named)


def record_button(ref: str) -> Action:
    """The button that opens the case file privately (``record:open``, value = reference)."""
    return Action(ActionId.RECORD_OPEN, "Open the case file", ref)


def retro_button(ref: str) -> Action:
    return Action(ActionId.RETRO_OPEN, "Submit the form", ref, "primary")


def outcome_card(request: Request, directory: Directory, ctx: LifecycleContext) -> Card:
    """The decision, privately to the requester (with the SPOC's note: it is their DM)."""
    zone = ctx.calendar.zone
    verb = "approved" if request.outcome == "approved" else "declined"
    fields = [
        CardField("Decision", f"{verb.capitalize()} by {who(directory, request.decided_by)}"),
        CardField("Note from the SPOC", request.decision_note or "-"),
    ]
    actions: tuple[Action, ...] = (record_button(request.ref),)
    if request.retro_due_at is not None and request.state in FORM_DUE:
        due = request.retro_due_at
        left = time_left(due, ctx.now)
        fields.append(CardField("Written form due", f"{when(due, zone)} ({left})"))
        actions = (retro_button(request.ref), record_button(request.ref))
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


def reminder_schedule(request: Request, timers: Timers) -> list[timedelta]:
    """The reminders before the form's deadline that were scheduled (those still ahead when
    the decision was made), in the order they go out."""
    due = request.retro_due_at
    decided = request.decided_at or request.created_at
    if due is None:
        return []
    return sorted({b for b in timers.retrospective_reminders if due - b > decided}, reverse=True)


def reminder_number(request: Request, n: int, timers: Timers) -> int:
    """Reminder ``n`` (its place in ``timers.retrospective_reminders``) counted as the person
    receives them: 1 for the first to arrive."""
    schedule = reminder_schedule(request, timers)
    before = timers.retrospective_reminders[n] if n < len(timers.retrospective_reminders) else None
    return schedule.index(before) + 1 if before in schedule else n + 1


def nudge_number(request: Request, n: int, timers: Timers) -> int:
    """Overdue nudge ``n`` (1 = the overdue notice) counted after the reminders already sent,
    so the first overdue message after two reminders is reminder 3, not "reminder 1"."""
    return len(reminder_schedule(request, timers)) + n


def reminder_card(request: Request, n: int, ctx: LifecycleContext) -> Card:
    """A reminder before the retrospective-form deadline."""
    zone = ctx.calendar.zone
    due = request.retro_due_at
    left = time_left(due, ctx.now) if due else "-"
    number = reminder_number(request, n, ctx.timers)
    return Card(
        card_id=f"reminder:{request.ref}:{n}",
        title=f"Written form for {request.ref} due {when(request.retro_due_at, zone)}",
        fields=(
            CardField("Reference", request.ref),
            CardField("Due", f"{when(due, zone)} ({left})"),
        ),
        actions=(retro_button(request.ref),),
        status=f"Reminder {number}. The protocol needs the written form to back up the "
        "telephone request.",
        notification=f"Written form for {request.ref} due soon",
    )


def nudge_card(
    request: Request, n: int, recipient: str, directory: Directory, ctx: LifecycleContext
) -> Card:
    """An overdue nudge; the requester gets the button, managers and IG see who owes it."""
    zone = ctx.calendar.zone
    due = request.retro_due_at
    mine = recipient == request.requester
    fields = [
        CardField("Reference", request.ref),
        CardField("Was due", when(due, zone)),
        CardField("Overdue by", duration(ctx.now - due) if due else "-"),
    ]
    if not mine:
        fields.append(CardField("Owed by", who(directory, request.requester)))
    return Card(
        card_id=f"nudge:{request.ref}:{n}",
        title=f"Written form for {request.ref} is overdue",
        fields=tuple(fields),
        actions=(retro_button(request.ref),) if mine else (),
        status=f"Reminder {nudge_number(request, n, ctx.timers)}",
        notification=f"Written form for {request.ref} is overdue",
    )


def form_received_text(request: Request, directory: Directory) -> Text:
    """To a manager (or IG) who was chasing an overdue form: it has arrived."""
    closed = "The request is closed" if request.state == "closed" else "The form is recorded"
    return Text(
        f"The written form for {request.ref} from {who(directory, request.requester)} has "
        f"arrived. {closed}: nothing more to chase.",
        notification=f"Written form for {request.ref} received",
    )


def digest_card(requests: Sequence[Request], recipient: str, ctx: LifecycleContext) -> Card:
    """The daily IG digest: counts and references only."""
    zone = ctx.calendar.zone
    groups = (
        ("Awaiting a SPOC decision", set(OPEN)),
        ("Written forms due", {RequestState.RETRO_DUE.value}),
        ("Written forms overdue", {RequestState.RETRO_OVERDUE.value}),
    )
    fields = []
    for label, states in groups:
        refs = [r.ref for r in requests if r.state in states]
        fields.append(CardField(f"{label}: {len(refs)}", ", ".join(refs) or "-"))
    # IG reads the overdue ones first: a case-file button for each (a card has room for few).
    overdue = [r.ref for r in requests if r.state == RequestState.RETRO_OVERDUE]
    actions = tuple(
        Action(ActionId.RECORD_OPEN, f"Case file {ref}", ref) for ref in overdue[:_DIGEST_BUTTONS]
    )
    day = ctx.now.astimezone(zone).strftime("%Y-%m-%d")
    return Card(
        card_id=f"digest:{day}:{recipient}",
        title=f"oohbot daily digest {day}",
        fields=tuple(fields),
        actions=actions,
        notification="oohbot daily digest",
    )


_DIGEST_BUTTONS = 5


def channel_text(text: str, ref: str) -> Text:
    """A short channel notice: the reference and a state, never personal data."""
    return Text(text, notification=f"Update on {ref}")
