"""The request lifecycle: one declarative machine, many requests, state restored per call.

``submitted → paged → acknowledged → approved | declined``; a rota SPOC may decide straight from
``paged`` (deciding acknowledges). ``info_requested``: a SPOC asked the requester a question
(asking acknowledges, so the answer returns the request to ``acknowledged``). ``withdrawn``: the
requester withdrew before a decision. After a decision: ``retro_due → retro_overdue →
retro_submitted → closed``.

**The written form after a decline.** The protocol says the *telephone request* "must be backed
up by the submission of a Form MH1 or Potentially Dangerous Person form … within 72 hours"
(S4 App4 §1.5(c); protocol-requirements §3 T1). The form backs up the request, not the
disclosure, and a declined request is still a request that was made and must be auditable
(§6.1: "log the request … if denied, also log the reasons for denying"). So by default the form
is due for every decided request, approved or declined. ``Timers.retrospective_after_decline``
(default ``True``) turns that off locally, in which case a declined request closes at once.
The form's clock runs from the request, decided or not (``flows.clocks``): its reminders and
overdue nudges are scheduled at submission, so an unanswered or withdrawn request still falls
due (``Timers.retrospective_after_withdraw``, default ``True``, turns the withdrawn case off).

The machine (``transitions``) only answers "is this event legal in this state, and where does
it lead"; the functions below set the record's fields and build the effects. One ``Machine``
holds the definition; each call attaches a throw-away model carrying the stored state and
detaches it again (``queued=False``: a failed condition must make ``trigger`` return False).

Timers (``flows.jobs``), all re-checking the current state first so a stale job is a no-op:
``spoc_ack`` pages the next officer on the rota, and after ``spoc_rota_rounds`` rounds alerts the
fallback and the channel and stops; ``response_warning``/``response_breach`` before and at the
2-hour response time (§3 T2); ``retro_reminder`` before the form deadline; ``retro_overdue`` at
it; ``overdue_nudge`` every ``overdue_nudge_every`` while overdue, to the requester and their
manager, and also to every IG officer once ``ig_after_nudges`` nudges have gone unanswered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from transitions import Machine, MachineError

from flows import cards, clocks, decision, escalation, jobs, oncall, reassign
from flows.context import LifecycleContext as LifecycleContext
from flows.directory import Officer
from flows.effects import Audit, CancelJob, Effect, Schedule, Send
from flows.forms import INFO_REQUIRED
from flows.ids import DECISIONS, REQUESTER_ACTIONS, SPOC_ACTIONS, ActionId, FormId
from flows.messages import Choice, Form, FormField, Message, Text, ToOfficer, ToSpocChannel
from flows.request import InfoExchange, Request
from flows.states import DECIDABLE, FINAL, FORM_DUE, OPEN, RequestState
from flows.states import STATES as STATES
from flows.wording import state_name, time_left

_ActionHandler = Callable[[Request, Officer, str, LifecycleContext, str], "Step"]
TRANSITIONS: tuple[dict[str, Any], ...] = (
    {"trigger": "page", "source": "submitted", "dest": "paged"},
    {"trigger": "escalate", "source": "paged", "dest": "paged"},
    {"trigger": "acknowledge", "source": "paged", "dest": "acknowledged"},
    {"trigger": "reassign", "source": ["paged", "acknowledged"], "dest": "paged"},
    {"trigger": "ask", "source": list(DECIDABLE), "dest": "info_requested"},
    {"trigger": "answer", "source": "info_requested", "dest": "acknowledged"},
    {"trigger": "approve", "source": list(DECIDABLE), "dest": "approved"},
    {"trigger": "decline", "source": list(DECIDABLE), "dest": "declined"},
    {"trigger": "withdraw", "source": list(OPEN), "dest": "withdrawn"},
    {"trigger": "warn", "source": list(OPEN), "dest": None},
    {"trigger": "breach", "source": list(OPEN), "dest": None},
    {"trigger": "require_form", "source": "approved", "dest": "retro_due"},
    {
        "trigger": "require_form",
        "source": "declined",
        "dest": "retro_due",
        "conditions": "form_after_decline",
    },
    {
        "trigger": "require_form",
        "source": "declined",
        "dest": "closed",
        "unless": "form_after_decline",
    },
    {"trigger": "remind", "source": "retro_due", "dest": None},
    {"trigger": "overdue", "source": "retro_due", "dest": "retro_overdue"},
    {"trigger": "nudge", "source": "retro_overdue", "dest": "retro_overdue"},
    {"trigger": "submit_form", "source": list(FORM_DUE), "dest": "retro_submitted"},
    # The form's clock runs from the request: undecided (or withdrawn), a request is reminded,
    # falls overdue, is nudged and may receive its form without changing state.
    *(
        {"trigger": trigger, "source": [*OPEN, "withdrawn"], "dest": None}
        for trigger in ("remind", "overdue", "nudge", "submit_form")
    ),
    {"trigger": "close", "source": "retro_submitted", "dest": "closed"},
)


@dataclass(frozen=True)
class Step:
    """The outcome of one call: the (possibly) new record, replies to the caller, effects.
    ``changed`` says whether the record must be saved (compare-and-set) before the effects."""

    request: Request
    replies: list[Message] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    changed: bool = False


# --- the machine -----------------------------------------------------------------------------


class _Model:
    """A throw-away model: the stored state plus the flags conditions read."""

    def __init__(self, state: str, form_after_decline: bool) -> None:
        self.state = state
        self._form_after_decline = form_after_decline

    def form_after_decline(self) -> bool:
        return self._form_after_decline


class _Lifecycle:
    """A thin typed wrapper round one ``transitions.Machine`` (the library is untyped)."""

    def __init__(self) -> None:
        self._machine = Machine(
            model=None,
            states=list(STATES),
            transitions=[dict(t) for t in TRANSITIONS],
            initial=RequestState.SUBMITTED.value,
            auto_transitions=False,
            queued=False,
        )

    def fire(self, state: str, trigger: str, form_after_decline: bool = True) -> str | None:
        """The state after ``trigger`` from ``state``; None when it is not allowed there."""
        model = _Model(state, form_after_decline)
        self._machine.add_model(model, initial=state)
        try:
            moved = bool(getattr(model, trigger)())
        except MachineError:
            moved = False
        finally:
            self._machine.remove_model(model)
        return model.state if moved else None

    def allows(self, state: str, trigger: str) -> bool:
        return any(t["trigger"] == trigger and state in _sources(t) for t in TRANSITIONS)


def _sources(transition: Mapping[str, Any]) -> list[str]:
    source = transition["source"]
    return [source] if isinstance(source, str) else list(source)


def mermaid() -> str:
    """A Mermaid ``stateDiagram-v2`` of ``TRANSITIONS``; internal events become notes."""
    lines = ["stateDiagram-v2", "    [*] --> submitted"]
    internal: dict[str, list[str]] = {}
    for t in TRANSITIONS:
        guard = t.get("conditions") or (f"not {t['unless']}" if t.get("unless") else "")
        label = f"{t['trigger']} [{guard}]" if guard else t["trigger"]
        for source in _sources(t):
            if t["dest"] is None:
                internal.setdefault(source, []).append(label)
            else:
                lines.append(f"    {source} --> {t['dest']}: {label}")
    lines += [f"    {state} --> [*]" for state in FINAL]
    lines += [f"    note right of {s}: {', '.join(events)}" for s, events in internal.items()]
    return "\n".join(lines)


# --- the flow --------------------------------------------------------------------------------


class RequestFlow:
    """The request lifecycle as pure functions of (request, input, context) → Step."""

    def __init__(self) -> None:
        self._machine = _Lifecycle()

    def _move(self, request: Request, trigger: str, **update: Any) -> Request:
        """A copy of ``request`` moved by ``trigger`` (already checked to be legal)."""
        state = self._machine.fire(request.state, trigger)
        if state is None:
            raise ValueError(f"{trigger!r} is not allowed in state {request.state!r}")
        return request.model_copy(update={**update, "state": state})

    def diagram(self) -> str:
        """Mermaid text of the machine, generated from the same definition it runs."""
        return mermaid()

    # --- submission and paging ---------------------------------------------------------------

    def submit(self, request: Request, ctx: LifecycleContext) -> Step:
        """A new request: set the response time, page the first officer, start the clocks."""
        if not self._machine.allows(request.state, "page"):
            return Step(request)
        ctx = clocks.for_org(ctx, request.org)
        due = clocks.response_due(request, ctx.timers, ctx.calendar)
        form_due = clocks.retro_due(request, ctx.timers, ctx.calendar)
        new = self._move(request, "page", response_due_at=due, retro_due_at=form_due)
        new, effects = _page(new, ctx)
        effects = [
            Audit("request.submitted", new.ref, {"state": "paged", "form": new.form}),
            *effects,
            *_response_jobs(new, ctx),
            *_retro_jobs(new, ctx),  # the form's clock runs from the request (S4 App4 §1.5c)
        ]
        at = cards.hhmm(due, ctx.calendar.zone)
        if due - ctx.now >= timedelta(hours=24):
            at = cards.when(due, ctx.calendar.zone)
        reply = Text(
            f"Request {new.ref} has gone to the police SPOC. A response is due by "
            f"{at} ({time_left(due, ctx.now)}). I will message "
            "you here; type status to see "
            "your requests or to withdraw this one. If anyone is in immediate danger, call the "
            "police control room on 999."
        )
        return Step(new, [reply], effects, changed=True)

    # --- actions by people -------------------------------------------------------------------

    def act(
        self,
        request: Request,
        actor: Officer,
        action: str,
        ctx: LifecycleContext,
        note: str = "",
    ) -> Step:
        """A person's action on a request (see ``SPOC_ACTIONS`` and ``REQUESTER_ACTIONS``)."""
        ctx = clocks.for_org(ctx, request.org)
        refusal = self._refusal(request, actor, action, ctx)
        if refusal is not None:
            return refusal
        handlers: dict[str, _ActionHandler] = {
            ActionId.SPOC_ACK: self._acknowledge,
            ActionId.SPOC_DETAILS: self._details,
            ActionId.SPOC_APPROVE: self._decide_note,
            ActionId.SPOC_DECLINE: self._decide_note,
            ActionId.SPOC_ASK: self._ask,
            ActionId.WITHDRAW: self._withdraw,
            ActionId.ANSWER: self._answer,
        }
        return handlers[action](request, actor, action, ctx, note.strip())

    def decision_form(
        self, request: Request, actor: Officer, action: str, ctx: LifecycleContext
    ) -> Step:
        """The note form for an approve/decline/ask click (or a refusal)."""
        ctx = clocks.for_org(ctx, request.org)
        refusal = self._refusal(request, actor, action, ctx)
        if refusal is not None:
            return refusal
        return Step(request, [_decision_form(request, DECISIONS[action], ctx)])

    def decide(
        self,
        request: Request,
        actor: Officer,
        action: str,
        values: Mapping[str, str | list[str]],
        ctx: LifecycleContext,
    ) -> Step:
        """An approve or decline form sent back: validated item by item (``flows.decision``);
        with errors the form comes back with what was typed, otherwise the decision is made."""
        ctx = clocks.for_org(ctx, request.org)
        refusal = self._refusal(request, actor, action, ctx)
        if refusal is not None:
            return refusal
        return self._decide(request, actor, action, ctx, values)

    def reassign_form(self, request: Request, actor: Officer, ctx: LifecycleContext) -> Step:
        """The hand-over form for a ``spoc:reassign`` click (or a refusal)."""
        refusal = self._reassign_refusal(request, actor, ctx)
        if refusal is not None:
            return refusal
        return Step(request, [reassign.form(request, actor, ctx)])

    def reassign(self, request: Request, actor: Officer, to: str, ctx: LifecycleContext) -> Step:
        """Hand the request to rota colleague ``to``, who is paged (``flows.reassign``)."""
        ctx = clocks.for_org(ctx, request.org)
        refusal = self._reassign_refusal(request, actor, ctx)
        if refusal is not None:
            return refusal
        if to not in reassign.colleagues(actor, ctx):
            audit = Audit("request.reassign_refused", request.ref, {"by": actor.id, "to": to})
            error = reassign.form(request, actor, ctx, reassign.NOT_ON_ROTA)
            return Step(request, [error], [audit])
        moved = self._move(request, "reassign")
        new, effects, reply = reassign.handed_over(request, moved, actor, to, ctx)
        return Step(new, [reply], effects, changed=True)

    def _reassign_refusal(
        self, request: Request, actor: Officer, ctx: LifecycleContext
    ) -> Step | None:
        refusal = _spoc_refusal(request, actor, ActionId.SPOC_REASSIGN, ctx)
        if refusal is not None or self._machine.allows(request.state, "reassign"):
            return refusal
        return Step(request, [Text(_why_not(request, "reassign", ctx))])

    def retro_form(self, request: Request, actor: Officer, ctx: LifecycleContext) -> Step:
        """The retrospective form, pre-filled from the request, for the requester only."""
        ctx = clocks.for_org(ctx, request.org)
        refusal = self._retro_refusal(request, actor, ctx)
        if refusal is not None:
            return refusal
        from flows.forms import retro_fields

        return Step(
            request,
            [
                _retro(
                    request,
                    retro_fields(
                        request.form, request.answers, cards.who(ctx.directory, request.requester)
                    ),
                )
            ],
        )

    def submit_retro(
        self,
        request: Request,
        actor: Officer,
        values: Mapping[str, str | list[str]],
        ctx: LifecycleContext,
    ) -> Step:
        """Validate the written form; on success close the request and stop every reminder
        (before a decision, or after a withdrawal, the form is recorded and the reminders stop)."""
        ctx = clocks.for_org(ctx, request.org)
        refusal = self._retro_refusal(request, actor, ctx)
        if refusal is not None:
            return refusal
        from flows.forms import retro_fields, validate_retro

        today = ctx.now.astimezone(ctx.calendar.zone).date()
        clean, errors = validate_retro(request.form, values, today)
        if errors:
            fields = retro_fields(
                request.form, request.answers, cards.who(ctx.directory, request.requester)
            )
            return Step(request, [_retro(request, _with_errors(fields, values, errors))])
        submitted = self._move(
            request, "submit_form", retro=dict(clean), retro_submitted_at=ctx.now
        )
        if submitted.state != RequestState.RETRO_SUBMITTED:  # before a decision, or withdrawn
            return _form_before_decision(submitted, ctx)
        return _close(self._move(submitted, "close", closed_at=ctx.now), ctx)

    # --- timers ------------------------------------------------------------------------------

    def on_timer(
        self, request: Request, kind: str, payload: Mapping[str, Any], ctx: LifecycleContext
    ) -> Step:
        """A due job. A job whose purpose is gone is a no-op (no change, no effects)."""
        ctx = clocks.for_org(ctx, request.org)
        handler = {
            jobs.SPOC_ACK: self._ack_timeout,
            jobs.RESPONSE_WARNING: self._response_warning,
            jobs.RESPONSE_BREACH: self._response_breach,
            jobs.RETRO_REMINDER: self._reminder,
            jobs.RETRO_OVERDUE: self._overdue,
            jobs.OVERDUE_NUDGE: self._nudge,
        }.get(kind)
        if handler is None:
            return Step(request)
        return handler(request, payload, ctx)

    def digest(self, requests: Sequence[Request], ctx: LifecycleContext) -> list[Effect]:
        """The daily IG digest: one card per valid IG officer, references and counts only."""
        today = ctx.now.astimezone(ctx.calendar.zone).date()
        effects: list[Effect] = [
            Send(ToOfficer(o.id), cards.digest_card(requests, o.id, ctx))
            for o in ctx.directory.with_role("ig")
            if o.is_valid_on(today)
        ]
        counts = {s: sum(r.state == s for r in requests) for s in (*OPEN, *FORM_DUE)}
        effects.append(Audit("digest.sent", "", {"recipients": len(effects), **counts}))
        return effects

    # --- authorisation -----------------------------------------------------------------------

    def _refusal(
        self, request: Request, actor: Officer, action: str, ctx: LifecycleContext
    ) -> Step | None:
        if action in SPOC_ACTIONS:
            return _spoc_refusal(request, actor, action, ctx) or self._state_refusal(
                request, action, ctx
            )
        if action in REQUESTER_ACTIONS:
            if actor.id != request.requester:
                return _refused(request, actor, action, "Only the requester can do that.")
            return self._state_refusal(request, action, ctx)
        return _refused(request, actor, action, f"Unknown action {action!r}.")

    def _state_refusal(self, request: Request, action: str, ctx: LifecycleContext) -> Step | None:
        triggers: dict[str, str] = {
            ActionId.SPOC_ACK: "acknowledge",
            ActionId.SPOC_APPROVE: "approve",
            ActionId.SPOC_DECLINE: "decline",
            ActionId.SPOC_ASK: "ask",
            ActionId.WITHDRAW: "withdraw",
            ActionId.ANSWER: "answer",
        }
        trigger = triggers.get(action)
        if trigger is None or self._machine.allows(request.state, trigger):
            return None
        return Step(request, [Text(_why_not(request, trigger, ctx))])

    def _retro_refusal(
        self, request: Request, actor: Officer, ctx: LifecycleContext
    ) -> Step | None:
        if actor.id != request.requester:
            return _refused(
                request, actor, "retro", "Only the requester can submit the written form."
            )
        if not clocks.form_owed(request, ctx.timers):
            done = " It has already been received." if request.retro_submitted_at else ""
            return Step(request, [Text(f"No written form is due for {request.ref}.{done}")])
        return None

    # --- action handlers ---------------------------------------------------------------------

    def _acknowledge(
        self, request: Request, actor: Officer, action: str, ctx: LifecycleContext, note: str
    ) -> Step:
        new = self._move(request, "acknowledge", acknowledged_by=actor.id, acknowledged_at=ctx.now)
        effects: list[Effect] = [
            CancelJob(_ack_job(request)),
            Send(ToSpocChannel(), cards.spoc_card(new, ctx.directory, ctx)),
            Send(
                ToOfficer(new.requester),
                Text(
                    f"Your request {new.ref} has been picked up by "
                    f"{cards.who(ctx.directory, actor.id)}.",
                    notification=f"Request {new.ref} picked up",
                ),
            ),
            Audit("request.acknowledged", new.ref, {"state": new.state, "by": actor.id}),
        ]
        reply = Text(f"You have acknowledged {new.ref}. Use Details to read it privately.")
        return Step(new, [reply], effects, changed=True)

    def _details(
        self, request: Request, actor: Officer, action: str, ctx: LifecycleContext, note: str
    ) -> Step:
        # Details always travel by direct message: a reply to a click in a channel might be
        # shown to the whole channel on some platforms.
        audit = Audit("request.details_viewed", request.ref, {"state": request.state})
        private = Send(
            ToOfficer(actor.id), cards.details_message(request, ctx.directory, ctx.policy)
        )
        return Step(request, [Text(_DETAILS_SENT)], [private, audit])

    def _decide_note(
        self, request: Request, actor: Officer, action: str, ctx: LifecycleContext, note: str
    ) -> Step:
        return self._decide(request, actor, action, ctx, {"note": note})

    def _decide(
        self,
        request: Request,
        actor: Officer,
        action: str,
        ctx: LifecycleContext,
        values: Mapping[str, str | list[str]],
    ) -> Step:
        context: decision.DecisionContext = (
            "approve" if action == ActionId.SPOC_APPROVE else "decline"
        )
        shown = decision.items(context, _requested(request), ctx.policy.decision)
        made, errors = decision.validate(context, shown, values, ctx.policy.decision)
        if made is None:
            form = decision.form(request.ref, context, shown, ctx.policy.decision, values, errors)
            return Step(request, [form])
        trigger, outcome = (
            ("approve", "approved") if action == ActionId.SPOC_APPROVE else ("decline", "declined")
        )
        decided = self._move(
            request,
            trigger,
            outcome=outcome,
            decided_by=actor.id,
            decided_at=ctx.now,
            decision_note=made.note,
            decision=made,
            acknowledged_by=request.acknowledged_by or actor.id,
            acknowledged_at=request.acknowledged_at or ctx.now,
        )
        new, form_effects = self._require_form(decided, ctx)
        effects: list[Effect] = [
            *_cancel_response_jobs(request),
            Send(ToSpocChannel(), cards.spoc_card(new, ctx.directory, ctx)),
            Send(ToOfficer(new.requester), cards.outcome_card(new, ctx.directory, ctx)),
            Audit(
                f"request.{outcome}",
                new.ref,
                {"state": new.state, "by": actor.id, **made.audit_keys()},
            ),
            *form_effects,
        ]
        reply = Text(f"Recorded: {new.ref} {outcome}. The requester has been told privately.")
        return Step(new, [reply], effects, changed=True)

    def _require_form(
        self, request: Request, ctx: LifecycleContext
    ) -> tuple[Request, list[Effect]]:
        state = self._machine.fire(
            request.state, "require_form", ctx.timers.retrospective_after_decline
        )
        if state != RequestState.RETRO_DUE:
            new = request.model_copy(update={"state": state, "closed_at": ctx.now})
            closed = Audit("request.closed", new.ref, {"state": new.state})
            return new, [*_cancel_retro_jobs(request, ctx), closed]
        if request.retro_due_at is None:  # submitted before the clock ran from the request
            due = clocks.retro_due(request, ctx.timers, ctx.calendar)
            new = request.model_copy(update={"state": state, "retro_due_at": due})
            audit = Audit("request.retro_due", new.ref, {"state": state, "due": due.isoformat()})
            return new, [audit, *_retro_jobs(new, ctx)]
        # The reminders and nudges have run since submission (deterministic ids): none again.
        new = request.model_copy(update={"state": state})
        if new.retro_submitted_at is not None:  # the form came before the decision
            new = self._move(self._move(new, "submit_form"), "close", closed_at=ctx.now)
            return new, [Audit("request.closed", new.ref, {"state": new.state})]
        if new.nudges_sent > 0:  # already overdue
            new = self._move(new, "overdue")
        due_at = request.retro_due_at.isoformat()
        return new, [Audit("request.retro_due", new.ref, {"state": new.state, "due": due_at})]

    def _ask(
        self, request: Request, actor: Officer, action: str, ctx: LifecycleContext, note: str
    ) -> Step:
        if not note:
            return Step(request, [_question_form(request, _QUESTION_NEEDED)])
        if request.info and request.info[-1].answer is None and request.info[-1].question == note:
            # The same form sent twice (a double click, a card still live): ask once.
            return Step(request, [Text(f"That question about {request.ref} was already sent.")])
        exchange = InfoExchange(question=note, asked_by=actor.id, asked_at=ctx.now)
        new = self._move(
            request,
            "ask",
            info=[*request.info, exchange],
            acknowledged_by=request.acknowledged_by or actor.id,
            acknowledged_at=request.acknowledged_at or ctx.now,
        )
        effects: list[Effect] = [
            CancelJob(_ack_job(request)),
            Send(ToOfficer(new.requester), cards.question_text(new, ctx.directory, note)),
            Send(ToSpocChannel(), cards.spoc_card(new, ctx.directory, ctx)),
            Audit("request.info_requested", new.ref, {"state": new.state, "by": actor.id}),
        ]
        reply = Text(
            f"Your question was sent to the requester of {new.ref}. Their answer will "
            "come to you privately."
        )
        return Step(new, [reply], effects, changed=True)

    def _answer(
        self, request: Request, actor: Officer, action: str, ctx: LifecycleContext, note: str
    ) -> Step:
        if not note or not request.info or request.info[-1].answer is not None:
            return Step(request, [Text(f"There is no open question about {request.ref}.")])
        last = request.info[-1].model_copy(update={"answer": note, "answered_at": ctx.now})
        new = self._move(request, "answer", info=[*request.info[:-1], last])
        effects: list[Effect] = [
            Send(ToOfficer(last.asked_by), cards.answer_text(new, note)),
            Send(ToSpocChannel(), cards.spoc_card(new, ctx.directory, ctx)),
            Audit("request.info_answered", new.ref, {"state": new.state}),
        ]
        return Step(new, [Text(f"Your answer was sent to the SPOC for {new.ref}.")], effects, True)

    def _withdraw(
        self, request: Request, actor: Officer, action: str, ctx: LifecycleContext, note: str
    ) -> Step:
        new = self._move(request, "withdraw", withdrawn_at=ctx.now)
        owed = clocks.form_owed(new, ctx.timers)
        effects: list[Effect] = [
            *_cancel_response_jobs(request),
            *([] if owed else _cancel_retro_jobs(request, ctx)),
            Send(ToSpocChannel(), cards.spoc_card(new, ctx.directory, ctx)),
            Audit("request.withdrawn", new.ref, {"state": new.state}),
        ]
        text = f"Request {new.ref} has been withdrawn."
        if owed and new.retro_due_at is not None:
            due = cards.when(new.retro_due_at, ctx.calendar.zone)
            text += f" The written form that backs up the request is still due by {due}."
        return Step(new, [Text(text)], effects, True)

    # --- timer handlers ----------------------------------------------------------------------

    def _ack_timeout(
        self, request: Request, payload: Mapping[str, Any], ctx: LifecycleContext
    ) -> Step:
        if escalation.applies(ctx):
            if not self._machine.allows(request.state, "escalate") or not escalation.is_due(
                request, payload.get("page")
            ):
                return Step(request)
            new, effects = escalation.page(request, ctx)
            return Step(new, [], effects, changed=True)
        stale = (
            not self._machine.allows(request.state, "escalate")
            or payload.get("page") != len(request.paged)
            or request.page_round >= ctx.timers.spoc_rota_rounds
        )
        if stale:
            return Step(request)
        new, effects = _page(request, ctx)
        return Step(new, [], effects, changed=True)

    def _response_warning(
        self, request: Request, payload: Mapping[str, Any], ctx: LifecycleContext
    ) -> Step:
        if not self._machine.allows(request.state, "warn"):
            return Step(request)
        due = cards.hhmm(request.response_due_at, ctx.calendar.zone)
        text = cards.channel_text(
            f"Request {request.ref}: the response is due at {due}.", request.ref
        )
        audit = Audit("request.response_warning", request.ref, {"state": request.state})
        return Step(request, [], [Send(ToSpocChannel(), text), audit])

    def _response_breach(
        self, request: Request, payload: Mapping[str, Any], ctx: LifecycleContext
    ) -> Step:
        if not self._machine.allows(request.state, "breach"):
            return Step(request)
        ref = request.ref
        clock = clocks.response_clock(request.answers, ctx.timers)
        alert = cards.channel_text(f"Request {ref}: the response time ({clock}) has passed.", ref)
        effects: list[Effect] = [Send(ToSpocChannel(), alert)]
        if ctx.directory.spoc.fallback:
            effects.append(Send(ToOfficer(ctx.directory.spoc.fallback), alert))
        requester = Text(
            f"The SPOC has not answered request {ref} yet. If anyone is in immediate danger, "
            "call the police control room on 999.",
            notification=f"Request {ref} is still waiting",
        )
        effects += [
            Send(ToOfficer(request.requester), requester),
            Audit("request.response_breached", ref, {"state": request.state}),
        ]
        return Step(request, [], effects)

    def _reminder(
        self, request: Request, payload: Mapping[str, Any], ctx: LifecycleContext
    ) -> Step:
        owed = self._machine.allows(request.state, "remind") and clocks.form_owed(
            request, ctx.timers
        )
        if not owed or request.nudges_sent:
            return Step(request)
        n = int(payload.get("n", 0))
        effects: list[Effect] = [
            Send(ToOfficer(request.requester), cards.reminder_card(request, n, ctx)),
            Audit("request.retro_reminded", request.ref, {"state": request.state, "n": n}),
        ]
        return Step(request, [], effects)

    def _overdue(self, request: Request, payload: Mapping[str, Any], ctx: LifecycleContext) -> Step:
        owed = self._machine.allows(request.state, "overdue") and clocks.form_owed(
            request, ctx.timers
        )
        if not owed or request.nudges_sent:
            return Step(request)
        new = self._move(request, "overdue")  # undecided or withdrawn, the state stays
        audit = Audit("request.retro_overdue", new.ref, {"state": new.state})
        new, effects = _send_nudge(new, 1, ctx)
        return Step(new, [], [audit, *effects], changed=True)

    def _nudge(self, request: Request, payload: Mapping[str, Any], ctx: LifecycleContext) -> Step:
        n = int(payload.get("n", 0))
        owed = self._machine.allows(request.state, "nudge") and clocks.form_owed(
            request, ctx.timers
        )
        if not owed or n != request.nudges_sent + 1:
            return Step(request)
        new, effects = _send_nudge(request, n, ctx)
        return Step(new, [], effects, changed=True)


