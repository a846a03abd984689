"""Redis restarting under a running store: the pool's idle connections all die with the old
server, and none of them may fail a command once the new one is up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis

from store.base import Job, Store, UnitOfWork
from store.crypto import Cipher, generate_key
from store.factory import open_store
from tests.redis_process import AofRedis

BURST = 60  # more at once than the pool holds, so every pooled connection is used
NOW = 1_800_000_000.0


@pytest.fixture
async def store(aof_redis: AofRedis) -> AsyncIterator[Store]:
    opened = open_store(aof_redis.url, Cipher.from_strings([generate_key()]))
    await opened.open()
    yield opened
    await opened.close()


async def one_of_each(store: Store, n: int) -> None:
    """A plain read, a script, and a commit (sent in a pipeline with the others)."""
    await store.get_job(f"job-{n}")
    await store.claim_outbox(NOW, 60, 5)
    await store.commit(UnitOfWork(schedule=[Job(f"job-{n}", "spoc_ack", NOW + 3600)]))


async def burst(store: Store) -> list[BaseException]:
    results = await asyncio.gather(
        *(one_of_each(store, n) for n in range(BURST)), return_exceptions=True
    )
    return [r for r in results if isinstance(r, BaseException)]


@pytest.mark.parametrize("stop", ["kill", "shut_down"])
async def test_no_command_fails_once_a_restarted_redis_is_back(
    store: Store, aof_redis: AofRedis, stop: str
) -> None:
    assert await burst(store) == []  # the pool is full of connections to this server
    getattr(aof_redis, stop)()
    aof_redis.start()
    assert await burst(store) == []
    assert len([j for j in await store.pending_jobs() if j.kind == "spoc_ack"]) == BURST


async def test_a_redis_that_is_down_fails_a_command_at_once(
    store: Store, aof_redis: AofRedis
) -> None:
    await burst(store)
    aof_redis.kill()
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        await store.get_job("job-1")
    assert time.monotonic() - started < 2.0  # refused, so Slack sends the event again
