"""The scheduler worker: claims due jobs and undelivered outbox messages and carries them out.

At-least-once: the engine completes a job in the same commit as everything the job changed,
so a crash before that commit leaves the job claimed and it reappears when its lease runs out,
and a crash after it leaves nothing to redo. Inbox entries whose first handling died are jobs
too. A job that keeps failing is retried with backoff and finally dead-lettered, which alerts
the SPOC channel. Each round also hands due outbox messages to the dispatcher.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from bot.clock import Clock
from bot.logs import get_logger
from bot.metrics import Metrics
from flows.messages import Text
from flows.policy import Timers
from store.base import Job, Store

log = get_logger("worker")
BATCH = 50
MAX_BACKOFF_SECONDS = 600.0


class JobRunner(Protocol):
    async def read_ahead(self, batch: list[Job]) -> None:
        """Read what the batch's jobs will need in one go (a cost, never a correctness)."""
        ...

    async def run_job(self, job: Job) -> None:
        """Carry the job out; its commit completes it."""
        ...


class Outbox(Protocol):
    async def run_once(self) -> int: ...
    async def measure(self) -> None: ...


class Alerter(Protocol):
    async def to_channel(self, message: Text) -> None: ...


class Worker:
    """Runs due jobs; ``run_once`` for tests and the clock control, ``run`` in production."""

    def __init__(
        self,
        *,
        store: Store,
        runner: JobRunner,
        outbox: Outbox,
        alerter: Alerter,
        clock: Clock,
        timers: Timers,
        metrics: Metrics,
    ) -> None:
        self._store = store
        self._runner = runner
        self._outbox = outbox
        self._alerter = alerter
        self._clock = clock
        self._timers = timers
        self._metrics = metrics

    async def run_once(self) -> int:
        """Claim and run one batch of due jobs, then deliver due outbox messages; returns how
        many of either were claimed."""
        now = self._clock.now().timestamp()
        lease = self._timers.job_lease.total_seconds()
        claimed = await self._store.claim(now, lease, BATCH)
        if claimed:
            await self._runner.read_ahead(claimed)
        # A batch runs at once: the store commits the units together (SQLite) or overlaps
        # their round trips (Redis). Two jobs of one request race through compare-and-set.
        await asyncio.gather(*(self._run(job) for job in claimed))
        return len(claimed) + await self._outbox.run_once()

    async def drain(self, rounds: int = 100) -> int:
        """Run batches until nothing is due (jobs scheduled for 'now' by jobs included)."""
        total = 0
        for _ in range(rounds):
            count = await self.run_once()
            total += count
            if count == 0:
                break
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set."""
        poll = self._timers.job_poll.total_seconds()
        while not stop.is_set():
            try:
                busy = await self.run_once()
                await self._outbox.measure()
            except Exception as error:
                log.error("worker_poll_failed", error=type(error).__name__)
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll)

    async def _run(self, job: Job) -> None:
        try:
            await self._runner.run_job(job)
        except Exception as error:
            log.error("job_failed", job=job.id, kind=job.kind, error=type(error).__name__)
            await self._failed(job)

    async def _failed(self, job: Job) -> None:
        self._metrics.jobs.labels(kind=job.kind, result="failed").inc()
        backoff = min(2.0**job.attempts * 5.0, MAX_BACKOFF_SECONDS)
        due = self._clock.now().timestamp() + backoff
        if await self._store.retry(job, due, self._timers.job_max_attempts):
            return
        self._metrics.jobs.labels(kind=job.kind, result="dead").inc()
        ref = job.payload.get("ref", "")
        await self._alerter.to_channel(
            Text(
                f"A scheduled {job.kind.replace('_', ' ')} for {ref or 'oohbot'} failed "
                f"{job.attempts} times and has stopped. Please check it by hand."
            )
        )
