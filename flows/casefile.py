"""The case file: one request read back whole, by the people the protocol owes it to.

Every answer (labelled as the form labels it), the decision and its reasons item by item, the
questions and answers exchanged, the written form, and a timeline in plain words built from
the request's times and its audit entries (never a state code or an audit action name).

Who may open it (S4 §15.6, protocol-requirements §6.1: the record is kept to be audited and
defended): the requester, the SPOCs on the rota, and information-governance officers (role
``ig``). Anyone else is refused kindly. Every opening and every refusal is audited with ids
only. The case file always travels privately: the card goes to the person's own chat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flows import corrections, decision, forms, retention
from flows.cards import record_button, who
from flows.context import LifecycleContext
from flows.directory import Directory, Officer
from flows.effects import Audit, Effect, Send
from flows.messages import Card, CardField, Choice, Message, Text, ToOfficer
from flows.policy import Policy
from flows.request import Request
from flows.wording import SYSTEM, event_line, state_name

AuditRow = tuple[datetime, str, str]
"""(when, actor id, audit action) of one of the request's audit entries."""

OPENED = "request.record_opened"
REFUSED = "request.record_refused"
NOT_ALLOWED = (
    "Sorry, you cannot open this case file. It is open to the requester, the SPOCs on the "
    "rota and information-governance officers. If you need it, ask your information "
    "governance lead."
)
SENT = "I have sent you the case file in a direct message. Opening it is recorded in the audit log."


@dataclass(frozen=True)
class Entry:
    """One labelled line of a section."""

    label: str
    value: str


@dataclass(frozen=True)
class Section:
    """A part of the case file: the request, the answers, the decision…"""

    title: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Moment:
    """One line of the timeline."""

    at: datetime
    what: str


