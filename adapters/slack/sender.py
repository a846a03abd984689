"""Outbound Slack: the ``Sender`` port plus the in-context replies the listeners need.

Every post's top-level ``text`` is the message's ``notification`` (never personal data); the
blocks carry the content. The Web API client retries 429s after ``Retry-After``, 5xx answers
and dropped connections (slack_sdk's retry handlers).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from structlog import get_logger

from adapters.base import Address, AddressBook, Handle, Unreachable
from adapters.slack import blocks
from adapters.slack.escape import mrkdwn
from flows.inbound import Platform
from flows.messages import Form, Message

log = get_logger(component="slack")
UNREACHABLE_ERRORS = frozenset(
    {
        "channel_not_found",
        "user_not_found",
        "user_disabled",
        "account_inactive",
        "cannot_dm_bot",
        "is_archived",
        "not_in_channel",
        "messages_tab_disabled",
    }
)
GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "channel_not_found"})


def quiet_logger(name: str) -> logging.Logger:
    """A library logger that never logs below INFO: slack_sdk and Bolt log bodies at DEBUG."""
    logger = logging.getLogger(f"oohbot.slack.{name}")
    logger.setLevel(logging.WARNING)
    return logger


def web_client(token: str, api_url: str) -> AsyncWebClient:
    """The Web API client: base URL from config, retries on 429, 5xx and connection errors."""
    return AsyncWebClient(
        token=token,
        base_url=api_url if api_url.endswith("/") else api_url + "/",
        logger=quiet_logger("web"),
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def _payload(message: Message) -> dict[str, Any]:
    return {"text": mrkdwn(message.notification), "blocks": blocks.render(message)}


def _error_code(error: SlackApiError) -> str:
    return str(error.response.get("error", "")) if error.response is not None else ""


class SlackSender:
    """Delivers neutral messages on Slack; a handle is ``{"platform", "channel", "ts"}``."""

    platform: Platform = "slack"

    def __init__(self, client: AsyncWebClient, addresses: AddressBook) -> None:
        self.client = client
        self._addresses = addresses
        self._dms: dict[str, str] = {}

    # --- Sender port ------------------------------------------------------------------------

    async def send(self, address: Address, message: Message) -> Handle | None:
        """Post to a channel, or to the person's DM with the bot."""
        if address.kind == "user":
            channel = await self.dm_channel(address.id, address.tenant)
        else:
            channel = address.id
        return await self.post(channel, message)

    async def update(self, handle: Handle, message: Message) -> None:
        """Replace a delivered message in place (``chat.update``)."""
        try:
            await self.client.chat_update(
                channel=str(handle["channel"]), ts=str(handle["ts"]), **_payload(message)
            )
        except SlackApiError as error:
            if _error_code(error) not in GONE_ERRORS:
                raise
            log.warning("slack_update_gone", error=_error_code(error))

    # --- in-context replies -----------------------------------------------------------------

    async def post(self, channel: str, message: Message) -> Handle:
        try:
            response = await self.client.chat_postMessage(
                channel=channel, unfurl_links=False, unfurl_media=False, **_payload(message)
            )
        except SlackApiError as error:
            raise self._unreachable(error) from None
        return {"platform": "slack", "channel": response["channel"], "ts": response["ts"]}

    async def ephemeral(self, channel: str, user: str, team: str, message: Message) -> None:
        """Visible only to ``user`` in ``channel`` (a refusal after a channel click); in their
        DM instead when the bot cannot post in that channel."""
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user, **_payload(message))
        except SlackApiError as error:
            if _error_code(error) not in UNREACHABLE_ERRORS:
                raise
            await self.post(await self.dm_channel(user, team), message)

    async def open_modal(self, trigger_id: str, form: Form) -> None:
        await self.client.views_open(trigger_id=trigger_id, view=blocks.modal(form))

    async def publish_home(self, user: str, messages: list[Message]) -> None:
        await self.client.views_publish(user_id=user, view=blocks.home(messages))

    # --- DM channels ------------------------------------------------------------------------

    async def known_dm(self, user: str, team: str) -> str:
        """The DM channel remembered for this person ('' when none is stored yet). A DM
        channel never changes, so once read it is kept in memory."""
        key = f"{team}:{user}"
        if key in self._dms:
            return self._dms[key]
        stored = await self._addresses.load_address("slack", key)
        channel = str(stored.get("channel", "")) if stored else ""
        if channel:
            self._dms[key] = channel
        return channel

    async def remember_dm(self, user: str, team: str, channel: str) -> None:
        """Store the DM channel unless this process stored or read it already (a write
        without reading first: storing the same channel again is harmless)."""
        key = f"{team}:{user}"
        if channel and self._dms.get(key) != channel:
            await self._addresses.save_address("slack", key, {"channel": channel})
            self._dms[key] = channel

    async def dm_channel(self, user: str, team: str) -> str:
        """The bot's DM channel with ``user`` (``conversations.open`` once, then stored)."""
        known = await self.known_dm(user, team)
        if known:
            return known
        try:
            response = await self.client.conversations_open(users=user)
        except SlackApiError as error:
            raise self._unreachable(error) from None
        channel = str(response["channel"]["id"])
        await self.remember_dm(user, team, channel)
        return channel

    @staticmethod
    def _unreachable(error: SlackApiError) -> Exception:
        code = _error_code(error)
        if code in UNREACHABLE_ERRORS:
            return Unreachable(f"slack: {code}")
        return error
