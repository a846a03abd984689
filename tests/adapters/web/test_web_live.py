"""Live delivery: the sender's boxes, server-sent events, updates in place, escaping."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from adapters.base import Address
from adapters.web import WebSender
from adapters.web.routes import MAX_STREAMS
from flows.messages import Action, Card, Text
from store.base import Store
from tests.adapters.web.conftest import Rig, open_stream
from tests.night import open_test_store

CARD = Card(
    card_id="req:DPT/01/2026",
    title="Urgent request DPT/01/2026",
    actions=(Action("spoc:approve", "Approve", "DPT/01/2026", "primary"),),
    status="Waiting for the SPOC",
)


async def test_stream_starts_with_a_snapshot_of_inbox_and_channel(rig: Rig) -> None:
    await rig.sender.send(Address("web", "user", "spoc"), Text("earlier"))
    await rig.sender.send(Address("web", "channel", "spoc"), CARD)
    stream = await open_stream(rig, "spoc")
    name, snapshot = await stream.next()
    assert name == "snapshot" and snapshot["officer"] == "spoc" and snapshot["channel_member"]
    assert [e["message"]["text"] for e in snapshot["inbox"]] == ["earlier"]
    assert [e["message"]["card_id"] for e in snapshot["channel"]] == [CARD.card_id]


async def test_only_spoc_officers_see_the_spoc_channel(rig: Rig) -> None:
    """protocol-requirements §6.2: need to know — a requester sees only their own chat."""
    await rig.sender.send(Address("web", "channel", "spoc"), CARD)
    stream = await open_stream(rig, "req")
    _, snapshot = await stream.next()
    assert snapshot["channel"] == [] and snapshot["channel_member"] is False
    await rig.sender.send(Address("web", "channel", "spoc"), CARD)
    await rig.sender.send(Address("web", "user", "req"), Text("yours"))
    _, entry = await stream.next()
    assert entry["box"] == "req", "channel posts are not streamed to non-members"


async def test_sent_message_arrives_live_to_its_officer_and_nobody_else(rig: Rig) -> None:
    mine, theirs = await open_stream(rig, "req"), await open_stream(rig, "spoc")
    await mine.next(), await theirs.next()
    handle = await rig.sender.send(Address("web", "user", "req"), Text("Your request was approved"))
    name, entry = await mine.next()
    assert (name, entry["box"], entry["message"]["text"]) == (
        "entry",
        "req",
        "Your request was approved",
    )
    assert handle == {"platform": "web", "box": "req", "id": entry["id"]}
    await rig.sender.send(Address("web", "channel", "spoc"), CARD)
    _, seen_by_spoc = await theirs.next()
    assert seen_by_spoc["box"] == "channel"  # the private message never reached them


async def test_update_replaces_the_card_in_place(rig: Rig) -> None:
    stream = await open_stream(rig, "spoc")
    await stream.next()
    handle = await rig.sender.send(Address("web", "channel", "spoc"), CARD)
    _, first = await stream.next()
    decided = Card(card_id=CARD.card_id, title=CARD.title, status="Approved by DS Pock")
    await rig.sender.update(handle, decided)
    name, second = await stream.next()
    assert name == "entry" and second["id"] == first["id"]
    assert (
        second["message"]["status"] == "Approved by DS Pock" and second["message"]["actions"] == []
    )
    [stored] = rig.sender.entries("channel")
    assert stored.message == decided


async def test_update_of_a_vanished_entry_is_delivered_as_new() -> None:
    sender = WebSender()
    await sender.update({"platform": "web", "box": "req", "id": "stale-1"}, CARD)
    assert [e.message for e in sender.entries("req")] == [CARD]


async def test_update_never_overwrites_a_different_card() -> None:
    sender = WebSender()
    handle = await sender.send(Address("web", "user", "req"), Text("hello"))
    await sender.update(handle, CARD)
    assert [e.message for e in sender.entries("req")] == [Text("hello"), CARD]


async def test_inboxes_are_bounded() -> None:
    sender = WebSender(limit=3)
    for number in range(5):
        await sender.send(Address("web", "user", "req"), Text(str(number)))
    assert [e.message for e in sender.entries("req")] == [Text("2"), Text("3"), Text("4")]


async def test_a_stalled_browser_is_dropped_not_buffered_for_ever() -> None:
    sender = WebSender(queue_size=2)
    subscription = sender.subscribe("req", channel=False)
    for number in range(4):
        await sender.send(Address("web", "user", "req"), Text(str(number)))
    assert subscription not in sender._subscriptions
    assert await subscription.queue.get() is None  # told to end; it reconnects with a snapshot


async def test_script_arrives_as_text(rig: Rig) -> None:
    stream = await open_stream(rig, "req")
    await stream.next()
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    await rig.event(kind="text", text=hostile)
    _, echo = await stream.next()
    assert echo["message"] == {"type": "text", "text": hostile}
    raw = await (await rig.client.get("/web/api/home?officer=req")).text()
    assert "<script" not in raw


async def test_shutdown_ends_open_streams(rig: Rig) -> None:
    stream = await open_stream(rig, "req")
    await stream.next()
    rig.sender.close_all()
    await asyncio.sleep(0)
    assert rig.sender._subscriptions == set()


async def test_live_streams_per_officer_are_capped(rig: Rig) -> None:
    streams = [await open_stream(rig, "req") for _ in range(MAX_STREAMS)]
    refused = await rig.client.get("/web/api/events?officer=req")
    assert refused.status == 429 and "close another tab" in await refused.text()
    await open_stream(rig, "spoc")  # the cap is per officer
    streams[0]._response.close()
    await asyncio.sleep(0.05)
    await open_stream(rig, "req")


class HeldReads:
    """The real store, whose box reads are answered and then held until released: what a
    read looks like when other writes finish while its answer is on its way."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.release = asyncio.Event()
        self.read = asyncio.Event()

    async def save_console_entry(
        self, box: str, entry_id: str, entry: dict[str, Any], keep: int
    ) -> None:
        await self.store.save_console_entry(box, entry_id, entry, keep)

    async def console_entries(self, box: str) -> list[dict[str, Any]]:
        documents = await self.store.console_entries(box)
        self.read.set()
        await self.release.wait()
        return documents


async def test_a_message_written_while_its_box_is_read_stays_in_the_box(tmp_path: Path) -> None:
    """A POST reloading the inbox while a reply is being stored (two requests of one page at
    once) used to drop the reply from the box the next snapshot is made of."""
    store = await open_test_store(f"sqlite:///{tmp_path / 'console.db'}")
    try:
        boxes = HeldReads(store)
        sender = WebSender(boxes=boxes)
        sender.post("amara", Text("the first question"))
        await sender.flush()
        loading = asyncio.ensure_future(sender.load("amara"))
        await boxes.read.wait()  # the read is answered: the reply below is not in it
        sender.post("amara", Text("the reply"))
        sender.post("amara", Text("the next question"))
        await sender.flush()
        boxes.release.set()
        await loading
        assert [e.message for e in sender.entries("amara")] == [
            Text("the first question"),
            Text("the reply"),
            Text("the next question"),
        ]
        fresh = WebSender(boxes=store)  # and it is in the store, for other processes
        await fresh.load("amara")
        assert [e.id for e in fresh.entries("amara")] == [e.id for e in sender.entries("amara")]
    finally:
        await store.close()
