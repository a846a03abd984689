"""The daily housekeeping job: it sweeps what is past its lifetime and comes back tomorrow."""

from __future__ import annotations

from datetime import timedelta

from flows import jobs
from store.base import Job
from tests.night import Night


async def test_housekeeping_runs_daily_and_sweeps_old_dead_letters(night: Night) -> None:
    store, now = night.engine.store, night.clock.now().timestamp()
    await night.engine.schedule_digest()
    job_id = jobs.job_id(jobs.HOUSEKEEPING, "daily")
    first = await store.get_job(job_id)
    assert first is not None and first.due_at > now

    long_ago = now - timedelta(days=40).total_seconds()
    await store.schedule(Job("old", jobs.SPOC_ACK, long_ago))
    (claimed,) = [j for j in await store.claim(long_ago, 60, 50) if j.id == "old"]
    assert not await store.retry(claimed, long_ago, max_attempts=1)
    assert [j.id for j in await store.dead_letters()] == ["old"]

    await night.advance(timedelta(days=1))
    assert await store.dead_letters() == [], "a dead letter past its 30 days is gone"
    swept = [e for e in await store.audit_entries() if e.action == "housekeeping.swept"]
    assert swept and sum(swept[-1].details["removed"].values()) >= 1
    again = await store.get_job(job_id)
    assert again is not None and again.due_at > first.due_at, "it comes back the next day"
