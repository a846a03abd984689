"""A local stand-in for the Bot Framework connector (the ``serviceUrl`` Teams gives the bot).

botbuilder posts replies with ``requests`` from a worker thread, so this is a real aiohttp
server on a free loopback port, not a mocked session. It records every call and answers like
the connector: ``POST /v3/conversations/{id}/activities`` (send), ``POST …/activities/{id}``
(reply), ``PUT …/activities/{id}`` (update) and ``POST /v3/conversations`` (create a chat).
``fail_next`` makes the next matching call(s) answer an error status (429, 412, 5xx, 403 …).
Every call's activity is handed to ``tests.platform_checks.CHECKER``, which fails the test if
its Adaptive Cards break Microsoft's parser or schema.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.platform_checks import CHECKER


@dataclass(frozen=True)
class Call:
    """One recorded connector call."""

    kind: str  # "send" | "reply" | "update" | "create"
    conversation: str
    activity_id: str
    body: dict[str, Any]
    authorization: str

    @property
    def card(self) -> dict[str, Any]:
        """The first Adaptive Card attachment's content (empty if none)."""
        for attachment in self.body.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                content: dict[str, Any] = attachment["content"]
                return content
        return {}


@dataclass
class _Failure:
    kind: str
    status: int
    times: int
    retry_after: str = "0"


@dataclass
class TeamsRecorder:
    """Records connector calls; start with ``async with TeamsRecorder() as recorder``."""

    calls: list[Call] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "recorder not started"
        return str(self._server.make_url("/"))

    def fail_next(self, kind: str, status: int, times: int = 1, retry_after: str = "0") -> None:
        """Answer the next ``times`` calls of ``kind`` with ``status``."""
        self.failures.append(_Failure(kind, status, times, retry_after))

    def of_kind(self, *kinds: str) -> list[Call]:
        return [c for c in self.calls if c.kind in kinds]

    def to(self, conversation: str) -> list[Call]:
        return [c for c in self.calls if c.conversation == conversation]

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Call]:
        """Poll until at least ``count`` calls were recorded."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.calls) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} connector calls, got {self.calls}")
            await asyncio.sleep(0.01)
        return self.calls

    async def __aenter__(self) -> TeamsRecorder:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._reply)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._server is not None:
            await self._server.close()

    # --- handlers ---------------------------------------------------------------------------

    async def _send(self, request: web.Request) -> web.Response:
        return await self._record(request, "send", f"act-{next(self._ids)}")

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._record(request, "reply", f"act-{next(self._ids)}")

    async def _update(self, request: web.Request) -> web.Response:
        return await self._record(request, "update", request.match_info["activity"])

    async def _create(self, request: web.Request) -> web.Response:
        failed = self._failure("create")
        if failed is not None:
            return failed
        body = await request.json()
        conversation = f"a:created-{next(self._ids)}"
        CHECKER.record_teams("create", conversation, body)
        self.calls.append(Call("create", conversation, "", body, _auth(request)))
        return web.json_response({"id": conversation, "activityId": ""}, status=201)

    async def _record(self, request: web.Request, kind: str, activity_id: str) -> web.Response:
        failed = self._failure(kind)
        if failed is not None:
            return failed
        body = await request.json()
        conversation = request.match_info["conversation"]
        CHECKER.record_teams(kind, conversation, body)
        self.calls.append(Call(kind, conversation, activity_id, body, _auth(request)))
        return web.json_response({"id": activity_id}, status=200 if kind == "update" else 201)

    def _failure(self, kind: str) -> web.Response | None:
        for failure in self.failures:
            if failure.kind == kind and failure.times > 0:
                failure.times -= 1
                self.refused.append((kind, failure.status))
                return web.json_response(
                    {"error": {"code": "Injected", "message": "injected failure"}},
                    status=failure.status,
                    headers={"Retry-After": failure.retry_after},
                )
        return None


def _auth(request: web.Request) -> str:
    return request.headers.get("Authorization", "")