# --- helpers ---------------------------------------------------------------------------------

_QUESTION_NEEDED = "Write the question you want to ask the requester."


def _requested(request: Request) -> tuple[Choice, ...]:
    asked = request.answers.get("info_required")
    return decision.requested_choices(asked if isinstance(asked, list) else [], INFO_REQUIRED)


def _decision_form(request: Request, context: str, ctx: LifecycleContext) -> Form:
    """The form an approve, decline or ask click opens."""
    if context == "ask":
        return _question_form(request)
    decided: decision.DecisionContext = "approve" if context == "approve" else "decline"
    shown = decision.items(decided, _requested(request), ctx.policy.decision)
    return decision.form(request.ref, decided, shown, ctx.policy.decision)


def _question_form(request: Request, error: str = "") -> Form:
    """The SPOC's question for the requester; ``error`` when it was sent empty."""
    label = "Your question for the requester"
    note = FormField(key="note", label=label, kind="long_text", error=error)
    return Form(
        form_id=FormId.DECISION,
        title=f"Ask {request.ref}",
        ref=request.ref,
        fields=(note,),
        submit_label="Send",
        context="ask",
        notification=f"Decision on {request.ref}",
    )


def _refused(request: Request, actor: Officer, action: str, why: str) -> Step:
    audit = Audit("request.action_refused", request.ref, {"action": action, "by": actor.id})
    return Step(request, [Text(f"You cannot do that: {why}")], [audit])


