"""Proactive delivery to Teams: personal chats and the SPOC channel, by stored reference.

``send`` continues the stored conversation (``CloudAdapter.continue_conversation``) and posts
through that turn's connector client, so a restart loses nothing: the reference lives in the
store. Someone the bot has never talked to gets a new 1:1 chat opened with their AAD object id
at the tenant's last known service URL. When nothing works the sender raises ``Unreachable``
for the engine to report; it never drops a message silently.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from botframework.connector.aio import ConnectorClient
from msrest.exceptions import ClientRequestError, HttpOperationError
from structlog import get_logger

from adapters.base import Address, Handle, Unreachable
from adapters.teams.cards import to_activity
from adapters.teams.references import References, channel_key
from adapters.teams.retry import Backoff, status_of, with_retries
from flows.inbound import Platform
from flows.messages import Message

log = get_logger(component="teams")
CHANNEL_ID = "msteams"
T = TypeVar("T")
ConnectorCall = Callable[[ConnectorClient], Awaitable[T]]


def connector_of(turn: TurnContext) -> ConnectorClient:
    """The connector client the adapter put on this turn."""
    client: ConnectorClient = turn.turn_state[turn.adapter.BOT_CONNECTOR_CLIENT_KEY]
    return client


async def post(
    turn: TurnContext, reference: ConversationReference, message: Message, backoff: Backoff
) -> Handle:
    """Post ``message`` to the reference's conversation with retries; return its handle."""
    activity = TurnContext.apply_conversation_reference(to_activity(message), reference)
    conversation = str(reference.conversation.id)
    connector = connector_of(turn)
    if activity.reply_to_id:
        response = await with_retries(
            lambda: connector.conversations.reply_to_activity(
                conversation, activity.reply_to_id, activity
            ),
            backoff,
            "reply",
        )
    else:
        response = await with_retries(
            lambda: connector.conversations.send_to_conversation(conversation, activity),
            backoff,
            "send",
        )
    return {
        "platform": "teams",
        "conversation": conversation,
        "activity_id": str(getattr(response, "id", "") or ""),
        "service_url": str(reference.service_url),
        "tenant": str(reference.conversation.tenant_id or ""),
    }


class TeamsSender:
    """``adapters.base.Sender`` for Microsoft Teams."""

    platform: Platform = "teams"

    def __init__(
        self,
        adapter: CloudAdapter,
        references: References,
        *,
        app_id: str,
        backoff: Backoff | None = None,
    ) -> None:
        self._adapter = adapter
        self._references = references
        self._app_id = app_id
        self.backoff = backoff or Backoff()

    async def send(self, address: Address, message: Message) -> Handle | None:
        """Deliver to a person's personal chat or a channel; ``Unreachable`` if impossible."""
        try:
            reference = await self._reference(address)
            return await self._continue(
                reference, lambda turn: post(turn, reference, message, self.backoff)
            )
        except (HttpOperationError, ClientRequestError) as error:
            status, target = status_of(error), address.kind  # "user" or "channel": no personal data
            log.warning("teams_send_failed", kind=target, status=status)
            raise Unreachable(f"Teams refused the message (HTTP {status})") from None

    async def update(self, handle: Handle, message: Message) -> None:
        """Replace a delivered card (``update_activity``); a failure is logged, not raised."""
        reference = _reference_of(handle, self._bot())
        activity = TurnContext.apply_conversation_reference(to_activity(message), reference)
        activity_id = activity.id = str(handle["activity_id"])
        activity.reply_to_id = None
        conversation = str(handle["conversation"])

        async def replace(turn: TurnContext) -> None:
            connector = connector_of(turn)
            operations = connector.conversations
            await with_retries(
                lambda: operations.update_activity(conversation, activity_id, activity),
                self.backoff,
                "update",
            )

        try:
            await self._continue(reference, replace)
        except (HttpOperationError, ClientRequestError) as error:
            log.error("teams_update_failed", status=status_of(error))

    async def _reference(self, address: Address) -> ConversationReference:
        key = channel_key(address.id) if address.kind == "channel" else address.id
        stored = await self._references.load(key)
        if stored is not None:
            return stored
        service_url = await self._references.service_url(address.tenant)
        if not service_url:
            raise Unreachable("no Teams conversation with this recipient yet")
        if address.kind == "channel":
            return _reference_of(
                {"conversation": address.id, "service_url": service_url, "tenant": address.tenant},
                self._bot(),
            )
        return await self._open_chat(address, service_url)

    async def _open_chat(self, address: Address, service_url: str) -> ConversationReference:
        """Create a 1:1 chat with someone who has not written to the bot yet."""
        bot = self._bot()
        scratch = _reference_of(
            {"conversation": "", "service_url": service_url, "tenant": address.tenant}, bot
        )
        parameters = ConversationParameters(
            is_group=False,
            bot=bot,
            members=[ChannelAccount(id=address.id, aad_object_id=address.id)],
            tenant_id=address.tenant or None,
            channel_data={"tenant": {"id": address.tenant}} if address.tenant else None,
        )

        async def create(turn: TurnContext) -> Any:
            connector = connector_of(turn)
            return await with_retries(
                lambda: connector.conversations.create_conversation(parameters),
                self.backoff,
                "create",
            )

        created = await self._continue(scratch, create)
        reference = _reference_of(
            {"conversation": created.id, "service_url": service_url, "tenant": address.tenant},
            bot,
        )
        reference.user = ChannelAccount(id=address.id, aad_object_id=address.id)
        await self._references.remember_created(address.id, reference)
        return reference

    async def _continue(
        self, reference: ConversationReference, run: Callable[[TurnContext], Awaitable[T]]
    ) -> T:
        results: list[T] = []

        async def callback(turn: TurnContext) -> None:
            results.append(await run(turn))

        await self._adapter.continue_conversation(reference, callback, bot_app_id=self._app_id)
        return results[0]

    def _bot(self) -> ChannelAccount:
        return ChannelAccount(id=f"28:{self._app_id}" if self._app_id else "oohbot")


def _reference_of(where: dict[str, Any], bot: ChannelAccount) -> ConversationReference:
    tenant = str(where.get("tenant", "")) or None
    return ConversationReference(
        channel_id=CHANNEL_ID,
        service_url=str(where["service_url"]),
        conversation=ConversationAccount(id=str(where["conversation"]), tenant_id=tenant),
        bot=bot,
    )
