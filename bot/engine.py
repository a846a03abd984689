"""The engine: inbound event → lock → flow → save → deliver → audit.

It is the only place that knows flows, store, directory and delivery together. Flows decide;
the engine loads state, runs the flow, saves with compare-and-set, then carries out the
effects (deliveries, timers, audit entries) — effects run only after the state they belong to
has been saved, so a lost race never sends a second page or a second outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.base import Sender
from bot.clock import Clock
from bot.config import Settings
from bot.delivery import Delivery
from bot.logs import get_logger
from bot.metrics import Metrics
from flows import jobs
from flows.calendar import BusinessCalendar
from flows.conversation import ConversationContext, ConversationFlow, Session, Submission
from flows.directory import Directory, Officer
from flows.effects import Audit, CancelJob, Effect, Schedule, Send
from flows.home import home_view, may_see_timeline, timeline_card
from flows.inbound import Inbound, Platform
from flows.lifecycle import FINAL, LifecycleContext, RequestFlow
from flows.lifecycle import Step as RequestStep
from flows.messages import Message, Text, ToConversation, ToOfficer, ToSpocChannel
from flows.request import Request
from store.base import Job, Store

log = get_logger("engine")

CHANNEL_ONLY = Text(
    "I only take requests in a direct message, so that no personal details are posted in a "
    "channel. Send me a direct message to start."
)
NOT_FOUND = Text("I cannot find that request. Check the reference and try again.")
START_HINT = Text("Type start to begin a new request.")
SPOC_ACTIONS = frozenset({"spoc:ack", "spoc:details", "spoc:approve", "spoc:decline", "spoc:ask"})
DECISION_CLICKS = frozenset({"spoc:approve", "spoc:decline", "spoc:ask"})
CONVERSATION_JOBS = frozenset({jobs.IDLE_WARNING, jobs.IDLE_EXPIRE})
CAS_ATTEMPTS = 5
START_COMMANDS = frozenset({"start", "new"})
RequestCall = Callable[[Request, Officer], RequestStep]


@dataclass(frozen=True)
class Actor:
    """Who caused an event: a directory officer, or an unknown platform identity."""

    officer: Officer | None
    key: str

    @property
    def id(self) -> str:
        return self.officer.id if self.officer else self.key


class Engine:
    """Implements ``adapters.base.Handler`` and runs timer jobs for the worker."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        directory: Directory,
        clock: Clock,
        delivery: Delivery,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.store = store
        self.directory = directory
        self.clock = clock
        self.delivery = delivery
        self.metrics = metrics
        office = settings.service.office_hours
        self.calendar = BusinessCalendar(
            settings.service.zone, office.start, office.end, office.days, office.bank_holidays
        )
        self.conversation = ConversationFlow(settings.policy)
        self.lifecycle = RequestFlow()

    def add_sender(self, sender: Sender, channel: str = "") -> None:
        """Register a platform's sender (called by the composition root)."""
        self.delivery.add_sender(sender, channel)

    # --- Handler ---------------------------------------------------------------------------

    async def handle(self, inbound: Inbound) -> list[Message]:
        """Process one event from a person; return replies for their conversation."""
        self.metrics.inbound.labels(platform=inbound.platform).inc()
        if await self._duplicate(inbound):
            self.metrics.duplicates.inc()
            return []
        actor = self._actor(inbound)
        return await self._route(inbound, actor)

    async def home(self, platform: Platform, user_id: str, tenant: str) -> list[Message]:
        """Home/status cards for this person."""
        officer = self.directory.by_platform(platform, user_id, tenant)
        requests = await self._open_requests()
        return home_view(officer, requests, self.directory, self.settings.service.zone)

    # --- routing ---------------------------------------------------------------------------

    async def _duplicate(self, inbound: Inbound) -> bool:
        if not inbound.event_id:
            return False
        ttl = self.settings.timers.dedupe_ttl.total_seconds()
        key = f"{inbound.platform}:{inbound.event_id}"
        return await self.store.seen(key, ttl, self.clock.now().timestamp())

    def _actor(self, inbound: Inbound) -> Actor:
        officer = self.directory.by_platform(inbound.platform, inbound.user_id, inbound.tenant)
        return Actor(officer=officer, key=inbound.session_key)

    async def _route(self, inbound: Inbound, actor: Actor) -> list[Message]:
        action = inbound.action
        if action in SPOC_ACTIONS:
            return await self._spoc_click(inbound, actor)
        if action == "spoc:decision":
            return await self._decision(inbound, actor)
        if action == "retro:open":
            return await self._request_call(inbound.value, actor, self._retro_form)
        if action == "retro:submit":
            return await self._retro_submit(inbound, actor)
        if action == "timeline":
            return await self._timeline(inbound.value, actor)
        if action == "withdraw":
            return await self._request_call(inbound.value, actor, self._withdraw)
        if inbound.in_channel:
            return [CHANNEL_ONLY]
        return await self._text_or_answer(inbound, actor)

    async def _text_or_answer(self, inbound: Inbound, actor: Actor) -> list[Message]:
        command = inbound.text.strip().lower()
        if inbound.kind == "text" and command in {"forms", "my forms", "requests"}:
            return await self.home(inbound.platform, inbound.user_id, inbound.tenant)
        if inbound.kind == "text" and command == "status" and not await self._drafting(inbound):
            # Outside a draft, "status" asks about requests already made (``/ooh status``).
            home = await self.home(inbound.platform, inbound.user_id, inbound.tenant)
            requester = actor.officer is not None and actor.officer.has_role("requester")
            return [*home, START_HINT] if requester else home
        if inbound.kind == "text" and command in START_COMMANDS:
            return await self._converse(inbound, actor)
        explicit = _answer_prefix(inbound.text) if inbound.kind == "text" else None
        pending = await self._pending_question(actor, inbound, drafting_ok=explicit is not None)
        if pending is not None:
            return await self._relay_answer(pending, actor, explicit or inbound.text)
        return await self._converse(inbound, actor)

    # --- the conversation ------------------------------------------------------------------

    def _conversation_context(self, inbound: Inbound) -> ConversationContext:
        now = self.clock.now()
        return ConversationContext(
            now=now,
            directory=self.directory,
            policy=self.settings.policy,
            in_office_hours=self.calendar.in_office_hours(now),
            platform=inbound.platform,
            user_id=inbound.user_id,
            tenant=inbound.tenant,
        )

    async def _converse(self, inbound: Inbound, actor: Actor) -> list[Message]:
        key = inbound.session_key
        async with self.store.lock(f"session:{key}"):
            session = await self._load_session(key)
            ctx = self._conversation_context(inbound)
            if session is None:
                step = self.conversation.begin(ctx)
            else:
                step = self.conversation.step(session, inbound, ctx)
            # The request is created before the ended session is saved: if creating it
            # fails, the draft is still there to submit again.
            created = await self._create(step.submission) if step.submission else None
            await self.store.save_session(key, step.session.model_dump(mode="json"))
            replies = await self._apply(step.effects, actor.id, "")
            await self._schedule_idle(key, step.session, inbound)
            if created is not None:
                replies += [
                    *created.replies,
                    *await self._apply(created.effects, actor.id, created.request.ref),
                ]
        return [*step.replies, *replies]

    async def _drafting(self, inbound: Inbound) -> bool:
        """Whether this person has a conversation in progress."""
        session = await self._load_session(inbound.session_key)
        return session is not None and not self.conversation.is_finished(session)

    async def _load_session(self, key: str) -> Session | None:
        raw = await self.store.load_session(key)
        return Session.model_validate(raw) if raw else None

    async def _schedule_idle(self, key: str, session: Session, inbound: Inbound) -> None:
        timers = self.settings.timers
        warn_id, expire_id = jobs.job_id(jobs.IDLE_WARNING, key), jobs.job_id(jobs.IDLE_EXPIRE, key)
        if self.conversation.is_finished(session):
            await self.store.cancel(warn_id)
            await self.store.cancel(expire_id)
            return
        now = self.clock.now()
        payload = {
            "session": key,
            "platform": inbound.platform,
            "user": inbound.user_id,
            "tenant": inbound.tenant,
        }
        warn_at = now + timers.conversation_idle - timers.conversation_idle_warning
        await self.store.schedule(Job(warn_id, jobs.IDLE_WARNING, warn_at.timestamp(), payload))
        expire_at = now + timers.conversation_idle
        await self.store.schedule(Job(expire_id, jobs.IDLE_EXPIRE, expire_at.timestamp(), payload))

    async def _create(self, submission: Submission) -> RequestStep:
        """Allocate the reference, run the lifecycle's submit and store the new request."""
        now = self.clock.now()
        ref = await self._allocate_reference(submission.org, now)
        request = Request(
            ref=ref,
            requester=submission.officer_id,
            org=submission.org,
            on_behalf_of=submission.on_behalf_of,
            form=submission.form,
            created_at=now,
            answers=submission.answers,
            response_due_at=now + self.settings.timers.response_due,
        )
        step = self.lifecycle.submit(request, self._lifecycle_context())
        await self.store.create_request(ref, step.request.model_dump(mode="json"))
        self.metrics.requests.inc()
        return step

    async def _allocate_reference(self, org_code: str, now: datetime) -> str:
        org = self.directory.organisation(org_code)
        prefix = org.reference_prefix if org else org_code
        year = now.astimezone(self.settings.service.zone).year
        number = await self.store.next_reference_number(prefix, year)
        return f"{prefix}/{number:02d}/{year}"

    # --- request actions -------------------------------------------------------------------

    def _lifecycle_context(self) -> LifecycleContext:
        return LifecycleContext(
            now=self.clock.now(),
            directory=self.directory,
            timers=self.settings.timers,
            calendar=self.calendar,
        )

    async def _spoc_click(self, inbound: Inbound, actor: Actor) -> list[Message]:
        action = inbound.action
        if action in DECISION_CLICKS:
            return await self._request_call(
                inbound.value,
                actor,
                lambda r, o: self.lifecycle.decision_form(r, o, action, self._lifecycle_context()),
            )
        return await self._request_call(
            inbound.value,
            actor,
            lambda r, o: self.lifecycle.act(r, o, action, self._lifecycle_context()),
        )

    async def _decision(self, inbound: Inbound, actor: Actor) -> list[Message]:
        action = {"approve": "spoc:approve", "decline": "spoc:decline", "ask": "spoc:ask"}.get(
            inbound.form_context, ""
        )
        note = _single(inbound.form.get("note", ""))
        return await self._request_call(
            inbound.form_ref,
            actor,
            lambda r, o: self.lifecycle.act(r, o, action, self._lifecycle_context(), note=note),
        )

    def _retro_form(self, request: Request, officer: Officer) -> RequestStep:
        return self.lifecycle.retro_form(request, officer, self._lifecycle_context())

    def _withdraw(self, request: Request, officer: Officer) -> RequestStep:
        return self.lifecycle.act(request, officer, "withdraw", self._lifecycle_context())

    async def _retro_submit(self, inbound: Inbound, actor: Actor) -> list[Message]:
        values = dict(inbound.form)
        return await self._request_call(
            inbound.form_ref,
            actor,
            lambda r, o: self.lifecycle.submit_retro(r, o, values, self._lifecycle_context()),
        )

    async def _request_call(self, ref: str, actor: Actor, run: RequestCall) -> list[Message]:
        """Run a lifecycle call with compare-and-set, retrying on a lost race."""
        if actor.officer is None:
            return [await self._refuse(actor, ref, "not_in_directory")]
        for _ in range(CAS_ATTEMPTS):
            stored = await self.store.get_request(ref)
            if stored is None:
                return [NOT_FOUND]
            request = Request.model_validate(stored.data)
            step = run(request, actor.officer)
            if not step.changed:
                return [*step.replies, *await self._apply(step.effects, actor.id, ref)]
            data = step.request.model_dump(mode="json")
            if await self.store.update_request(ref, data, stored.version):
                self._count_decision(request, step.request)
                return [*step.replies, *await self._apply(step.effects, actor.id, ref)]
        return [Text("Someone else changed this request at the same moment. Please try again.")]

    def _count_decision(self, before: Request, after: Request) -> None:
        if before.outcome is None and after.outcome is not None:
            self.metrics.decisions.labels(outcome=after.outcome).inc()

    async def _refuse(self, actor: Actor, ref: str, reason: str) -> Text:
        """Refuse politely and audit the refusal (ids and a reason code only)."""
        await self._audit(actor.id, "request.action_refused", ref, {"reason": reason})
        return self._not_authorised()

    def _not_authorised(self) -> Text:
        return Text(
            "You are not authorised to do that. Only officers in the nominated-officer "
            "directory with the right role can act on requests."
        )

    # --- info questions --------------------------------------------------------------------

    async def _pending_question(
        self, actor: Actor, inbound: Inbound, *, drafting_ok: bool
    ) -> Request | None:
        """The request whose SPOC question this text answers. While a draft is open, only a
        reply starting with 'answer' counts, so draft answers never go to the SPOC."""
        if actor.officer is None or inbound.kind != "text" or not inbound.text.strip():
            return None
        if not drafting_ok and await self._drafting(inbound):
            return None
        for request in await self._open_requests():
            open_question = request.info and request.info[-1].answer is None
            if (
                request.requester == actor.officer.id
                and request.state == "info_requested"
                and open_question
            ):
                return request
        return None

    async def _relay_answer(self, request: Request, actor: Actor, text: str) -> list[Message]:
        return await self._request_call(
            request.ref,
            actor,
            lambda r, o: self.lifecycle.act(r, o, "answer", self._lifecycle_context(), note=text),
        )

    # --- timeline --------------------------------------------------------------------------

    async def _timeline(self, ref: str, actor: Actor) -> list[Message]:
        stored = await self.store.get_request(ref)
        if stored is None:
            return [NOT_FOUND]
        request = Request.model_validate(stored.data)
        if actor.officer is None or not may_see_timeline(actor.officer, request, self.directory):
            return [await self._refuse(actor, ref, "timeline_not_allowed")]
        entries = await self.store.audit_entries(ref)
        rows = [(datetime.fromisoformat(e.at), e.actor, e.action) for e in entries]
        await self._audit(actor.id, "request.timeline_viewed", ref, {})
        return [timeline_card(ref, rows, self.directory, self.settings.service.zone)]

    # --- timers ----------------------------------------------------------------------------

    async def run_job(self, job: Job) -> None:
        """Carry out one due timer job (called by the worker; idempotent by design)."""
        if job.kind in CONVERSATION_JOBS:
            await self._conversation_job(job)
        elif job.kind == jobs.IG_DIGEST:
            await self._digest(job)
        else:
            await self._request_job(job)

    async def _conversation_job(self, job: Job) -> None:
        key = str(job.payload["session"])
        async with self.store.lock(f"session:{key}"):
            session = await self._load_session(key)
            if session is None or self.conversation.is_finished(session):
                return
            inbound = _inbound_from(job.payload)
            ctx = self._conversation_context(inbound)
            if job.kind == jobs.IDLE_WARNING:
                step = self.conversation.warn_idle(session, ctx)
            else:
                step = self.conversation.expire(session, ctx)
            await self.store.save_session(key, step.session.model_dump(mode="json"))
            replies = [*step.replies, *await self._apply(step.effects, "system", "")]
        if session.officer_id:
            for message in replies:
                await self.delivery.to_officer(session.officer_id, message)

    async def _request_job(self, job: Job) -> None:
        ref = str(job.payload.get("ref", ""))
        system = Actor(officer=None, key="system")
        for _ in range(CAS_ATTEMPTS):
            stored = await self.store.get_request(ref)
            if stored is None:
                return
            request = Request.model_validate(stored.data)
            step = self.lifecycle.on_timer(
                request, job.kind, job.payload, self._lifecycle_context()
            )
            if not step.changed or await self.store.update_request(
                ref, step.request.model_dump(mode="json"), stored.version
            ):
                await self._apply(step.effects, system.id, ref)
                return
        raise RuntimeError(f"request {ref} kept changing while its timer ran")

    async def _digest(self, job: Job) -> None:
        effects = self.lifecycle.digest(await self._open_requests(), self._lifecycle_context())
        await self._apply(effects, "system", "")
        await self.schedule_digest()

    async def schedule_digest(self) -> None:
        """(Re)schedule the daily IG digest at the configured local time."""
        due = _next_local_time(self.clock.now(), self.settings)
        await self.store.schedule(
            Job(jobs.job_id(jobs.IG_DIGEST, "daily"), jobs.IG_DIGEST, due.timestamp())
        )

    # --- effects ---------------------------------------------------------------------------

    async def _apply(self, effects: Sequence[Effect], actor: str, ref: str) -> list[Message]:
        """Carry out effects; return those addressed to the current conversation.

        Durable effects (timers, audit) go first and deliveries last, so a platform that is
        down can delay a message but never lose a reminder or an audit entry.
        """
        for effect in effects:
            if not isinstance(effect, Send):
                await self._record(effect, actor, ref)
        replies: list[Message] = []
        for effect in effects:
            if isinstance(effect, Send):
                replies += await self._send(effect, ref)
        return replies

    async def _record(self, effect: Effect, actor: str, ref: str) -> None:
        if isinstance(effect, Schedule):
            job = Job(effect.job_id, effect.kind, effect.due_at.timestamp(), dict(effect.payload))
            await self.store.schedule(job)
        elif isinstance(effect, CancelJob):
            await self.store.cancel(effect.job_id)
        elif isinstance(effect, Audit):
            await self._audit(actor, effect.action, effect.ref or ref, dict(effect.details))

    async def _send(self, effect: Send, ref: str) -> list[Message]:
        if isinstance(effect.to, ToConversation):
            return [effect.message]
        if isinstance(effect.to, ToOfficer):
            await self.delivery.to_officer(effect.to.officer_id, effect.message, ref)
        elif isinstance(effect.to, ToSpocChannel):
            await self.delivery.to_channel(effect.message)
        return []

    async def _audit(self, actor: str, action: str, ref: str, details: dict[str, Any]) -> None:
        await self.store.append_audit(self.clock.now(), actor, action, ref, details)

    async def _open_requests(self) -> list[Request]:
        """Requests not yet ended: all the engine ever needs, and cheap however long the
        history (ended ones are filtered by the store's state index, never decrypted)."""
        stored = await self.store.list_requests(exclude_states=FINAL)
        return [Request.model_validate(v.data) for v in stored]


def _answer_prefix(text: str) -> str | None:
    """'answer <text>' → '<text>' (the explicit way to answer a SPOC's question)."""
    head, _, rest = text.strip().partition(" ")
    return rest.strip() or None if head.lower().rstrip(":") == "answer" else None


def _single(value: str | list[str]) -> str:
    return (
        value[0] if isinstance(value, list) and value else value if isinstance(value, str) else ""
    )


def _inbound_from(payload: dict[str, Any]) -> Inbound:
    return Inbound(
        platform=payload["platform"],
        user_id=str(payload["user"]),
        tenant=str(payload["tenant"]),
        conversation="",
        kind="text",
    )


def _next_local_time(now: datetime, settings: Settings) -> datetime:
    zone = settings.service.zone
    local = now.astimezone(zone)
    at = settings.timers.ig_digest_at
    candidate = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate = (local + timedelta(days=1)).replace(
            hour=at.hour, minute=at.minute, second=0, microsecond=0
        )
    return candidate
