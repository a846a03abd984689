"""Store work per typed answer: fsynced commits (SQLite) and round trips (Redis).

    python -m benchmarks.bench_unit_of_work [--redis redis://127.0.0.1:6379/15] [-n 20]

(The Redis database named is flushed first.)
A requester answers the questions of a draft through the real engine (receive, process, the
replies shown, marked delivered). SQLite: every COMMIT run while ``synchronous=FULL`` is an
fsync; Redis: every packet written to the server is a round trip. Printed beside the figures the
first build measured (before the unit of work) and the targets of the issue.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis.asyncio.connection as redis_connection

from benchmarks.common import NullSender, scratch_store
from bot.app import build_core
from bot.clock import FrozenClock
from bot.config import parse_settings
from bot.directory import load_directory
from bot.engine import Engine
from flows.inbound import Inbound
from flows.messages import Message, Question
from store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
BEFORE = {"sqlite": 6.0, "redis": 9.0}
TARGET = {"sqlite": 2.0, "redis": 4.0}
ANSWERS = {"emergency": "no", "on_behalf_of": "1", "form": "mh1", "subject.last_name": "Ash"}


class Counter:
    """Counts fsynced SQLite commits or Redis round trips while ``on``."""

    def __init__(self) -> None:
        self.on, self.count, self._sync_full = False, 0, True

    def sqlite_trace(self, statement: str) -> None:
        text = statement.strip().upper()
        if text.startswith("PRAGMA SYNCHRONOUS"):
            self._sync_full = text.endswith("FULL")
        elif self.on and text == "COMMIT" and self._sync_full:
            self.count += 1

    def install_redis(self) -> None:
        original = redis_connection.AbstractConnection.send_packed_command
        counter = self

        async def counted(conn: Any, command: Any, check_health: bool = True) -> None:
            if counter.on:
                counter.count += 1
            await original(conn, command, check_health)

        redis_connection.AbstractConnection.send_packed_command = counted  # type: ignore[method-assign,assignment]


async def per_answer(url: str, answers: int) -> float:
    folder = Path(tempfile.mkdtemp())
    settings = parse_settings({"directory": str(ROOT / "directory.example.yaml")}, {}, folder)
    store = await scratch_store(url, folder)
    counter = Counter()
    if isinstance(store, SqliteStore):
        await store._run(lambda c: c.set_trace_callback(counter.sqlite_trace))
    else:
        counter.install_redis()
    clock = FrozenClock(NOW)
    core = build_core(
        settings, clock=clock, store=store, directory=load_directory(settings.directory)
    )
    core.engine.add_sender(NullSender(), "")
    replies = await say(core.engine, "hello", 0)
    counter.on = True
    for n in range(1, answers + 1):
        question = next((m for m in reversed(replies) if isinstance(m, Question)), None)
        field = question.field if question else ""
        replies = await say(core.engine, ANSWERS.get(field, "skip"), n)
    await store.close()
    return counter.count / answers


async def say(engine: Engine, text: str, n: int) -> list[Message]:
    """One typed message as an adapter handles it: receive, process, show, mark shown."""
    inbound = Inbound("web", "amara.okafor", "", "dm", "text", text=text, event_id=uuid.uuid4().hex)
    receipt = await engine.receive(inbound)
    assert receipt is not None
    replies = await engine.process(receipt)
    await engine.delivered(receipt)
    return replies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="")
    parser.add_argument("-n", type=int, default=20)
    args = parser.parse_args()
    urls = {"sqlite": "sqlite:///FOLDER/b.db"}
    if args.redis:
        urls["redis"] = args.redis
    print(f"{'store':8} {'per typed answer':>18} {'before':>8} {'target':>8}")
    for name, url in urls.items():
        figure = await per_answer(url, args.n)
        unit = "fsynced commits" if name == "sqlite" else "round trips"
        print(f"{name:8} {figure:>10.2f} {unit:>7} {BEFORE[name]:>8.0f} {TARGET[name]:>8.0f}")


if __name__ == "__main__":
    asyncio.run(main())
