"""Store fixtures: one contract suite over both backends, plus raw access for tamper tests."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol, cast

import pytest
import redis

from store import keys as k
from store.audit import make_entry
from store.base import AuditEntry, Store
from store.blind_index import BlindIndex
from store.crypto import Cipher, generate_key
from store.factory import open_store

KEY_A = generate_key()


class Raw(Protocol):
    """Reaches under a store to tamper with or inspect what it wrote."""

    def edit_audit_details(self, seq: int, details: dict[str, Any]) -> None: ...
    def delete_audit(self, seq: int) -> None: ...
    def insert_forged_audit(self, seq: int, forged: AuditEntry) -> None: ...
    def swap_audit(self, a: int, b: int) -> None: ...
    def copy_sealed(self, source_ref: str, target_ref: str) -> None: ...
    def raw_bytes(self) -> bytes: ...


class SqliteRaw:
    """Raw SQLite access through a second connection, as an attacker with the file would."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _exec(self, *statements: tuple[str, tuple[Any, ...]]) -> None:
        with sqlite3.connect(self.path) as conn:
            for sql, args in statements:
                conn.execute(sql, args)
        conn.close()

    def edit_audit_details(self, seq: int, details: dict[str, Any]) -> None:
        self._exec((f"UPDATE {k.T_AUDIT} SET details=? WHERE seq=?", (json.dumps(details), seq)))

    def delete_audit(self, seq: int) -> None:
        self._exec((f"DELETE FROM {k.T_AUDIT} WHERE seq=?", (seq,)))

    def insert_forged_audit(self, seq: int, forged: AuditEntry) -> None:
        # Renumber the later entries to make room, as a careful forger would.
        row = asdict(forged)
        row["details"] = json.dumps(forged.details)
        self._exec(
            (f"UPDATE {k.T_AUDIT} SET seq=-seq WHERE seq>=?", (seq,)),
            (f"UPDATE {k.T_AUDIT} SET seq=1-seq WHERE seq<0", ()),
            (f"INSERT INTO {k.T_AUDIT} VALUES (?,?,?,?,?,?,?,?)", tuple(row.values())),
        )

    def swap_audit(self, a: int, b: int) -> None:
        self._exec(
            (f"UPDATE {k.T_AUDIT} SET seq=-1 WHERE seq=?", (a,)),
            (f"UPDATE {k.T_AUDIT} SET seq=? WHERE seq=?", (a, b)),
            (f"UPDATE {k.T_AUDIT} SET seq=? WHERE seq=-1", (b,)),
        )

    def copy_sealed(self, source_ref: str, target_ref: str) -> None:
        with sqlite3.connect(self.path) as conn:
            sql = f"SELECT doc FROM {k.T_REQUESTS} WHERE ref=?"
            source = json.loads(conn.execute(sql, (source_ref,)).fetchone()[0])
            target = json.loads(conn.execute(sql, (target_ref,)).fetchone()[0])
            target[k.SEALED_FIELD] = source[k.SEALED_FIELD]
            update = f"UPDATE {k.T_REQUESTS} SET doc=? WHERE ref=?"
            conn.execute(update, (json.dumps(target), target_ref))
        conn.close()

    def raw_bytes(self) -> bytes:
        files = [self.path, self.path.with_name(self.path.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())


class RedisRaw:
    """Raw Redis access through a separate client."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)

    def _rewrite_audit(self, entries: list[dict[str, Any]]) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(k.AUDIT_LOG)
            pipe.rpush(k.AUDIT_LOG, *[json.dumps(e) for e in entries])
            pipe.execute()

    def _audit(self) -> list[dict[str, Any]]:
        return [json.loads(row) for row in self.client.lrange(k.AUDIT_LOG, 0, -1)]

    def edit_audit_details(self, seq: int, details: dict[str, Any]) -> None:
        entries = self._audit()
        entries[seq - 1]["details"] = details
        self._rewrite_audit(entries)

    def delete_audit(self, seq: int) -> None:
        self._rewrite_audit([e for e in self._audit() if e["seq"] != seq])

    def insert_forged_audit(self, seq: int, forged: AuditEntry) -> None:
        entries = self._audit()
        entries.insert(seq - 1, asdict(forged))
        self._rewrite_audit(entries)

    def swap_audit(self, a: int, b: int) -> None:
        entries = self._audit()
        entries[a - 1], entries[b - 1] = entries[b - 1], entries[a - 1]
        self._rewrite_audit(entries)

    def copy_sealed(self, source_ref: str, target_ref: str) -> None:
        source = json.loads(self.client.hget(k.request_key(source_ref), "doc"))  # type: ignore[arg-type]
        target = json.loads(self.client.hget(k.request_key(target_ref), "doc"))  # type: ignore[arg-type]
        target[k.SEALED_FIELD] = source[k.SEALED_FIELD]
        self.client.hset(k.request_key(target_ref), "doc", json.dumps(target))

    def raw_bytes(self) -> bytes:
        # DUMP is what a backup holds; it may LZF-compress long values, so read every value
        # through its type's commands too, or a plaintext canary could hide behind compression.
        chunks: list[bytes] = []
        for key in self.client.scan_iter(count=1000):
            chunks += [key, self.client.dump(key) or b"", *self._values(key)]
        return b"\n".join(chunks)

    def _values(self, key: bytes) -> list[bytes]:
        kind = cast(bytes, self.client.type(key))
        c = self.client
        readers: dict[bytes, Any] = {
            b"string": lambda: [c.get(key)],
            b"hash": lambda: [x for pair in c.hgetall(key).items() for x in pair],
            b"list": lambda: c.lrange(key, 0, -1),
            b"set": lambda: list(c.smembers(key)),
            b"zset": lambda: c.zrange(key, 0, -1),
        }
        return [v for v in readers[kind]() if v is not None]


class Backend:
    """Opens stores of one kind on one shared database; closes them all at teardown."""

    def __init__(self, name: str, url: str, raw: Raw) -> None:
        self.name, self.url, self.raw = name, url, raw
        self._opened: list[Store] = []

    async def open(self, cipher: Cipher | None = None, index: BlindIndex | None = None) -> Store:
        store = open_store(self.url, cipher or Cipher.from_strings([KEY_A]), index)
        await store.open()
        self._opened.append(store)
        return store

    async def close_all(self) -> None:
        for store in self._opened:
            await store.close()


@pytest.fixture(params=["sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Either backend, empty."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        made = Backend("sqlite", f"sqlite:///{path}", SqliteRaw(path))
    else:
        url = request.getfixturevalue("redis_url")
        made = Backend("redis", url, RedisRaw(url))
    yield made
    await made.close_all()


@pytest.fixture
async def store(backend: Backend) -> Store:
    """An opened store on ``backend`` with the test key."""
    return await backend.open()


def forged_after(previous: AuditEntry) -> AuditEntry:
    """A well-formed entry chained onto ``previous``: what a forger who knows the scheme makes."""
    return make_entry(previous, previous.at, "forger", "request.approved", previous.ref, {})
