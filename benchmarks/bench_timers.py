"""Timer throughput: the worker running due jobs, as a ratio to the raw store loop.

    python -m benchmarks.bench_timers [-n 20000] [--redis redis://127.0.0.1:6379/15]

(The Redis database named is flushed.) The baseline is the least a store can do per job: claim
a batch, then complete each job. The worker does that through the engine: each job is one unit
of work (read the request it is about, run the lifecycle, commit the job's completion with its
effects). The jobs here are about requests that have ended, so their units write nothing but
the completion: what is measured is the machinery, not the night.

Then lateness: jobs fall due one after another, in real time, at half the rate the worker just
managed, and a worker polling as in production runs them; how late each one ran is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import scratch_store
from bot.app import build_core
from bot.clock import FrozenClock, SystemClock
from bot.config import parse_settings
from bot.directory import load_directory
from bot.engine import Engine
from bot.worker import Worker
from store.base import Job, Store, UnitOfWork

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
BATCH = 2000


async def opened(url: str, folder: Path) -> Store:
    return await scratch_store(url, folder)


async def schedule(store: Store, jobs: int) -> None:
    due = NOW.timestamp() - 1
    for start in range(0, jobs, BATCH):
        batch = [
            Job(f"response_warning:GONE/{n}/2026:0", "response_warning", due, {"ref": f"GONE/{n}"})
            for n in range(start, min(start + BATCH, jobs))
        ]
        await store.commit(UnitOfWork(schedule=batch))


async def raw_loop(url: str, jobs: int) -> float:
    store = await opened(url, Path(tempfile.mkdtemp()))
    await schedule(store, jobs)
    start, done = time.perf_counter(), 0
    while done < jobs:
        claimed = await store.claim(NOW.timestamp(), 60, 50)
        for job in claimed:
            await store.complete(job)
        done += len(claimed)
    elapsed = time.perf_counter() - start
    await store.close()
    return jobs / elapsed


async def worker(url: str, jobs: int) -> float:
    folder = Path(tempfile.mkdtemp())
    store = await opened(url, folder)
    await schedule(store, jobs)
    settings = parse_settings({"directory": str(ROOT / "directory.example.yaml")}, {}, folder)
    directory = load_directory(settings.directory)
    core = build_core(settings, clock=FrozenClock(NOW), store=store, directory=directory)
    start = time.perf_counter()
    ran = await core.worker.drain(rounds=jobs)
    elapsed = time.perf_counter() - start
    assert ran == jobs, ran
    await store.close()
    return jobs / elapsed


class Lateness:
    """Runs jobs through the engine, noting how long after its due time each one started."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.late = engine, list[float]()

    async def read_ahead(self, batch: list[Job]) -> None:
        await self.engine.read_ahead(batch)

    async def run_job(self, job: Job) -> None:
        self.late.append(time.time() - float(job.payload["due"]))
        await self.engine.run_job(job)


async def lateness(url: str, jobs: int, rate: float) -> list[float]:
    folder = Path(tempfile.mkdtemp())
    store = await opened(url, folder)
    raw = {"directory": str(ROOT / "directory.example.yaml"), "timers": {"job_poll": "50ms"}}
    settings = parse_settings(raw, {}, folder)
    clock = SystemClock()
    core = build_core(
        settings, clock=clock, store=store, directory=load_directory(settings.directory)
    )
    start = time.time() + 1.0
    due = [start + n / rate for n in range(jobs)]
    for first in range(0, jobs, BATCH):
        batch = [
            Job(f"response_warning:GONE/{n}/2026:0", "response_warning", due[n],
                {"ref": f"GONE/{n}", "due": due[n]})
            for n in range(first, min(first + BATCH, jobs))
        ]  # fmt: skip
        await store.commit(UnitOfWork(schedule=batch))
    runner = Lateness(core.engine)
    worker = Worker(
        store=store, runner=runner, outbox=core.engine.dispatcher, alerter=core.engine.delivery,
        clock=clock, timers=settings.timers, metrics=core.metrics,
    )  # fmt: skip
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    while len(runner.late) < jobs and time.time() < due[-1] + 30:
        await asyncio.sleep(0.1)
    stop.set()
    await running
    await store.close()
    return runner.late


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--redis", default="")
    args = parser.parse_args()
    urls = {"sqlite": "sqlite:///FOLDER/b.db"}
    if args.redis:
        urls["redis"] = args.redis
    for name, url in urls.items():
        raw = await raw_loop(url, args.n)
        ours = await worker(url, args.n)
        print(
            f"{name}: {args.n:,} jobs  raw claim+complete {raw:8.0f} jobs/s  1.00x   "
            f"worker {ours:8.0f} jobs/s  {ours / raw:.2f}x"
        )
        rate = ours / 2
        late = sorted(await lateness(url, min(args.n, int(rate * 10)), rate))
        p99 = late[int(len(late) * 0.99) - 1]
        print(
            f"{name}: {len(late):,} jobs falling due at {rate:.0f}/s: lateness "
            f"p50 {late[len(late) // 2] * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
