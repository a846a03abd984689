"""One unit of work: what handling one event or one job will change, gathered before the commit.

Routing and the flows fill a ``Unit`` while reading (the new session or request, the effects the
flow asked for, the replies for the person); ``Unit.work`` is then written by one
``Store.commit``. Nothing is sent while the unit is built: messages become outbox entries, and
the dispatcher sends them after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.delivery import Target, ToPerson
from flows.effects import Audit, CancelJob, Effect, Schedule, Send
from flows.inbound import Inbound, Platform
from flows.messages import Message, ToConversation, ToOfficer, ToSpocChannel
from flows.wire import decode_message, encode_message
from store.base import AuditDraft, Change, Job, Outgoing, UnitOfWork


@dataclass(frozen=True)
class Conversation:
    """Where an event came from; the person's replies go back there."""

    platform: Platform
    user: str
    tenant: str

    @property
    def key(self) -> str:
        """The session key (``Inbound.session_key``) and the outbox queue of the replies."""
        return f"{self.platform}:{self.tenant}:{self.user}"

    @classmethod
    def of(cls, inbound: Inbound) -> Conversation:
        return cls(inbound.platform, inbound.user_id, inbound.tenant)

    def payload(self) -> dict[str, Any]:
        """As kept in a conversation job's payload."""
        return {
            "session": self.key,
            "platform": self.platform,
            "user": self.user,
            "tenant": self.tenant,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Conversation:
        return cls(payload["platform"], str(payload["user"]), str(payload["tenant"]))


@dataclass(frozen=True)
class Leases:
    """The committer's claim on the outbox entries it will deliver itself: replies shown where
    the event happened (until ``reply_due``) and other messages sent at once (``send_due``)."""

    token: str
    reply_due: float
    send_due: float


def conversation_queue(key: str) -> str:
    return f"conversation:{key}"


@dataclass
class Unit:
    """Gathers one unit of work. ``channels`` are the platforms with a SPOC channel."""

    now: datetime
    actor: str
    conversation: Conversation | None
    channels: Sequence[str]
    leases: Leases
    work: UnitOfWork = field(default_factory=UnitOfWork)
    replies: list[Message] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def reply(self, *messages: Message) -> None:
        """Show ``messages`` to the person the event came from."""
        for message in messages:
            self.replies.append(message)
            if self.conversation is not None:
                to = {"person": _person(self.conversation)}
                self._enqueue(conversation_queue(self.conversation.key), to, message, "", True)

    def apply(self, effects: Sequence[Effect], ref: str = "", actor: str | None = None) -> None:
        """Turn a flow's effects into writes of this unit."""
        for effect in effects:
            if isinstance(effect, Send):
                self._send(effect, ref)
            elif isinstance(effect, Schedule):
                payload = dict(effect.payload)
                self.work.schedule.append(
                    Job(effect.job_id, effect.kind, effect.due_at.timestamp(), payload)
                )
            elif isinstance(effect, CancelJob):
                self.work.cancel.append(effect.job_id)
            elif isinstance(effect, Audit):
                self.audit(effect.action, effect.ref or ref, dict(effect.details), actor)

    def audit(
        self, action: str, ref: str, details: dict[str, Any], actor: str | None = None
    ) -> None:
        self.work.audit.append(AuditDraft(self.now, actor or self.actor, action, ref, details))

    def save_session(self, key: str, document: dict[str, Any], version: int) -> None:
        self.work.sessions.append(Change(key, document, version))

    def save_request(self, ref: str, document: dict[str, Any], version: int) -> None:
        self.work.requests.append(Change(ref, document, version))

    def _send(self, effect: Send, ref: str) -> None:
        to = effect.to
        if isinstance(to, ToConversation):
            self.reply(effect.message)
        elif isinstance(to, ToOfficer):
            queue = f"officer:{to.officer_id}"
            self._enqueue(queue, {"target": queue}, effect.message, ref, False)
        elif isinstance(to, ToSpocChannel):
            for platform in self.channels:
                queue = f"channel:{platform}"
                self._enqueue(queue, {"target": queue}, effect.message, ref, False)

    def _enqueue(
        self, queue: str, to: dict[str, Any], message: Message, ref: str, reply: bool
    ) -> None:
        payload = {**to, "message": encode_message(message), "ref": ref}
        due = self.leases.reply_due if reply else self.leases.send_due
        entry_id = uuid.uuid4().hex
        queued_at = self.now.timestamp()
        entry = Outgoing(entry_id, queue, payload, due, 0, self.leases.token, queued_at=queued_at)
        self.work.outbox.append(entry)


def _person(conversation: Conversation) -> dict[str, str]:
    return {
        "platform": conversation.platform,
        "user": conversation.user,
        "tenant": conversation.tenant,
    }


def decode(entry: Outgoing) -> tuple[Target, Message, str]:
    """An outbox entry's recipient, message and reference."""
    payload = entry.payload
    message = decode_message(payload["message"])
    ref = str(payload.get("ref", ""))
    if "person" in payload:
        person = payload["person"]
        return ToPerson(person["platform"], person["user"], person["tenant"]), message, ref
    return str(payload["target"]), message, ref


def is_reply(entry: Outgoing) -> bool:
    return entry.recipient.startswith("conversation:")
