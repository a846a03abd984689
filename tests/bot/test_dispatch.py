"""The dispatcher: when the store fails part-way through a batch it is sending, and the outbox
gauges it keeps while a platform refuses."""

from __future__ import annotations

from dataclasses import replace
from typing import cast

import pytest

from adapters.base import Address, Handle
from bot.config import Settings
from flows.messages import Message, Text
from flows.wire import encode_message
from store.base import Outgoing, Store, UnitOfWork
from tests.bot.conftest import night_on
from tests.bot.test_receive import FlakyStore
from tests.night import RecordingSender


class RefusingSender(RecordingSender):
    """The platform, refusing every message to one person."""

    async def send(self, address: Address, message: Message) -> Handle:
        if address.id == "unreachable":
            raise OSError("the platform refused")
        return await super().send(address, message)


def to_person(entry_id: str, user: str) -> Outgoing:
    person = {"platform": "web", "user": user, "tenant": ""}
    payload = {"person": person, "message": encode_message(Text(f"for {user}")), "ref": ""}
    return Outgoing(entry_id, f"conversation:web::{user}", payload, 0.0, 0, "held")


async def test_what_went_out_is_marked_even_when_the_store_fails_over_a_later_entry(
    settings: Settings, store: Store
) -> None:
    flaky = FlakyStore(store, {"retry_outbox"})
    night = night_on(settings, cast(Store, flaky))
    sender = RefusingSender()
    night.engine.add_sender(sender, "spoc")
    committed = await store.commit(
        UnitOfWork(outbox=[to_person("m1", "reachable"), to_person("m2", "unreachable")])
    )
    flaky.failures = 1  # releasing m2 for another try fails: the store went away
    with pytest.raises(ConnectionError):
        await night.engine.dispatcher.send(committed.fast)
    assert [d.address.id for d in sender.sent] == ["reachable"]
    pending = [e.id for e in await store.outbox_entries()]
    assert pending == ["m2"], "m1 went out and is marked; m2 waits for its lease to run out"


async def test_the_outbox_gauges_show_how_long_a_refused_person_has_waited(
    settings: Settings, store: Store
) -> None:
    night = night_on(settings, store)
    night.engine.add_sender(RefusingSender(), "spoc")
    now = night.clock.now().timestamp()
    first = replace(to_person("m1", "unreachable"), lease="", queued_at=now - 100)
    second = replace(to_person("m2", "unreachable"), lease="", queued_at=now - 40)
    await store.commit(UnitOfWork(outbox=[first, second]))
    assert await night.engine.dispatcher.run_once() == 1  # m1 is refused and backs off
    await night.engine.dispatcher.measure()
    read = night.engine.metrics.registry.get_sample_value
    assert read("oohbot_outbox_depth") == 2
    # m1 is not due again yet; m2, held behind it, has been due since it was committed
    assert read("oohbot_outbox_oldest_due_seconds") == pytest.approx(40)
