"""Taking an event: handled at once in one commit, or through the inbox when that fails.

The store is the real one; ``FlakyStore`` only makes its next commits fail the way a dropped
connection does, to reach the inbox path that a fault in a step takes too.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any, cast

import pytest

from adapters.base import NotStored
from bot.config import Settings
from flows.conversation import Session
from flows.inbound import Inbound
from flows.request import Request
from store.base import Store
from tests.bot.conftest import night_on
from tests.night import ANSWERS, Night, last_question, texts

REQUESTER = "amara.okafor"


class FlakyStore:
    """The real store, whose next ``failures`` calls of the methods in ``fail`` fail the way a
    dropped connection does: before the store got them, or (``lost``) after it did the work,
    the answer lost on the way back."""

    def __init__(self, store: Store, fail: set[str]) -> None:
        self._store, self.fail, self.failures = store, fail, 0
        self.lost: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name not in self.fail:
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.failures > 0:
                self.failures -= 1
                if name in self.lost:
                    await attr(*args, **kwargs)
                raise ConnectionError("connection dropped")
            return await attr(*args, **kwargs)

        return call


def flaky_night(settings: Settings, store: Store, fail: set[str]) -> tuple[Night, FlakyStore]:
    flaky = FlakyStore(store, fail)
    return night_on(settings, cast(Store, flaky)), flaky


async def answers(store: Store) -> dict[str, Any]:
    stored = await store.get_session(f"web::{REQUESTER}")
    assert stored is not None
    return Session.model_validate(stored.data).answers


async def test_an_event_is_handled_in_one_commit_and_leaves_no_inbox_entry(
    settings: Settings, store: Store
) -> None:
    night, _ = flaky_night(settings, store, set())
    inbound = night._inbound(REQUESTER, kind="text", text="hello", event_id="take-1")
    receipt = await night.engine.receive(inbound)
    assert receipt is not None
    # Stored before the platform is answered: the new conversation, no inbox entry.
    assert await store.get_session(f"web::{REQUESTER}") is not None
    assert [job for job in await store.pending_jobs() if job.kind == "inbound"] == []
    replies = await night.engine.process(receipt)
    assert last_question(replies) is not None
    await night.engine.delivered(receipt)
    assert await store.outbox_entries() == []
    # A redelivery of the same event is dropped whole.
    assert await night.engine.receive(inbound) is None


async def test_when_the_commit_fails_the_event_waits_in_the_inbox(
    settings: Settings, store: Store
) -> None:
    night, flaky = flaky_night(settings, store, {"commit"})
    await night.say(REQUESTER, "hello")
    flaky.failures = 1
    inbound = night._inbound(REQUESTER, kind="text", text="no", event_id="take-2")
    receipt = await night.engine.receive(inbound)
    assert receipt is not None
    inbox = [job for job in await store.pending_jobs() if job.kind == "inbound"]
    assert len(inbox) == 1, "stored in the inbox before the platform is answered"
    assert "emergency" not in await answers(store)
    replies = await night.engine.process(receipt)
    await night.engine.delivered(receipt)
    assert last_question(replies) is not None and texts(replies)
    assert (await answers(store))["emergency"] == "no"
    assert [job for job in await store.pending_jobs() if job.kind == "inbound"] == []
    assert await night.engine.receive(inbound) is None, "a redelivery is still a duplicate"
    registry = night.engine.metrics.registry
    deferred = registry.get_sample_value("oohbot_events_deferred_total", {"platform": "web"})
    assert deferred == 1, "the operator can see that it went through the inbox"


async def test_an_event_that_cannot_be_stored_at_all_is_refused(
    settings: Settings, store: Store
) -> None:
    night, flaky = flaky_night(settings, store, {"commit", "receive"})
    flaky.failures = 2
    inbound = night._inbound(REQUESTER, kind="text", text="hello", event_id="take-3")
    with pytest.raises(NotStored):
        await night.engine.receive(inbound)
    assert await store.get_session(f"web::{REQUESTER}") is None
    # The platform sends it again, and this time it is taken.
    receipt = await night.engine.receive(inbound)
    assert receipt is not None
    assert last_question(await night.engine.process(receipt)) is not None


async def refused_after_a_lost_answer(
    settings: Settings, store: Store, lost: str
) -> tuple[Night, Inbound]:
    """An answer whose ``commit`` and inbox ``receive`` both fail, ``lost`` (one of the two)
    after the store did the work: the event is refused, to come again."""
    night, flaky = flaky_night(settings, store, {"commit", "receive"})
    await night.say(REQUESTER, "hello")
    flaky.lost, flaky.failures = {lost}, 2
    inbound = night._inbound(REQUESTER, kind="text", text="no", event_id=f"take-{lost}")
    with pytest.raises(NotStored):
        await night.engine.receive(inbound)
    return night, inbound


async def test_a_commit_whose_answer_was_lost_is_shown_by_the_redelivery(
    settings: Settings, store: Store
) -> None:
    """The store takes the unit and the connection drops before it says so; the inbox cannot be
    reached either, so the platform is refused and sends the event again. That redelivery
    finds the mark of the commit that did go through and shows its replies at once, instead of
    leaving the person waiting out the reply grace."""
    night, inbound = await refused_after_a_lost_answer(settings, store, "commit")
    assert (await answers(store))["emergency"] == "no", "the store did take the answer"
    receipt = await night.engine.receive(inbound)
    assert receipt is not None
    replies = await night.engine.process(receipt)
    await night.engine.delivered(receipt)
    question = last_question(replies)
    assert question is not None and question.field != "emergency"
    assert await store.outbox_entries() == []
    session = await store.get_session(f"web::{REQUESTER}")
    assert session is not None and session.version == 2, "applied once"
    assert await night.engine.receive(inbound) is None, "and only the first redelivery shows"


async def test_a_lost_answer_from_the_inbox_shows_nothing_it_did_not_commit(
    settings: Settings, store: Store
) -> None:
    """The commit fails before the store gets it, and the inbox takes the event but its answer
    is lost: the redelivery finds the inbox's mark. The replies that commit would have written
    do not exist, so nothing is shown; the worker answers from the inbox by message."""
    night, inbound = await refused_after_a_lost_answer(settings, store, "receive")
    assert "emergency" not in await answers(store)
    assert await night.engine.receive(inbound) is None
    before = len(night.sender.sent)
    await night.advance(timedelta(minutes=2))  # the inbox entry's lease runs out
    assert (await answers(store))["emergency"] == "no"
    assert len(night.sender.sent) > before, "answered by message"
    assert await store.outbox_entries() == []


async def test_a_redelivery_racing_the_first_delivery_changes_nothing_twice(
    settings: Settings, store: Store
) -> None:
    """Both deliveries read the same state; the one committed second finds the mark."""
    night, _ = flaky_night(settings, store, set())
    await night.say(REQUESTER, "hello")
    inbound = night._inbound(REQUESTER, kind="text", text="no", event_id="take-4")
    first, second = await asyncio.gather(
        night.engine.receive(inbound), night.engine.receive(inbound)
    )
    assert [r is None for r in (first, second)].count(True) == 1
    assert (await answers(store))["emergency"] == "no"
    session = await store.get_session(f"web::{REQUESTER}")
    assert session is not None and session.version == 2, "one commit for hello, one for no"


async def at_review(night: Night) -> None:
    replies = await night.say(REQUESTER, "hello")
    while (question := last_question(replies)) is not None and question.field != "review":
        replies = await night.say(REQUESTER, ANSWERS[question.field])
    assert question is not None, "the conversation ended before its review"


async def test_losing_the_store_after_the_commit_still_shows_the_replies(
    settings: Settings, store: Store
) -> None:
    """Submitting commits the request, then pages the SPOC; the store dropping while those
    pages are marked sent, and again while the confirmation is, must not turn the confirmation
    into an error. What was not marked is marked on the worker's next round, not sent twice."""
    night, flaky = flaky_night(settings, store, {"complete_outbox"})
    await at_review(night)
    flaky.failures = 2  # marking the pages sent, then marking the confirmation shown
    receipt = await night.engine.receive(night._inbound(REQUESTER, kind="text", text="submit"))
    assert receipt is not None
    replies = await night.engine.process(receipt)
    await night.engine.delivered(receipt)
    [request] = [Request.model_validate(v.data) for v in await store.list_requests()]
    assert request.ref in texts(replies) and "went wrong" not in texts(replies)
    paged = len(night.sender.sent)
    assert paged and night.sender.channel(), "the SPOC was paged before the store dropped"
    assert await store.outbox_entries(), "what was not marked sent is still there"
    await night.advance(timedelta(seconds=1))  # the worker's next round, the leases still held
    assert await store.outbox_entries() == []
    await night.advance(timedelta(minutes=2))
    assert len(night.sender.sent) == paged, "nothing delivered twice"


