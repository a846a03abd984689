"""Fixtures for the Teams adapter: the real CloudAdapter on a real aiohttp app, a recording
engine double, an address store double and a local connector recorder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.teams import TeamsSender, install
from adapters.teams.retry import Backoff
from adapters.teams.settings import TeamsSettings
from bot.config import Listen, Service
from flows.inbound import Inbound, Platform
from flows.messages import Message
from store.base import Document, Store
from tests.adapters.inbox import Inbox
from tests.e2e.teams_recorder import TeamsRecorder

TENANT = "tenant-1"
AAD = "aad-requester"
CHANNEL = "19:spoc@thread.tacv2"


@dataclass
class RecordingHandler(Inbox):
    """The engine as the adapter sees it: records inbounds, answers with scripted replies."""

    inbounds: list[Inbound] = field(default_factory=list)
    replies: list[Message] = field(default_factory=list)
    fail: bool = False

    async def handle(self, inbound: Inbound) -> list[Message]:
        self.inbounds.append(inbound)
        if self.fail:
            raise RuntimeError("engine exploded")
        return list(self.replies)

    async def home(self, platform: Platform, user_id: str, tenant: str) -> list[Message]:
        return []


class AddressBook:
    """Only the address part of ``Store``; survives a simulated restart of the adapter."""

    def __init__(self) -> None:
        self.addresses: dict[tuple[str, str], Document] = {}

    async def save_address(self, platform: str, key: str, address: Document) -> None:
        self.addresses[(platform, key)] = dict(address)

    async def load_address(self, platform: str, key: str) -> Document | None:
        found = self.addresses.get((platform, key))
        return dict(found) if found is not None else None


async def no_sleep(_: float) -> None:
    return None


@dataclass
class TeamsRig:
    client: TestClient[Any, Any]
    sender: TeamsSender
    handler: RecordingHandler
    recorder: TeamsRecorder
    book: AddressBook

    async def post(self, activity: dict[str, Any], **headers: str) -> int:
        response = await self.client.post("/api/messages", json=activity, headers=headers)
        return response.status


def dev_service(host: str = "127.0.0.1") -> Service:
    return Service(environment="development", listen=Listen(host=host, port=0))


def build(handler: RecordingHandler, book: AddressBook) -> tuple[web.Application, TeamsSender]:
    app = web.Application()
    sender = install(
        app,
        handler,
        TeamsSettings(enabled=True, spoc_channel=CHANNEL),
        dev_service(),
        cast(Store, book),
        backoff=Backoff(sleep=no_sleep),
    )
    return app, sender


@pytest.fixture
async def recorder() -> AsyncIterator[TeamsRecorder]:
    async with TeamsRecorder() as running:
        yield running


@pytest.fixture
def book() -> AddressBook:
    return AddressBook()


@pytest.fixture
async def rig(recorder: TeamsRecorder, book: AddressBook) -> AsyncIterator[TeamsRig]:
    handler = RecordingHandler()
    app, sender = build(handler, book)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield TeamsRig(client, sender, handler, recorder, book)


ActivityFactory = Callable[..., dict[str, Any]]


def activity(
    service_url: str,
    *,
    text: str | None = None,
    value: dict[str, Any] | None = None,
    activity_id: str = "evt-1",
    aad: str = AAD,
    conversation: str = "a:personal-1",
    conversation_type: str = "personal",
    type_: str = "message",
) -> dict[str, Any]:
    """A Teams message activity as the connector would POST it."""
    body: dict[str, Any] = {
        "type": type_,
        "id": activity_id,
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": f"29:{aad}", "aadObjectId": aad, "name": "Someone"},
        "recipient": {"id": "28:bot", "name": "oohbot"},
        "conversation": {
            "id": conversation,
            "conversationType": conversation_type,
            "tenantId": TENANT,
        },
        "channelData": {"tenant": {"id": TENANT}},
    }
    if conversation_type == "channel":
        body["channelData"]["channel"] = {"id": conversation.split(";")[0]}
    if text is not None:
        body["text"] = text
    if value is not None:
        body["value"] = value
    return body
