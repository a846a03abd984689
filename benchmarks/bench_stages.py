"""Where a typed answer's time goes, stage by stage, on the path ``bench_ingress`` measures.

    python -m benchmarks.bench_stages [--messages 300] [--rate 50] [--redis redis://…/15]

The same signed Slack events at the same pace as ``bench_ingress`` (a first message from each
person, then the typed answer ``no``); only the answers are timed. Each stage is timed by
wrapping the method that does it (wall clock, no profiler) and its p50 printed, with the p50
of the whole answer (event sent → first ``chat.postMessage`` received) for scale. Stages nest:
the engine's ``receive`` holds the conversation read and the commit. (The Redis database named
is flushed.)
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import Listeners
from benchmarks import bench_ingress as ingress
from bot.engine import Engine
from store.redis import RedisStore
from store.sqlite import SqliteStore

Timings = dict[str, list[float]]

STAGES: list[tuple[type, str, str]] = [
    (Listeners, "on_message", "Bolt listener, until the acknowledgement"),
    (Engine, "receive", "  engine: take the event (read, step, commit)"),
    (SqliteStore, "get_session", "    read the conversation (SQLite)"),
    (SqliteStore, "commit", "    commit the unit of work (SQLite)"),
    (RedisStore, "get_session", "    read the conversation (Redis)"),
    (RedisStore, "commit", "    commit the unit of work (Redis)"),
    (Listeners, "deliver", "reply: render and post"),
    (AsyncWebClient, "chat_postMessage", "  chat.postMessage round trip"),
    (Engine, "delivered", "after the reply: mark it shown"),
]


@contextmanager
def timed(stages: list[tuple[type, str, str]], into: Timings) -> Iterator[None]:
    """Wrap each stage's coroutine method to record how long each call took."""
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in stages]
    for (owner, name, original), (_, _, label) in zip(originals, stages, strict=True):
        setattr(owner, name, _timer(original, into[label]))
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def _timer(original: Callable[..., Any], into: list[float]) -> Callable[..., Any]:
    @functools.wraps(original)  # Bolt passes listener arguments by the names it sees
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - began)

    return wrapper


async def answers(
    make: Callable[[str], Any], messages: int, rate: float
) -> tuple[list[float], Timings]:
    """Whole-answer latencies and the stage timings of ``messages`` typed answers to the app
    ``make`` builds."""
    replies = ingress.Replies()
    api = TestServer(replies.app(), host="127.0.0.1")
    await api.start_server()
    timings: Timings = defaultdict(list)
    try:
        with timed(STAGES, timings):  # before the app is built: Bolt keeps its listeners
            async with make(str(api.make_url("/api/"))) as app:
                server = TestServer(app, host="127.0.0.1")
                await server.start_server()
                url = str(server.make_url("/slack/events"))
                people = [f"UR{n:05d}" for n in range(messages)]
                pace: Callable[[int], float] = lambda n: n / rate  # noqa: E731
                await ingress.drive(url, replies, people, pace, "hello")
                await ingress.settled(replies)
                for calls in timings.values():  # the wrappers hold these lists
                    calls.clear()
                latencies = await ingress.drive(url, replies, people, pace, "no")
                await ingress.settled(replies)
                await server.close()
    finally:
        await api.close()
    return latencies, timings


def report(name: str, latencies: list[float], timings: Timings) -> None:
    print(f"{name}: a typed answer, p50 {statistics.median(latencies) * 1000:.2f} ms")
    for _, _, label in STAGES:
        if timings.get(label):
            p50 = statistics.median(timings[label]) * 1000
            print(f"  {label:48} p50 {p50:6.3f} ms  ({len(timings[label])} calls)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--redis", default="")
    args = parser.parse_args()
    urls = {"sqlite": "sqlite:///FOLDER/b.db", **({"redis": args.redis} if args.redis else {})}
    report("bare Bolt", *await answers(ingress.bare, args.messages, args.rate))
    for name, store_url in urls.items():
        make = partial(ingress.oohbot, store_url=store_url, people=args.messages)
        report(f"oohbot {name}", *await answers(make, args.messages, args.rate))


if __name__ == "__main__":
    asyncio.run(main())