async def test_a_reply_shown_while_the_store_dropped_does_not_hold_back_the_next(
    settings: Settings, store: Store
) -> None:
    """Marking a shown reply fails; the person's next answer must still get its question at
    once. Left pending, the old reply would head this person's queue, and every later reply
    would wait behind it for the reply grace, then arrive after it a second time."""
    night, flaky = flaky_night(settings, store, {"complete_outbox"})
    await night.say(REQUESTER, "hello")
    flaky.failures = 1
    first = last_question(await night.say(REQUESTER, ANSWERS["emergency"]))
    assert first is not None
    assert await store.outbox_entries(), "shown, not yet marked"
    second = last_question(await night.say(REQUESTER, ANSWERS[first.field]))
    assert second is not None and second.field != first.field
    assert await store.outbox_entries() == []


class CountingStore:
    """The real store, counting the calls made into it."""

    def __init__(self, store: Store) -> None:
        self._store, self.calls = store, Counter[str]()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await attr(*args, **kwargs)

        return call


async def test_a_typed_answer_is_one_read_and_one_commit(settings: Settings, store: Store) -> None:
    """What a typed answer costs the store, whatever the store: the conversation read, one
    commit (state, timers, replies and the delivery mark together), and, once the replies are
    shown, their removal from the outbox."""
    counting = CountingStore(store)
    night = night_on(settings, cast(Store, counting))
    await night.say(REQUESTER, "hello")
    counting.calls.clear()
    replies = await night.say(REQUESTER, "no")
    assert last_question(replies) is not None
    assert counting.calls == Counter({"get_session": 1, "commit": 1, "complete_outbox": 1})
