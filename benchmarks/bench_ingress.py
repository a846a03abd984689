"""One typed message end to end: oohbot against a bare Bolt app that replies once, same run.

    python -m benchmarks.bench_ingress [--messages 300] [--rate 50] [--rounds 3] [--redis redis://…/15]
        [--floor]

Both apps get the same signed Slack events on ``POST /slack/events`` and answer through the same
local recording Web API; the time measured is from sending the event to the first
``chat.postMessage`` in that person's DM. At ``--rate`` events per second the p50 and p95 of that
time are compared; then all events are sent at once for the most each can answer per second.
Each is measured for a first message (``hello`` from someone new) and for a typed answer (``no``,
answering the first question). The bare app and oohbot take turns, ``--rounds`` times, and
the median of the rounds' ratios is printed last, so that a machine busier in one minute than
the next moves both sides of a ratio. oohbot does what the night needs on the way — the
conversation, one commit with the event's delivery mark, the outbox — the bare app does nothing
but reply. With ``--floor``, the bare app is also measured doing the least store work a design
that stores its state before replying must do — one read by key and one durable write —
which shows how much of the ratio no code of ours could remove; oohbot is then also compared
with the floor of its store (``/ floor``). (The Redis database named is flushed.)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import secrets
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from benchmarks.common import scratch_store
from bot.app import build_app
from bot.clock import SystemClock
from bot.config import parse_settings
from bot.directory import load_directory
from store.redis import MAX_CONNECTIONS, POOL_WAIT_SECONDS
from store.sqlite_thread import ConnectionThread

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
TEAM = "T0001"


class Replies:
    """The recording Web API: when each DM got its first message."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.arrived = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.text()
        params: dict[str, Any] = (
            json.loads(raw) if request.content_type == "application/json" else dict(request.query)
        )
        if not params and raw:
            from urllib.parse import parse_qsl

            params = dict(parse_qsl(raw))
        channel = str(params.get("channel", ""))
        if method == "chat.postMessage":
            self.first.setdefault(channel, time.perf_counter())
            self.arrived.set()
        if method == "conversations.open":
            channel = "D" + str(params.get("users", ""))[1:]
        return web.json_response(
            {"ok": True, "channel": {"id": channel} if method == "conversations.open" else channel,
             "ts": "1.1", "user_id": "UBOT", "team_id": TEAM, "bot_id": "B1"}
        )  # fmt: skip


def signed(body: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    base = f"v0:{timestamp}:{body}".encode()
    signature = "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }


def dm_event(user: str, text: str = "hello") -> str:
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "D" + user[1:],
        "user": user,
        "text": text,
        "ts": f"{time.time():.6f}",
    }
    envelope = {"type": "event_callback", "team_id": TEAM, "event_id": f"Ev{uuid.uuid4().hex}"}
    return json.dumps({**envelope, "event": event})


