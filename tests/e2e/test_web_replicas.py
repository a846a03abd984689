"""The console's inboxes are kept in the store: a restart, or another replica on the same
store, shows the same conversation (the production application, both stores)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.clock import FrozenClock
from bot.config import parse_settings
from bot.directory import load_directory
from store.base import Store
from store.crypto import generate_key
from tests.night import SATURDAY_2AM, TIMERS, open_test_store

ROOT = Path(__file__).resolve().parents[2]
KEY = generate_key()


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'console.db'}"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def stores(store_url: str) -> AsyncIterator[list[Store]]:
    opened: list[Store] = []
    yield opened
    for store in opened:
        await store.close()


async def replica(store_url: str, stores: list[Store], tmp_path: Path) -> TestClient[Any, Any]:
    """One ``oohbot serve`` process's application on the shared store."""
    store = await open_test_store(store_url, KEY)
    stores.append(store)
    raw = {"directory": str(ROOT / "directory.example.yaml"), "timers": TIMERS}
    settings = parse_settings(raw, {}, tmp_path)
    app: web.Application = build_app(
        settings,
        clock=FrozenClock(SATURDAY_2AM),
        store=store,
        directory=load_directory(settings.directory),
        run_worker=False,
    )
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def say(client: TestClient[Any, Any], officer: str, text: str, event_id: str = "") -> Any:
    origin = f"http://{client.host}:{client.port}"
    body = {"officer": officer, "kind": "text", "text": text, "id": event_id}
    response = await client.post("/web/api/event", json=body, headers={"Origin": origin})
    assert response.status == 200, await response.text()
    return await response.json()


async def snapshot(client: TestClient[Any, Any], officer: str) -> dict[str, Any]:
    """The first event of the console's live stream: what the page shows on load."""
    async with client.get(f"/web/api/events?officer={officer}") as response:
        assert response.status == 200
        data = ""
        async for raw in response.content:
            line = raw.decode().strip()
            if line.startswith("data: "):
                data = line.removeprefix("data: ")
                break
    parsed: dict[str, Any] = json.loads(data)
    return parsed


def texts(entries: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(e["message"], sort_keys=True) for e in entries]


async def test_inboxes_survive_a_restart_and_are_shared_by_replicas(
    store_url: str, stores: list[Store], tmp_path: Path
) -> None:
    first = await replica(store_url, stores, tmp_path)
    await say(first, "amara.okafor", "hello")
    await say(first, "amara.okafor", "no")
    before = (await snapshot(first, "amara.okafor"))["inbox"]
    assert len(before) >= 4  # what was typed, and the bot's answers
    await first.close()
    # A restart (a new process on the same store), and a second replica beside it.
    again, beside = (
        await replica(store_url, stores, tmp_path),
        await replica(store_url, stores, tmp_path),
    )
    try:
        assert texts((await snapshot(again, "amara.okafor"))["inbox"]) == texts(before)
        await say(beside, "amara.okafor", "mh1")  # answered by the other replica
        after = (await snapshot(again, "amara.okafor"))["inbox"]
        assert texts(after)[: len(before)] == texts(before)
        assert len(after) > len(before)
        assert (await snapshot(beside, "tom.reyes"))["inbox"] == []
    finally:
        await again.close()
        await beside.close()


async def test_an_event_sent_again_after_a_dropped_connection_is_handled_once(
    store_url: str, stores: list[Store], tmp_path: Path
) -> None:
    client = await replica(store_url, stores, tmp_path)
    try:
        await say(client, "amara.okafor", "hello", "page-1")
        first = await say(client, "amara.okafor", "no", "page-2")
        again = await say(client, "amara.okafor", "no", "page-2")  # the page sent it again
        from_bot = [e for e in again["entries"] if e["origin"] == "bot"]
        assert from_bot == [] and any(e["origin"] == "bot" for e in first["entries"])
        stored = await stores[0].get_session("web::amara.okafor")
        assert stored is not None and stored.data["answers"].get("emergency") == "no"
        assert stored.data["history"].count("collecting:on_behalf_of") <= 1
    finally:
        await client.close()
