"""Delivery: resolve neutral recipients to platform addresses and send through the senders.

Cards are tracked by ``card_id``: a card sent to someone who already has a copy updates that
copy; a card sent to the SPOC channel after copies exist updates every copy (channel posts and
the officers' direct messages), so a decision shows everywhere at once.

``deliver`` is what the outbox dispatcher calls: it raises ``DeliveryFailed`` when a platform
fails (so the message is tried again later) and reports a person who cannot be reached at all
to the SPOC channel (trying again would not help). ``to_officer``/``to_channel`` are the
best-effort forms used for alerts about the delivery itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adapters.base import Address, Handle, Sender, Unreachable
from bot.logs import get_logger
from bot.metrics import Metrics
from flows.directory import Directory, Officer
from flows.errors import OohbotError
from flows.inbound import Platform
from flows.messages import Card, Message, Text
from store.base import Store

log = get_logger("delivery")
CHANNEL = "channel"


class DeliveryFailed(OohbotError):
    """A platform failed to take a message; the dispatcher tries again later."""

    explained = False


@dataclass(frozen=True)
class ToPerson:
    """Someone reached by platform identity: the person an event came from."""

    platform: Platform
    user: str
    tenant: str


Target = ToPerson | str
"""``ToPerson``, or ``"officer:<id>"`` / ``"channel:<platform>"``."""


class Delivery:
    """Sends messages to officers and the SPOC channel on whichever platforms are configured."""

    def __init__(
        self,
        *,
        senders: Mapping[str, Sender],
        channels: Mapping[str, str],
        directory: Directory,
        store: Store,
        metrics: Metrics,
    ) -> None:
        self._senders = dict(senders)
        self._channels = dict(channels)
        self._directory = directory
        self._store = store
        self._metrics = metrics

    def add_sender(self, sender: Sender, channel: str = "") -> None:
        """Register a platform (and its SPOC channel id, if it has one)."""
        self._senders[sender.platform] = sender
        if channel:
            self._channels[sender.platform] = channel

    @property
    def channel_platforms(self) -> list[str]:
        """The platforms with a SPOC channel configured (one outbox queue each)."""
        return list(self._channels)

    async def deliver(self, target: Target, message: Message, ref: str = "") -> None:
        """Deliver one outbox message; ``DeliveryFailed`` when it should be tried again."""
        if isinstance(target, ToPerson):
            await self._to_person(target, message)
        elif target.startswith("officer:"):
            await self._strict_to_officer(target.removeprefix("officer:"), message, ref)
        else:
            await self._strict_to_channel(target.removeprefix("channel:"), message)

    async def _to_person(self, person: ToPerson, message: Message) -> None:
        sender = self._senders.get(person.platform)
        if sender is None:
            log.warning("person_unreachable", platform=person.platform, why="no such platform")
            return
        address = Address(
            platform=person.platform, kind="user", id=person.user, tenant=person.tenant
        )
        try:
            await sender.send(address, message)
        except Unreachable:
            log.warning("person_unreachable", platform=person.platform, why="unreachable")
        except Exception as error:
            self._metrics.delivery_failures.labels(platform=person.platform).inc()
            raise DeliveryFailed(type(error).__name__) from error

    async def _strict_to_officer(self, officer_id: str, message: Message, ref: str) -> None:
        officer = self._directory.officer(officer_id)
        address = self.address_of(officer) if officer else None
        if officer is None or address is None:
            await self._report_unreachable(officer_id, "no platform configured", ref)
            return
        if isinstance(message, Card) and await self._update_copies(message, officer_id):
            return
        try:
            handle = await self._senders[address.platform].send(address, message)
        except Unreachable as error:
            await self._report_unreachable(officer_id, str(error) or address.platform, ref)
            return
        except Exception as error:
            self._metrics.delivery_failures.labels(platform=address.platform).inc()
            raise DeliveryFailed(type(error).__name__) from error
        await self._remember(message, handle, officer_id)

    async def _strict_to_channel(self, platform: str, message: Message) -> None:
        channel, sender = self._channels.get(platform), self._senders.get(platform)
        if channel is None or sender is None:
            log.warning("spoc_channel_gone", platform=platform)
            return
        if isinstance(message, Card) and await self._channel_has_copy(message, platform):
            for covered in self._covered_by(platform):
                await self._update_copies(message, None, covered)
            return
        address = Address(platform=platform, kind="channel", id=channel)
        try:
            handle = await sender.send(address, message)
        except Exception as error:  # Unreachable included: a channel is worth trying again
            self._metrics.delivery_failures.labels(platform=platform).inc()
            raise DeliveryFailed(type(error).__name__) from error
        await self._remember(message, handle, CHANNEL)

    async def to_officer(self, officer_id: str, message: Message, ref: str = "") -> bool:
        """Deliver privately; on failure tell the SPOC channel. True when delivered."""
        officer = self._directory.officer(officer_id)
        address = self.address_of(officer) if officer else None
        if officer is None or address is None:
            await self._report_unreachable(officer_id, "no platform configured", ref)
            return False
        if isinstance(message, Card) and await self._update_copies(message, officer_id):
            return True
        try:
            handle = await self._senders[address.platform].send(address, message)
        except Unreachable as error:
            await self._report_unreachable(officer_id, str(error) or address.platform, ref)
            return False
        except Exception as error:  # a platform outage must not stop the other deliveries
            await self._report_unreachable(officer_id, type(error).__name__, ref)
            return False
        await self._remember(message, handle, officer_id)
        return True

    async def to_channel(self, message: Message) -> None:
        """Post in every configured SPOC channel (or update every copy of a known card)."""
        if isinstance(message, Card) and await self._channel_has_copy(message):
            await self._update_copies(message, None)
            return
        for platform, channel in self._channels.items():
            address = Address(platform=platform, kind="channel", id=channel)
            try:
                handle = await self._senders[platform].send(address, message)
            except Exception as error:  # Unreachable, or the platform failing outright
                self._metrics.delivery_failures.labels(platform=platform).inc()
                log.error("spoc_channel_unreachable", platform=platform, error=type(error).__name__)
                continue
            await self._remember(message, handle, CHANNEL)

    def address_of(self, officer: Officer) -> Address | None:
        """Where the directory says this officer is reached: the first platform (in the order
        they were added) on which the directory knows them, else the web console by id."""
        for platform in self._senders:
            identity = officer.known_on.get(platform)
            if identity is not None:
                return Address(platform, kind="user", id=identity.user, tenant=identity.tenant)
        if "web" in self._senders:
            return Address(platform="web", kind="user", id=officer.id)
        return None

    def _covered_by(self, platform: str) -> list[str]:
        """Platforms whose card copies a channel post on ``platform`` updates: its own, and
        for the first channel, every platform that has no channel of its own."""
        first = next(iter(self._channels), None)
        orphans = [p for p in self._senders if p not in self._channels]
        return [platform, *orphans] if platform == first else [platform]

    async def _channel_has_copy(self, card: Card, platform: str | None = None) -> bool:
        handles = await self._store.handles(card.card_id)
        return any(
            h.get("recipient") == CHANNEL and (platform is None or h.get("platform") == platform)
            for h in handles
        )

    async def _update_copies(
        self, card: Card, recipient: str | None, platform: str | None = None
    ) -> bool:
        handles = await self._store.handles(card.card_id)
        mine = [
            h
            for h in handles
            if (recipient is None or h.get("recipient") == recipient)
            and (platform is None or h.get("platform") == platform)
        ]
        for handle in mine:
            await self._update(handle, card)
        return bool(mine)

    async def _update(self, handle: Handle, card: Card) -> None:
        platform = str(handle.get("platform"))
        sender = self._senders.get(platform)
        if sender is None:
            return
        try:
            await sender.update(handle, card)
        except Exception as error:  # a stale copy is not worth losing the rest of a decision
            self._metrics.delivery_failures.labels(platform=platform).inc()
            log.error("card_update_failed", platform=platform, error=type(error).__name__)

    async def _remember(self, message: Message, handle: Handle | None, recipient: str) -> None:
        if isinstance(message, Card) and handle is not None:
            await self._store.add_handle(message.card_id, {**handle, "recipient": recipient})

    async def _report_unreachable(self, officer_id: str, why: str, ref: str) -> None:
        self._metrics.delivery_failures.labels(platform="any").inc()
        log.warning("officer_unreachable", officer=officer_id, ref=ref, why=why)
        officer = self._directory.officer(officer_id)
        who = f"{officer.post} ({officer.id})" if officer else officer_id
        about = f" about {ref}" if ref else ""
        await self.to_channel(
            Text(f"oohbot could not reach {who}{about}. Please contact them by phone.")
        )
