"""Fixtures for web-console adapter tests: the real routes with a recording engine double."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.base import NotStored, Receipt
from adapters.web import WebSender, install
from adapters.web.settings import WebSettings
from bot.config import Listen, Service
from flows.directory import Directory, Officer, Organisation, Rota
from flows.inbound import Inbound, Platform
from flows.messages import Card, Message, Text
from tests.adapters.inbox import Inbox

DIRECTORY = Directory(
    organisations=(Organisation(code="DPT", name="Trust"), Organisation(code="POL", name="Police")),
    officers=(
        Officer(id="req", name="Rae Quest", post="On-call manager", org="DPT", manager="mgr"),
        Officer(id="spoc", name="Sam Pock", post="DS", org="POL", roles=("spoc",)),
        Officer(id="mgr", name="Mo Nager", post="Manager", org="DPT", roles=("manager",)),
        Officer(
            id="old", name="Old Timer", post="Retired", org="DPT", valid_until=date(2020, 1, 1)
        ),
    ),
    spoc=Rota(rota=("spoc",)),
)


@dataclass
class RecordingHandler(Inbox):
    """Stands in for the engine: records every Inbound, answers with canned replies."""

    replies: list[Message] = field(default_factory=list)
    inbounds: list[Inbound] = field(default_factory=list)
    homes: list[tuple[str, str, str]] = field(default_factory=list)
    fail: bool = False
    refuse: int = 0  # the next events the store cannot take (``receive`` raises NotStored)
    received: set[str] = field(default_factory=set)

    async def receive(self, inbound: Inbound) -> Receipt | None:
        """Refused while ``refuse`` lasts; afterwards an event id seen before is a
        redelivery (None), as the engine's delivery mark makes it."""
        if self.refuse > 0:
            self.refuse -= 1
            raise NotStored("ConnectionError")
        if inbound.event_id and inbound.event_id in self.received:
            return None
        self.received.add(inbound.event_id)
        return await super().receive(inbound)

    async def handle(self, inbound: Inbound) -> list[Message]:
        self.inbounds.append(inbound)
        if self.fail:
            raise RuntimeError("boom")
        return list(self.replies)

    async def home(self, platform: Platform, user_id: str, tenant: str) -> list[Message]:
        self.homes.append((platform, user_id, tenant))
        return [Card(card_id=f"home:{user_id}", title="My requests and forms due")]


@dataclass
class Rig:
    client: TestClient[web.Request, web.Application]
    handler: RecordingHandler
    sender: WebSender
    advanced: list[timedelta]

    @property
    def origin(self) -> str:
        """The console's own origin (browsers send it on every POST)."""
        return f"http://{self.client.host}:{self.client.port}"

    async def post(self, path: str, body: Any, **headers: str) -> tuple[int, Any]:
        headers.setdefault("Origin", self.origin)
        response = await self.client.post(path, json=body, headers=headers)
        text = await response.text()
        return response.status, json.loads(text) if text.startswith("{") else text

    async def event(self, **body: Any) -> Any:
        status, data = await self.post("/web/api/event", {"officer": "req", **body})
        assert status == 200, data
        return data


def service(host: str = "127.0.0.1") -> Service:
    return Service(listen=Listen(host=host, port=3978))


RigFactory = Callable[..., Awaitable[Rig]]
START = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


@pytest.fixture
async def make_rig() -> AsyncIterator[RigFactory]:
    clients: list[TestClient[web.Request, web.Application]] = []

    async def make(settings: WebSettings | None = None, *, with_clock: bool = True) -> Rig:
        app = web.Application()
        handler = RecordingHandler()
        advanced: list[timedelta] = []

        async def advance(delta: timedelta) -> None:
            advanced.append(delta)

        sender = install(
            app,
            handler,
            settings=settings or WebSettings(),
            service=service(),
            directory=DIRECTORY,
            advance=advance if with_clock else None,
            now=lambda: START + sum(advanced, timedelta()),
        )
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return Rig(client, handler, sender, advanced)

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def rig(make_rig: RigFactory) -> Rig:
    return await make_rig()


class Stream:
    """Reads server-sent events from an open response."""

    def __init__(self, response: Any) -> None:
        self._response = response

    async def next(self, timeout: float = 3.0) -> tuple[str, Any]:
        return await asyncio.wait_for(self._read(), timeout)

    async def _read(self) -> tuple[str, Any]:
        name, data = "", ""
        while True:
            line = (await self._response.content.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = line.removeprefix("data: ")
            elif line == "" and name:
                return name, json.loads(data)


async def open_stream(rig: Rig, officer: str) -> Stream:
    response = await rig.client.get(f"/web/api/events?officer={officer}")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return Stream(response)


def texts(entries: list[dict[str, Any]]) -> list[str]:
    return [e["message"].get("text", e["message"].get("title", "")) for e in entries]


__all__ = [
    "DIRECTORY",
    "START",
    "RecordingHandler",
    "Rig",
    "Stream",
    "Text",
    "open_stream",
    "texts",
]