def _spoc_refusal(
    request: Request, actor: Officer, action: str, ctx: LifecycleContext
) -> Step | None:
    today = ctx.now.astimezone(ctx.calendar.zone).date()
    if actor.id == request.requester:
        return _refused(request, actor, action, "you made this request, so you cannot act on it.")
    on_rota = actor.id in ctx.directory.spoc.rota and actor.has_role("spoc")
    if not on_rota or not actor.is_valid_on(today):
        return _refused(request, actor, action, "only officers on the SPOC rota can do that.")
    return None


def _why_not(request: Request, trigger: str, ctx: LifecycleContext) -> str:
    zone = ctx.calendar.zone
    if request.outcome is not None:
        who = cards.who(ctx.directory, request.decided_by)
        at = cards.when(request.decided_at, zone)
        return f"Request {request.ref} was already {request.outcome} by {who} at {at}."
    if request.state == RequestState.WITHDRAWN:
        return (
            f"Request {request.ref} was withdrawn by the requester at "
            + cards.when(request.withdrawn_at, zone)
            + "."
        )
    if trigger == "acknowledge" and request.acknowledged_by:
        who = cards.who(ctx.directory, request.acknowledged_by)
        return f"Request {request.ref} was already acknowledged by {who}."
    if trigger == "answer":
        return f"There is no open question about {request.ref}."
    state = state_name(request.state, request.outcome).lower()
    return f"That cannot be done now: request {request.ref} is {state}."


