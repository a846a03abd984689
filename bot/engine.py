"""The engine: every event and every due job is one unit of work.

1. **Take** — ``receive`` handles the event at once: routing (``bot.routing``) loads the state
   and runs the pure flow into a ``Unit`` (the new state, jobs, audit entries and messages),
   and ``Store.commit`` writes it together with the event's delivery mark, atomically, before
   the adapter acknowledges the event. A redelivery finds the mark and is dropped (or, when
   this process's commit went through but its answer was lost, shows that commit's replies:
   ``bot.unsure``); a lost compare-and-set re-runs the step on fresh state.
2. **Inbox** — if that fails (a fault in a step, a store error) the event is stored sealed in
   the inbox instead and ``process`` handles it after the acknowledgement, the commit
   completing the inbox entry. The job table (``bot.job_table``) runs due jobs the same way.
3. **Dispatch** — the messages are outbox entries: replies are shown where the event happened
   (``process`` returns them; ``delivered`` marks them shown) and the rest go out through the
   dispatcher. Whatever a dead process left behind — an inbox entry, a job, a message — comes
   back when its lease runs out, to the worker.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from adapters.base import NotStored, Receipt, Sender
from bot import retention
from bot.clock import Clock
from bot.config import Settings
from bot.delivery import Delivery
from bot.dispatcher import Dispatcher
from bot.job_table import JobTable, housekeeping_job
from bot.logs import get_logger
from bot.metrics import Metrics
from bot.routing import Router
from bot.unit import Conversation, Leases, Unit, is_reply
from bot.unsure import UnsureCommits
from flows import handover, jobs, visibility
from flows.calendar import BusinessCalendar
from flows.commands import BUSY
from flows.context import LifecycleContext
from flows.conversation import ConversationContext, ConversationFlow
from flows.digest import next_digest_at
from flows.directory import Directory
from flows.home import home_view
from flows.inbound import Inbound, Platform
from flows.lifecycle import RequestFlow
from flows.messages import Card, Message
from flows.oncall import oncall_card
from flows.request import Request
from flows.visibility import Query
from flows.wire import decode_inbound, decode_message, encode_inbound
from store.base import (
    Committed,
    Conflict,
    Duplicate,
    Job,
    Outgoing,
    Seen,
    Store,
    UnitOfWork,
    Versioned,
)

log = get_logger("engine")
CAS_ATTEMPTS = 5
REPLY_GRACE_SECONDS = 30.0
TAKEN = "taken"  # receipts of events handled by ``receive`` itself
Build = Callable[[Unit], Awaitable[None]]


@dataclass(frozen=True)
class Services:
    """What routing and the job table share: the flows, the store and the configuration."""

    settings: Settings
    store: Store
    directory: Directory
    clock: Clock
    calendar: BusinessCalendar
    conversation: ConversationFlow
    lifecycle: RequestFlow
    metrics: Metrics
    # Requests read ahead for the worker's claimed batch, each taken by the first job that
    # needs it (a retry after a lost compare-and-set reads the store again).
    ahead: dict[str, Versioned] = field(default_factory=dict)

    async def read_request(self, ref: str) -> Versioned | None:
        """The stored request: read ahead for this batch, or from the store."""
        early = self.ahead.pop(ref, None)
        return early if early is not None else await self.store.get_request(ref)

    async def find(self, *queries: Query) -> list[Request]:
        """The requests matching any of ``queries``, in reference order, each read once from
        the store's state and requester indexes."""
        found: dict[str, Request] = {}
        for query in queries:
            stored = await self.store.list_requests(states=query.states, requester=query.requester)
            for versioned in stored:
                request = Request.model_validate(versioned.data)
                found[request.ref] = request
        return [found[ref] for ref in sorted(found)]

    def lifecycle_context(self, now: datetime) -> LifecycleContext:
        """What a lifecycle call may know besides the request."""
        timers, policy = self.settings.timers, self.settings.policy
        return LifecycleContext(now, self.directory, timers, self.calendar, policy=policy)

    def oncall_card(self, now: datetime) -> Card:
        """Who is on duty for the SPOC desk at ``now``, level by level."""
        zone = self.settings.service.zone
        return oncall_card(self.directory, now, zone, self.settings.timers.spoc_ack)

    def conversation_context(
        self, now: datetime, platform: Platform, user_id: str, tenant: str
    ) -> ConversationContext:
        """What a conversation step may know besides the session: who is talking, and when."""
        return ConversationContext(
            now=now,
            directory=self.directory,
            policy=self.settings.policy,
            in_office_hours=self.calendar.in_office_hours(now),
            platform=platform,
            user_id=user_id,
            tenant=tenant,
            calendar=self.calendar,
        )


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
        dispatcher: Dispatcher,
        metrics: Metrics,
    ) -> None:
        office = settings.service.office_hours
        calendar = BusinessCalendar(
            settings.service.zone, office.start, office.end, office.days, office.bank_holidays
        )
        self.services = Services(
            settings=settings,
            store=store,
            directory=directory,
            clock=clock,
            calendar=calendar,
            conversation=ConversationFlow(settings.policy),
            lifecycle=RequestFlow(),
            metrics=metrics,
        )
        self.settings, self.store, self.directory, self.clock = settings, store, directory, clock
        self.delivery, self.dispatcher, self.metrics = delivery, dispatcher, metrics
        self.router = Router(self.services)
        self.jobs = JobTable(self.services)
        self._held: dict[str, list[Outgoing]] = {}
        self._taken: dict[str, list[Outgoing]] = {}
        self._unsure = UnsureCommits()

    @property
    def calendar(self) -> BusinessCalendar:
        return self.services.calendar

    def add_sender(self, sender: Sender, channel: str = "") -> None:
        """Register a platform's sender (called by the composition root)."""
        self.delivery.add_sender(sender, channel)

    # --- Handler ---------------------------------------------------------------------------

    async def receive(self, inbound: Inbound) -> Receipt | None:
        """Take the event; None if it was received before (a redelivery), unless that first
        delivery's replies are still to be shown here (``_redelivered``).

        At once when it can be: routed, and its unit of work committed together with its
        delivery mark — one durable write, nothing sent yet. If that fails (a fault in a
        step, a store error) the event goes to the inbox instead, sealed, to be handled by
        ``process``. Either way it is stored when this returns; raises ``NotStored`` if not."""
        self.metrics.inbound.labels(platform=inbound.platform).inc()
        await self.dispatcher.settle()  # replies shown while the store was away: marked first
        now = self.clock.now().timestamp()
        dedupe = f"{inbound.platform}:{inbound.event_id or uuid.uuid4().hex}"
        seen = Seen(dedupe, now + self.settings.timers.dedupe_ttl.total_seconds(), now)
        try:
            fast = await self._route(inbound, done=None, seen=seen)
        except Duplicate:
            return await self._redelivered(inbound, seen)
        except Exception as error:
            log.warning(
                "handled_after_inbox", platform=inbound.platform, error=type(error).__name__
            )
            self.metrics.deferred.labels(platform=inbound.platform).inc()
            return await self._inbox(inbound, seen)
        return self._taken_now(inbound, fast)

    def _taken_now(self, inbound: Inbound, fast: list[Outgoing]) -> Receipt:
        receipt = Receipt(inbound=inbound, id=f"{TAKEN}:{uuid.uuid4().hex}", lease="")
        self._taken[receipt.id] = fast
        return receipt

    async def _redelivered(self, inbound: Inbound, seen: Seen) -> Receipt | None:
        """The event's delivery mark is set: a redelivery, taken as received (None). But if
        the mark came from a commit of this process whose answer was lost (the store dropped
        as it committed), its replies still wait unshown in the outbox, under that commit's
        lease: they are shown now, with this delivery, rather than after the reply grace."""
        self.metrics.duplicates.inc()
        unsure = self._unsure.pop(seen.key)
        if not unsure:
            return None
        leases = {entry.id: entry.lease for entry in unsure}
        try:
            stored = await self.store.pending_outbox(list(leases))
        except Exception as error:  # the replies go after the grace, as they would have
            log.warning("unsure_commit_not_read", error=type(error).__name__)
            return None
        ours = [entry for entry in stored if entry.lease == leases[entry.id]]
        return self._taken_now(inbound, ours) if ours else None

    async def _inbox(self, inbound: Inbound, seen: Seen) -> Receipt | None:
        """Store the event to be handled by ``process`` (or, should this process die, by the
        worker once the inbox entry's lease runs out), under the same delivery mark."""
        lease = self.settings.timers.job_lease.total_seconds()
        job_id = f"{jobs.INBOUND}:{seen.key}"
        job = Job(job_id, jobs.INBOUND, seen.now + lease, {}, 0, uuid.uuid4().hex)
        try:
            stored = await self.store.receive(
                job, seen.key, seen.until - seen.now, seen.now, encode_inbound(inbound)
            )
        except Exception as error:
            log.error("inbox_unavailable", platform=inbound.platform, error=type(error).__name__)
            raise NotStored(type(error).__name__) from error
        if stored is None:
            return await self._redelivered(inbound, seen)
        self._unsure.pop(seen.key)  # in the inbox: so the commit before did not go through
        return Receipt(inbound=inbound, id=stored.id, lease=stored.lease)

    async def process(self, receipt: Receipt) -> list[Message]:
        """Handle a received event (unless ``receive`` did); send what goes elsewhere and
        return the replies to show where it happened, then call ``delivered`` once they are
        shown (until then they are also kept in the outbox)."""
        fast = self._taken.pop(receipt.id, None)
        if fast is None:
            done = Job(receipt.id, jobs.INBOUND, 0.0, {}, 1, receipt.lease)
            fast = await self._route(receipt.inbound, done=done, seen=None)
        replies = [entry for entry in fast if is_reply(entry)]
        await self._send_committed([entry for entry in fast if not is_reply(entry)])
        if replies:
            self._held[receipt.id] = replies
        return [self._message(entry) for entry in replies]

    async def _route(
        self, inbound: Inbound, *, done: Job | None, seen: Seen | None
    ) -> list[Outgoing]:
        """The event as one unit of work: completing its inbox entry (``done``) or setting its
        delivery mark (``seen``)."""
        actor = self.router.actor(inbound)
        return await self._unit(
            lambda unit: self.router.route(unit, inbound, actor),
            actor=actor.id,
            conversation=Conversation.of(inbound),
            done=done,
            seen=seen,
        )

    async def delivered(self, receipt: Receipt) -> None:
        """The replies ``process`` returned were shown: take them off the outbox. Should the
        store be unreachable, the dispatcher marks them later (before the next event is
        taken), so they do not hold back this person's next replies; nothing to retry."""
        held = self._held.pop(receipt.id, [])
        if held:
            await self.dispatcher.mark_sent(held)

    async def _send_committed(self, entries: list[Outgoing]) -> None:
        """Send what a commit leased to this process. The commit is done, so a failure here
        (the store gone mid-way) must not fail the event: the entries keep their lease in the
        outbox and the worker sends them when it runs out."""
        try:
            await self.dispatcher.send(entries)
        except Exception as error:
            log.warning("sending_left_to_worker", count=len(entries), error=type(error).__name__)

    async def handle(self, inbound: Inbound) -> list[Message]:
        """Receive and process in one go (a caller that shows the replies at once)."""
        receipt = await self.receive(inbound)
        if receipt is None:
            return []
        replies = await self.process(receipt)
        await self.delivered(receipt)
        return replies

    async def home(self, platform: Platform, user_id: str, tenant: str) -> list[Message]:
        """Home/status cards for this person."""
        officer = self.directory.by_platform(platform, user_id, tenant)
        queries = visibility.home(officer, self.directory) if officer else []
        requests = await self.services.find(*queries)
        zone, now = self.settings.service.zone, self.clock.now()
        return home_view(officer, requests, self.directory, zone, now)

    # --- timers ----------------------------------------------------------------------------

    async def read_ahead(self, batch: list[Job]) -> None:
        """Read the requests of a claimed batch of timers in one go."""
        refs = {str(j.payload.get("ref", "")) for j in batch if j.kind in jobs.REQUEST_KINDS}
        refs.discard("")
        self.services.ahead.clear()
        if not refs:
            return
        try:
            found = await self.store.get_requests(refs)
        except Exception as error:  # each job then reads (and fails, or not) on its own
            log.warning("read_ahead_failed", error=type(error).__name__)
            return
        self.services.ahead.update({str(v.data["ref"]): v for v in found})

    async def run_job(self, job: Job) -> None:
        """Carry out one claimed job as one unit of work (the commit completes it)."""
        if job.kind == jobs.INBOUND:
            await self._leftover(job)
            return
        conversation = (
            Conversation.from_payload(job.payload) if job.kind in jobs.CONVERSATION_KINDS else None
        )
        fast = await self._unit(
            lambda unit: self.jobs.run(unit, job),
            actor="system",
            conversation=conversation,
            done=job,
        )
        await self._send_committed(fast)

    async def _leftover(self, job: Job) -> None:
        """An inbox entry whose first handling died: handle it now; replies go by message."""
        fast = await self._route(decode_inbound(job.payload["event"]), done=job, seen=None)
        await self._send_committed(fast)

    async def schedule_digest(self) -> None:
        """(Re)schedule the daily IG digest at the configured local time."""
        zone, at = self.settings.service.zone, self.settings.timers.ig_digest_at
        due = next_digest_at(self.clock.now(), zone, at)
        job_id = jobs.job_id(jobs.IG_DIGEST, "daily")
        await self.store.schedule(Job(job_id, jobs.IG_DIGEST, due.timestamp()))
        await self.store.schedule(housekeeping_job(self.clock.now(), self.settings))

    async def schedule_retention(self) -> None:
        """Schedule the daily retention run unless it is already pending (a restart must not
        push back a run that is due)."""
        job = retention.next_run(self.clock.now(), self.settings, more=False)
        if await self.store.get_job(job.id) is None:
            await self.store.schedule(job)

    async def schedule_handover(self) -> None:
        """(Re)schedule the hand-over at the schedule's next shift change, if it has one.
        The job id is the moment of the change, so replicas agree on it."""
        job = handover.next_job(self.directory, self.clock.now(), self.settings.service.zone)
        if job is not None:
            due = job.due_at.timestamp()
            await self.store.schedule(Job(job.job_id, job.kind, due, dict(job.payload)))

    # --- the unit of work ------------------------------------------------------------------

    async def _unit(
        self,
        build: Build,
        *,
        actor: str,
        conversation: Conversation | None,
        done: Job | None,
        seen: Seen | None = None,
    ) -> list[Outgoing]:
        """Build and commit, re-building on a lost compare-and-set; returns the outbox
        entries this process keeps the lease of. Nothing is sent before the commit."""
        for _ in range(CAS_ATTEMPTS):
            unit = self._new_unit(actor, conversation)
            await build(unit)
            unit.work.done, unit.work.seen = done, seen
            try:
                committed = await self._commit(unit.work)
            except Conflict:
                if done is not None and not await self._still_held(done):
                    return []  # handled elsewhere (a redelivery or a worker after our lease)
                continue
            for count in unit.after_commit:
                count()
            return committed.fast
        return await self._give_up(actor, conversation, done, seen)

    async def _give_up(
        self, actor: str, conversation: Conversation | None, done: Job | None, seen: Seen | None
    ) -> list[Outgoing]:
        unit = self._new_unit(actor, conversation)
        unit.reply(BUSY)
        unit.work.done, unit.work.seen = done, seen
        try:
            return (await self._commit(unit.work)).fast
        except Conflict:
            return []

    async def _commit(self, work: UnitOfWork) -> Committed:
        """Commit. A refusal (``Conflict``, ``Duplicate``) wrote nothing; any other failure
        leaves it unknown whether the store took the unit, so its entries are kept under its
        delivery mark for a redelivery to find (``_redelivered``)."""
        try:
            return await self.store.commit(work)
        except (Conflict, Duplicate):
            raise
        except Exception:
            if work.seen is not None:
                self._unsure.keep(work.seen.key, work.outbox)
            raise

    def _new_unit(self, actor: str, conversation: Conversation | None) -> Unit:
        now = self.clock.now()
        send_due = now.timestamp() + self.settings.timers.job_lease.total_seconds()
        leases = Leases(uuid.uuid4().hex, now.timestamp() + REPLY_GRACE_SECONDS, send_due)
        return Unit(now, actor, conversation, self.delivery.channel_platforms, leases)

    async def _still_held(self, done: Job) -> bool:
        stored = await self.store.get_job(done.id)
        return stored is not None and stored.lease == done.lease

    @staticmethod
    def _message(entry: Outgoing) -> Message:
        return decode_message(entry.payload["message"])
