"""What the benchmarks share: a platform that accepts everything, and a scratch store."""

from __future__ import annotations

from pathlib import Path

from adapters.base import Address, Handle
from flows.inbound import Platform
from flows.messages import Message
from store.base import Store
from store.crypto import Cipher, generate_key
from store.factory import open_store
from store.redis import RedisStore


class NullSender:
    """A platform that accepts everything (delivery is not what is measured)."""

    platform: Platform = "web"

    async def send(self, address: Address, message: Message) -> Handle:
        return {"platform": "web", "box": address.id, "id": 0}

    async def update(self, handle: Handle, message: Message) -> None:
        return None


async def scratch_store(url: str, folder: Path) -> Store:
    """An opened, empty store: ``FOLDER`` in a SQLite URL is replaced by ``folder``; a Redis
    database is FLUSHED (the benchmark's own, named on its command line)."""
    store = open_store(url.replace("FOLDER", str(folder)), Cipher.from_strings([generate_key()]))
    await store.open()
    if isinstance(store, RedisStore):
        await store._redis.flushdb()
        await store.open()
    return store
