"""Socket Mode: the same Bolt app over a WebSocket (no public URL), when ``slack.app_token``
is set."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp


class SocketModeRunner:
    """Connects the Bolt app to Slack over Socket Mode; ``start`` returns once connected."""

    def __init__(self, app: AsyncApp, app_token: str) -> None:
        self._handler = AsyncSocketModeHandler(app, app_token)

    async def start(self) -> None:
        await self._handler.connect_async()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._handler.close_async()  # type: ignore[no-untyped-call]
