"""Conversation references, kept in the store so proactive messages survive restarts.

Keys under platform ``teams``: a person's personal-chat reference under their AAD object id, a
channel's under ``channel:<channel id>``, and the last service URL seen for a tenant under
``service:<tenant id>`` (needed to open a chat with someone who has not written yet).

A reference is stored in oohbot's own shape, not in an SDK's serialisation (botbuilder writes
``tenantID``, the Microsoft 365 Agents SDK reads ``tenantId`` and would silently drop the
tenant)::

    {"shape": "oohbot.teams.reference/1", "service_url": "https://smba…", "channel": "msteams",
     "conversation": {"id": "a:1…", "type": "personal", "tenant_id": "…", "is_group": false},
     "bot": {"id": "28:…", "name": "oohbot"},
     "user": {"id": "29:…", "aad_object_id": "…"}, "locale": "en-GB"}

Display names are not kept (nothing proactive needs them). A reference stored by an earlier
version (botbuilder's ``serialize()``) is converted when it is next read and written back in
this shape (``from_document``, ``References.load``).
"""

from __future__ import annotations

from typing import Any, cast

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount, ConversationReference

from adapters.base import AddressBook

PLATFORM = "teams"
SHAPE = "oohbot.teams.reference/1"


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


def to_document(reference: ConversationReference) -> dict[str, Any]:
    """A conversation reference in oohbot's stored shape (see the module docstring)."""
    conversation = reference.conversation or ConversationAccount()
    document: dict[str, Any] = {
        "shape": SHAPE,
        "service_url": reference.service_url or "",
        "channel": reference.channel_id or "msteams",
        "conversation": _without_empty(
            id=conversation.id,
            type=conversation.conversation_type,
            tenant_id=conversation.tenant_id,
            is_group=conversation.is_group,
        ),
    }
    if reference.bot is not None:
        document["bot"] = _without_empty(id=reference.bot.id, name=reference.bot.name)
    if reference.user is not None:
        document["user"] = _without_empty(
            id=reference.user.id, aad_object_id=reference.user.aad_object_id
        )
    if reference.locale:
        document["locale"] = reference.locale
    return document


def from_document(document: dict[str, Any]) -> ConversationReference | None:
    """The reference a stored document describes: oohbot's shape, or botbuilder's older
    serialisation (``serviceUrl``, ``tenantID``); None if it names no conversation."""
    if document.get("shape") != SHAPE:
        document = _migrated(document)
    conversation = document.get("conversation")
    if not isinstance(conversation, dict) or not conversation.get("id"):
        return None
    bot, user = _mapping(document.get("bot")), document.get("user")
    return ConversationReference(
        service_url=document.get("service_url") or None,
        channel_id=document.get("channel") or "msteams",
        locale=document.get("locale"),
        conversation=ConversationAccount(
            id=conversation["id"],
            conversation_type=conversation.get("type"),
            tenant_id=conversation.get("tenant_id"),
            is_group=conversation.get("is_group"),
        ),
        bot=ChannelAccount(id=bot.get("id"), name=bot.get("name")),
        user=ChannelAccount(id=user.get("id"), aad_object_id=user.get("aad_object_id"))
        if isinstance(user, dict)
        else None,
    )


def is_current(document: dict[str, Any]) -> bool:
    """Whether a stored document is already in oohbot's shape."""
    return document.get("shape") == SHAPE


def _migrated(legacy: dict[str, Any]) -> dict[str, Any]:
    """botbuilder's ``ConversationReference.serialize()`` → oohbot's shape."""
    conversation = _mapping(legacy.get("conversation"))
    bot, user = _mapping(legacy.get("bot")), _mapping(legacy.get("user"))
    tenant = conversation.get("tenantID") or conversation.get("tenantId")
    return {
        "shape": SHAPE,
        "service_url": legacy.get("serviceUrl", ""),
        "channel": legacy.get("channelId") or "msteams",
        "conversation": _without_empty(
            id=conversation.get("id"),
            type=conversation.get("conversationType"),
            tenant_id=tenant,
            is_group=conversation.get("isGroup"),
        ),
        "bot": _without_empty(id=bot.get("id"), name=bot.get("name")),
        "user": _without_empty(id=user.get("id"), aad_object_id=user.get("aadObjectId")),
        **({"locale": legacy["locale"]} if legacy.get("locale") else {}),
    }


def _mapping(value: Any) -> dict[str, Any]:
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def _without_empty(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None and value != ""}


class References:
    """Reads and writes conversation references; skips writes that would change nothing."""

    def __init__(self, store: AddressBook) -> None:
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
            await self._save(channel_key(reference.conversation.id), to_document(reference))
            return
        user = activity.from_property
        if conversation_type(activity) == "personal" and user is not None and user.aad_object_id:
            await self._save(str(user.aad_object_id), to_document(reference))

    async def remember_created(self, key: str, reference: ConversationReference) -> None:
        await self._save(key, to_document(reference))

    async def load(self, key: str) -> ConversationReference | None:
        """The stored reference; one in an older shape is rewritten in oohbot's own."""
        raw = await self._store.load_address(PLATFORM, key)
        if not raw:
            return None
        reference = from_document(raw)
        if reference is not None and not is_current(raw):
            await self._save(key, to_document(reference))
        return reference

    async def service_url(self, tenant: str) -> str:
        raw = await self._store.load_address(PLATFORM, service_key(tenant))
        return str(raw.get("service_url", "")) if raw else ""

    async def _save(self, key: str, document: dict[str, Any]) -> None:
        if self._written.get(key) == document:
            return
        await self._store.save_address(PLATFORM, key, document)
        self._written[key] = document
