"""``WebSender``: each officer's inbox and the SPOC channel feed, pushed live to browsers.

Boxes are bounded (the newest ``limit`` entries each) and, given a ``ConsoleBoxes`` (the store),
kept there too, sealed: they survive a restart, and several ``oohbot serve`` processes on one
Redis show the same boxes (a page shows what its own process pushes live, and everything on a
reload). Changes are written by ``flush``, which the console routes and ``send``/``update`` await
before they answer, so a message the engine counts as delivered is in the store. Message ids
carry a per-process prefix, so ids from different processes never collide; an update for an
entry that is gone is delivered as a new entry instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from adapters.base import Address, Handle
from adapters.web.render import JSON, to_json
from flows.inbound import Platform
from flows.messages import Card, Message
from flows.wire import decode_message, encode_message

CHANNEL_BOX = "channel"
WRITTEN_KEPT = 1024  # far more than are written while one box is read
Origin = Literal["bot", "me"]
Event = tuple[str, JSON]


@dataclass(frozen=True)
class Entry:
    """One message in a box (an officer's inbox or the channel), as the page shows it."""

    id: str
    box: str
    origin: Origin
    message: Message

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "box": self.box,
            "origin": self.origin,
            "message": to_json(self.message),
        }

    def to_document(self) -> dict[str, Any]:
        """As kept in the store."""
        return {"origin": self.origin, "message": encode_message(self.message)}

    @classmethod
    def from_document(cls, entry_id: str, box: str, document: dict[str, Any]) -> Entry:
        origin: Origin = "me" if document.get("origin") == "me" else "bot"
        return cls(entry_id, box, origin, decode_message(document["message"]))


class ConsoleBoxes(Protocol):
    """Where the boxes are kept (the store implements it)."""

    async def save_console_entry(
        self, box: str, entry_id: str, entry: dict[str, Any], keep: int
    ) -> None: ...

    async def console_entries(self, box: str) -> list[dict[str, Any]]: ...


