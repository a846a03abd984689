"""The job table: each timer kind → the handler that writes its unit of work.

Handlers read the current state first, so a job whose purpose is gone (the request decided,
the draft finished) commits nothing but its own completion.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot import retention
from bot.config import Settings
from bot.unit import Unit
from flows import handover, idle, jobs, visibility
from flows.context import LifecycleContext
from flows.conversation import ConversationContext, Session
from flows.digest import next_digest_at
from flows.request import Request
from flows.states import OPEN
from flows.visibility import Query
from store.base import Job

if TYPE_CHECKING:
    from bot.engine import Services

Handler = Callable[[Unit, Job], Awaitable[None]]


def housekeeping_job(now: datetime, settings: Settings) -> Job:
    """The next daily housekeeping run, at ``lifetimes.sweep_at`` local time."""
    due = next_digest_at(now, settings.service.zone, settings.lifetimes.sweep_at)
    return Job(jobs.job_id(jobs.HOUSEKEEPING, "daily"), jobs.HOUSEKEEPING, due.timestamp())


class JobTable:
    """Runs one claimed job into a unit of work."""

    def __init__(self, services: Services) -> None:
        self.s = services
        self._table: dict[str, Handler] = {
            **dict.fromkeys(jobs.CONVERSATION_KINDS, self._idle),
            **dict.fromkeys(jobs.REQUEST_KINDS, self._request),
            jobs.IG_DIGEST: self._digest,
            jobs.HOUSEKEEPING: self._housekeeping,
            jobs.RETENTION: self._retention,
            jobs.HANDOVER: self._handover,
        }

    async def run(self, unit: Unit, job: Job) -> None:
        handler = self._table.get(job.kind)
        if handler is None:
            unit.audit("job.unknown_kind", "", {"kind": job.kind})
            return
        await handler(unit, job)
        unit.after_commit.append(self.s.metrics.jobs.labels(kind=job.kind, result="ok").inc)

    def _lifecycle(self, unit: Unit) -> LifecycleContext:
        return self.s.lifecycle_context(unit.now)

    async def _request(self, unit: Unit, job: Job) -> None:
        ref = str(job.payload.get("ref", ""))
        stored = await self.s.read_request(ref)
        if stored is None:
            return
        request = Request.model_validate(stored.data)
        step = self.s.lifecycle.on_timer(request, job.kind, job.payload, self._lifecycle(unit))
        if step.changed:
            unit.save_request(ref, step.request.model_dump(mode="json"), stored.version)
        unit.apply(step.effects, ref)

    async def _digest(self, unit: Unit, job: Job) -> None:
        requests = await self.s.find(visibility.digest())
        unit.apply(self.s.lifecycle.digest(requests, self._lifecycle(unit)))
        zone, at = self.s.settings.service.zone, self.s.settings.timers.ig_digest_at
        due = next_digest_at(unit.now, zone, at).timestamp()
        unit.work.schedule.append(Job(jobs.job_id(jobs.IG_DIGEST, "daily"), jobs.IG_DIGEST, due))

    async def _housekeeping(self, unit: Unit, job: Job) -> None:
        """Sweep what is past its lifetime (its own transaction: deleting twice is harmless),
        record how much went, and come back tomorrow."""
        removed = await self.s.store.sweep(unit.now.timestamp())
        if removed:
            unit.audit("housekeeping.swept", "", {"removed": removed})
        unit.work.schedule.append(housekeeping_job(unit.now, self.s.settings))

    async def _retention(self, unit: Unit, job: Job) -> None:
        """The daily retention run, in this job's unit of work (a batch at a time)."""
        periods = self.s.settings.retention
        found = await retention.candidates(
            self.s.store, periods, unit.now, self.s.directory, enough=periods.batch + 1
        )
        due = [c for c in found if not c.due.held][: periods.batch]
        for candidate in due:
            work = retention.destruction(candidate, unit.now, unit.actor)
            unit.work.requests += work.requests
            unit.work.shred += work.shred
            unit.work.audit += work.audit
        more = len([c for c in found if not c.due.held]) > len(due)
        unit.work.schedule.append(retention.next_run(unit.now, self.s.settings, more))

    async def _handover(self, unit: Unit, job: Job) -> None:
        """A shift change: summaries for the incoming officers, then the next hand-over."""
        at = datetime.fromtimestamp(float(job.payload.get("at", unit.now.timestamp())), UTC)
        requests = await self.s.find(Query(frozenset(OPEN)))
        zone = self.s.settings.service.zone
        unit.apply(handover.at_shift_change(self.s.directory, at, requests, zone))

    async def _idle(self, unit: Unit, job: Job) -> None:
        key = str(job.payload["session"])
        loaded = await self.s.store.get_session(key)
        if loaded is None or unit.conversation is None:
            return
        session = Session.model_validate(loaded.data)
        flow = self.s.conversation
        if flow.is_finished(session):
            return
        check = idle.check(session, unit.now, self.s.settings.timers)
        payload = unit.conversation.payload()
        if check.verdict == "wait" and check.next_at is not None:
            unit.apply([idle.follow_up(key, check.next_at, payload)])
            return
        ctx = self._context(unit)
        step = (
            flow.warn_idle(session, ctx) if check.verdict == "warn" else flow.expire(session, ctx)
        )
        unit.save_session(key, step.session.model_dump(mode="json"), loaded.version)
        unit.reply(*step.replies)
        unit.apply(step.effects)
        if check.next_at is not None:
            unit.apply([idle.follow_up(key, check.next_at, payload)])

    def _context(self, unit: Unit) -> ConversationContext:
        assert unit.conversation is not None
        who = unit.conversation
        return self.s.conversation_context(unit.now, who.platform, who.user, who.tenant)
