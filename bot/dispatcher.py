"""The outbox dispatcher: delivers committed messages, at least once, in order per recipient.

Entries arrive two ways. The committer delivers the entries it kept a lease on at once
(``send``), in process, for speed; everything else — entries whose committer died, entries
queued behind an older one, entries released after a failure — is claimed by ``run_once``
from the worker loop. A platform failure releases the entry to be tried again with backoff
(later entries of the same recipient wait behind it); after ``timers.job_max_attempts`` it is
dead-lettered and the SPOC channel is told, so a person can pick it up by phone.

An entry delivered (or shown as a reply) is then marked sent. Should the store not answer,
the entry is kept here and marked with the next call that touches the outbox (``settle``):
left pending, it would hold back every later message to its recipient, which waits behind it,
until its lease ran out — and then go again.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.clock import Clock
from bot.delivery import Delivery, DeliveryFailed
from bot.logs import get_logger
from bot.metrics import Metrics, show_outbox
from bot.unit import decode
from flows.messages import Text
from flows.policy import Timers
from store.base import Outgoing, Store

log = get_logger("dispatcher")
BATCH = 50
MAX_BACKOFF_SECONDS = 300.0
UNMARKED_KEPT = 10_000  # delivered entries remembered until marked; older ones simply go again


class Dispatcher:
    """Sends outbox entries through ``Delivery``."""

    def __init__(
        self, *, store: Store, delivery: Delivery, clock: Clock, timers: Timers, metrics: Metrics
    ) -> None:
        self._store = store
        self._delivery = delivery
        self._clock = clock
        self._timers = timers
        self._metrics = metrics
        self._unmarked: dict[str, Outgoing] = {}

    async def send(self, entries: Sequence[Outgoing]) -> None:
        """Deliver entries this process holds the lease of, in order; a recipient whose
        message fails keeps the rest of its entries back for the next attempt."""
        delivered: list[Outgoing] = []
        blocked: set[str] = set()
        try:
            for entry in sorted(entries, key=lambda e: e.seq):
                if entry.recipient in blocked:
                    await self._store.retry_outbox(entry, self._now(), self._max_attempts)
                    continue
                if await self._deliver(entry):
                    delivered.append(entry)
                else:
                    blocked.add(entry.recipient)
        finally:  # the store failing over a later entry must not leave these to go twice
            if delivered:
                await self.mark_sent(delivered)

    async def mark_sent(self, entries: Sequence[Outgoing]) -> None:
        """Take delivered entries off the outbox (those still holding their lease). Never
        raises: what the store does not take now is kept for ``settle``."""
        for entry in entries:
            self._unmarked[entry.id] = entry
        while len(self._unmarked) > UNMARKED_KEPT:
            del self._unmarked[next(iter(self._unmarked))]
        await self.settle()

    async def settle(self) -> None:
        """Mark sent what was delivered but could not be marked yet (nothing, normally)."""
        if not self._unmarked:
            return
        batch = list(self._unmarked.values())
        try:
            await self._store.complete_outbox(batch)
        except Exception as error:
            log.warning("sent_not_marked", count=len(batch), error=type(error).__name__)
            return
        for entry in batch:
            self._unmarked.pop(entry.id, None)

    async def run_once(self) -> int:
        """Claim and deliver one batch of due entries; returns how many were claimed."""
        await self.settle()
        lease = self._timers.job_lease.total_seconds()
        claimed = await self._store.claim_outbox(self._now(), lease, BATCH)
        if claimed:
            await self.send(claimed)
        return len(claimed)

    async def measure(self) -> None:
        """Update the outbox depth and age gauges (a count: no entry is read or decrypted)."""
        show_outbox(self._metrics, await self._store.outbox_stats(), self._now())

    async def drain(self, rounds: int = 20) -> int:
        total = 0
        for _ in range(rounds):
            count = await self.run_once()
            total += count
            if not count:
                break
        return total

    @property
    def _max_attempts(self) -> int:
        return self._timers.job_max_attempts

    def _now(self) -> float:
        return self._clock.now().timestamp()

    async def _deliver(self, entry: Outgoing) -> bool:
        try:
            target, message, ref = decode(entry)
        except (KeyError, TypeError, ValueError):
            log.error("outbox_entry_unreadable", entry=entry.id)
            return True  # nothing will ever read it: do not hold the queue behind it
        try:
            await self._delivery.deliver(target, message, ref)
        except DeliveryFailed as error:
            await self._failed(entry, ref, str(error))
            return False
        self._metrics.outbox.labels(result="sent").inc()
        return True

    async def _failed(self, entry: Outgoing, ref: str, why: str) -> None:
        self._metrics.outbox.labels(result="failed").inc()
        log.warning("outbox_delivery_failed", entry=entry.id, attempts=entry.attempts, why=why)
        backoff = min(2.0 ** max(entry.attempts, 1) * 2.0, MAX_BACKOFF_SECONDS)
        if await self._store.retry_outbox(entry, self._now() + backoff, self._max_attempts):
            return
        self._metrics.outbox.labels(result="dead").inc()
        about = f" about {ref}" if ref else ""
        await self._delivery.to_channel(
            Text(
                f"oohbot could not deliver a message{about} after {entry.attempts} tries and "
                "has stopped trying. Please check with the people involved by phone."
            )
        )
