"""The Slack Web API client keeps one HTTP session while the application runs."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.base import Address
from adapters.slack import install
from adapters.slack.settings import SlackSettings
from flows.messages import Text
from tests.adapters.slack.conftest import Addresses, RecordingHandler


async def test_messages_share_one_connection() -> None:
    peers: list[Any] = []

    async def post_message(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.json_response({"ok": True, "channel": "D1", "ts": f"1.{len(peers)}"})

    api = web.Application()
    api.router.add_post("/api/chat.postMessage", post_message)
    server = TestServer(api, host="127.0.0.1")
    await server.start_server()
    settings = SlackSettings(
        signing_secret="s", bot_token="xoxb-t", api_url=str(server.make_url("/api/"))
    )
    app = web.Application()
    sender = install(app, RecordingHandler(), settings, Addresses())
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        for n in range(3):
            await sender.send(Address("slack", "channel", "C1"), Text(f"message {n}"))
        assert len(peers) == 3
        assert len(set(peers)) == 1, f"a new connection per message: {peers}"
    finally:
        await client.close()
        await server.close()
    assert sender.client.session is None  # closed with the application
