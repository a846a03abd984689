"""Conversation references are stored in oohbot's own shape; older ones are converted."""

from __future__ import annotations

from typing import Any, cast

from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
)
from hypothesis import given
from hypothesis import strategies as st

from adapters.teams.references import SHAPE, References, from_document, to_document
from store.base import Store
from tests.adapters.teams.conftest import AddressBook

LEGACY = {  # what botbuilder's ConversationReference.serialize() wrote before
    "user": {"id": "29:u", "name": "Amara Okafor", "aadObjectId": "aad-1"},
    "bot": {"id": "28:app", "name": "oohbot"},
    "conversation": {
        "isGroup": False,
        "conversationType": "personal",
        "id": "a:chat",
        "tenantID": "tenant-1",
    },
    "channelId": "msteams",
    "locale": "en-GB",
    "serviceUrl": "https://smba.example/emea/",
}


def _references(book: AddressBook) -> References:
    return References(cast(Store, book))  # only the address methods are used


def _personal_message() -> Activity:
    return Activity(
        type="message",
        id="act-1",
        service_url="https://smba.example/emea/",
        channel_id="msteams",
        from_property=ChannelAccount(id="29:u", name="Amara Okafor", aad_object_id="aad-1"),
        recipient=ChannelAccount(id="28:app", name="oohbot"),
        conversation=ConversationAccount(
            id="a:chat", conversation_type="personal", tenant_id="tenant-1"
        ),
        channel_data={"tenant": {"id": "tenant-1"}},
        text="hello",
    )


async def test_a_personal_chat_is_stored_in_our_shape() -> None:
    book = AddressBook()
    await _references(book).remember(_personal_message())
    stored = book.addresses[("teams", "aad-1")]
    assert stored == {
        "shape": SHAPE,
        "service_url": "https://smba.example/emea/",
        "channel": "msteams",
        "conversation": {"id": "a:chat", "type": "personal", "tenant_id": "tenant-1"},
        "bot": {"id": "28:app", "name": "oohbot"},
        "user": {"id": "29:u", "aad_object_id": "aad-1"},
    }
    assert "Amara" not in repr(stored), "no display names"


async def test_an_older_reference_is_read_and_rewritten_in_our_shape() -> None:
    book = AddressBook()
    book.addresses[("teams", "aad-1")] = dict(LEGACY)
    reference = await _references(book).load("aad-1")
    assert reference is not None
    assert reference.conversation.tenant_id == "tenant-1"
    assert reference.service_url == "https://smba.example/emea/"
    assert reference.user.aad_object_id == "aad-1" and reference.bot.id == "28:app"
    migrated = book.addresses[("teams", "aad-1")]
    assert migrated["shape"] == SHAPE and migrated["conversation"]["tenant_id"] == "tenant-1"
    assert "tenantID" not in repr(migrated) and "Amara" not in repr(migrated)
    assert from_document(migrated) is not None


async def test_nothing_stored_or_no_conversation_is_no_reference() -> None:
    book = AddressBook()
    book.addresses[("teams", "x")] = {"service_url": "https://smba.example/"}
    assert await _references(book).load("x") is None
    assert await _references(book).load("missing") is None


ids = st.text(alphabet="abcdefghijk0123456789:-", min_size=1, max_size=20)


@given(ids, ids, st.none() | ids, st.sampled_from(["personal", "channel"]), st.none() | ids)
def test_our_shape_round_trips(
    conversation: str, bot: str, tenant: str | None, kind: str, aad: str | None
) -> None:
    reference = ConversationReference(
        service_url="https://smba.example/",
        channel_id="msteams",
        conversation=ConversationAccount(id=conversation, conversation_type=kind, tenant_id=tenant),
        bot=ChannelAccount(id=bot),
        user=ChannelAccount(id="29:x", aad_object_id=aad),
    )
    document: dict[str, Any] = to_document(reference)
    again = from_document(document)
    assert again is not None and to_document(again) == document
    assert again.conversation.tenant_id == tenant
