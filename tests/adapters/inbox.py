"""The inbox half of the ``Handler`` port for the adapters' stand-in engines."""

from __future__ import annotations

import itertools

from adapters.base import Receipt
from flows.inbound import Inbound
from flows.messages import Message

_ids = itertools.count(1)


class Inbox:
    """Every event is new; ``process`` answers through the stand-in's ``handle``."""

    async def handle(self, inbound: Inbound) -> list[Message]:
        raise NotImplementedError

    async def receive(self, inbound: Inbound) -> Receipt | None:
        return Receipt(inbound=inbound, id=f"r{next(_ids)}", lease="lease")

    async def process(self, receipt: Receipt) -> list[Message]:
        return await self.handle(receipt.inbound)

    async def delivered(self, receipt: Receipt) -> None:
        return None
