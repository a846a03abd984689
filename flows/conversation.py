"""The requester's conversation: triage, verification, the questions, review, submit.

One ``transitions`` machine is built from a declarative definition when the flow is created and
shared by every conversation: each step restores the state from the ``Session``, attaches a
throw-away model, fires one trigger and detaches it (``queued=False``, so a failed condition
really returns False). There is one ``collecting`` state; the question being asked is the
session's ``asking`` (a field key of the form spec, ``flows.forms``). The field order already
says which question comes next (the first applicable unanswered one), which one ``back``
returns to and where ``edit`` goes, so the machine only holds the phases, and its transitions'
conditions and callbacks read and set ``asking``.

States: ``triage`` (the emergency question; the caller is verified against the directory on
leaving it), ``verifying`` (one-time code, only for officers with a secret), ``collecting``,
``reviewing``; ends ``submitted``, ``cancelled``, ``expired``, ``refused``, ``emergency`` and
``redirected`` (in office hours and it could wait, or a child-protection concern where the
policy routes those elsewhere). ``Session.state`` names the position as before
(``collecting:<field>``), which is what audits, history and stored sessions of earlier versions
speak.

Inputs: typed text (an answer or a command: ``help``, ``back``, ``edit <n|key|label>``,
``keep``, ``cancel``, ``status``, ``start``/``new``), a button (``answer:<field>:<option>``,
value the option; ``edit:<field>`` from the review card, value the field key) or a checkbox
form (``action`` ``answer:<field>``, ``form`` ``{field: [options]}``). An answer for a field
other than the current one is ignored and the current question repeated.

Right first time: each question of the request says where the person is ("Question 5 of 17",
``flows.progress``); a wrong answer re-asks the question with the reason as its ``error``; a
near miss for an option is offered back ("Did you mean …?", ``flows.suggestion``). The review
summary is delivered to the requester (a ``Send`` to their officer id) rather than replied, so
that after a change the one summary is updated in place (same card id) instead of posted again;
sending, cancelling or expiring the draft closes it.

Audit effects carry states, codes and field keys only, never answer values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field, model_validator
from transitions import Machine

from flows import clocks, suggestion
from flows.calendar import BusinessCalendar
from flows.directory import Directory
from flows.effects import Audit, Effect, Send
from flows.forms import (
    FieldSpec,
    FormContext,
    conversation_fields,
    resolve,
    summary_fields,
)
from flows.ids import ANSWER
from flows.inbound import Inbound
from flows.messages import (
    Action,
    Card,
    CardField,
    Choice,
    Message,
    Question,
    Text,
    ToOfficer,
    ToSpocChannel,
    card_status_only,
)
from flows.policy import Policy
from flows.progress import position, progress_text
from flows.reference import MASTER_REF
from flows.validators import InvalidAnswer
from flows.verification import Refused, check_code, verify_caller

TRIAGE, VERIFYING, COLLECTING, REVIEWING = "triage", "verifying", "collecting", "reviewing"
PHASES = (TRIAGE, VERIFYING, COLLECTING, REVIEWING)
PHASE_FIELDS = {TRIAGE: "emergency", VERIFYING: "verify.code", REVIEWING: "review"}
ENDS = ("submitted", "cancelled", "expired", "refused", "emergency", "redirected")
NOT_BACK = frozenset({"emergency", "verify.code"})
LOCKOUT = timedelta(minutes=30)
VERIFIED = "verified"
COMMANDS = (
    "Type help for help with this question, back to go to the previous question, status to "
    "see where you are, edit and a number to change an answer, or cancel to stop."
)
GREETING = (
    "Hello. I take urgent out-of-hours requests for information from the police single point "
    "of contact. I will ask one question at a time. " + COMMANDS
)
RULE_TEXT = {
    "office_hours": "in office hours",
    "totp": "has a one-time-code secret",
    "several_orgs": "acts for several organisations",
    "child_protection": "the protocol redirects child-protection concerns",
}


def phase_of(key: str) -> str:
    """The machine state in which ``key`` is asked."""
    return {field: phase for phase, field in PHASE_FIELDS.items()}.get(key, COLLECTING)


def state_of(key: str) -> str:
    """The position in which ``key`` is asked: ``triage``, ``collecting:<key>`` …"""
    phase = phase_of(key)
    return f"{COLLECTING}:{key}" if phase == COLLECTING else phase


def field_of(state: str) -> str:
    """The field asked at a position ("" for an end)."""
    if state.startswith(f"{COLLECTING}:"):
        return state.removeprefix(f"{COLLECTING}:")
    return PHASE_FIELDS.get(state, "")


class Session(BaseModel):
    """One person's conversation, stored (encrypted) between messages. JSON-able.

    ``phase`` is the machine's state and ``asking`` the field key asked in it; ``state`` (also
    stored, read-only) is the two as one position, ``collecting:<field>``. A session stored
    before ``phase`` existed has only ``state``, and is read from it."""

    phase: str = TRIAGE
    asking: str = PHASE_FIELDS[TRIAGE]
    session_id: str = ""
    officer_id: str | None = None
    acts_for: list[str] = Field(default_factory=list)
    answers: dict[str, Any] = Field(default_factory=dict)
    history: list[str] = Field(default_factory=list)
    code_attempts: int = 0
    locked_until: datetime | None = None
    return_to_review: bool = False
    in_office_hours: bool = False
    started_at: datetime
    updated_at: datetime
    idle_warned: bool = False
    suggestion: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_position(cls, data: Any) -> Any:
        if isinstance(data, dict) and "state" in data:
            data = dict(data)
            state = str(data.pop("state"))
            if "phase" not in data:  # stored before the one collecting state
                data["phase"] = COLLECTING if state.startswith(f"{COLLECTING}:") else state
                data["asking"] = field_of(state)
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state(self) -> str:
        """Where the conversation is: ``triage``, ``collecting:<field>``, ``reviewing``, an end."""
        return f"{COLLECTING}:{self.asking}" if self.phase == COLLECTING else self.phase

    def move_to(self, phase: str, asking: str = "") -> None:
        """Put the conversation at ``phase``, asking ``asking`` (or the phase's own field)."""
        self.phase = phase
        self.asking = asking if phase == COLLECTING else PHASE_FIELDS.get(phase, "")


@dataclass(frozen=True)
class ConversationContext:
    """Everything a step needs from outside: the time, the directory, who is talking."""

    now: datetime
    directory: Directory
    policy: Policy
    in_office_hours: bool
    platform: str
    user_id: str
    tenant: str
    calendar: BusinessCalendar | None = None
    """The service's calendar: once the caller is known, office hours are their
    organisation's (``flows.clocks``)."""
    references: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """The reference just typed as a master reference, if a request has it: its organisation
    and the one it was made for (looked up by the engine, ``bot.master_refs``)."""


@dataclass(frozen=True)
class Submission:
    """A reviewed request, ready for the engine to give a reference and page the SPOC."""

    officer_id: str
    org: str
    on_behalf_of: str
    form: Literal["mh1", "pdp"]
    answers: dict[str, Any]


@dataclass(frozen=True)
class Step:
    """The result of one input: the new session, replies to the person, effects, a submission."""

    session: Session
    replies: list[Message]
    effects: list[Effect] = field(default_factory=list)
    submission: Submission | None = None


class _Model:
    """What the shared machine drives: one model, pointed at each step's session in turn
    (steps are synchronous, so they never overlap)."""

    state: str
    asking: str
    session: Session
    context: FormContext
    spec: tuple[FieldSpec, ...]

    def point(self, session: Session, context: FormContext, spec: tuple[FieldSpec, ...]) -> None:
        self.state, self.asking = session.phase, session.asking
        self.session, self.context, self.spec = session, context, spec

    def release(self) -> None:
        """Between steps the model holds no session (nor anyone's answers)."""
        for name in ("session", "context", "spec"):
            self.__dict__.pop(name, None)


Predicate = Callable[[Any], bool]


def _next_key(spec: Sequence[FieldSpec], answers: dict[str, Any], context: FormContext) -> str:
    """The first applicable unanswered question, or ``review`` when all are answered."""
    for spec_field in spec:
        missing = spec_field.key not in answers and spec_field.key != "review"
        if missing and spec_field.applies(answers, context):
            return spec_field.key
    return "review"


def _previous_key(
    spec: Sequence[FieldSpec], current: str, answers: dict[str, Any], context: FormContext
) -> str | None:
    """The applicable question before ``current`` that ``back`` returns to."""
    keys = [f.key for f in spec]
    earlier = spec[: keys.index(current)] if current in keys else []
    for spec_field in reversed(earlier):
        if spec_field.key in NOT_BACK:
            return None
        if spec_field.applies(answers, context):
            return spec_field.key
    return None


def _next_is(phase: str) -> Predicate:
    def check(event: Any) -> bool:
        model: _Model = event.model
        return phase_of(_next_key(model.spec, model.session.answers, model.context)) == phase

    check.__doc__ = {
        VERIFYING: "has a one-time-code secret",
        COLLECTING: "a question left",
        REVIEWING: "all answered",
    }[phase]
    return check


def _can_go_back(event: Any) -> bool:
    """an earlier question"""
    model: _Model = event.model
    return _previous_key(model.spec, model.asking, model.session.answers, model.context) is not None


def _editable(event: Any) -> bool:
    """a field of the summary"""
    model: _Model = event.model
    return any(f.key == event.kwargs.get("field") and f.in_summary for f in model.spec)


def _redirects(event: Any) -> bool:
    """in office hours, or a child-protection concern"""
    model: _Model = event.model
    return model.asking in REDIRECTING


def _ask_next(event: Any) -> None:
    model: _Model = event.model
    model.asking = _next_key(model.spec, model.session.answers, model.context)


def _ask_previous(event: Any) -> None:
    model: _Model = event.model
    model.asking = (
        _previous_key(model.spec, model.asking, model.session.answers, model.context) or ""
    )


def _ask_target(event: Any) -> None:
    event.model.asking = str(event.kwargs.get("field", ""))


REDIRECTING = ("urgent_in_hours", "child_protection")
RESOLVED_KEPT = 256
_UPDATE_NOTE = (
    "This request will be an update of an earlier one. I will ask for its master reference"
)


def _definition() -> tuple[list[str], list[dict[str, Any]]]:
    """States and transitions: the phases, not the questions (the field order moves between
    those, through ``asking``)."""
    advance = {"trigger": "advance", "after": _ask_next}
    return [*PHASES, *ENDS], [
        {"trigger": "danger", "source": TRIAGE, "dest": "emergency"},
        {"trigger": "refuse", "source": [TRIAGE, VERIFYING, REVIEWING], "dest": "refused"},
        {
            "trigger": "redirect",
            "source": COLLECTING,
            "dest": "redirected",
            "conditions": [_redirects],
        },
        {"trigger": "submit", "source": REVIEWING, "dest": "submitted"},
        {"trigger": "cancel", "source": list(PHASES), "dest": "cancelled"},
        {"trigger": "expire", "source": list(PHASES), "dest": "expired"},
        {"trigger": "restart", "source": list(ENDS), "dest": TRIAGE},
        {**advance, "source": TRIAGE, "dest": VERIFYING, "conditions": [_next_is(VERIFYING)]},
        {
            **advance,
            "source": [TRIAGE, VERIFYING, COLLECTING],
            "dest": COLLECTING,
            "conditions": [_next_is(COLLECTING)],
        },
        {**advance, "source": COLLECTING, "dest": REVIEWING, "conditions": [_next_is(REVIEWING)]},
        {
            "trigger": "back",
            "source": [COLLECTING, REVIEWING],
            "dest": COLLECTING,
            "conditions": [_can_go_back],
            "after": _ask_previous,
        },
        {
            "trigger": "edit",
            "source": [COLLECTING, REVIEWING],
            "dest": COLLECTING,
            "conditions": [_editable],
            "after": _ask_target,
        },
    ]


class ConversationFlow:
    """The requester conversation as a pure function of (session, input, context)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.spec = conversation_fields(policy)
        states, moves = _definition()
        self.states = states
        self.moves = moves
        self._model = _Model()
        self._resolved: dict[FormContext, tuple[FieldSpec, ...]] = {}
        self._last_context: tuple[ConversationContext, tuple[object, ...], FormContext] | None
        self._last_context = None
        self.machine = Machine(
            model=self._model,
            states=states,
            transitions=moves,
            initial=TRIAGE,
            auto_transitions=False,
            queued=False,
            send_event=True,
            ignore_invalid_triggers=True,
        )

    # --- public API ------------------------------------------------------------------------

    def begin(self, ctx: ConversationContext, first: str = "") -> Step:
        """A new conversation: greeting and the first (triage) question. ``first``: what the
        person typed to start it (``update`` starts an update of an earlier request)."""
        session = Session(
            session_id=_session_id(ctx),
            in_office_hours=ctx.in_office_hours,
            started_at=ctx.now,
            updated_at=ctx.now,
            history=[TRIAGE],
        )
        audit = Audit("conversation.started", details={"state": TRIAGE})
        replies: list[Message] = [Text(GREETING)]
        if first.strip().lower() == "update":
            session.answers["update"] = "yes"
            replies.append(Text(_UPDATE_NOTE + " after the first questions."))
        return Step(session, [*replies, self._question(session, ctx, "emergency")], [audit])

    def step(self, session: Session, inbound: Inbound, ctx: ConversationContext) -> Step:
        """Process one input from the person."""
        current = session.model_copy(deep=True)
        current.updated_at, current.idle_warned = ctx.now, False
        if self.is_finished(current):
            return self._after_end(current, inbound, ctx)
        if inbound.kind == "text":
            return self._text(current, inbound.text, ctx)
        return self._click(current, inbound, ctx)

    def warn_idle(self, session: Session, ctx: ConversationContext) -> Step:
        """Tell the person their draft will be discarded soon if they do not reply."""
        current = session.model_copy(update={"idle_warned": True})
        text = Text(
            "Are you still there? I will discard this draft request in a few minutes if I do "
            "not hear from you. Reply to carry on."
        )
        return Step(current, [text])

    def expire(self, session: Session, ctx: ConversationContext) -> Step:
        """End an idle conversation: nothing is sent and the answers are discarded."""
        if self.is_finished(session):
            return Step(session, [])
        current = session.model_copy(deep=True)
        before = current.state
        closed = self._review_closed(current, ctx, "Closed: no reply for a while, nothing sent.")
        self._fire(current, ctx, "expire")
        text = Text(
            "I have closed this draft because there was no reply for a while. Nothing was sent "
            "and your answers have been discarded. Type start to begin again."
        )
        audit = Audit("conversation.expired", details={"from": before})
        step = self._end(current, [text], audit)
        return Step(step.session, step.replies, [*step.effects, *closed])

    def is_finished(self, session: Session) -> bool:
        """Whether the conversation has ended (or its state is no longer known)."""
        if session.phase == COLLECTING:
            return session.asking not in {f.key for f in self.spec}
        return session.phase in ENDS or session.phase not in self.states

    def diagram(self) -> str:
        """Mermaid ``stateDiagram-v2`` text drawn from the machine definition."""
        return _Diagram(self.spec, self.moves).render()

    # --- inputs ----------------------------------------------------------------------------

    def _text(self, session: Session, text: str, ctx: ConversationContext) -> Step:
        word, _, rest = text.strip().partition(" ")
        command = word.lower()
        handler = self._commands().get(command)
        if handler is not None and (command == "edit" or not rest.strip()):
            session.suggestion = {}  # a "Did you mean …?" lasts one reply
            return handler(session, rest.strip(), ctx)
        return self._answer(session, session.asking, text, ctx)

    def _commands(self) -> dict[str, Callable[[Session, str, ConversationContext], Step]]:
        return {
            "help": self._help,
            "?": self._help,
            "back": self._back,
            "cancel": self._cancel,
            "status": self._status,
            "start": self._in_progress,
            "new": self._in_progress,
            "keep": self._keep,
            "edit": self._edit,
            "update": self._update,
        }

    def _click(self, session: Session, inbound: Inbound, ctx: ConversationContext) -> Step:
        parts = inbound.action.split(":")
        current = session.asking
        if parts[0] != ANSWER or len(parts) < 2 or parts[1] != current:
            session.suggestion = {}
        if parts[0] == "edit" and len(parts) == 2:
            return self._edit(session, inbound.value or parts[1], ctx)
        if parts[0] != ANSWER or len(parts) < 2 or parts[1] != current:
            return self._stale(session, ctx)
        if inbound.kind == "form":
            raw: str | list[str] = inbound.form.get(current, [])
            return self._answer(session, current, raw, ctx)
        return self._answer(session, current, inbound.value or ":".join(parts[2:]), ctx)

    def _after_end(self, session: Session, inbound: Inbound, ctx: ConversationContext) -> Step:
        word = inbound.text.strip().lower() if inbound.kind == "text" else ""
        if inbound.kind != "text" or word in ("help", "?", "status", "cancel", "back"):
            text = "That conversation has ended. Type start to begin a new request."
            return Step(session, [Text(text)])
        return self._restart(session, ctx, inbound.text)

    def _restart(self, session: Session, ctx: ConversationContext, first: str = "") -> Step:
        fresh = self.begin(ctx, first)
        restarted = fresh.session.model_copy(
            update={"phase": session.phase, "locked_until": session.locked_until}
        )
        if not self._fire(restarted, ctx, "restart"):
            restarted.move_to(TRIAGE)  # a state from an older version of the spec
        return Step(restarted, fresh.replies, fresh.effects)

    # --- answers ---------------------------------------------------------------------------

    def _answer(
        self, session: Session, key: str, raw: str | list[str], ctx: ConversationContext
    ) -> Step:
        spec_field = self._field(session, ctx, key)
        pending, session.suggestion = session.suggestion, {}
        verdict = suggestion.verdict(pending, key, raw)
        if verdict == "no":
            return self._reprompt(session, ctx, "Then please choose from the options.")
        try:
            value = pending["value"] if verdict else spec_field.parse(raw, ctx.now.date())
        except InvalidAnswer as error:
            if error.suggestion is not None:
                session.suggestion, question = suggestion.offer(spec_field, error.suggestion)
                return Step(session, [self._numbered(session, ctx, question)])
            return self._reprompt(session, ctx, error.message)
        special = {
            "emergency": self._on_emergency,
            "verify.code": self._on_code,
            "urgent_in_hours": self._on_in_hours,
            "child_protection": self._on_child,
            "review": self._on_review,
            MASTER_REF: self._on_master_ref,
        }.get(key)
        if special is not None:
            return special(session, value, ctx)
        session.answers[key] = value
        return self._advance(session, ctx)

    def _on_emergency(self, session: Session, value: Any, ctx: ConversationContext) -> Step:
        if value == "yes":
            self._fire(session, ctx, "danger")
            advice = Text(f"{ctx.policy.emergency_advice} Please do that now.")
            return self._end(session, [advice], Audit("conversation.emergency"))
        session.answers["emergency"] = "no"
        return self._verify(session, ctx)

    def _verify(self, session: Session, ctx: ConversationContext) -> Step:
        result = verify_caller(
            ctx.directory, ctx.platform, ctx.user_id, ctx.tenant, ctx.now.date(), ctx.policy
        )
        if isinstance(result, Refused):
            return self._refuse(session, ctx, result.code, result.message)
        session.officer_id, session.acts_for = result.officer.id, list(result.acts_for)
        if ctx.calendar is not None:
            session.in_office_hours = clocks.in_office_hours(
                ctx.directory, ctx.calendar, result.officer.org, ctx.now
            )
        if session.locked_until is not None and ctx.now < session.locked_until:
            return self._refuse(session, ctx, "locked", self._locked_text(ctx))
        verified = Audit("conversation.verified", details={"officer": result.officer.id})
        return self._advance(session, ctx, effects=[verified])

    def _on_code(self, session: Session, value: Any, ctx: ConversationContext) -> Step:
        officer = ctx.directory.officer(session.officer_id or "")
        secret = officer.totp_secret if officer else None
        if secret and check_code(secret, str(value), ctx.now):
            session.answers["verify.code"], session.code_attempts = VERIFIED, 0
            return self._advance(session, ctx, effects=[Audit("verification.passed")])
        session.code_attempts += 1
        failed = Audit("verification.failed", details={"attempt": session.code_attempts})
        left = ctx.policy.totp_attempts - session.code_attempts
        if left > 0:
            plural = "try" if left == 1 else "tries"
            message = f"That code did not match. You have {left} more {plural}."
            return self._reprompt(session, ctx, message, [failed])
        return self._lock(session, ctx, failed)

    def _lock(self, session: Session, ctx: ConversationContext, failed: Audit) -> Step:
        session.locked_until = ctx.now + LOCKOUT
        notice = Text(
            "An out-of-hours request was stopped after repeated wrong verification codes. "
            "Details are in the audit log; treat any follow-up phone call with care."
        )
        locked = Audit("verification.locked", details={"attempts": session.code_attempts})
        step = self._refuse(session, ctx, "locked", self._locked_text(ctx))
        effects = [failed, locked, Send(ToSpocChannel(), notice), *step.effects]
        return Step(step.session, step.replies, effects)

    def _locked_text(self, ctx: ConversationContext) -> str:
        return (
            "For security I have locked out-of-hours requests from your account for now, after "
            f"too many wrong codes. {ctx.policy.refusal_contact} If someone is in immediate "
            f"danger: {ctx.policy.emergency_advice}"
        )

    def _refuse(self, session: Session, ctx: ConversationContext, code: str, text: str) -> Step:
        self._fire(session, ctx, "refuse")
        return self._end(
            session, [Text(text)], Audit("conversation.refused", details={"code": code})
        )

    def _on_in_hours(self, session: Session, value: Any, ctx: ConversationContext) -> Step:
        if value == "yes" or self.policy.routine_in_hours:  # "no": a routine request (48 h)
            session.answers["urgent_in_hours"] = value
            return self._advance(session, ctx)
        self._fire(session, ctx, "redirect")
        text = Text(f"Thank you. {ctx.policy.in_hours_route} Nothing has been sent.")
        return self._end(session, [text], Audit("conversation.redirected_in_hours"))

    def _on_child(self, session: Session, value: Any, ctx: ConversationContext) -> Step:
        if value == "no":
            session.answers["child_protection"] = "no"
            return self._advance(session, ctx)
        self._fire(session, ctx, "redirect")
        text = Text(f"Thank you. {self.policy.child_protection_advice} Nothing has been sent.")
        return self._end(session, [text], Audit("conversation.redirected_child_protection"))

    def _on_review(self, session: Session, value: Any, ctx: ConversationContext) -> Step:
        if value == "submit":
            return self._submit(session, ctx)
        if value == "cancel":
            return self._cancel(session, "", ctx)
        text = Text(
            "Which answer would you like to change? Type edit and its number, for example "
            "edit 3, or use a Change button."
        )
        return Step(session, [text, self._question(session, ctx, "review")])

    def _submit(self, session: Session, ctx: ConversationContext) -> Step:
        # The directory may have changed since triage (an officer removed mid-conversation).
        check = verify_caller(
            ctx.directory, ctx.platform, ctx.user_id, ctx.tenant, ctx.now.date(), ctx.policy
        )
        if isinstance(check, Refused) or check.officer.id != session.officer_id:
            code = check.code if isinstance(check, Refused) else "identity_changed"
            message = check.message if isinstance(check, Refused) else "Please start again."
            return self._refuse(session, ctx, code, message)
        answers = self._final_answers(session, ctx)
        officer = ctx.directory.officer(session.officer_id or "")
        org = officer.org if officer else (session.acts_for or [""])[0]
        submission = Submission(
            officer_id=session.officer_id or "",
            org=org,
            on_behalf_of=str(answers.get("on_behalf_of") or org),
            form="pdp" if answers.get("form") == "pdp" else "mh1",
            answers=answers,
        )
        closed = self._review_closed(session, ctx, "Sent to the police SPOC.")
        self._fire(session, ctx, "submit")
        audit = Audit("conversation.submitted", details={"fields": sorted(answers)})
        text = Text("Thank you. I am sending your request to the police SPOC now.")
        step = self._end(session, [text], audit)
        return Step(step.session, step.replies, [*step.effects, *closed], submission)

    def _final_answers(self, session: Session, ctx: ConversationContext) -> dict[str, Any]:
        context = self._context(session, ctx)
        return {
            f.key: session.answers[f.key]
            for f in self.spec
            if f.key in session.answers
            and f.key != "verify.code"
            and f.applies(session.answers, context)
        }

    # --- commands --------------------------------------------------------------------------

    def _help(self, session: Session, _: str, ctx: ConversationContext) -> Step:
        spec_field = self._field(session, ctx, session.asking)
        text = Text(f"{spec_field.help}\n\n{COMMANDS}")
        return Step(session, [text, *self._prompt(session, ctx)])

    def _back(self, session: Session, _: str, ctx: ConversationContext) -> Step:
        if not self._fire(session, ctx, "back"):
            note = Text("There is no earlier question to go back to.")
            return Step(session, [note, *self._prompt(session, ctx)])
        session.history.append(session.state)
        return Step(session, self._prompt(session, ctx))

    def _cancel(self, session: Session, _: str, ctx: ConversationContext) -> Step:
        before = session.state
        closed = self._review_closed(session, ctx, "Cancelled: nothing was sent.")
        self._fire(session, ctx, "cancel")
        text = Text(
            "Cancelled. Nothing was sent and your answers have been discarded. Type start if "
            "you need to make a request."
        )
        step = self._end(session, [text], Audit("conversation.cancelled", details={"from": before}))
        return Step(step.session, step.replies, [*step.effects, *closed])

    def _status(self, session: Session, _: str, ctx: ConversationContext) -> Step:
        key = session.asking
        context = self._context(session, ctx)
        left = [
            f
            for f in self.spec
            if f.key not in session.answers
            and f.key != "review"
            and f.applies(session.answers, context)
        ]
        label = self._field(session, ctx, key).label
        where = position(self._spec(session, ctx), session.answers, context, key)
        on = f"question {where[0]} of {where[1]}, '{label}'" if where else f"'{label}'"
        text = Text(
            f"You are on {on}. {len(left)} question(s) left before the review. "
            "Your answers so far are kept."
        )
        return Step(session, [text, *self._prompt(session, ctx)])

    def _in_progress(self, session: Session, _: str, ctx: ConversationContext) -> Step:
        text = Text("You already have a request in progress. Type cancel to discard it first.")
        return Step(session, [text, *self._prompt(session, ctx)])

    def _keep(self, session: Session, _: str, ctx: ConversationContext) -> Step:
        key = session.asking
        if key not in session.answers or key in NOT_BACK:
            return self._reprompt(session, ctx, "There is no earlier answer to keep here.")
        return self._advance(session, ctx)

    def _edit(self, session: Session, target: str, ctx: ConversationContext) -> Step:
        if session.phase in (TRIAGE, VERIFYING):
            return self._reprompt(session, ctx, "Please answer this question first.")
        shown = summary_fields(self._spec(session, ctx), session.answers)
        key = _find_field(shown, target)
        if key is None:
            listing = "; ".join(f"{i}. {f.label}" for i, f in enumerate(shown, start=1))
            message = "Which answer? Type edit and its number" + (
                f": {listing}." if listing else ". You have not answered anything yet."
            )
            return Step(session, [Text(message), *self._prompt(session, ctx)])
        session.return_to_review = session.phase == REVIEWING or session.return_to_review
        self._fire(session, ctx, "edit", field=key)
        session.history.append(session.state)
        return Step(session, self._prompt(session, ctx))

    def _update(self, session: Session, _: str, ctx: ConversationContext) -> Step:
        """``update``: this draft updates an earlier request; its master reference is asked."""
        session.answers["update"] = "yes"
        note = Text(
            _UPDATE_NOTE
            + (" after this question." if session.phase in (TRIAGE, VERIFYING) else ".")
        )
        if session.phase in (TRIAGE, VERIFYING) or MASTER_REF in session.answers:
            return Step(session, [note, *self._prompt(session, ctx)])
        session.return_to_review = session.phase == REVIEWING or session.return_to_review
        self._fire(session, ctx, "edit", field=MASTER_REF)
        session.history.append(session.state)
        return Step(session, [note, *self._prompt(session, ctx)])

    def _on_master_ref(self, session: Session, value: Any, ctx: ConversationContext) -> Step:
        owners = ctx.references.get(str(value), ())
        if not set(owners) & {*session.acts_for}:
            # One answer for "no such request" and "another organisation's": a reference is
            # not a way to find out what others have asked.
            return self._reprompt(
                session,
                ctx,
                f"I cannot find a request {value} made by your organisation. Check the "
                "reference on the confirmation of the earlier request, or type edit update to say "
                "this is not an update. Your other answers are kept.",
            )
        session.answers[MASTER_REF] = str(value)
        return self._advance(session, ctx)

    def _stale(self, session: Session, ctx: ConversationContext) -> Step:
        text = Text("That button belongs to an earlier question, so I have ignored it.")
        return Step(session, [text, *self._prompt(session, ctx)])

    # --- moving ----------------------------------------------------------------------------

    def _advance(
        self, session: Session, ctx: ConversationContext, effects: Sequence[Effect] = ()
    ) -> Step:
        if not self._fire(session, ctx, "advance"):
            raise RuntimeError(f"no next question from {session.state}")
        reviewed_before = REVIEWING in session.history
        session.history.append(session.state)
        if session.phase != REVIEWING:
            return Step(session, self._prompt(session, ctx), list(effects))
        session.return_to_review = False
        card, replies = self._review_card(session, ctx), self._prompt(session, ctx)
        if reviewed_before:
            replies.insert(0, Text("Thank you. I have updated the summary of your answers above."))
        if session.officer_id is None:
            return Step(session, [card, *replies], list(effects))
        # One summary per draft, updated in place (same card id) rather than posted again.
        return Step(session, replies, [*effects, Send(ToOfficer(session.officer_id), card)])

    def _end(self, session: Session, replies: list[Message], audit: Audit) -> Step:
        session.answers, session.return_to_review, session.code_attempts = {}, False, 0
        session.history.append(session.state)
        return Step(session, replies, [audit])

    def _fire(self, session: Session, ctx: ConversationContext, trigger: str, **kw: Any) -> bool:
        """Fire ``trigger`` on the shared machine for this session; True if it moved."""
        model = self._model
        model.point(session, self._context(session, ctx), self._spec(session, ctx))
        self.machine.set_state(session.phase, model)
        try:
            moved = bool(model.trigger(trigger, **kw))  # type: ignore[attr-defined]
        finally:
            model.release()
        session.move_to(model.state, model.asking)
        return moved

    # --- messages --------------------------------------------------------------------------

    def _prompt(self, session: Session, ctx: ConversationContext) -> list[Message]:
        key = session.asking
        if key == "review":
            return [self._question(session, ctx, "review")]  # the summary is already above
        spec_field = self._field(session, ctx, key)
        kept = session.answers.get(key) if key not in NOT_BACK else None
        if key in session.answers and key not in NOT_BACK:
            note = f"Your answer was: {spec_field.display(kept)}. Type keep to keep it."
            return [Text(note), self._question(session, ctx, key)]
        return [self._question(session, ctx, key)]

    def _question(self, session: Session, ctx: ConversationContext, key: str) -> Question:
        return self._numbered(session, ctx, self._field(session, ctx, key).question())

    def _numbered(self, session: Session, ctx: ConversationContext, question: Question) -> Question:
        spec, context = self._spec(session, ctx), self._context(session, ctx)
        return replace(
            question, progress=progress_text(spec, session.answers, context, question.field)
        )

    def _reprompt(
        self,
        session: Session,
        ctx: ConversationContext,
        message: str,
        effects: Sequence[Effect] = (),
    ) -> Step:
        """The question again with what was wrong as its error (shown tied to the question)."""
        *before, question = self._prompt(session, ctx)
        assert isinstance(question, Question)
        return Step(session, [*before, replace(question, error=message)], list(effects))

    def _review_closed(
        self, session: Session, ctx: ConversationContext, status: str
    ) -> list[Effect]:
        """The summary card, updated to say the draft ended (its Change buttons gone)."""
        if REVIEWING not in session.history or session.officer_id is None:
            return []
        card = card_status_only(self._review_card(session, ctx), status)
        return [Send(ToOfficer(session.officer_id), card)]

    def _review_card(self, session: Session, ctx: ConversationContext) -> Card:
        shown = summary_fields(self._spec(session, ctx), session.answers)
        fields = tuple(
            CardField(
                f"{i}. {f.label}",
                f.display(session.answers[f.key]),
                Action(f"edit:{f.key}", "Change", f.key),
            )
            for i, f in enumerate(shown, start=1)
        )
        return Card(
            card_id=f"review:{session.session_id}",
            title="Please check your request",
            fields=fields,
            status="Not sent yet.",
        )

    # --- spec in context -------------------------------------------------------------------

    def _context(self, session: Session, ctx: ConversationContext) -> FormContext:
        """What the questions depend on besides the answers. A step asks for it many times:
        it is made once per step (the last one made is kept with the ``ctx`` it was made
        for, so that object cannot be another step's)."""
        key = (session.officer_id, tuple(session.acts_for), session.in_office_hours)
        last = self._last_context
        if last is not None and last[0] is ctx and last[1] == key:
            return last[2]
        context = self._make_context(session, ctx)
        self._last_context = (ctx, key, context)
        return context

    def _make_context(self, session: Session, ctx: ConversationContext) -> FormContext:
        officer = ctx.directory.officer(session.officer_id or "")
        organisations = tuple(
            Choice(code, org.name if (org := ctx.directory.organisation(code)) else code)
            for code in session.acts_for
        )
        return FormContext(
            in_office_hours=session.in_office_hours,
            ask_in_hours=self.policy.ask_in_hours,
            has_totp=bool(officer and officer.totp_secret),
            organisations=organisations,
            ask_child_protection=bool(self.policy.child_protection_advice),
            forms=clocks.settings_of(ctx.directory, officer.org).forms if officer else (),
        )

    def _spec(self, session: Session, ctx: ConversationContext) -> tuple[FieldSpec, ...]:
        """The questions for this caller (kept per context: there are few of them)."""
        context = self._context(session, ctx)
        spec = self._resolved.get(context)
        if spec is None:
            if len(self._resolved) >= RESOLVED_KEPT:
                self._resolved.clear()
            spec = self._resolved[context] = resolve(self.spec, context)
        return spec

    def _field(self, session: Session, ctx: ConversationContext, key: str) -> FieldSpec:
        return next(f for f in self._spec(session, ctx) if f.key == key)


def _session_id(ctx: ConversationContext) -> str:
    """A stable, non-identifying id for this conversation (used in the review card id)."""
    seed = f"{ctx.platform}:{ctx.tenant}:{ctx.user_id}:{ctx.now.isoformat()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def _find_field(shown: Sequence[FieldSpec], target: str) -> str | None:
    """A field on the review by its number, key or label (case-insensitive)."""
    wanted = target.strip().lower().rstrip(".")
    if wanted.isdecimal() and 1 <= int(wanted) <= len(shown):
        return shown[int(wanted) - 1].key
    return next((f.key for f in shown if wanted in (f.key.lower(), f.label.lower())), None)


class _Diagram:
    """Draws the machine as it is: every transition once, labelled with its trigger and its
    condition's docstring; inside ``collecting``, the questions in the form spec's order (the
    order ``advance`` follows), a conditional one drawn as a branch with its condition."""

    def __init__(self, spec: Sequence[FieldSpec], moves: Sequence[dict[str, Any]]) -> None:
        self.moves = moves
        self.keys = [f.key for f in spec if phase_of(f.key) == COLLECTING]
        self.fields = {f.key: f for f in spec}

    def render(self) -> str:
        lines = ["stateDiagram-v2", f"    [*] --> {TRIAGE}", f"    state {COLLECTING} {{"]
        lines += [f'        state "{state_of(k)}" as {_mid(state_of(k))}' for k in self.keys]
        lines += [f"        {a} --> {b} : {label}" for a, b, label in self._questions()]
        lines += ["    }"]
        lines += [f"    {a} --> {b} : {label}" for a, b, label in self._transitions()]
        lines += [f"    {end} --> [*]" for end in ENDS]
        return "\n".join(lines) + "\n"

    def _transitions(self) -> list[tuple[str, str, str]]:
        edges: list[tuple[str, str, str]] = []
        for move in self.moves:
            sources = move["source"] if isinstance(move["source"], list) else [move["source"]]
            docs = [(c.__doc__ or "").strip() for c in move.get("conditions", [])]
            label = move["trigger"] + "".join(f" [{d}]" for d in docs if d)
            edges += [(source, move["dest"], label) for source in sources]
        return edges

    def _questions(self) -> list[tuple[str, str, str]]:
        """Each question to the ones that can follow it: the next, and past conditional ones.
        A question whose gate (form, condition, rule) was found closed on the way is not
        reachable past it; one whose gates all hold at the source always follows."""
        order = ["[*]", *self.keys, "[*]"]
        edges: list[tuple[str, str, str]] = []
        for i, source in enumerate(order[:-1]):
            held, closed = self._gates(source), set[object]()
            for dest in order[i + 1 :]:
                open_gates = self._gates(dest) - held
                if open_gates & closed:
                    continue
                label = self._label(open_gates)
                edges.append((_mid(state_of(source)) if i else source, self._id(dest), label))
                if dest == "[*]" or not open_gates:
                    break
                if len(open_gates) == 1:
                    closed |= open_gates
        return edges

    def _gates(self, key: str) -> frozenset[object]:
        spec_field = self.fields.get(key)
        return spec_field.gates() if spec_field is not None else frozenset()

    def _id(self, key: str) -> str:
        return key if key == "[*]" else _mid(state_of(key))

    @staticmethod
    def _label(gates: frozenset[object]) -> str:
        words = sorted(_gate_text(g) for g in gates)
        return "advance" + (f" [{', '.join(words)}]" if words else "")


def _gate_text(gate: object) -> str:
    if isinstance(gate, tuple):
        return f"the {str(gate[1]).upper()} form"
    if isinstance(gate, str):
        return RULE_TEXT[gate]
    return (getattr(gate, "__doc__", None) or "if asked").strip()


def _mid(state: str) -> str:
    """A Mermaid-safe id for a state."""
    return state.replace(":", "_").replace(".", "_")
