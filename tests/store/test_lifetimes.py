"""Every kind of stored key or row has a lifetime (``store.lifetimes``), and it ends.

The store is made to write every kind it knows (a conversation, a request, a job, an inbox
event, dead letters, an outbox entry, audit entries, a delivered card, an address, a console
entry, a delivery mark, a lock, a reference number); then a scan of every Redis key and every
SQLite table must find only documented kinds, each kind with a TTL carrying one, and a sweep
after the lifetimes must leave none of the kinds that end.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from store import keys as k
from store.base import AuditDraft, Change, Job, Outgoing, Store, UnitOfWork
from store.crypto import Cipher
from store.factory import open_store
from store.lifetimes import DEFAULT_LIFETIMES, KINDS, kind_of_redis_key, kind_of_table
from tests.store.conftest import KEY_A, Backend

NOW = time.time()
LONGEST = max(
    DEFAULT_LIFETIMES.session_idle,
    DEFAULT_LIFETIMES.message_handles,
    DEFAULT_LIFETIMES.addresses,
    DEFAULT_LIFETIMES.console,
    DEFAULT_LIFETIMES.dead_letters,
)
ENDING = {"ttl", "sweep"}


async def _write_every_kind(store: Store) -> None:
    at = datetime.fromtimestamp(NOW, UTC)
    request = {"ref": "DPT/1/2026", "state": "closed", "requester": "amara.okafor"}
    await store.commit(
        UnitOfWork(
            sessions=[Change("web::amara.okafor", {"state": "idle"}, 0)],
            requests=[Change("DPT/1/2026", request, 0)],
            schedule=[Job("retro_reminder:DPT/1/2026:0", "retro_reminder", NOW + 3600)],
            outbox=[Outgoing("o1", "officer:amara.okafor", {"text": "hi"}, NOW)],
            audit=[AuditDraft(at, "amara.okafor", "request.submitted", "DPT/1/2026", {})],
        )
    )
    await store.receive(Job("in1", "inbound", NOW + 60, lease="l"), "ev1", 3600, NOW, {"x": 1})
    await store.schedule(Job("doomed", "spoc_ack", NOW - 10))
    (claimed,) = [j for j in await store.claim(NOW, 60, 10) if j.id == "doomed"]
    assert not await store.retry(claimed, NOW, max_attempts=1)
    await store.commit(UnitOfWork(outbox=[Outgoing("o2", "channel", {"text": "x"}, NOW)]))
    for entry in await store.claim_outbox(NOW + 1, 60, 10):
        if entry.id == "o2":
            assert not await store.retry_outbox(entry, NOW, max_attempts=1)
    await store.add_handle("spoc:DPT/1/2026", {"ts": "1.2"})
    await store.save_address("slack", "T1:U1", {"channel": "D1"})
    await store.save_console_entry("amara.okafor", "m1", {"text": "hello"}, keep=50)
    await store.seen("ev2", 3600, NOW)
    await store.save_session("web::di.marsh", {"state": "idle"})
    await store.next_reference_number("DPT", 2026)
    async with store.lock("web::amara.okafor", ttl=30):
        pass


@pytest.fixture
async def filled(backend: Backend) -> Store:
    store = await backend.open()
    await _write_every_kind(store)
    return store


def test_every_kind_names_its_lifetime() -> None:
    for kind in KINDS:
        assert kind.lifetime and kind.rule in {"ttl", "sweep", "done", "retention", "record"}
    assert len({kind.name for kind in KINDS}) == len(KINDS)


async def test_every_redis_key_has_a_documented_kind_and_expires_if_it_ends(
    redis_url: str,
) -> None:
    store = open_store(redis_url, Cipher.from_strings([KEY_A]))
    await store.open()
    try:
        await _write_every_kind(store)
    finally:
        await store.close()
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = list(client.scan_iter(match=k.PREFIX + "*"))
    assert len(keys) > 15
    for key in keys:
        kind = kind_of_redis_key(key, k.PREFIX)
        assert kind is not None, f"{key} is no documented kind"
        if kind.rule == "ttl":
            assert client.pttl(key) > 0, f"{key} ({kind.name}) has no TTL"
    sessions = [key for key in keys if key.startswith(k.session_key(""))]
    ttl = client.pttl(sessions[0]) / 1000
    assert abs(ttl - DEFAULT_LIFETIMES.session_idle.total_seconds()) < 60


async def test_every_sqlite_table_has_a_documented_kind_and_a_sweep_ends_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "every.db"
    filled = open_store(f"sqlite:///{path}", Cipher.from_strings([KEY_A]))
    await filled.open()
    try:
        await _write_every_kind(filled)
        await _sweep_far_ahead(filled, path)
    finally:
        await filled.close()


async def _sweep_far_ahead(filled: Store, path: Path) -> None:
    tables = _tables(path)
    for table in tables:
        assert kind_of_table(table) is not None, f"table {table} is no documented kind"

    later = NOW + LONGEST.total_seconds() + timedelta(days=2 * 365).total_seconds()
    await filled.sweep(later)
    counts = _row_counts(path)
    for table, rows in counts.items():
        kind = kind_of_table(table)
        assert kind is not None
        if kind.rule in ENDING:
            assert rows == 0, f"{table} ({kind.name}) still has {rows} rows"
    assert counts[k.T_REQUESTS] == 1 and counts[k.T_AUDIT] >= 1, "the record stays"


async def test_a_sweep_keeps_what_is_within_its_lifetime(filled: Store, backend: Backend) -> None:
    soon = NOW + timedelta(minutes=10).total_seconds()
    assert await filled.sweep(soon) == {}
    assert await filled.load_session("web::di.marsh") is not None
    assert await filled.handles("spoc:DPT/1/2026")
    assert await filled.load_address("slack", "T1:U1") is not None
    assert await filled.dead_letters() and await filled.dead_outbox()


async def test_dead_letters_go_after_their_lifetime(filled: Store) -> None:
    # A dead letter's time is when its last claim ran out (here, a minute after NOW).
    after = NOW + (DEFAULT_LIFETIMES.dead_letters + timedelta(hours=1)).total_seconds()
    removed = await filled.sweep(after)
    assert sum(removed.values()) >= 2
    assert await filled.dead_letters() == [] and await filled.dead_outbox() == []


async def test_an_older_sqlite_file_gets_lifetimes_at_the_first_sweep(tmp_path: Path) -> None:
    from store.sqlite import SqliteStore

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE sessions (key TEXT PRIMARY KEY, token TEXT NOT NULL)")
    conn.close()
    store = SqliteStore(path, Cipher.from_strings([KEY_A]))
    await store.open()
    try:
        await store.save_session("old", {"state": "idle"})
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE sessions SET expires_at = NULL")
        conn.close()
        assert await store.sweep(NOW) == {}, "a row without a lifetime starts one, not dies"
        life = DEFAULT_LIFETIMES.session_idle.total_seconds()
        assert await store.sweep(NOW + life + 1) == {k.T_SESSIONS: 1}
    finally:
        await store.close()


async def test_an_older_redis_store_gets_ttls_when_opened(redis_url: str) -> None:
    from store.redis import RedisStore

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.hset(k.session_key("old"), mapping={"version": 1, "token": "x"})
    client.rpush(k.handles_key("spoc:old"), "{}")
    client.set(k.LAYOUT, 3)
    store = RedisStore(redis_url, Cipher.from_strings([KEY_A]))
    await store.open()
    try:
        assert client.pttl(k.session_key("old")) > 0
        assert client.pttl(k.handles_key("spoc:old")) > 0
    finally:
        await store.close()


def _tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
    conn.close()
    return [row[0] for row in rows]


def _row_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in _tables(path)}
    conn.close()
    return counts