@dataclass(frozen=True)
class CaseFile:
    """The whole record of one request, in plain words."""

    ref: str
    title: str
    sections: tuple[Section, ...]
    timeline: tuple[Moment, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-able: sections as lists of {label, value}, the timeline with ISO times."""
        return {
            "ref": self.ref,
            "title": self.title,
            "sections": [
                {
                    "title": s.title,
                    "entries": [{"label": e.label, "value": e.value} for e in s.entries],
                }
                for s in self.sections
            ],
            "timeline": [{"at": m.at.isoformat(), "what": m.what} for m in self.timeline],
        }


def may_open(officer: Officer | None, request: Request, directory: Directory, today: date) -> bool:
    """The requester, a valid SPOC on the rota, or a valid IG officer."""
    if officer is None:
        return False
    if officer.id == request.requester:
        return True
    spoc = officer.id in directory.spoc.rota and officer.has_role("spoc")
    return (spoc or officer.has_role("ig")) and officer.is_valid_on(today)


def open_record(
    request: Request,
    officer: Officer | None,
    audit: Sequence[AuditRow],
    ctx: LifecycleContext,
    *,
    in_channel: bool,
) -> tuple[list[Message], list[Effect]]:
    """(replies, effects) for a ``record:open`` click: the case file privately, or a kind
    refusal; audited either way."""
    today = ctx.now.astimezone(ctx.calendar.zone).date()
    if not may_open(officer, request, ctx.directory, today):
        who_asked = {"by": officer.id} if officer else {"reason": "not_in_directory"}
        return [Text(NOT_ALLOWED)], [Audit(REFUSED, request.ref, who_asked)]
    assert officer is not None
    zone = ctx.calendar.zone
    card = as_card(build(request, ctx.directory, ctx.policy, zone, audit), zone)
    opened = Audit(OPENED, request.ref, {"by": officer.id})
    if in_channel:
        return [Text(SENT)], [Send(ToOfficer(officer.id), card), opened]
    return [card], [opened]


# --- building ----------------------------------------------------------------------------------


def build(
    request: Request,
    directory: Directory,
    policy: Policy,
    zone: ZoneInfo,
    audit: Sequence[AuditRow] = (),
) -> CaseFile:
    """The case file of ``request`` (``audit``: its entries, oldest first). A request whose
    personal data was destroyed under the retention rules says so instead of its contents."""
    notice = retention.destruction_notice(request, zone)
    sections: tuple[Section, ...] = (_about(request, directory, zone),)
    if notice is not None:
        sections += (Section("Personal data", (Entry("Destroyed", notice),)),)
    else:
        sections += (
            Section("What was asked", _answers(request, policy)),
            Section("The decision", _decision(request, directory, policy, zone)),
            Section("Questions and answers", _exchanges(request, directory, zone)),
            Section("The written form", _written_form(request, zone)),
        )
        if request.versions:
            lines = corrections.version_lines(request, policy)
            sections += (Section("Corrections", tuple(Entry(k, v) for k, v in lines)),)
    return CaseFile(
        ref=request.ref,
        title=f"Case file {request.ref}",
        sections=sections,
        timeline=_timeline(request, directory, audit),
    )


def _at(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %Y %H:%M") if moment else "-"


def _about(request: Request, directory: Directory, zone: ZoneInfo) -> Section:
    org = directory.organisation(request.org)
    return Section(
        "The request",
        (
            Entry("Reference", request.ref),
            Entry("Where it stands", state_name(request.state, request.outcome)),
            Entry("Requested by", who(directory, request.requester)),
            Entry("Organisation", org.name if org else request.org),
            Entry("Form", "PDP referral" if request.form == "pdp" else "Form MH1"),
            Entry("Made at", _at(request.created_at, zone)),
            Entry("Response due", _at(request.response_due_at, zone)),
        ),
    )


def _answers(request: Request, policy: Policy) -> tuple[Entry, ...]:
    spec = forms.conversation_fields(policy)
    shown = forms.summary_lines(request.answers, spec)
    return tuple(Entry(label, value) for label, value in shown) or (
        Entry("Answers", "(none recorded)"),
    )


def _decision(
    request: Request, directory: Directory, policy: Policy, zone: ZoneInfo
) -> tuple[Entry, ...]:
    if request.outcome is None:
        return (Entry("Decision", "Not decided"),)
    entries = [
        Entry("Decision", request.outcome.capitalize()),
        Entry("Decided by", who(directory, request.decided_by)),
        Entry("Decided at", _at(request.decided_at, zone)),
    ]
    if request.decision is None:  # recorded before the structured decision: the note alone
        return (*entries, Entry("Note", request.decision_note or "-"))
    every = tuple(Choice(c.key, c.label) for c in forms.INFO_REQUIRED)
    lines = decision.lines(request.decision, every, policy.decision)
    return (*entries, *(Entry(line.label, line.value) for line in lines))


def _exchanges(request: Request, directory: Directory, zone: ZoneInfo) -> tuple[Entry, ...]:
    entries: list[Entry] = []
    for n, exchange in enumerate(request.info, start=1):
        asker = who(directory, exchange.asked_by)
        entries.append(Entry(f"Question {n} ({asker}, {_at(exchange.asked_at, zone)})",
                             exchange.question))  # fmt: skip
        answered = _at(exchange.answered_at, zone)
        entries.append(Entry(f"Answer {n} ({answered})", exchange.answer or "Not answered"))
    return tuple(entries) or (Entry("Questions", "None asked"),)


def _written_form(request: Request, zone: ZoneInfo) -> tuple[Entry, ...]:
    if request.retro is None:
        due = f"Due {_at(request.retro_due_at, zone)}" if request.retro_due_at else "Not due"
        return (Entry("Written form", f"Not received. {due}"),)
    spec = forms.retro_spec(request.form)
    received = Entry("Received", _at(request.retro_submitted_at, zone))
    return (received, *(Entry(f.label, f.display(request.retro.get(f.key))) for f in spec))


# --- the timeline ------------------------------------------------------------------------------


def _timeline(
    request: Request, directory: Directory, audit: Sequence[AuditRow]
) -> tuple[Moment, ...]:
    """The audit entries in chain order, plus what the request's own times say that the audit
    does not (a record from before an event was audited); events at the same moment keep the
    chain's order."""
    moments = [
        Moment(at, event_line(action, _name(directory, actor))) for at, actor, action in audit
    ]
    audited = {action for _, _, action in audit}
    moments += [
        Moment(at, event_line(action, _name(directory, actor)))
        for at, action, actor in _from_times(request)
        if action not in audited
    ]
    return tuple(sorted(moments, key=lambda m: m.at))


def _name(directory: Directory, actor: str | None) -> str:
    return SYSTEM if actor in (None, SYSTEM) else who(directory, actor)


def _from_times(request: Request) -> list[tuple[datetime, str, str | None]]:
    """(when, audit action, who) for each event the request's own fields record."""
    found: list[tuple[datetime | None, str, str | None]] = [
        (request.created_at, "request.submitted", request.requester),
        (request.acknowledged_at, "request.acknowledged", request.acknowledged_by),
        (request.withdrawn_at, "request.withdrawn", request.requester),
        (request.retro_submitted_at, "request.retro_submitted", request.requester),
        (request.closed_at, "request.closed", None),
    ]
    for exchange in request.info:
        found.append((exchange.asked_at, "request.info_requested", exchange.asked_by))
        found.append((exchange.answered_at, "request.info_answered", request.requester))
    if request.outcome is not None:
        found.append((request.decided_at, f"request.{request.outcome}", request.decided_by))
    return [(at, action, actor) for at, action, actor in found if at is not None]


# --- shown as a card ---------------------------------------------------------------------------


def as_card(casefile: CaseFile, zone: ZoneInfo) -> Card:
    """The case file as one private card: a field per section, the timeline last."""
    fields = [
        field
        for s in casefile.sections
        for field in _fields(s.title, [f"{e.label}: {e.value}" for e in s.entries])
    ]
    fields += _fields("Timeline", [f"{_at(m.at, zone)}  {m.what}" for m in casefile.timeline])
    return Card(
        card_id=f"record:{casefile.ref}",
        title=f"{casefile.title} (confidential)",
        fields=tuple(fields),
        notification=f"Case file {casefile.ref}",
    )


_FIELD_CHARS = 2500
"""A card field's text stays under this, so no platform clips it (Slack: 3,000 a section)."""


def _fields(title: str, lines: Sequence[str]) -> list[CardField]:
    """One field for a section, or several when it is long ("… (continued)")."""
    chunks: list[list[str]] = [[]]
    for line in lines:
        if chunks[-1] and sum(len(x) + 1 for x in chunks[-1]) + len(line) > _FIELD_CHARS:
            chunks.append([])
        chunks[-1].append(line)
    return [
        CardField(title if n == 0 else f"{title} (continued)", "\n".join(chunk) or "-")
        for n, chunk in enumerate(chunks)
    ]


def as_text(casefile: CaseFile, zone: ZoneInfo) -> str:
    """The case file as plain text (``oohbot requests show``)."""
    out = [casefile.title, "=" * len(casefile.title)]
    for section in casefile.sections:
        out += ["", section.title, "-" * len(section.title)]
        out += [f"{e.label}: {e.value}" for e in section.entries]
    out += ["", "Timeline", "--------"]
    out += [f"{_at(m.at, zone)}  {m.what}" for m in casefile.timeline]
    return "\n".join(out) + "\n"


__all__ = [
    "NOT_ALLOWED",
    "OPENED",
    "REFUSED",
    "AuditRow",
    "CaseFile",
    "Entry",
    "Moment",
    "Section",
    "as_card",
    "as_text",
    "build",
    "may_open",
    "open_record",
    "record_button",
]