def _ack_job(request: Request) -> str:
    return jobs.job_id(jobs.SPOC_ACK, request.ref, len(request.paged))


def _cancel_response_jobs(request: Request) -> list[Effect]:
    return [
        CancelJob(_ack_job(request)),
        CancelJob(jobs.job_id(jobs.RESPONSE_WARNING, request.ref)),
        CancelJob(jobs.job_id(jobs.RESPONSE_BREACH, request.ref)),
    ]


def _response_jobs(request: Request, ctx: LifecycleContext) -> list[Effect]:
    payload = {"ref": request.ref}
    warn_at = request.response_due_at - ctx.timers.response_warning
    effects: list[Effect] = []
    if warn_at > ctx.now:
        job = jobs.job_id(jobs.RESPONSE_WARNING, request.ref)
        effects.append(Schedule(job, jobs.RESPONSE_WARNING, warn_at, payload))
    job = jobs.job_id(jobs.RESPONSE_BREACH, request.ref)
    effects.append(Schedule(job, jobs.RESPONSE_BREACH, request.response_due_at, payload))
    return effects


def _page(request: Request, ctx: LifecycleContext) -> tuple[Request, list[Effect]]:
    """Page the next officer on the rota, or, when the rounds are used up, alert the fallback
    (with an escalation policy: its next step, for ever until acknowledged)."""
    if escalation.applies(ctx):
        return escalation.page(request, ctx)
    rota = _pageable(ctx)
    k = len(request.paged)
    if not rota or k >= len(rota) * ctx.timers.spoc_rota_rounds:
        return _exhausted(request, ctx)
    officer = rota[k % len(rota)]
    new = request.model_copy(
        update={"paged": [*request.paged, officer], "page_round": k // len(rota)}
    )
    card = cards.spoc_card(new, ctx.directory, ctx)
    effects: list[Effect] = [
        Send(ToOfficer(officer), cards.page_text(new.ref, repeat=officer in request.paged)),
        Send(ToOfficer(officer), card),
        Send(ToSpocChannel(), card),
        Schedule(
            jobs.job_id(jobs.SPOC_ACK, new.ref, k + 1),
            jobs.SPOC_ACK,
            ctx.now + ctx.timers.spoc_ack,
            {"ref": new.ref, "page": k + 1},
        ),
        Audit("request.paged", new.ref, {"officer": officer, "page": k + 1, "state": new.state}),
    ]
    return new, effects


def _pageable(ctx: LifecycleContext) -> tuple[str, ...]:
    """Rota members who may act today (a lapsed or mis-roled entry is skipped, not paged),
    those on duty by the schedule first."""
    return oncall.page_order(ctx.directory, ctx.now, ctx.calendar.zone)


def _exhausted(request: Request, ctx: LifecycleContext) -> tuple[Request, list[Effect]]:
    new = request.model_copy(update={"page_round": ctx.timers.spoc_rota_rounds})
    fallback = ctx.directory.spoc.fallback
    text = cards.channel_text(
        f"Nobody on the SPOC rota has acknowledged request {new.ref}. "
        "Please pick it up now or call the requester back.",
        new.ref,
    )
    effects: list[Effect] = [
        Send(ToSpocChannel(), cards.spoc_card(new, ctx.directory, ctx)),
        Send(ToSpocChannel(), text),
    ]
    if fallback:
        effects += [
            Send(ToOfficer(fallback), text),
            Send(ToOfficer(fallback), cards.spoc_card(new, ctx.directory, ctx)),
        ]
    details = {"state": new.state, "fallback": fallback or "", "pages": len(new.paged)}
    effects.append(Audit("request.escalation_exhausted", new.ref, details))
    return new, effects


def _retro_jobs(request: Request, ctx: LifecycleContext) -> list[Effect]:
    assert request.retro_due_at is not None
    payload = {"ref": request.ref}
    effects: list[Effect] = []
    for n, before in enumerate(ctx.timers.retrospective_reminders):
        at = request.retro_due_at - before
        if at > ctx.now:
            job = jobs.job_id(jobs.RETRO_REMINDER, request.ref, n)
            effects.append(Schedule(job, jobs.RETRO_REMINDER, at, {**payload, "n": n}))
    job = jobs.job_id(jobs.RETRO_OVERDUE, request.ref)
    effects.append(Schedule(job, jobs.RETRO_OVERDUE, request.retro_due_at, payload))
    return effects


def _send_nudge(request: Request, n: int, ctx: LifecycleContext) -> tuple[Request, list[Effect]]:
    """Nudge n (1 = the overdue notice): requester and manager, and IG after enough nudges."""
    new = request.model_copy(update={"nudges_sent": n})
    recipients = [new.requester]
    requester = ctx.directory.officer(new.requester)
    if requester is not None and requester.manager:
        recipients.append(requester.manager)
    if n > ctx.timers.ig_after_nudges:
        recipients += [o.id for o in ctx.directory.with_role("ig") if o.id not in recipients]
    effects: list[Effect] = [
        Send(ToOfficer(r), cards.nudge_card(new, n, r, ctx.directory, ctx)) for r in recipients
    ]
    effects += [
        Schedule(
            jobs.job_id(jobs.OVERDUE_NUDGE, new.ref, n + 1),
            jobs.OVERDUE_NUDGE,
            ctx.now + ctx.timers.overdue_nudge_every,
            {"ref": new.ref, "n": n + 1},
        ),
        Audit("request.overdue_nudged", new.ref, {"n": n, "recipients": recipients}),
    ]
    return new, effects


def _form_before_decision(new: Request, ctx: LifecycleContext) -> Step:
    """A written form received while the request is undecided (or after it was withdrawn):
    recorded, the reminders stop; the decision, if one comes, closes the request."""
    audit = Audit(
        "request.retro_submitted", new.ref, {"state": new.state, "fields": sorted(new.retro or {})}
    )
    effects: list[Effect] = [
        *_cancel_retro_jobs(new, ctx),
        Send(ToSpocChannel(), cards.spoc_card(new, ctx.directory, ctx)),
        audit,
        *_tell_chasers(new, ctx),
    ]
    reply = Text(f"Thank you. The written form for {new.ref} is recorded.")
    return Step(new, [reply], effects, changed=True)


def _close(new: Request, ctx: LifecycleContext) -> Step:
    """Effects of a received written form: stop every reminder, tell the channel."""
    fields = sorted(new.retro or {})
    zone = ctx.calendar.zone
    received = cards.channel_text(
        f"The written form for {new.ref} was received at {cards.hhmm(ctx.now, zone)}.", new.ref
    )
    effects: list[Effect] = [
        *_cancel_retro_jobs(new, ctx),
        Send(ToSpocChannel(), cards.spoc_card(new, ctx.directory, ctx)),
        Send(ToSpocChannel(), received),
        Audit("request.retro_submitted", new.ref, {"state": "retro_submitted", "fields": fields}),
        Audit("request.closed", new.ref, {"state": new.state}),
        *_tell_chasers(new, ctx),
    ]
    reply = Text(f"Thank you. The written form for {new.ref} is recorded and the request closed.")
    return Step(new, [reply], effects, changed=True)


def _tell_chasers(request: Request, ctx: LifecycleContext) -> list[Effect]:
    """Everyone who was nudged about an overdue form, besides the requester, hears that it
    arrived (the manager, and IG once they were nudged too)."""
    if request.nudges_sent == 0:
        return []
    requester = ctx.directory.officer(request.requester)
    chasers = [requester.manager] if requester is not None and requester.manager else []
    if request.nudges_sent > ctx.timers.ig_after_nudges:
        chasers += [o.id for o in ctx.directory.with_role("ig") if o.id not in chasers]
    text = cards.form_received_text(request, ctx.directory)
    return [Send(ToOfficer(officer), text) for officer in chasers]


def _cancel_retro_jobs(request: Request, ctx: LifecycleContext) -> list[Effect]:
    ref = request.ref
    ids = [
        jobs.job_id(jobs.RETRO_REMINDER, ref, n)
        for n in range(len(ctx.timers.retrospective_reminders))
    ]
    ids += [jobs.job_id(jobs.RETRO_OVERDUE, ref)]
    ids += [jobs.job_id(jobs.OVERDUE_NUDGE, ref, n) for n in range(2, request.nudges_sent + 2)]
    return [CancelJob(i) for i in ids]


def _retro(request: Request, fields: tuple[FormField, ...]) -> Form:
    return Form(
        form_id=FormId.RETRO,
        title=f"Written form for {request.ref}",
        ref=request.ref,
        fields=fields,
        submit_label="Submit the form",
        notification=f"Written form for {request.ref}",
    )


def _with_errors(
    fields: tuple[FormField, ...],
    values: Mapping[str, str | list[str]],
    errors: Mapping[str, str],
) -> tuple[FormField, ...]:
    """The form again, with what was typed and each field's error beside it."""
    shown = []
    for f in fields:
        typed = values.get(f.key, f.value)
        value = tuple(typed) if isinstance(typed, list) else typed
        error = errors.get(f.key, "")
        shown.append(FormField(f.key, f.label, f.kind, f.choices, value, f.optional, f.hint, error))
    return tuple(shown)


_DETAILS_SENT = (
    "I have sent you the details in a direct message. Opening them is recorded in the audit log."
)
