"""Proactive delivery: stored references across restarts, channel posts, updates, retries,
unreachable people, and private replies to channel clicks."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.base import Address, Unreachable
from flows.messages import Action, Card, Form, FormField, Text
from tests.adapters.teams.conftest import (
    AAD,
    CHANNEL,
    TENANT,
    AddressBook,
    RecordingHandler,
    TeamsRig,
    activity,
    build,
)
from tests.e2e.teams_recorder import TeamsRecorder

PERSON = Address(platform="teams", kind="user", id=AAD, tenant=TENANT)
SPOC_CHANNEL = Address(platform="teams", kind="channel", id=CHANNEL, tenant=TENANT)
CARD = Card(
    card_id="request:DPT/17/2026",
    title="Urgent request DPT/17/2026",
    actions=(Action("spoc:approve", "Approve", "DPT/17/2026"),),
    notification="New urgent request",
)


async def say_hello(rig: TeamsRig) -> None:
    await rig.post(activity(rig.recorder.url, text="hello", activity_id="first"))
    rig.recorder.calls.clear()


async def install_in_channel(rig: TeamsRig) -> None:
    update = activity(
        rig.recorder.url,
        type_="conversationUpdate",
        conversation=CHANNEL,
        conversation_type="channel",
    )
    await rig.post(update)


async def test_proactive_send_after_a_restart(
    rig: TeamsRig, recorder: TeamsRecorder, book: AddressBook
) -> None:
    await say_hello(rig)
    _, restarted = build(RecordingHandler(), book)  # a new adapter, the same store
    handle = await restarted.send(PERSON, Text("Your request was approved."))
    [call] = recorder.calls
    assert (call.kind, call.conversation) == ("send", "a:personal-1")
    assert call.body["summary"] == "oohbot has a message for you"
    assert "text" not in call.body
    assert handle == {
        "platform": "teams",
        "conversation": "a:personal-1",
        "activity_id": call.activity_id,
        "service_url": recorder.url,
        "tenant": TENANT,
    }


async def test_channel_post_is_a_new_top_level_message(rig: TeamsRig) -> None:
    await install_in_channel(rig)
    handle = await rig.sender.send(SPOC_CHANNEL, CARD)
    [call] = rig.recorder.calls
    assert (call.kind, call.conversation) == ("send", CHANNEL)
    assert call.body["summary"] == "New urgent request"
    assert handle is not None and handle["conversation"] == CHANNEL


async def test_update_replaces_the_delivered_card(rig: TeamsRig) -> None:
    await install_in_channel(rig)
    handle = await rig.sender.send(SPOC_CHANNEL, CARD)
    assert handle is not None
    done = Card(card_id=CARD.card_id, title=CARD.title, status="Approved by SPOC 1")
    await rig.sender.update(handle, done)
    update = rig.recorder.of_kind("update")[0]
    assert (update.conversation, update.activity_id) == (CHANNEL, handle["activity_id"])
    assert update.body["id"] == handle["activity_id"]
    assert update.card["body"][0]["items"][-1]["text"] == "Approved by SPOC 1"
    assert "actions" not in update.card


@pytest.mark.parametrize("status", [429, 412, 500, 503])
async def test_throttling_and_server_errors_are_retried(rig: TeamsRig, status: int) -> None:
    await say_hello(rig)
    rig.recorder.fail_next("send", status)
    await rig.sender.send(PERSON, Text("Reminder"))
    assert rig.recorder.refused == [("send", status)]
    assert len(rig.recorder.of_kind("send")) == 1


async def test_update_is_retried_on_412(rig: TeamsRig) -> None:
    await install_in_channel(rig)
    handle = await rig.sender.send(SPOC_CHANNEL, CARD)
    assert handle is not None
    rig.recorder.fail_next("update", 412)
    await rig.sender.update(handle, CARD)
    assert rig.recorder.refused == [("update", 412)] and len(rig.recorder.of_kind("update")) == 1


async def test_persistent_throttling_ends_as_unreachable(rig: TeamsRig) -> None:
    await say_hello(rig)
    rig.recorder.fail_next("send", 429, times=10)
    with pytest.raises(Unreachable):
        await rig.sender.send(PERSON, Text("Reminder"))
    assert len(rig.recorder.refused) == rig.sender.backoff.attempts


async def test_blocked_bot_is_unreachable_without_retrying(rig: TeamsRig) -> None:
    await say_hello(rig)
    rig.recorder.fail_next("send", 403)
    with pytest.raises(Unreachable):
        await rig.sender.send(PERSON, Text("Reminder"))
    assert rig.recorder.refused == [("send", 403)]


async def test_nobody_known_is_unreachable(rig: TeamsRig) -> None:
    with pytest.raises(Unreachable):
        await rig.sender.send(PERSON, Text("Page"))
    with pytest.raises(Unreachable):
        await rig.sender.send(SPOC_CHANNEL, CARD)
    assert rig.recorder.calls == []


async def test_someone_new_gets_a_chat_opened(rig: TeamsRig) -> None:
    await say_hello(rig)  # the tenant's service URL is now known
    backup = Address(platform="teams", kind="user", id="aad-backup", tenant=TENANT)
    await rig.sender.send(backup, Text("You are being paged"))
    create, send = rig.recorder.calls
    assert create.kind == "create"
    assert create.body["members"][0]["id"] == "aad-backup"
    assert create.body["channelData"] == {"tenant": {"id": TENANT}}
    assert create.body["isGroup"] is False
    assert (send.kind, send.conversation) == ("send", create.conversation)
    assert rig.book.addresses[("teams", "aad-backup")]["conversation"]["id"] == create.conversation
    await rig.sender.send(backup, Text("Again"))
    assert [c.kind for c in rig.recorder.calls] == ["create", "send", "send"]


async def test_channel_click_reply_goes_to_the_clicker_privately(rig: TeamsRig) -> None:
    await say_hello(rig)
    rig.handler.replies = [
        Form("spoc:decision", "Approve", "DPT/17/2026", (FormField("note", "Note"),))
    ]
    click = activity(
        rig.recorder.url,
        value={"action": "spoc:approve", "ref": "DPT/17/2026"},
        conversation=f"{CHANNEL};messageid=42",
        conversation_type="channel",
        activity_id="click-1",
    )
    await rig.post(click)
    [call] = rig.recorder.calls
    assert (call.kind, call.conversation) == ("send", "a:personal-1")
    assert any(e.get("id") == "decision:note" for e in call.card["body"])


async def test_channel_click_reply_falls_back_to_the_thread(rig: TeamsRig) -> None:
    rig.handler.replies = [Text("You are not authorised to do that.")]
    click = activity(
        rig.recorder.url,
        value={"action": "spoc:approve", "ref": "DPT/17/2026"},
        conversation=f"{CHANNEL};messageid=42",
        conversation_type="channel",
        aad="aad-stranger",
    )
    rig.recorder.fail_next("create", 403)
    await rig.post(click)
    [call] = rig.recorder.calls
    assert (call.kind, call.conversation) == ("reply", f"{CHANNEL};messageid=42")


async def test_replies_need_no_running_engine_loop_tricks() -> None:
    """A second, independent rig on its own server works too (no shared global state)."""
    async with TeamsRecorder() as recorder:
        handler = RecordingHandler(replies=[Text("hi")])
        app, _ = build(handler, AddressBook())
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            await client.post("/api/messages", json=activity(recorder.url, text="x"))
        assert [c.kind for c in recorder.calls] == ["reply"]
