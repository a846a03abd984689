"""A conversation is read on the event loop's own connection: it sees the last commit, leaves
no read open behind it, and a read SQLite refuses there is made in the store's thread."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import cast

from store.base import Store
from store.sqlite import SqliteStore
from tests.night import open_test_store


async def _opened(tmp_path: Path) -> tuple[Store, Path]:
    db = tmp_path / "oohbot.db"
    return await open_test_store(f"sqlite:///{db}"), db


async def test_a_read_sees_the_commit_before_it(tmp_path: Path) -> None:
    store, _ = await _opened(tmp_path)
    try:
        for n in range(1, 4):
            await store.save_session("slack:U1:T1:dm", {"n": n})
            read = await store.get_session("slack:U1:T1:dm")
            assert read is not None and (read.data, read.version) == ({"n": n}, n)
        assert await store.get_session("slack:U2:T1:dm") is None
    finally:
        await store.close()


async def test_reads_leave_no_read_open_to_hold_back_a_checkpoint(tmp_path: Path) -> None:
    store, db = await _opened(tmp_path)
    try:
        await store.save_session("slack:U1:T1:dm", {"n": 1})
        await store.save_session("slack:U2:T1:dm", {"n": 2})
        await store.get_session("slack:U1:T1:dm")
        await store.get_session("slack:U3:T1:dm")
        await store.list_requests(requester="amara.okafor")
        with sqlite3.connect(db) as other:
            busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
        assert (tmp_path / "oohbot.db-wal").stat().st_size == 0
    finally:
        await store.close()


class Refusing:
    """A connection SQLite answers busy, as it may while another process recovers the log."""

    def execute(self, *_: object) -> sqlite3.Cursor:
        raise sqlite3.OperationalError("database is locked")

    def close(self) -> None:
        pass


async def test_a_read_refused_on_the_loop_is_made_in_the_store_thread(tmp_path: Path) -> None:
    store, _ = await _opened(tmp_path)
    try:
        await store.save_session("slack:U1:T1:dm", {"n": 1})
        assert isinstance(store, SqliteStore)
        store._reader = cast(sqlite3.Connection, Refusing())
        read = await store.get_session("slack:U1:T1:dm")
        assert read is not None and (read.data, read.version) == ({"n": 1}, 1)
    finally:
        await store.close()


async def test_a_read_made_from_another_thread_is_made_in_the_store_thread(
    tmp_path: Path,
) -> None:
    store, _ = await _opened(tmp_path)
    try:
        await store.save_session("slack:U1:T1:dm", {"n": 1})
        read = await asyncio.to_thread(asyncio.run, store.get_session("slack:U1:T1:dm"))
        assert read is not None and (read.data, read.version) == ({"n": 1}, 1)
    finally:
        await store.close()
