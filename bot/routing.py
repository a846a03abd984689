"""Routing: an inbound event → the flow call it means, written into a ``Unit``.

Buttons and forms are routed by their stable action id (one table); typed text is a command
(``flows.commands``), an answer to a SPOC's question, or the next step of the conversation.
Reads happen here; every write goes into the unit, committed by the engine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import master_refs
from bot.unit import Unit
from flows import casefile, commands, idle, visibility
from flows.context import LifecycleContext
from flows.conversation import ConversationContext, Session, Submission
from flows.directory import Officer
from flows.home import home_view, may_see_timeline, timeline_card
from flows.ids import DECISIONS, ActionId, FormId
from flows.inbound import Inbound
from flows.lifecycle import Step as RequestStep
from flows.reference import format_reference, prefix_for, year_of
from flows.request import Request
from store.base import Versioned

if TYPE_CHECKING:
    from bot.engine import Services

RequestCall = Callable[[Request, Officer], RequestStep]
Route = Callable[[Unit, Inbound, "Actor"], Awaitable[None]]


@dataclass(frozen=True)
class Actor:
    """Who caused an event: a directory officer, or an unknown platform identity."""

    officer: Officer | None
    key: str

    @property
    def id(self) -> str:
        return self.officer.id if self.officer else self.key


class Router:
    """Turns one inbound event into writes of a unit of work."""

    def __init__(self, services: Services) -> None:
        self.s = services
        self._actions: dict[str, Route] = {
            ActionId.SPOC_ACK: self._spoc_act,
            ActionId.SPOC_DETAILS: self._spoc_act,
            ActionId.SPOC_APPROVE: self._decision_form,
            ActionId.SPOC_DECLINE: self._decision_form,
            ActionId.SPOC_ASK: self._decision_form,
            FormId.DECISION: self._decision,
            ActionId.RETRO_OPEN: self._retro_form,
            FormId.RETRO: self._retro_submit,
            ActionId.TIMELINE: self._timeline,
            ActionId.RECORD_OPEN: self._record,
            ActionId.WITHDRAW: self._withdraw,
            ActionId.SPOC_REASSIGN: self._reassign_form,
            FormId.REASSIGN: self._reassign,
        }

    def actor(self, inbound: Inbound) -> Actor:
        officer = self.s.directory.by_platform(inbound.platform, inbound.user_id, inbound.tenant)
        return Actor(officer=officer, key=inbound.session_key)

    async def route(self, unit: Unit, inbound: Inbound, actor: Actor) -> None:
        """Fill ``unit`` with what ``inbound`` does."""
        route = self._actions.get(inbound.action)
        if route is not None:
            await route(unit, inbound, actor)
        elif inbound.in_channel:
            unit.reply(commands.CHANNEL_ONLY)
        else:
            await self._text_or_answer(unit, inbound, actor)

    # --- typed text and answers --------------------------------------------------------------

    async def _text_or_answer(self, unit: Unit, inbound: Inbound, actor: Actor) -> None:
        loaded = await self.s.store.get_session(inbound.session_key)
        session = Session.model_validate(loaded.data) if loaded else None
        drafting = session is not None and not self.s.conversation.is_finished(session)
        word = commands.word(inbound.text) if inbound.kind == "text" else ""
        if word == commands.ONCALL and not drafting:
            unit.reply(self.s.oncall_card(unit.now))
            return
        if word in commands.HOME or (word == commands.STATUS and not drafting):
            await self._home(unit, inbound, actor, hint=word == commands.STATUS)
            return
        if word not in commands.START:
            explicit = commands.answer_prefix(inbound.text) if inbound.kind == "text" else None
            pending = await self._pending_question(actor, inbound, explicit, drafting)
            if pending is not None:
                await self._relay_answer(unit, pending, actor, explicit or inbound.text)
                return
        await self._converse(unit, inbound, session, loaded)

    async def _home(self, unit: Unit, inbound: Inbound, actor: Actor, *, hint: bool) -> None:
        officer = actor.officer
        requests = await self.s.find(*visibility.home(officer, self.s.directory)) if officer else []
        unit.reply(*home_view(officer, requests, self.s.directory, self._zone, unit.now))
        if hint and actor.officer is not None and actor.officer.has_role("requester"):
            unit.reply(commands.START_HINT)

    async def _pending_question(
        self, actor: Actor, inbound: Inbound, explicit: str | None, drafting: bool
    ) -> Request | None:
        """While a draft is open only 'answer …' counts, so draft answers never go to a SPOC."""
        if actor.officer is None or inbound.kind != "text" or not inbound.text.strip():
            return None
        if drafting and explicit is None:
            return None
        mine = await self.s.find(visibility.awaiting_answer(actor.officer.id))
        return commands.awaiting_answer(mine, actor.officer.id)

    async def _relay_answer(self, unit: Unit, request: Request, actor: Actor, text: str) -> None:
        await self._request_call(
            unit,
            request.ref,
            actor,
            lambda r, o: self.s.lifecycle.act(
                r, o, ActionId.ANSWER, self._lifecycle(unit), note=text
            ),
        )

    # --- the conversation --------------------------------------------------------------------

    async def _converse(
        self, unit: Unit, inbound: Inbound, session: Session | None, loaded: Versioned | None
    ) -> None:
        key, flow = inbound.session_key, self.s.conversation
        ctx = self._conversation_context(unit.now, inbound)
        refs = await master_refs.looked_up(self.s.store, session, inbound)
        ctx = replace(ctx, references=refs) if refs else ctx
        first = inbound.text if inbound.kind == "text" else ""
        step = flow.begin(ctx, first) if session is None else flow.step(session, inbound, ctx)
        unit.save_session(
            key, step.session.model_dump(mode="json"), loaded.version if loaded else 0
        )
        unit.reply(*step.replies)
        unit.apply(step.effects)
        was_finished = session is not None and flow.is_finished(session)
        unit.apply(
            idle.effects(
                session,
                step.session,
                finished=flow.is_finished(step.session),
                was_finished=was_finished,
                key=key,
                payload=unit.conversation.payload() if unit.conversation else {"session": key},
                timers=self.s.settings.timers,
            )
        )
        if step.submission is not None:
            await self._create(unit, step.submission)

    def _conversation_context(self, now: datetime, inbound: Inbound) -> ConversationContext:
        return self.s.conversation_context(now, inbound.platform, inbound.user_id, inbound.tenant)

    async def _create(self, unit: Unit, submission: Submission) -> None:
        """Give the reference, run the lifecycle's submit; the request is created in the same
        commit as the ended draft (a crash leaves the draft to submit again, never both)."""
        now = unit.now
        prefix = prefix_for(self.s.directory, submission.org)
        year = year_of(now, self._zone)
        ref = format_reference(prefix, await self.s.store.next_reference_number(prefix, year), year)
        request = Request(
            ref=ref,
            requester=submission.officer_id,
            org=submission.org,
            on_behalf_of=submission.on_behalf_of,
            form=submission.form,
            created_at=now,
            answers=submission.answers,
            response_due_at=now,  # set by the lifecycle from the organisation's clocks
        )
        step = self.s.lifecycle.submit(request, self._lifecycle(unit))
        unit.save_request(ref, step.request.model_dump(mode="json"), 0)
        unit.reply(*step.replies)
        unit.apply(step.effects, ref)
        unit.after_commit.append(self.s.metrics.requests.inc)

    # --- request actions ---------------------------------------------------------------------

    def _lifecycle(self, unit: Unit) -> LifecycleContext:
        return self.s.lifecycle_context(unit.now)

    async def _spoc_act(self, unit: Unit, inbound: Inbound, actor: Actor) -> None:
        action = inbound.action
        await self._request_call(
            unit,
            inbound.value,
            actor,
            lambda r, o: self.s.lifecycle.act(r, o, action, self._lifecycle(unit)),
        )

    async def _decision_form(self, unit: Unit, inbound: Inbound, actor: Actor) -> None:
        action = inbound.action
        await self._request_call(
            unit,
            inbound.value,
            actor,
            lambda r, o: self.s.lifecycle.decision_form(r, o, action, self._lifecycle(unit)),
        )

    async def _decision(self, unit: Unit, inbound: Inbound, actor: Actor) -> None:
        by_context = {context: action for action, context in DECISIONS.items()}
        action = by_context.get(inbound.form_context, "")
        note = _single(inbound.form.get("note", ""))
        values = dict(inbound.form)
        if action in (ActionId.SPOC_APPROVE, ActionId.SPOC_DECLINE):
            await self._request_call(
                unit,
                inbound.form_ref,
                actor,
                lambda r, o: self.s.lifecycle.decide(r, o, action, values, self._lifecycle(unit)),
            )
            return
        await self._request_call(
            unit,
            inbound.form_ref,
            actor,
            lambda r, o: self.s.lifecycle.act(r, o, action, self._lifecycle(unit), note=note),
        )

    async def _retro_form(self, unit: Unit, inbound: Inbound, actor: Actor) -> None:
        await self._request_call(
            unit,
            inbound.value,
            actor,
            lambda r, o: self.s.lifecycle.retro_form(r, o, self._lifecycle(unit)),
        )

    async def _retro_submit(self, unit: Unit, inbound: Inbound, actor: Actor) -> None:
        values = dict(inbound.form)
        await self._request_call(
            unit,
            inbound.form_ref,
            actor,
            lambda r, o: self.s.lifecycle.submit_retro(r, o, values, self._lifecycle(unit)),
        )

    async def _withdraw(self, unit: Unit, inbound: Inbound, actor: Actor) -> None:
        await self._request_call(
            unit,
            inbound.value,
            actor,
            lambda r, o: self.s.lifecycle.act(r, o, ActionId.WITHDRAW, self._lifecycle(unit)),
        )

    async def _reassign_form(self, unit: Unit, inbound: Inbound, actor: Actor) -> None:
        await self._request_call(
            unit,
            inbound.value,
            actor,
            lambda r, o: self.s.lifecycle.reassign_form(r, o, self._lifecycle(unit)),
        )

    async def _reassign(self, unit: Unit, inbound: Inbound, actor: Actor) -> None:
        to = _single(inbound.form.get("officer", ""))
        await self._request_call(
            unit,
            inbound.form_ref,
            actor,
            lambda r, o: self.s.lifecycle.reassign(r, o, to, self._lifecycle(unit)),
        )

    async def _request_call(self, unit: Unit, ref: str, actor: Actor, run: RequestCall) -> None:
        """Run a lifecycle call on the stored request; its new version is compare-and-set."""
        if actor.officer is None:
            self._refuse(unit, ref, "not_in_directory")
            return
        stored = await self.s.store.get_request(ref)
        if stored is None:
            unit.reply(commands.NOT_FOUND)
            return
        before = Request.model_validate(stored.data)
        step = run(before, actor.officer)
        if step.changed:
            unit.save_request(ref, step.request.model_dump(mode="json"), stored.version)
            if before.outcome is None and step.request.outcome is not None:
                counter = self.s.metrics.decisions.labels(outcome=step.request.outcome)
                unit.after_commit.append(counter.inc)
        unit.reply(*step.replies)
        unit.apply(step.effects, ref)

    def _refuse(self, unit: Unit, ref: str, reason: str) -> None:
        """Refuse politely and audit the refusal (ids and a reason code only)."""
        unit.audit("request.action_refused", ref, {"reason": reason})
        unit.reply(commands.NOT_AUTHORISED)

    # --- timeline ----------------------------------------------------------------------------

    async def _timeline(self, unit: Unit, inbound: Inbound, actor: Actor) -> None:
        ref = inbound.value
        stored = await self.s.store.get_request(ref)
        if stored is None:
            unit.reply(commands.NOT_FOUND)
            return
        request = Request.model_validate(stored.data)
        if actor.officer is None or not may_see_timeline(actor.officer, request, self.s.directory):
            self._refuse(unit, ref, "timeline_not_allowed")
            return
        entries = await self.s.store.audit_entries(ref)
        rows = [(datetime.fromisoformat(e.at), e.actor, e.action) for e in entries]
        unit.audit("request.timeline_viewed", ref, {})
        unit.reply(timeline_card(ref, rows, self.s.directory, self._zone))

    async def _record(self, unit: Unit, inbound: Inbound, actor: Actor) -> None:
        """The case file, privately (``flows.casefile``); every opening is audited."""
        stored = await self.s.store.get_request(inbound.value)
        if stored is None:
            unit.reply(commands.NOT_FOUND)
            return
        request = Request.model_validate(stored.data)
        entries = await self.s.store.audit_entries(request.ref)
        rows = [(datetime.fromisoformat(e.at), e.actor, e.action) for e in entries]
        replies, effects = casefile.open_record(
            request, actor.officer, rows, self._lifecycle(unit),
            in_channel=inbound.in_channel,
        )  # fmt: skip
        unit.reply(*replies)
        unit.apply(effects, request.ref)

    @property
    def _zone(self) -> Any:
        return self.s.settings.service.zone


def _single(value: str | list[str]) -> str:
    return (
        value[0] if isinstance(value, list) and value else value if isinstance(value, str) else ""
    )
