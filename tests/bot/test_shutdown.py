"""Stopping the service while its worker waits on a platform that stopped answering: the
shutdown still ends, cleanly, and the message it was sending is sent by the next process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from aiohttp import web

from adapters.base import Address, Handle
from bot import app as app_module
from bot.app import ENGINE, WORKER, build_app
from bot.clock import FrozenClock
from bot.config import Settings
from bot.directory import load_directory
from flows.messages import Message, Text
from flows.wire import encode_message
from store.base import Outgoing, Store, UnitOfWork
from tests.night import SATURDAY_2AM, RecordingSender

GRACE = 0.3


@dataclass
class StalledSender(RecordingSender):
    """A platform whose API takes calls and never answers."""

    waiting: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, address: Address, message: Message) -> Handle:
        self.waiting.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def to_channel(text: str) -> Outgoing:
    payload = {"target": "channel:web", "message": encode_message(Text(text)), "ref": ""}
    return Outgoing("m1", "channel:web", payload, 0.0, 0, "")


async def started(
    settings: Settings, store: Store, sender: RecordingSender, clock: FrozenClock
) -> web.AppRunner:
    directory = load_directory(settings.directory)
    app = build_app(settings, clock=clock, store=store, directory=directory)
    app[ENGINE].add_sender(sender, "spoc")
    runner = web.AppRunner(app)
    await runner.setup()  # starts the worker
    return runner


async def test_shutdown_ends_while_a_platform_hangs_and_the_message_goes_later(
    settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "WORKER_STOP_GRACE_SECONDS", GRACE)
    await store.commit(UnitOfWork(outbox=[to_channel("The desk is covered tonight.")]))
    clock, stalled = FrozenClock(SATURDAY_2AM), StalledSender()
    runner = await started(settings, store, stalled, clock)
    await asyncio.wait_for(stalled.waiting.wait(), timeout=10)
    await asyncio.wait_for(runner.cleanup(), timeout=10 + GRACE)  # must not raise
    [held] = await store.outbox_entries()
    assert held.attempts == 1, "claimed by the stopped worker, and kept"

    answering = RecordingSender()
    clock.advance(timedelta(minutes=5))  # past the stopped worker's lease
    runner = await started(settings, store, answering, clock)
    await runner.app[WORKER].drain()
    await runner.cleanup()
    assert [m.text for m in answering.channel() if isinstance(m, Text)] == [
        "The desk is covered tonight."
    ]
    assert await store.outbox_entries() == []
