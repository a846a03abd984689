"""Build the configured store from its URL."""

from __future__ import annotations

from pathlib import Path

from store.base import Store, StoreError
from store.crypto import Cipher


def open_store(url: str, cipher: Cipher) -> Store:
    """A store for ``sqlite:///relative/or/absolute.db`` or ``redis://…`` / ``rediss://…``.

    The store is not yet opened: call ``await store.open()`` (and ``close()``) around use.
    """
    if url.startswith("sqlite:///"):
        from store.sqlite import SqliteStore

        return SqliteStore(Path(url.removeprefix("sqlite:///")), cipher)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from store.redis import RedisStore

        return RedisStore(url, cipher)
    scheme = url.split(":", 1)[0]
    raise StoreError(f"unsupported store URL scheme {scheme!r}: use sqlite:///path or redis://")
