"""Store throughput, as ratios to a bare baseline measured in the same run.

    python -m benchmarks.bench_store [--redis redis://127.0.0.1:6379/15] [-n 500]

The baseline is the cheapest durable write each backend can do (SQLite: a one-row INSERT
transaction on the same file settings; Redis: SET), so ratios stay comparable across machines.
The Redis database given is FLUSHED: point it at a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis

from store.base import Job, Store
from store.crypto import Cipher, generate_key
from store.factory import open_store

Op = Callable[[int], Awaitable[object]]


async def timed(op: Op, n: int) -> float:
    """Operations per second over ``n`` sequential calls."""
    started = time.perf_counter()
    for i in range(n):
        await op(i)
    return n / (time.perf_counter() - started)


def operations(store: Store) -> dict[str, Op]:
    """The store calls that matter per inbound message and per timer."""
    doc = {"ref": "R", "state": "paged", "answers": {"subject.last_name": "Example"}}
    at = datetime(2026, 1, 1, tzinfo=UTC)

    async def session(i: int) -> object:
        await store.save_session(f"s{i}", {"state": "collecting", "answers": {"n": i}})
        return await store.load_session(f"s{i}")

    async def request(i: int) -> object:
        await store.create_request(f"R/{i}/2026", doc)
        return await store.update_request(f"R/{i}/2026", doc, 1)

    async def job(i: int) -> object:
        await store.schedule(Job(f"j{i}", "k", 0.0))
        for claimed in await store.claim(1.0, 60.0, 1):
            await store.complete(claimed)
        return None

    async def audit(i: int) -> object:
        return await store.append_audit(at, "officer", "bench", "R", {"i": i})

    return {"session": session, "request+cas": request, "job cycle": job, "audit": audit}


async def sqlite_baseline(path: Path, n: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")

    async def insert(i: int) -> object:
        return await asyncio.to_thread(conn.execute, "INSERT INTO t VALUES (?, 'x')", (i,))

    rate = await timed(insert, n)
    conn.close()
    return rate


async def redis_baseline(url: str, n: int) -> float:
    client = aioredis.Redis.from_url(url)
    rate = await timed(lambda i: client.set(f"bench:{i}", "x"), n)
    await client.flushdb()
    await client.aclose()
    return rate


async def bench(name: str, url: str, baseline: float, n: int) -> None:
    store = open_store(url, Cipher.from_strings([generate_key()]))
    await store.open()
    print(f"{name}: baseline {baseline:,.0f} ops/s")
    for label, op in operations(store).items():
        rate = await timed(op, n)
        print(f"  {label:<12} {rate:>9,.0f} ops/s  {rate / baseline:5.2f}x baseline")
    await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis", help="scratch Redis URL (flushed)")
    parser.add_argument("-n", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = await sqlite_baseline(Path(tmp) / "baseline.db", args.n)
        await bench("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", base, args.n)
    if args.redis:
        await aioredis.Redis.from_url(args.redis).flushdb()
        await bench("redis", args.redis, await redis_baseline(args.redis, args.n), args.n)
        await aioredis.Redis.from_url(args.redis).flushdb()


if __name__ == "__main__":
    asyncio.run(main())
