"""Fault injection: the process dies at every step boundary, and nothing is lost.

For each operation of a night (a typed answer, submit, an escalation, approve, a reminder, a
nudge, the written form) a dry run counts the boundaries — every call into the real store and
every delivery to the platform. Then, for each boundary, a fresh night is played up to the
operation, the operation runs with a ``Crash`` (a ``BaseException``, as uncatchable by our
handlers as a SIGKILL) right after that call, and a new engine and worker are started on the
same store. After the leases run out the new process must finish the work: the event handled
exactly once, every request paged and its timers in place, the requester told, the audit chain
whole, nothing left in the inbox or the outbox.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from bot.app import build_core
from bot.clock import FrozenClock
from bot.config import Settings
from bot.directory import load_directory
from flows.conversation import Session
from flows.inbound import Inbound
from flows.messages import Form, Message
from flows.request import Request
from store.audit import verify
from store.base import Store
from tests.decision_values import approval
from tests.night import SATURDAY_2AM, Night, RecordingSender, last_question, only, texts

REF = re.compile(r"[A-Z]+/\d{2,}/\d{4}")
REQUESTER, SPOC, BACKUP, MANAGER = "amara.okafor", "di.marsh", "ds.kellow", "gwen.hollis"


class Crash(BaseException):
    """The process dies here."""


class Fuse:
    """Counts boundaries; blows after the ``at``-th one (never when ``at`` is None)."""

    def __init__(self, at: int | None) -> None:
        self.at, self.count = at, 0

    def tick(self) -> None:
        self.count += 1
        if self.at is not None and self.count == self.at:
            raise Crash


class CrashingStore:
    """The real store behind a fuse: each awaited call is a boundary."""

    def __init__(self, store: Store, fuse: Fuse) -> None:
        self._store, self._fuse = store, fuse

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name == "lock" or not callable(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = await attr(*args, **kwargs)
            self._fuse.tick()
            return result

        return call


class CrashingSender(RecordingSender):
    """The platform; the process may die right after a message went out."""

    fuse: Fuse | None = None

    async def send(self, address: Any, message: Message) -> Any:
        handle = await super().send(address, message)
        if self.fuse is not None:
            self.fuse.tick()
        return handle


@dataclass
class World:
    night: Night
    store: Store
    settings: Settings
    shown: list[Message]
    form: Form | None = None
    unacknowledged: Inbound | None = None  # an event whose ``receive`` never returned

    async def restart(self) -> Night:
        """A new process on the same store and platform, after every lease ran out. An
        event the dead process never acknowledged is delivered again, as platforms do."""
        clock = FrozenClock(self.night.clock.now())
        core = build_core(
            self.settings,
            clock=clock,
            store=self.store,
            directory=load_directory(self.settings.directory),
        )
        sender = self.night.sender
        assert isinstance(sender, CrashingSender)
        sender.fuse = None
        core.engine.add_sender(sender, "spoc")
        night = Night(core.engine, core.worker, clock, sender, self.night.events)
        if self.unacknowledged is not None:
            self.shown += await night.engine.handle(self.unacknowledged)
        await night.advance(timedelta(minutes=2))
        return night


Operation = Callable[[World], Awaitable[None]]


async def fresh_world(settings: Settings, store: Store, fuse: Fuse, upto: str) -> World:
    """A night played (without faults) up to just before the operation ``upto``."""
    clock = FrozenClock(SATURDAY_2AM)
    core = build_core(
        settings, clock=clock, store=store, directory=load_directory(settings.directory)
    )
    sender = CrashingSender()
    core.engine.add_sender(sender, "spoc")
    night = Night(core.engine, core.worker, clock, sender)
    world = World(night, store, settings, [])
    await SETUP[upto](world)
    crashing = CrashingStore(store, fuse)
    core = build_core(
        settings,
        clock=clock,
        store=crashing,
        directory=load_directory(settings.directory),
    )
    core.engine.add_sender(sender, "spoc")
    sender.fuse = fuse
    world.night = Night(core.engine, core.worker, clock, sender, night.events)
    return world


async def say(world: World, text: str, who: str = REQUESTER) -> None:
    await event(world, world.night._inbound(who, kind="text", text=text))


async def event(world: World, inbound: Inbound) -> None:
    """As an adapter does it: receive (the platform's delivery is acknowledged when it
    returns), process, show the replies, mark them shown."""
    engine = world.night.engine
    world.unacknowledged = inbound
    receipt = await engine.receive(inbound)
    world.unacknowledged = None
    assert receipt is not None
    world.shown += await engine.process(receipt)
    await engine.delivered(receipt)


# --- setups ----------------------------------------------------------------------------------


async def to_summary(world: World) -> None:
    """The requester has answered every question up to the summary."""
    night = world.night
    replies = await night.say(REQUESTER, "hello")
    from tests.night import ANSWERS

    while (question := last_question(replies)) is not None and question.field != "summary":
        replies = await night.say(REQUESTER, ANSWERS[question.field])


async def to_review(world: World) -> None:
    from tests.night import ANSWERS

    night = world.night
    replies = await night.say(REQUESTER, "hello")
    while (question := last_question(replies)) is not None and question.field != "review":
        replies = await night.say(REQUESTER, ANSWERS[question.field])


async def to_paged(world: World) -> None:
    await world.night.request(REQUESTER)


async def to_decision(world: World) -> None:
    """The SPOC has the decision form open."""
    await to_paged(world)
    ref = await only_ref(world)
    world.form = only(await world.night.click(SPOC, "spoc:approve", ref), Form)


async def to_approved(world: World) -> None:
    await to_paged(world)
    ref = await only_ref(world)
    form = only(await world.night.click(SPOC, "spoc:approve", ref), Form)
    await world.night.submit(SPOC, form, approval("Disclosed: one caution, 2019"))


async def to_form(world: World) -> None:
    """The requester has the written form open."""
    await to_approved(world)
    ref = await only_ref(world)
    world.form = only(await world.night.click(REQUESTER, "retro:open", ref), Form)


SETUP: dict[str, Operation] = {
    "answer": to_summary,
    "submit": to_review,
    "escalate": to_paged,
    "approve": to_decision,
    "remind": to_approved,
    "nudge": to_approved,
    "form": to_form,
}


async def only_ref(world: World) -> str:
    stored = await world.store.list_requests()
    assert len(stored) == 1, "no request exists twice"
    return str(stored[0].data["ref"])


async def request_of(world: World) -> Request:
    stored = await world.store.list_requests()
    assert len(stored) == 1, "no request exists twice"
    return Request.model_validate(stored[0].data)


# --- the operations and what must hold after a crash and a restart ------------------------------


async def op_answer(world: World) -> None:
    await say(world, "Threatened night staff, may carry a blade")


async def check_answer(world: World, night: Night) -> None:
    stored = await world.store.get_session(f"web::{REQUESTER}")
    assert stored is not None
    session = Session.model_validate(stored.data)
    assert session.answers["summary"] == "Threatened night staff, may carry a blade"
    assert session.state == "collecting:contact_phone", "the answer was taken exactly once"
    told = texts(world.shown + night.sender.inbox(REQUESTER))
    assert "call you back" in told.lower()


async def op_submit(world: World) -> None:
    await say(world, "submit")


async def check_submit(world: World, night: Night) -> None:
    request = await request_of(world)
    assert request.paged == [SPOC]
    assert request.ref in texts(night.sender.channel())
    assert request.ref in texts(night.sender.inbox(SPOC))
    assert request.ref in texts(world.shown + night.sender.inbox(REQUESTER))
    kinds = {job.kind for job in await world.store.pending_jobs()}
    assert {"spoc_ack", "response_warning", "response_breach"} <= kinds


async def op_escalate(world: World) -> None:
    world.night.clock.advance(timedelta(minutes=10))
    await world.night.worker.drain()


async def check_escalate(world: World, night: Night) -> None:
    request = await request_of(world)
    assert request.paged == [SPOC, BACKUP], "one page per escalation step"
    assert request.ref in texts(night.sender.inbox(BACKUP))
    assert any(job.kind == "spoc_ack" for job in await world.store.pending_jobs())


async def op_approve(world: World) -> None:
    form = world.form
    assert form is not None
    inbound = world.night._inbound(
        SPOC,
        kind="form",
        action=form.form_id,
        form=approval("Disclosed: one caution, 2019"),
        form_ref=form.ref,
        form_context=form.context,
    )
    await event(world, inbound)


async def check_approve(world: World, night: Night) -> None:
    request = await request_of(world)
    assert request.outcome == "approved" and request.retro_due_at is not None
    kinds = {job.kind for job in await world.store.pending_jobs()}
    assert {"retro_reminder", "retro_overdue"} <= kinds
    assert "approved" in texts(night.sender.inbox(REQUESTER)).lower()


async def op_remind(world: World) -> None:
    world.night.clock.advance(timedelta(hours=48))
    await world.night.worker.drain()


async def check_remind(world: World, night: Night) -> None:
    request = await request_of(world)
    assert request.state == "retro_due"
    told = texts(night.sender.inbox(REQUESTER)).lower()
    assert "written form" in told or "form" in told
    kinds = {job.kind for job in await world.store.pending_jobs()}
    assert "retro_overdue" in kinds


async def op_nudge(world: World) -> None:
    world.night.clock.advance(timedelta(hours=72))
    await world.night.worker.drain()


async def check_nudge(world: World, night: Night) -> None:
    request = await request_of(world)
    assert request.state == "retro_overdue" and request.nudges_sent == 1
    assert request.ref in texts(night.sender.inbox(MANAGER))
    kinds = {job.kind for job in await world.store.pending_jobs()}
    assert "overdue_nudge" in kinds


async def op_form(world: World) -> None:
    form = world.form
    assert form is not None
    values = {f.key: _value(f.value) for f in form.fields}
    inbound = world.night._inbound(
        REQUESTER,
        kind="form",
        action=form.form_id,
        form=values,
        form_ref=form.ref,
        form_context=form.context,
    )
    await event(world, inbound)


async def check_form(world: World, night: Night) -> None:
    request = await request_of(world)
    assert request.state == "closed", request.state
    kinds = {job.kind for job in await world.store.pending_jobs()}
    assert not kinds & {"retro_reminder", "retro_overdue", "overdue_nudge"}
    assert "received" in texts(night.sender.channel())


OPERATIONS: dict[str, tuple[Operation, Callable[[World, Night], Awaitable[None]]]] = {
    "answer": (op_answer, check_answer),
    "submit": (op_submit, check_submit),
    "escalate": (op_escalate, check_escalate),
    "approve": (op_approve, check_approve),
    "remind": (op_remind, check_remind),
    "nudge": (op_nudge, check_nudge),
    "form": (op_form, check_form),
}


async def whole(world: World, night: Night) -> None:
    """What holds after any crash: nothing left behind, the audit chain whole."""
    pending = await world.store.pending_jobs()
    assert not [job for job in pending if job.kind == "inbound"], "an event was left unhandled"
    assert await world.store.outbox_entries() == [], "a message was never delivered"
    assert await world.store.dead_outbox() == []
    assert verify(await world.store.audit_entries()).ok


@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_a_crash_at_any_boundary_loses_nothing(
    name: str, settings: Settings, store: Store
) -> None:
    operation, check = OPERATIONS[name]
    dry = Fuse(None)
    world = await fresh_world(settings, store, dry, name)
    await operation(world)
    await check(world, world.night)
    boundaries = dry.count
    assert boundaries >= 3
    for at in range(1, boundaries + 1):
        await wipe(store)
        fuse = Fuse(at)
        world = await fresh_world(settings, store, fuse, name)
        with pytest.raises(Crash):
            await operation(world)
            raise Crash  # the fuse may sit past this operation's own calls
        night = await world.restart()
        try:
            await check(world, night)
            await whole(world, night)
        except AssertionError as error:
            raise AssertionError(f"{name}: crash after boundary {at} of {boundaries}") from error


async def wipe(store: Store) -> None:
    """An empty store for the next run (same file or database)."""
    from store.redis import RedisStore
    from store.sqlite import SqliteStore

    if isinstance(store, SqliteStore):
        await store._run(_wipe_sqlite)
    elif isinstance(store, RedisStore):
        await store._redis.flushdb()
        await store.open()


def _wipe_sqlite(conn: Any) -> None:
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for table in tables:
        if not table.startswith("sqlite_"):
            conn.execute(f"DELETE FROM {table}")


def _value(value: str | tuple[str, ...]) -> str | list[str]:
    """A pre-filled form value as a browser sends it back (blank ones filled in)."""
    if isinstance(value, tuple):
        return list(value)
    return value or "Not known"
