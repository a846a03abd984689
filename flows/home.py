"""What each person sees on their home/status view, and a request's timeline. Pure builders.

Requesters see their own requests and forms due; SPOCs the open queue; managers the overdue
forms of the people who report to them; IG leads every overdue form. Only references, states
and times appear: no subject details. States and timeline events are in plain words
(``flows.wording``); given ``now``, every clock also says how long is left ("form due in 2 days
4 hours").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flows.directory import Directory, Officer
from flows.ids import ActionId
from flows.messages import Action, Card, CardField, Message, Text
from flows.oncall import oncall_card
from flows.request import Request
from flows.states import FINAL, FORM_DUE, OPEN, RequestState
from flows.wording import due_phrase, event_line, state_name

_NO_WAIT = timedelta(0)
"""The on-duty card names who is reached at each level, not how long each waits."""


def _at(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %H:%M") if moment else "-"


def _request_field(request: Request, zone: ZoneInfo, now: datetime | None) -> CardField:
    state = state_name(request.state, request.outcome)
    if request.state in FORM_DUE:
        late = request.state == RequestState.RETRO_OVERDUE
        state = f"{state}. {_clock('Form', request.retro_due_at, now, zone, late)}"
    elif request.state in OPEN:
        state = f"{state}. {_clock('Response', request.response_due_at, now, zone)}"
        if request.nudges_sent and request.retro_submitted_at is None:  # the form's clock ran out
            state += f" {_clock('Form', request.retro_due_at, now, zone, late=True)}"
    return CardField(request.ref, state, _requester_action(request))


def _clock(
    what: str, due: datetime | None, now: datetime | None, zone: ZoneInfo, late: bool = False
) -> str:
    return due_phrase(what, due, now, zone, late) + "."


def withdraw_confirmation(ref: str) -> str:
    return (
        f"Withdraw request {ref}? The SPOC will be told to stop work on it, and this cannot be "
        "undone."
    )


def _requester_action(request: Request) -> Action | None:
    """What the requester can do next: submit the form, or withdraw before a decision (after
    a confirmation: it cannot be undone)."""
    if request.state in FORM_DUE:
        return Action(ActionId.RETRO_OPEN, "Submit form", request.ref, "primary")
    if request.state in OPEN:
        confirm = withdraw_confirmation(request.ref)
        return Action(ActionId.WITHDRAW, "Withdraw", request.ref, "danger", confirm=confirm)
    return None


def _card(card_id: str, title: str, fields: Sequence[CardField], empty: str) -> Card:
    return Card(card_id=card_id, title=title, fields=tuple(fields), status="" if fields else empty)


def requester_view(
    officer: Officer, requests: Sequence[Request], zone: ZoneInfo, now: datetime | None = None
) -> Card:
    mine = [r for r in requests if r.requester == officer.id and r.state not in FINAL]
    fields = [_request_field(r, zone, now) for r in mine]
    return _card(f"home:mine:{officer.id}", "My requests and forms due", fields, "Nothing open.")


def spoc_view(requests: Sequence[Request], zone: ZoneInfo, now: datetime | None = None) -> Card:
    queue = [r for r in requests if r.state in OPEN]
    fields = [
        CardField(
            r.ref,
            f"{state_name(r.state)}. {_clock('Response', r.response_due_at, now, zone)}",
        )
        for r in queue
    ]
    return _card("home:queue", "SPOC queue", fields, "The queue is empty.")


def overdue_view(
    officer: Officer,
    requests: Sequence[Request],
    directory: Directory,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> Card:
    people = {o.id for o in directory.reports_of(officer.id)}
    everyone = officer.has_role("ig")
    overdue = [
        r
        for r in requests
        if r.state == RequestState.RETRO_OVERDUE and (everyone or r.requester in people)
    ]
    fields = [
        CardField(
            r.ref,
            f"{_clock('Written form', r.retro_due_at, now, zone, late=True)} "
            f"Owed by {_who(r, directory)}.",
        )
        for r in overdue
    ]
    title = "Overdue forms" if everyone else "Overdue forms in my team"
    return _card(f"home:overdue:{officer.id}", title, fields, "No overdue forms.")


def _who(request: Request, directory: Directory) -> str:
    officer = directory.officer(request.requester)
    return f"{officer.name}, {officer.post}" if officer else request.requester


def home_view(
    officer: Officer | None,
    requests: Sequence[Request],
    directory: Directory,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> list[Message]:
    """The cards for this person's home view. With ``now`` every clock says how long is left."""
    if officer is None:
        return [Text("You are not in the nominated-officer directory, so there is nothing here.")]
    cards: list[Message] = []
    if officer.has_role("requester"):
        cards.append(requester_view(officer, requests, zone, now))
    if officer.has_role("spoc"):
        cards.append(spoc_view(requests, zone, now))
        if now is not None:
            cards.append(oncall_card(directory, now, zone, _NO_WAIT))
    if officer.has_role("manager") or officer.has_role("ig") or directory.reports_of(officer.id):
        cards.append(overdue_view(officer, requests, directory, zone, now))
    return cards or [Text("Nothing to show for your role.")]


def may_see_timeline(officer: Officer, request: Request, directory: Directory) -> bool:
    """The requester, their manager, SPOCs and IG may read a request's audit timeline."""
    requester = directory.officer(request.requester)
    is_manager = requester is not None and requester.manager == officer.id
    return (
        officer.id == request.requester
        or is_manager
        or officer.has_role("spoc")
        or officer.has_role("ig")
    )


def timeline_card(
    ref: str, entries: Sequence[tuple[datetime, str, str]], directory: Directory, zone: ZoneInfo
) -> Card:
    """A request's audit trail in plain words: (time, actor id, action) per entry."""
    fields = tuple(
        CardField(_at(at, zone), event_line(action, _actor(actor, directory)))
        for at, actor, action in entries
    )
    return Card(card_id=f"timeline:{ref}", title=f"Timeline of {ref}", fields=fields)


def _actor(actor: str, directory: Directory) -> str:
    officer = directory.officer(actor)
    return f"{officer.name} ({officer.post})" if officer else actor
