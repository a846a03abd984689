"""Build the configured store from its URL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from store.base import Store, StoreError
from store.blind_index import BlindIndex
from store.crypto import Cipher
from store.lifetimes import DEFAULT_LIFETIMES, Lifetimes


def open_store(
    url: str,
    cipher: Cipher,
    index: BlindIndex | None = None,
    lifetimes: Lifetimes = DEFAULT_LIFETIMES,
) -> Store:
    """A store for ``sqlite:///relative/or/absolute.db`` or ``redis://…`` / ``rediss://…``;
    with ``index`` it keeps the subject-access blind index.

    The store is not yet opened: call ``await store.open()`` (and ``close()``) around use.
    """
    if url.startswith("sqlite:///"):
        from store.sqlite import SqliteStore

        return SqliteStore(Path(url.removeprefix("sqlite:///")), cipher, index, lifetimes)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from store.redis import RedisStore

        return RedisStore(url, cipher, index, lifetimes)
    scheme = url.split(":", 1)[0]
    raise StoreError(f"unsupported store URL scheme {scheme!r}: use sqlite:///path or redis://")


def unavailable_errors(url: str) -> tuple[type[BaseException], ...]:
    """What the backend for ``url`` raises when it cannot be reached (for one-line start-up
    errors), importing a backend's client library only when that backend is configured."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        from redis.exceptions import RedisError

        return (RedisError, OSError)
    return (sqlite3.Error, OSError)
