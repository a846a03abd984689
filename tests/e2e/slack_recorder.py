"""A local Slack Web API: records every call and answers like Slack does.

Point ``slack.api_url`` at ``recorder.url``. Each call is kept as a ``Call`` (method name and
parameters, JSON or form-encoded) and handed to ``tests.platform_checks.CHECKER``, which fails
the test if its blocks break Slack's rules. ``fail_next`` makes the next call of a method
answer with an HTTP error (429 with ``Retry-After``, a 5xx) or a Slack error code, once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.platform_checks import CHECKER

BOT_USER = "UBOT"
TEAM = "T0001"


def dm_of(user: str) -> str:
    """The bot's DM channel with ``user`` in these tests."""
    return "D" + user[1:]


def dm_envelope(user: str, text: str, event_id: str) -> dict[str, Any]:
    """The Events API envelope of ``user`` typing ``text`` in their DM with the bot."""
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": dm_of(user),
        "user": user,
        "text": text,
        "ts": f"{time.time():.6f}",
    }
    return {"type": "event_callback", "team_id": TEAM, "event_id": event_id, "event": event}


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    at: float
    answer: dict[str, Any] = field(default_factory=dict)

    def channel(self) -> str:
        return str(self.params.get("channel", ""))

    def text(self) -> str:
        """Everything a person could read in this call, as one string (for leak scans)."""
        return json.dumps(self.params, ensure_ascii=False)


@dataclass
class Failure:
    status: int
    retry_after: int | None = None
    error: str = ""


@dataclass
class SlackRecorder:
    """Plays the Slack Web API; ``calls`` lists everything received, in order."""

    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    url: str = ""
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def fail_next(
        self, method: str, status: int = 429, retry_after: int | None = None, error: str = ""
    ) -> None:
        self.failures.setdefault(method, []).append(Failure(status, retry_after, error))

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Poll until at least ``count`` calls of ``method`` arrived."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.of(method)) < count:
            if loop.time() > deadline:
                seen = [c.method for c in self.calls]
                raise AssertionError(f"expected {count} × {method}, got {seen}")
            await asyncio.sleep(0.01)
        return self.of(method)

    async def settle(self, quiet: float = 0.2, timeout: float = 10.0) -> None:
        """Wait until no call arrived for ``quiet`` seconds (background work finished)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = -1
        while seen != len(self.calls) and loop.time() < deadline:
            seen = len(self.calls)
            await asyncio.sleep(quiet)

    # --- the server -------------------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_get("/socket", self._socket)
        return app

    # --- Socket Mode ------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1})
        async for message in socket:
            data = json.loads(message.data) if isinstance(message.data, str) else {}
            if "envelope_id" in data:
                self.socket_acks.append(data)
        return socket

    async def push(self, kind: str, payload: dict[str, Any], envelope_id: str) -> None:
        """Send an envelope (``events_api``, ``interactive``, ``slash_commands``) over Socket
        Mode to the connected app."""
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        await self.sockets[-1].send_json(envelope)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        CHECKER.record_slack(method, params)
        at = asyncio.get_running_loop().time()
        pending = self.failures.get(method)
        if pending:
            self.calls.append(Call(method, params, at))
            return _failure(pending.pop(0))
        answer = {"ok": True, **self._answer(method, params)}
        self.calls.append(Call(method, params, at, answer))
        return web.json_response(answer)

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        ts = f"1700000000.{next(self._ts):06d}"
        channel = _channel_id(str(params.get("channel", "")))
        answers: dict[str, dict[str, Any]] = {
            "auth.test": {"user_id": BOT_USER, "bot_id": "BBOT", "team_id": TEAM, "user": "oohbot"},
            "chat.postMessage": {"channel": channel, "ts": ts, "message": {"ts": ts}},
            "chat.update": {"channel": channel, "ts": params.get("ts", ts)},
            "chat.postEphemeral": {"message_ts": ts},
            "views.open": {"view": {"id": f"V{ts}"}},
            "views.update": {"view": {"id": f"V{ts}"}},
            "views.publish": {"view": {"id": f"V{ts}"}},
            "conversations.open": {"channel": {"id": _channel_id(str(params.get("users", "")))}},
            "users.info": {"user": {"id": params.get("user", ""), "team_id": TEAM}},
            "apps.connections.open": {"url": self.url.replace("http", "ws", 1)[:-5] + "/socket"},
        }
        return answers.get(method, {})


def _channel_id(target: str) -> str:
    """A user id posts to the bot's DM with them ('D' + user id), as Slack does."""
    return "D" + target[1:] if target.startswith(("U", "W")) else target


async def _params(request: web.Request) -> dict[str, Any]:
    raw = await request.text()
    if request.content_type == "application/json":
        loaded = json.loads(raw or "{}")
        return loaded if isinstance(loaded, dict) else {}
    params: dict[str, Any] = dict(parse_qsl(raw))
    params.update(request.query)
    for key in ("blocks", "view"):
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


def _failure(failure: Failure) -> web.Response:
    if failure.error:
        return web.json_response({"ok": False, "error": failure.error})
    headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
    return web.json_response(
        {"ok": False, "error": "ratelimited" if failure.status == 429 else "internal_error"},
        status=failure.status,
        headers=headers,
    )


@asynccontextmanager
async def running_recorder() -> AsyncIterator[SlackRecorder]:
    """Start a recorder on a free local port; ``recorder.url`` ends with ``/api/``."""
    recorder = SlackRecorder()
    server = TestServer(recorder.application(), host="127.0.0.1")
    await server.start_server()
    recorder.url = str(server.make_url("/api/"))
    try:
        yield recorder
    finally:
        await server.close()
