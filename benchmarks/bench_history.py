"""What the service's history costs one person's message, as a ratio to an empty store.

    python -m benchmarks.bench_history [--open 10000] [--closed 100000] [--messages 100]
                                       [--redis redis://127.0.0.1:6379/15]

(The Redis database named is flushed.) A requester's first message of a draft, ``status`` and
the Home view are timed on an empty store (the baseline) and on one holding other people's
open requests (each with the four timers an open request holds) and a long closed history;
the peak of Python allocations while handling them is compared the same way. Each view asks
the store's indexes for what it shows, so neither ratio should move far from 1. The refresh of
the store gauges (``/metrics``; every 15 s on the event loop) is timed the same way: it counts
the job queue, the outbox and the dead letters rather than reading them.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import NullSender, scratch_store
from bot.app import build_core
from bot.clock import FrozenClock
from bot.config import parse_settings
from bot.directory import load_directory
from bot.engine import Engine
from bot.metrics import Metrics, refresh_store_gauges
from flows import jobs
from flows.inbound import Inbound
from flows.request import Request
from store.base import Change, Job, Store, UnitOfWork

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
BATCH = 2000
OPEN_STATES = ("paged", "retro_due", "retro_overdue", "acknowledged")
OPEN_TIMERS = (
    jobs.RESPONSE_WARNING, jobs.RESPONSE_BREACH, jobs.RETRO_REMINDER, jobs.RETRO_OVERDUE
)  # fmt: skip


def _request(n: int, state: str) -> Request:
    return Request(
        ref=f"HIS/{n:06d}/2025", state=state, requester=f"someone.{n % 2000}", org="DPT",
        on_behalf_of="DPT", created_at=NOW - timedelta(days=1), response_due_at=NOW,
        retro_due_at=NOW, answers={"summary": "x" * 300},
    )  # fmt: skip


async def fill(store: Store, opened: int, closed: int) -> None:
    rows = [(n, OPEN_STATES[n % len(OPEN_STATES)]) for n in range(opened)]
    rows += [(opened + n, "closed") for n in range(closed)]
    for start in range(0, len(rows), BATCH):
        batch = [_request(n, state) for n, state in rows[start : start + BATCH]]
        changes = [Change(r.ref, r.model_dump(mode="json"), 0) for r in batch]
        timers = [_timer(r, kind) for r in batch if r.state != "closed" for kind in OPEN_TIMERS]
        await store.commit(UnitOfWork(requests=changes, schedule=timers))


def _timer(request: Request, kind: str) -> Job:
    due = (NOW + timedelta(hours=OPEN_TIMERS.index(kind) + 1)).timestamp()
    return Job(jobs.job_id(kind, request.ref), kind, due, {"ref": request.ref})


@dataclass
class Measured:
    seconds: float
    peak_bytes: int


async def measure(engine: Engine, messages: int) -> dict[str, Measured]:
    async def first() -> None:
        await engine.handle(_text("amara.okafor", "start"))

    async def status() -> None:
        await engine.handle(_text("amara.okafor", "status"))

    async def home() -> None:
        await engine.home("web", "amara.okafor", "")

    async def gauges() -> None:
        await refresh_store_gauges(Metrics(), engine.store, NOW.timestamp())

    cases: dict[str, Callable[[], Awaitable[None]]] = {
        "first message of a draft": first,
        "'status'": status,
        "Home view": home,
        "store gauges refresh": gauges,
    }
    return {name: await _time(case, messages) for name, case in cases.items()}


def _text(who: str, text: str) -> Inbound:
    return Inbound("web", who, "", "c", "text", text=text, event_id=uuid.uuid4().hex)


async def _time(case: Callable[[], Awaitable[None]], messages: int) -> Measured:
    await case()  # warm up
    tracemalloc.start()
    start = time.perf_counter()
    for _ in range(messages):
        await case()
    elapsed = (time.perf_counter() - start) / messages
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Measured(elapsed, peak)


async def run(url: str, opened: int, closed: int, messages: int) -> dict[str, Measured]:
    folder = Path(tempfile.mkdtemp())
    settings = parse_settings({"directory": str(ROOT / "directory.example.yaml")}, {}, folder)
    store = await scratch_store(url, folder)
    await fill(store, opened, closed)
    directory = load_directory(settings.directory)
    core = build_core(settings, clock=FrozenClock(NOW), store=store, directory=directory)
    core.engine.add_sender(NullSender(), "spoc")
    try:
        return await measure(core.engine, messages)
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--closed", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--redis", default="")
    args = parser.parse_args()
    urls = {"sqlite": "sqlite:///FOLDER/b.db"}
    if args.redis:
        urls["redis"] = args.redis
    history = f"{args.open:,} open + {args.closed:,} closed"
    for name, url in urls.items():
        empty = await run(url, 0, 0, args.messages)
        full = await run(url, args.open, args.closed, args.messages)
        print(f"\n{name}: each call, empty store (baseline) vs {history}")
        for case, base in empty.items():
            loaded = full[case]
            print(
                f"  {case:26} {base.seconds * 1000:6.2f} ms -> {loaded.seconds * 1000:6.2f} ms"
                f"  {loaded.seconds / base.seconds:5.2f}x   peak allocations"
                f" {loaded.peak_bytes / max(base.peak_bytes, 1):5.2f}x"
            )


if __name__ == "__main__":
    asyncio.run(main())
