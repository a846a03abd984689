"""The two ports between the engine and the platform adapters.

An adapter turns platform payloads into ``flows.inbound.Inbound`` and calls ``Handler.handle``;
the messages it gets back are replies for the conversation the event came from, rendered in
context (a ``Form`` reply to a Slack button click opens a modal with the click's trigger id; a
``Text`` reply to a channel click is shown privately to the clicker). Everything else the engine
delivers itself through each platform's ``Sender``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from flows.errors import OohbotError
from flows.inbound import Inbound, Platform
from flows.messages import Message


@dataclass(frozen=True)
class Address:
    """Where to deliver on one platform: a person (``kind='user'``) or a channel."""

    platform: Platform
    kind: Literal["user", "channel"]
    id: str
    tenant: str = ""


@dataclass(frozen=True)
class Receipt:
    """An event the engine has stored (handled, or in its inbox): hand it back to
    ``Handler.process`` for its replies."""

    inbound: Inbound
    id: str
    lease: str


Handle = dict[str, Any]
"""A delivered message, JSON-able, opaque to the engine (platform, channel, message id …)."""

Document = dict[str, Any]


class AddressBook(Protocol):
    """Where adapters keep how to reach people and channels proactively (a Slack DM channel
    id, a Teams conversation reference). The store implements it; adapters know only this."""

    async def save_address(self, platform: str, key: str, address: Document) -> None: ...
    async def load_address(self, platform: str, key: str) -> Document | None: ...


class Handler(Protocol):
    """The engine as adapters see it.

    Acknowledge a platform's delivery only after ``receive`` returned: from then on the event
    is stored (handled already, or in the inbox) and will be handled even if this process
    dies. ``receive`` raising means it was not stored: answer the platform with an error so
    that it delivers the event again."""

    async def receive(self, inbound: Inbound) -> Receipt | None:
        """Store the event — its whole effect when it can be handled at once, else the event
        in the inbox; None if it was received before (a redelivery), unless the first
        delivery's replies were never shown, in which case this receipt carries them."""
        ...

    async def process(self, receipt: Receipt) -> list[Message]:
        """Handle a received event; return replies for the conversation it came from."""
        ...

    async def delivered(self, receipt: Receipt) -> None:
        """The replies of ``process`` were shown (otherwise they are sent by message later)."""
        ...

    async def handle(self, inbound: Inbound) -> list[Message]:
        """``receive`` + ``process`` + ``delivered`` for adapters that show replies at once."""
        ...

    async def home(self, platform: Platform, user_id: str, tenant: str) -> list[Message]:
        """What this person should see on their home/status view: for a requester their open
        requests and forms due; for a SPOC the queue; for a manager or IG lead the overdue
        forms of their people. Cards with actions (e.g. ``retro:open``), no channel-unsafe
        data beyond what that person may see."""
        ...


class Sender(Protocol):
    """Proactive delivery on one platform."""

    platform: Platform

    async def send(self, address: Address, message: Message) -> Handle | None:
        """Deliver; return a handle for later updates (None if the platform gives none).
        Raise ``Unreachable`` when the person or channel cannot be reached."""
        ...

    async def update(self, handle: Handle, message: Message) -> None:
        """Replace a delivered message (a card after a decision)."""
        ...


class Listening(Protocol):
    """Where the server listens (``service.listen``)."""

    @property
    def host(self) -> str: ...


class Hosting(Protocol):
    """The facts about the running service an adapter may need to refuse unsafe set-ups."""

    @property
    def environment(self) -> str: ...

    @property
    def listen(self) -> Listening: ...


class AdapterConfigError(OohbotError):
    """A platform cannot start safely with this configuration; the message says why and how
    to fix it (the CLI prints it and exits 2, like any configuration error)."""


class NotStored(OohbotError):
    """``Handler.receive`` could not store the event (the store is down): the adapter must not
    acknowledge it, so that the platform delivers it again."""

    explained = False


class Unreachable(OohbotError):
    """The recipient cannot be reached on this platform (no stored reference, no channel …)."""

    explained = False
