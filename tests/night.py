"""A harness for driving whole nights through the real engine, store and worker.

The only stand-in is ``RecordingSender``: a platform (like the local recording servers of the
Slack and Teams end-to-end tests) that keeps every delivered message so tests can read each
person's inbox and the SPOC channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.base import Address, Handle
from bot.clock import FrozenClock
from bot.engine import Engine
from bot.worker import Worker
from flows.inbound import Inbound
from flows.messages import Card, Form, Message, Question, Text
from store.base import Store
from store.crypto import Cipher, generate_key
from store.factory import open_store

SATURDAY_2AM = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
"""A Saturday night: out of office hours, so no in-hours question."""
TIMERS = {
    "conversation_idle": "30m",
    "conversation_idle_warning": "5m",
    "spoc_ack": "10m",
    "spoc_rota_rounds": 1,
    "response_due": "2h",
    "response_warning": "30m",
    "retrospective_due": "72h",
    "retrospective_reminders": ["24h", "2h"],
    "overdue_nudge_every": "24h",
    "ig_after_nudges": 2,
}

CANARY = {
    "subject.last_name": "Zqxjvonkle",
    "subject.first_names": "Aurelio",
    "subject.dob": "14/02/1979",
    "subject.address": "17 Quillon Mews, Tidemouth",
}
CANARY_VALUES = ("Zqxjvonkle", "Aurelio", "1979-02-14", "14/02/1979", "Quillon")

ANSWERS: dict[str, str] = {
    "emergency": "no",
    "urgent_in_hours": "yes",
    "on_behalf_of": "1",
    "form": "mh1",
    **CANARY,
    "subject.alias": "skip",
    "subject.place_of_birth": "Tidemouth",
    "subject.postcode": "TD1 4QX",
    "reason": "risk",
    "grounds": "1, 2",
    "info_required": "weapons, violence",
    "info_other": "skip",
    "consent": "not_sought",
    "consent_reason": "Asking would raise the risk to staff",
    "lawful_basis": "1",
    "summary": "Threatened night staff, may carry a blade",
    "contact_phone": "07700 900123",
    "review": "submit",
}


@dataclass
class Delivered:
    address: Address
    message: Message
    handle: Handle


@dataclass
class RecordingSender:
    """A platform that records deliveries (``platform`` is 'web': officers reached by id)."""

    platform: Any = "web"
    sent: list[Delivered] = field(default_factory=list)
    updates: list[tuple[Handle, Message]] = field(default_factory=list)

    async def send(self, address: Address, message: Message) -> Handle:
        handle = {"platform": self.platform, "box": address.id, "id": len(self.sent)}
        self.sent.append(Delivered(address, message, handle))
        return handle

    async def update(self, handle: Handle, message: Message) -> None:
        self.updates.append((handle, message))

    def inbox(self, officer_id: str) -> list[Message]:
        return [
            d.message for d in self.sent if d.address.kind == "user" and d.address.id == officer_id
        ]

    def channel(self) -> list[Message]:
        return [d.message for d in self.sent if d.address.kind == "channel"]

    def all_text(self) -> str:
        return "\n".join(
            repr(m) for m in [*(d.message for d in self.sent), *(m for _, m in self.updates)]
        )


@dataclass
class Night:
    engine: Engine
    worker: Worker
    clock: FrozenClock
    sender: RecordingSender
    events: int = 0

    def _inbound(self, who: str, **kwargs: Any) -> Inbound:
        self.events += 1
        kwargs.setdefault("event_id", f"e{self.events}")
        return Inbound(platform="web", user_id=who, tenant="", conversation=f"dm:{who}", **kwargs)

    async def say(self, who: str, text: str) -> list[Message]:
        return await self.engine.handle(self._inbound(who, kind="text", text=text))

    async def click(self, who: str, action: str, value: str) -> list[Message]:
        return await self.engine.handle(
            self._inbound(who, kind="action", action=action, value=value)
        )

    async def submit(
        self, who: str, form: Form, values: Mapping[str, str | list[str]]
    ) -> list[Message]:
        return await self.engine.handle(
            self._inbound(
                who,
                kind="form",
                action=form.form_id,
                form=dict(values),
                form_ref=form.ref,
                form_context=form.context,
            )
        )

    async def advance(self, delta: timedelta) -> int:
        self.clock.advance(delta)
        return await self.worker.drain()

    async def request(self, who: str, answers: Mapping[str, str] = ANSWERS) -> list[Message]:
        """Hold a whole conversation, answering each question from ``answers``."""
        replies = await self.say(who, "hello")
        for _ in range(60):
            question = last_question(replies)
            if question is None:
                return replies
            replies = await self.say(who, answers[question.field])
        raise AssertionError("the conversation did not end")


async def open_test_store(url: str, key: str | None = None) -> Store:
    """An opened store encrypting with ``key`` (a fresh one by default)."""
    store = open_store(url, Cipher.from_strings([key or generate_key()]))
    await store.open()
    return store


def last_question(messages: list[Message]) -> Question | None:
    questions = [m for m in messages if isinstance(m, Question)]
    return questions[-1] if questions else None


def only(messages: list[Message], kind: type[Any]) -> Any:
    found = [m for m in messages if isinstance(m, kind)]
    assert found, f"no {kind.__name__} in {messages!r}"
    return found[-1]


def texts(messages: list[Message]) -> str:
    parts = []
    for m in messages:
        if isinstance(m, Text):
            parts.append(m.text)
        elif isinstance(m, Card):
            parts.append(" ".join([m.title, m.status, *(f"{f.label} {f.value}" for f in m.fields)]))
        elif isinstance(m, Question):
            parts.append(m.prompt)
    return "\n".join(parts)
