"""Socket Mode: the same listeners over a WebSocket, against the local recorder."""

from __future__ import annotations

import time

from adapters.slack import socket_mode_runner
from adapters.slack.settings import SlackSettings
from flows.messages import Text
from tests.adapters.slack.conftest import USER, Addresses, RecordingHandler
from tests.e2e.slack_recorder import TEAM, SlackRecorder


async def test_a_dm_over_socket_mode_is_acknowledged_and_answered(
    recorder: SlackRecorder, handler: RecordingHandler
) -> None:
    settings = SlackSettings(bot_token="xoxb-test", app_token="xapp-test", api_url=recorder.url)
    handler.reply = lambda _: [Text("Is anyone in immediate danger?")]
    runner = socket_mode_runner(handler, settings, Addresses())
    await runner.start()
    try:
        await recorder.wait_for("apps.connections.open")
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": "D0REQUEST",
            "user": USER,
            "text": "hello",
            "ts": f"{time.time():.6f}",
        }
        body = {"type": "event_callback", "team_id": TEAM, "event_id": "EvSock", "event": event}
        await recorder.push("events_api", body, "env-1")
        [post] = await recorder.wait_for("chat.postMessage")
    finally:
        await runner.close()
    assert post.params["channel"] == "D0REQUEST"
    assert [a["envelope_id"] for a in recorder.socket_acks] == ["env-1"]
    assert handler.inbounds[0].event_id == "EvSock"
