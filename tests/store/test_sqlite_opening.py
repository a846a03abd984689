"""Several processes opening one SQLite file at the same moment (``serve`` and ``worker``
started together by a service manager): each opens it, the schema is made once, and an older
file is upgraded once, whoever gets there first."""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.synchronize
import sqlite3
from pathlib import Path

from store import keys as k
from store.crypto import Cipher, generate_key
from store.sqlite import SqliteStore

OPENERS = 6
ROUNDS = 8
KEY = generate_key()


def _open(
    path: str, barrier: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue[str]
) -> None:
    async def opened() -> str:
        store = SqliteStore(Path(path), Cipher.from_strings([KEY]))
        await store.open()
        try:
            return "ok" if await store.ping() else "no answer"
        finally:
            await store.close()

    barrier.wait()
    try:
        out.put(asyncio.run(opened()))
    except Exception as error:  # reported to the test, which fails on it
        out.put(f"error: {type(error).__name__}: {error}")


def _open_together(path: Path) -> list[str]:
    context = multiprocessing.get_context("forkserver")
    barrier = context.Barrier(OPENERS)
    out: multiprocessing.Queue[str] = context.Queue()
    openers = [
        context.Process(target=_open, args=(str(path), barrier, out)) for _ in range(OPENERS)
    ]
    for process in openers:
        process.start()
    answers = [out.get(timeout=60) for _ in openers]
    for process in openers:
        process.join(timeout=30)
    return answers


def _older_file(path: Path) -> None:
    """A file from before requests had state and requester columns, sessions a version and
    the expiring tables an end."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            f"CREATE TABLE {k.T_REQUESTS} (ref TEXT PRIMARY KEY, version INTEGER, doc TEXT)"
        )
        conn.execute(f"CREATE TABLE {k.T_SESSIONS} (key TEXT PRIMARY KEY, token TEXT NOT NULL)")
        conn.execute(
            f"INSERT INTO {k.T_REQUESTS} VALUES "
            '(\'A/1/2026\', 1, \'{"state": "closed", "requester": "x"}\')'
        )


def test_processes_opening_a_new_file_together_all_open_it(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        path = tmp_path / f"new{round_}" / "oohbot.db"
        assert _open_together(path) == ["ok"] * OPENERS
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_processes_opening_an_older_file_together_upgrade_it_once(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        path = tmp_path / f"old{round_}.db"
        _older_file(path)
        assert _open_together(path) == ["ok"] * OPENERS
        with sqlite3.connect(path) as conn:
            rows = conn.execute(f"SELECT state, requester FROM {k.T_REQUESTS}").fetchall()
        assert rows == [("closed", "x")]
