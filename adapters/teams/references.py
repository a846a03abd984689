"""Conversation references, kept in the store so proactive messages survive restarts.

Keys under platform ``teams``: a person's personal-chat reference under their AAD object id, a
channel's under ``channel:<channel id>``, and the last service URL seen for a tenant under
``service:<tenant id>`` (needed to open a chat with someone who has not written yet).
"""

from __future__ import annotations

from typing import Any, cast

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ConversationReference

from store.base import Store

PLATFORM = "teams"


def channel_key(channel_id: str) -> str:
    return f"channel:{channel_id}"


def service_key(tenant: str) -> str:
    return f"service:{tenant}"


def tenant_of(activity: Activity) -> str:
    """The tenant id from the conversation, else from Teams channel data."""
    conversation = activity.conversation
    if conversation is not None and conversation.tenant_id:
        return str(conversation.tenant_id)
    tenant = _channel_data(activity).get("tenant") or {}
    return str(tenant.get("id", "")) if isinstance(tenant, dict) else ""


def channel_of(activity: Activity) -> str:
    """The channel id of a channel conversation (without any ``;messageid=`` thread part)."""
    channel = _channel_data(activity).get("channel") or {}
    if isinstance(channel, dict) and channel.get("id"):
        return str(channel["id"])
    conversation_id = str(activity.conversation.id) if activity.conversation else ""
    return conversation_id.split(";", 1)[0]


def conversation_type(activity: Activity) -> str:
    conversation = activity.conversation
    return str(conversation.conversation_type or "personal") if conversation else "personal"


def _channel_data(activity: Activity) -> dict[str, Any]:
    data = activity.channel_data
    return cast(dict[str, Any], data) if isinstance(data, dict) else {}


class References:
    """Reads and writes conversation references; skips writes that would change nothing."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._written: dict[str, dict[str, Any]] = {}

    async def remember(self, activity: Activity) -> None:
        """Store where this activity came from (personal chat or channel)."""
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None
        tenant = tenant_of(activity)
        reference.conversation.tenant_id = tenant or None
        if activity.service_url:
            await self._save(service_key(tenant), {"service_url": activity.service_url})
        if conversation_type(activity) == "channel":
            reference.conversation.id = channel_of(activity)
            await self._save(channel_key(reference.conversation.id), reference.serialize())
            return
        user = activity.from_property
        if conversation_type(activity) == "personal" and user is not None and user.aad_object_id:
            await self._save(str(user.aad_object_id), reference.serialize())

    async def remember_created(self, key: str, reference: ConversationReference) -> None:
        await self._save(key, reference.serialize())

    async def load(self, key: str) -> ConversationReference | None:
        raw = await self._store.load_address(PLATFORM, key)
        if not raw or "conversation" not in raw:
            return None
        reference: ConversationReference = ConversationReference().deserialize(raw)
        return reference

    async def service_url(self, tenant: str) -> str:
        raw = await self._store.load_address(PLATFORM, service_key(tenant))
        return str(raw.get("service_url", "")) if raw else ""

    async def _save(self, key: str, document: dict[str, Any]) -> None:
        if self._written.get(key) == document:
            return
        await self._store.save_address(PLATFORM, key, document)
        self._written[key] = document