class Subscription:
    """One browser's live stream: the boxes it watches and a bounded queue of events."""

    def __init__(self, boxes: frozenset[str], size: int) -> None:
        self.boxes = boxes
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=size)

    def offer(self, event: Event) -> bool:
        """Queue an event; False when the browser has fallen too far behind."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    def close(self) -> None:
        """Wake the stream up and end it (a browser reconnects and gets a fresh snapshot)."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class WebSender:
    """The web console's ``adapters.base.Sender``; handles are ``{platform, box, id}``."""

    platform: Platform = "web"

    def __init__(
        self, *, boxes: ConsoleBoxes | None = None, limit: int = 200, queue_size: int = 256
    ) -> None:
        self._store = boxes
        self._unsaved: list[Entry] = []
        # The latest writes, numbered, so that a load under way while they were written keeps
        # them (its read may have been answered before they were stored).
        self._saves = 0
        self._written: deque[tuple[int, Entry]] = deque(maxlen=WRITTEN_KEPT)
        self._limit = limit
        self._queue_size = queue_size
        self._boxes: dict[str, deque[Entry]] = {}
        self._subscriptions: set[Subscription] = set()
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count(1)

    async def send(self, address: Address, message: Message) -> Handle:
        """Store the message in the officer's inbox (or the channel) and push it live."""
        box = CHANNEL_BOX if address.kind == "channel" else address.id
        await self.load(box)
        entry = self.post(box, message)
        await self.flush()
        return {"platform": self.platform, "box": box, "id": entry.id}

    async def update(self, handle: Handle, message: Message) -> None:
        """Replace a delivered entry in place (a card after a decision)."""
        box, entry_id = str(handle.get("box", "")), str(handle.get("id", ""))
        await self.load(box)
        entries = self._boxes.get(box)
        index = _index_of(entries, entry_id, message) if entries else None
        if entries is None or index is None:
            self.post(box, message)
        else:
            entries[index] = replace(entries[index], message=message)
            self._changed(entries[index])
        await self.flush()

    async def load(self, box: str) -> None:
        """Read the box from the store (what other processes wrote included)."""
        if self._store is None:
            return
        saves_before = self._saves
        documents = await self._store.console_entries(box)
        merged = {d["id"]: Entry.from_document(d["id"], box, d) for d in documents}
        # Changes of this process the read may not have seen stay as they are: those written
        # while it was under way, and those not written yet.
        meanwhile = itertools.takewhile(lambda w: w[0] > saves_before, reversed(self._written))
        written_meanwhile = [entry for _, entry in reversed(list(meanwhile))]
        for entry in [*written_meanwhile, *self._unsaved]:
            if entry.box == box:
                merged[entry.id] = entry
        self._boxes[box] = deque(merged.values(), maxlen=self._limit)

    async def flush(self) -> None:
        """Write every change since the last flush to the store, in order."""
        while self._unsaved:
            entry = self._unsaved[0]  # kept listed until written, so a load meanwhile keeps it
            if self._store is not None:
                document = {"id": entry.id, **entry.to_document()}
                await self._store.save_console_entry(entry.box, entry.id, document, self._limit)
                self._saves += 1
                self._written.append((self._saves, entry))
            if self._unsaved and self._unsaved[0] is entry:
                self._unsaved.pop(0)

    def find(self, box: str, entry_id: str) -> Entry | None:
        """An entry still held in a box, by id."""
        return next((e for e in self._boxes.get(box, ()) if e.id == entry_id), None)

    def replace(self, entry: Entry, message: Message) -> Entry:
        """Show ``message`` in place of ``entry`` (a form with its errors, or closed once
        sent), pushed live like any update."""
        entries = self._boxes.get(entry.box)
        if entries is None or entry not in entries:
            return self.post(entry.box, message)
        updated = replace(entry, message=message)
        entries[entries.index(entry)] = updated
        self._changed(updated)
        return updated

    def post(self, box: str, message: Message, origin: Origin = "bot", entry_id: str = "") -> Entry:
        """Append to a box and push to every browser watching it (under ``entry_id``, if the
        caller has one that makes it unique, else a fresh one)."""
        entry = Entry(entry_id or f"{self._prefix}-{next(self._counter)}", box, origin, message)
        self._boxes.setdefault(box, deque(maxlen=self._limit)).append(entry)
        self._changed(entry)
        return entry

    def _changed(self, entry: Entry) -> None:
        self._unsaved.append(entry)
        self._publish("entry", entry)

    def entries(self, box: str) -> list[Entry]:
        """What a box holds now, oldest first."""
        return list(self._boxes.get(box, ()))

    def subscribe(self, officer_id: str, *, channel: bool) -> Subscription:
        """A live stream of the officer's inbox (and the channel, for its members)."""
        boxes = {officer_id, CHANNEL_BOX} if channel else {officer_id}
        subscription = Subscription(frozenset(boxes), self._queue_size)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def broadcast(self, name: str, data: JSON) -> None:
        """Push an event to every browser (e.g. the clock moved)."""
        for subscription in self._watching(None):
            self._offer(subscription, (name, data))

    def close_all(self) -> None:
        """End every live stream (application shutdown)."""
        for subscription in list(self._subscriptions):
            subscription.close()
        self._subscriptions.clear()

    def _publish(self, name: str, entry: Entry) -> None:
        event = (name, entry.to_json())
        for subscription in self._watching(entry.box):
            self._offer(subscription, event)

    def _watching(self, box: str | None) -> Iterator[Subscription]:
        return (s for s in list(self._subscriptions) if box is None or box in s.boxes)

    def _offer(self, subscription: Subscription, event: Event) -> None:
        if not subscription.offer(event):
            self.unsubscribe(subscription)
            with contextlib.suppress(asyncio.QueueFull):
                subscription.close()


def _index_of(entries: deque[Entry], entry_id: str, message: Message) -> int | None:
    for index, entry in enumerate(entries):
        if entry.id == entry_id:
            return index if _same_card(entry.message, message) else None
    return None


def _same_card(old: Message, new: Message) -> bool:
    if isinstance(new, Card):
        return isinstance(old, Card) and old.card_id == new.card_id
    return True
