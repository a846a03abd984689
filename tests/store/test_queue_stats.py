"""The queue sizes behind the store gauges: counted from the stores' indexes, they agree with
what reading every entry finds, and they need no entry's contents."""

from __future__ import annotations

import pytest

from store.base import Job, OutboxStats, QueueStats, Store, UnitOfWork
from store.crypto import Cipher, generate_key
from tests.store.conftest import Backend
from tests.store.test_unit_of_work import NOW, out


async def test_an_empty_store_has_empty_queues(store: Store) -> None:
    assert await store.queue_stats(NOW) == QueueStats(0, 0, None, OutboxStats(0, None), 0, 0)
    assert await store.outbox_stats() == OutboxStats(0, None)


async def _dead_job(store: Store) -> None:
    await store.schedule(Job("doomed", "spoc_ack", NOW - 200, {"ref": "R1"}))
    [doomed] = await store.claim(NOW, 30, 1)
    assert not await store.retry(doomed, NOW, max_attempts=1)


async def _jobs(store: Store) -> None:
    """One job dead, one running (leased until NOW + 30), one overdue, one in the future."""
    await _dead_job(store)
    await store.schedule(Job("running", "spoc_ack", NOW - 300, {"ref": "R1"}))
    [running] = await store.claim(NOW, 30, 1)
    assert running.id == "running"
    await store.schedule(Job("late", "retro_reminder", NOW - 90, {"ref": "R1"}))
    await store.schedule(Job("later", "retro_reminder", NOW + 600, {"ref": "R1"}))


async def _outbox(store: Store) -> None:
    """x0 failed and waits until NOW + 300; x1, queued behind it, has been due since NOW - 30,
    so the longest wait is not at the head of a queue; y0 failed for good."""
    await store.commit(
        UnitOfWork(
            outbox=[
                out("x0", "to:x", queued=NOW - 60),
                out("x1", "to:x", queued=NOW - 30),
                out("y0", "to:y", queued=NOW - 20),
            ]
        )
    )
    claimed = {e.id: e for e in await store.claim_outbox(NOW, 60, 10)}
    assert sorted(claimed) == ["x0", "y0"]
    assert await store.retry_outbox(claimed["x0"], NOW + 300, max_attempts=5)
    assert not await store.retry_outbox(claimed["y0"], NOW, max_attempts=1)


async def test_the_counts_agree_with_reading_every_entry(store: Store) -> None:
    await _jobs(store)
    await _outbox(store)
    stats = await store.queue_stats(NOW)
    assert stats == QueueStats(
        jobs_scheduled=3,
        jobs_waiting=1,
        oldest_job_due=NOW - 90,
        outbox=OutboxStats(depth=2, oldest_due=NOW - 30),
        dead_jobs=1,
        dead_outbox=1,
    )
    jobs = await store.pending_jobs()
    entries = await store.outbox_entries()
    assert stats.jobs_scheduled == len(jobs)
    assert stats.jobs_waiting == len([j for j in jobs if j.due_at <= NOW])
    assert stats.oldest_job_due == min(j.due_at for j in jobs)
    assert stats.outbox == OutboxStats(len(entries), min(e.due_at for e in entries))
    assert stats.dead_jobs == len(await store.dead_letters())
    assert stats.dead_outbox == len(await store.dead_outbox())
    assert await store.outbox_stats() == stats.outbox


async def test_what_is_waiting_depends_on_the_time_asked_about(store: Store) -> None:
    await _jobs(store)
    assert (await store.queue_stats(NOW - 100)).jobs_waiting == 0
    assert (await store.queue_stats(NOW + 60)).jobs_waiting == 2  # "late", and "running" ran out
    assert (await store.queue_stats(NOW + 600)).jobs_waiting == 3


async def test_the_counts_read_no_sealed_contents(backend: Backend) -> None:
    writer = await backend.open()
    await _outbox(writer)
    other_key = await backend.open(Cipher.from_strings([generate_key()]))
    with pytest.raises(Exception):  # noqa: B017 — the contents are unreadable with this key
        await other_key.outbox_entries()
    stats = await other_key.queue_stats(NOW)
    assert stats.outbox == OutboxStats(depth=2, oldest_due=NOW - 30)
    assert stats.dead_outbox == 1
