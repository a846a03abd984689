"""Fixtures for the Slack adapter: the real Bolt app on a real aiohttp application, requests
signed with the signing secret, a local recording Slack Web API, and a recording engine double.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.slack import SlackSender, install
from adapters.slack.settings import SlackSettings
from flows.inbound import Inbound, Platform
from flows.messages import Message
from store.base import Document
from tests.adapters.inbox import Inbox
from tests.e2e.slack_recorder import TEAM, SlackRecorder, running_recorder

SECRET = "test-signing-secret"
USER = "U0REQUEST"
SPOC_CHANNEL = "C0SPOC"
Reply = Callable[[Inbound], list[Message]]


@dataclass
class RecordingHandler(Inbox):
    """The engine as the adapter sees it: records inbounds, answers from ``reply``."""

    inbounds: list[Inbound] = field(default_factory=list)
    homes: list[tuple[str, str, str]] = field(default_factory=list)
    reply: Reply = lambda _: []
    home_reply: list[Message] = field(default_factory=list)

    async def handle(self, inbound: Inbound) -> list[Message]:
        self.inbounds.append(inbound)
        return self.reply(inbound)

    async def home(self, platform: Platform, user_id: str, tenant: str) -> list[Message]:
        self.homes.append((platform, user_id, tenant))
        return list(self.home_reply)


class Addresses:
    """The address part of ``Store`` (DM channels)."""

    def __init__(self) -> None:
        self.saved: dict[tuple[str, str], Document] = {}

    async def save_address(self, platform: str, key: str, address: Document) -> None:
        self.saved[(platform, key)] = address

    async def load_address(self, platform: str, key: str) -> Document | None:
        return self.saved.get((platform, key))


def signature(body: str, timestamp: int, secret: str = SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Slack:
    """Sends signed requests to ``POST /slack/events`` as Slack would."""

    client: TestClient[web.Request, web.Application]
    recorder: SlackRecorder
    handler: RecordingHandler
    sender: SlackSender
    events: int = 0

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        age: int = 0,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        timestamp = int(time.time()) - age
        signed = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature(body, timestamp, secret),
            **(headers or {}),
        }
        response = await self.client.post("/slack/events", data=body, headers=signed)
        return response.status, await response.text()

    async def event(self, event: dict[str, Any], event_id: str = "", **kw: Any) -> int:
        self.events += 1
        envelope = {
            "type": "event_callback",
            "team_id": TEAM,
            "api_app_id": "A0OOH",
            "event_id": event_id or f"Ev{self.events:04d}",
            "event_time": int(time.time()),
            "event": event,
        }
        status, _ = await self.post(json.dumps(envelope), "application/json", **kw)
        return status

    async def dm(self, text: str, user: str = USER, **kw: Any) -> int:
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": "D" + user[1:],
            "user": user,
            "text": text,
            "ts": f"{time.time():.6f}",
        }
        return await self.event(event, **kw)

    async def command(self, text: str, channel: str = "C0GENERAL") -> tuple[int, str]:
        form = {
            "command": "/ooh",
            "text": text,
            "user_id": USER,
            "team_id": TEAM,
            "channel_id": channel,
            "trigger_id": f"trig.command.{text or 'start'}",
            "response_url": "http://127.0.0.1:9/unused",
        }
        return await self.post(urlencode(form), "application/x-www-form-urlencoded")

    async def interaction(self, payload: dict[str, Any]) -> tuple[int, str]:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")


def click(
    action_id: str,
    value: str,
    *,
    user: str = USER,
    channel: str = "",
    trigger: str = "trig.click",
    state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` payload for a button click on a message (or the Home tab)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "team_id": TEAM},
        "team": {"id": TEAM},
        "api_app_id": "A0OOH",
        "trigger_id": trigger,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "action_ts": "1700000001.000100",
            }
        ],
        "state": {"values": state or {}},
    }
    if channel:
        payload["channel"] = {"id": channel}
        payload["container"] = {"type": "message", "channel_id": channel, "message_ts": "1.2"}
        payload["message"] = {"ts": "1.2"}
    else:
        payload["container"] = {"type": "view", "view_id": "VHOME"}
    return payload


def submission(
    callback_id: str, values: dict[str, dict[str, Any]], metadata: dict[str, str], user: str = USER
) -> dict[str, Any]:
    """A ``view_submission`` payload."""
    return {
        "type": "view_submission",
        "user": {"id": user, "team_id": TEAM},
        "team": {"id": TEAM},
        "api_app_id": "A0OOH",
        "trigger_id": f"trig.view.{len(json.dumps(values))}",
        "view": {
            "id": "V0MODAL",
            "type": "modal",
            "callback_id": callback_id,
            "title": {"type": "plain_text", "text": "Decision"},
            "private_metadata": json.dumps(metadata),
            "state": {"values": values},
        },
    }


@pytest.fixture
async def recorder() -> AsyncIterator[SlackRecorder]:
    async with running_recorder() as running:
        yield running


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture
async def slack(recorder: SlackRecorder, handler: RecordingHandler) -> AsyncIterator[Slack]:
    settings = SlackSettings(
        signing_secret=SECRET,
        bot_token="xoxb-test",
        api_url=recorder.url,
        spoc_channel=SPOC_CHANNEL,
    )
    app = web.Application()
    sender = install(app, handler, settings, Addresses())
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Slack(client, recorder, handler, sender)
    finally:
        await client.close()