def bare_bolt(
    api_url: str, first: Callable[[str], Awaitable[None]] | None = None
) -> web.Application:
    """The baseline: Bolt's own aiohttp wiring, one listener that replies once (after
    ``first(user)``, if given: the floor apps' store work)."""
    bolt = AsyncApp(signing_secret=SECRET, client=AsyncWebClient(token="xoxb", base_url=api_url))

    async def reply(body: dict[str, Any], client: AsyncWebClient) -> None:
        if first is not None:
            await first(str(body["event"]["user"]))
        await client.chat_postMessage(channel=body["event"]["channel"], text="Hello")

    bolt.event("message")(reply)

    async def endpoint(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", endpoint)
    return app


def directory_file(folder: Path, people: int) -> Path:
    raw = yaml.safe_load((ROOT / "directory.example.yaml").read_text(encoding="utf-8"))
    template = next(o for o in raw["officers"] if o["id"] == "amara.okafor")
    for n in range(people):
        officer = {**template, "id": f"req.{n}", "slack": {"user": f"UR{n:05d}", "team": TEAM}}
        raw["officers"].append(officer)
    path = folder / "directory.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@asynccontextmanager
async def oohbot(api_url: str, *, store_url: str, people: int) -> AsyncIterator[web.Application]:
    folder = Path(tempfile.mkdtemp())
    raw = {
        "directory": str(directory_file(folder, people)),
        "store": {"url": store_url.replace("FOLDER", str(folder))},
        "slack": {"signing_secret": SECRET, "bot_token": "xoxb", "api_url": api_url},
        "web": {"enabled": False},
        "service": {"log_level": "warning"},
    }
    settings = parse_settings(raw, {}, folder)
    store = await scratch_store(settings.store.url, folder)
    directory = load_directory(settings.directory)
    try:
        yield build_app(settings, clock=SystemClock(), store=store, directory=directory)
    finally:
        await store.close()


async def drive(
    url: str, replies: Replies, users: list[str], send: Callable[[int], float], text: str
) -> list[float]:
    """Send ``text`` from each user at the times ``send`` gives; the latency of each first
    reply."""
    sent: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:

        async def one(n: int, user: str) -> None:
            await asyncio.sleep(max(0.0, send(n) - (time.perf_counter() - start)))
            body = dm_event(user, text)
            sent["D" + user[1:]] = time.perf_counter()
            async with session.post(url, data=body, headers=signed(body)) as response:
                assert response.status == 200, (response.status, await response.text())

        start = time.perf_counter()
        await asyncio.gather(*(one(n, user) for n, user in enumerate(users)))
        deadline = time.perf_counter() + 30
        while len([c for c in sent if c in replies.first]) < len(sent):
            if time.perf_counter() > deadline:
                raise AssertionError("some events were never answered")
            await asyncio.sleep(0.005)
    return [replies.first[channel] - at for channel, at in sent.items()]


async def settled(replies: Replies) -> None:
    """Let the rest of the last replies arrive, then forget them: the next round's first
    reply is the next message's."""
    await asyncio.sleep(0.5)
    replies.first.clear()


KINDS = ("first", "answer")


def quantiles(latencies: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(latencies), "p95": statistics.quantiles(latencies, n=20)[18]}


async def measure(make: Callable[[str], Any], messages: int, rate: float) -> dict[str, float]:
    """Paced, then all at once (the most each can answer per second): a first message
    (``hello``) from people oohbot has not heard from, then a typed answer from each to the
    question it asked (``no``: nobody is in immediate danger)."""
    replies = Replies()
    api = TestServer(replies.app(), host="127.0.0.1")
    await api.start_server()
    api_url = str(api.make_url("/api/"))
    results: dict[str, float] = {}
    try:
        async with make(api_url) as app:
            server = TestServer(app, host="127.0.0.1")
            await server.start_server()
            url = str(server.make_url("/slack/events"))
            paced = [f"UR{n:05d}" for n in range(messages)]
            burst = [f"UR{n:05d}" for n in range(messages, 2 * messages)]
            for text, name in (("hello", "first"), ("no", "answer")):
                latencies = await drive(url, replies, paced, lambda n: n / rate, text)
                results |= {f"{name} {k}": v for k, v in quantiles(latencies).items()}
                await settled(replies)
                began = time.perf_counter()
                await drive(url, replies, burst, lambda n: 0.0, text)
                results[f"{name} throughput"] = messages / (time.perf_counter() - began)
                await settled(replies)
            await server.close()
    finally:
        await api.close()
    return results


@asynccontextmanager
async def bare(api_url: str) -> AsyncIterator[web.Application]:
    yield bare_bolt(api_url)


def sealed() -> str:
    """A new value of about a sealed conversation's size each time (like a new nonce): SQLite
    writes nothing for an update to the value a row already holds."""
    return secrets.token_urlsafe(1500)


def _floor_file(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, token TEXT)")
    return conn


@asynccontextmanager
async def floor_sqlite(api_url: str) -> AsyncIterator[web.Application]:
    """The bare app that first reads one row by key (on the loop, as oohbot reads a
    conversation) and commits one row durably (an fsync, through the same thread as oohbot's
    store): the least any design that stores its state before it replies can do."""
    path = Path(tempfile.mkdtemp()) / "floor.db"
    thread = ConnectionThread(partial(_floor_file, path), name="floor-sqlite")
    await thread.start()
    reader = sqlite3.connect(path, isolation_level=None)
    upsert = "INSERT INTO state VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET token=excluded.token"

    async def store(user: str) -> None:
        reader.execute("SELECT token FROM state WHERE key=?", (user,)).fetchall()
        value = sealed()
        await thread.write(lambda conn: conn.execute(upsert, (user, value)))

    try:
        yield bare_bolt(api_url, store)
    finally:
        reader.close()
        await thread.stop()


@asynccontextmanager
async def floor_redis(api_url: str, *, url: str) -> AsyncIterator[web.Application]:
    """The same floor on Redis: one read and one MULTI/EXEC write, two round trips."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_SECONDS
    )  # as the store's: a burst waits for a connection
    client = aioredis.Redis(connection_pool=pool)

    async def store(user: str) -> None:
        await client.hget(f"floor:{user}", "token")
        async with client.pipeline(transaction=True) as pipe:
            pipe.hset(f"floor:{user}", "token", sealed())
            pipe.hincrby(f"floor:{user}", "version", 1)
            await pipe.execute()

    try:
        yield bare_bolt(api_url, store)
    finally:
        await client.aclose()


Ratios = dict[str, dict[str, list[float]]]


def report(name: str, figures: dict[str, float], base: dict[str, float] | None) -> None:
    for kind in KINDS:
        p50, p95, most = (figures[f"{kind} {x}"] for x in ("p50", "p95", "throughput"))
        line = (
            f"{name:13} {kind:6}  p50 {p50 * 1000:5.1f} ms  p95 {p95 * 1000:5.1f} ms  "
            f"{most:5.0f} msg/s"
        )
        if base is None:
            line += "   (baseline)"
        else:
            ratio_p50 = p50 / base[f"{kind} p50"]
            ratio_most = most / base[f"{kind} throughput"]
            line += f"   p50 {ratio_p50:.2f}x  throughput {ratio_most:.2f}x"
        print(line)


def keep(ratios: Ratios, name: str, ours: dict[str, float], base: dict[str, float]) -> None:
    """This round's ratios of ``name`` against the bare app measured just before it."""
    for kind in KINDS:
        row = ratios.setdefault(f"{name} {kind}", {"p50": [], "throughput": []})
        row["p50"].append(ours[f"{kind} p50"] / base[f"{kind} p50"])
        row["throughput"].append(ours[f"{kind} throughput"] / base[f"{kind} throughput"])


def summary(ratios: Ratios) -> None:
    print("median of the rounds (each round against its own bare app, or its floor):")
    for name, row in ratios.items():
        cells = [
            f"{figure} {statistics.median(values):.2f}x ({', '.join(f'{v:.2f}' for v in values)})"
            for figure, values in row.items()
        ]
        print(f"  {name:29} " + "   ".join(cells))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis", default="")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure the bare app with the least store work (a read, a durable write)",
    )
    args = parser.parse_args()
    people = 2 * args.messages
    urls = {"sqlite": "sqlite:///FOLDER/b.db", **({"redis": args.redis} if args.redis else {})}
    contestants: dict[str, Callable[[str], Any]] = {}
    for name, store_url in urls.items():
        if args.floor:
            floor = floor_sqlite if name == "sqlite" else partial(floor_redis, url=store_url)
            contestants[f"floor {name}"] = floor
        contestants[f"oohbot {name}"] = partial(oohbot, store_url=store_url, people=people)
    ratios: Ratios = {}
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number}")
        base = await measure(bare, args.messages, args.rate)
        report("bare Bolt", base, None)
        floors: dict[str, dict[str, float]] = {}
        for name, make in contestants.items():
            ours = await measure(make, args.messages, args.rate)
            report(name, ours, base)
            keep(ratios, name, ours, base)
            kind, store = name.split(" ", 1)
            if kind == "floor":
                floors[store] = ours
            elif store in floors:  # oohbot against the floor of its store, this round
                keep(ratios, f"{name} / floor", ours, floors[store])
    summary(ratios)


if __name__ == "__main__":
    asyncio.run(main())
