"""The SQLite store's thread: calls in order, writes waiting together committed together, each
all-or-nothing, nothing queued lost at shutdown, a cancelled caller's write still made."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from store.sqlite_thread import ConnectionThread


class Traced:
    """Opens the connection the thread will own, recording every statement it runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.statements: list[str] = []

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY)")
        conn.set_trace_callback(self.statements.append)
        return conn

    def rows(self) -> list[int]:
        """What another connection finds committed."""
        with sqlite3.connect(self.path) as other:
            return [row[0] for row in other.execute("SELECT n FROM t ORDER BY n")]

    def count(self, statement: str) -> int:
        return self.statements.count(statement)


@pytest.fixture
def traced(tmp_path: Path) -> Traced:
    return Traced(tmp_path / "t.db")


@pytest.fixture
async def thread(traced: Traced) -> AsyncIterator[ConnectionThread]:
    connection = ConnectionThread(traced.connect, name="test-sqlite")
    await connection.start()
    yield connection
    await connection.stop()


def insert(n: int) -> Callable[[sqlite3.Connection], int]:
    def run(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO t VALUES (?)", (n,))
        return n

    return run


def fail(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO t VALUES (99)")
    raise ValueError("this write changes its mind")


async def held(thread: ConnectionThread) -> tuple[threading.Event, asyncio.Task[None]]:
    """Keep the thread busy until the event is set, so that what is queued meanwhile waits."""
    gate, started = threading.Event(), threading.Event()

    def wait(_: sqlite3.Connection) -> None:
        started.set()
        gate.wait(10)

    task = asyncio.ensure_future(thread.call(wait))
    await asyncio.to_thread(started.wait, 10)
    return gate, task


async def test_writes_waiting_together_are_committed_together(
    thread: ConnectionThread, traced: Traced
) -> None:
    gate, busy = await held(thread)
    writes = [asyncio.ensure_future(thread.write(insert(n))) for n in range(5)]
    await asyncio.sleep(0.05)  # all five queued behind the busy thread
    before = traced.count("COMMIT")
    gate.set()
    assert await asyncio.gather(*writes) == [0, 1, 2, 3, 4]
    await busy
    assert traced.count("COMMIT") - before == 1
    assert traced.rows() == [0, 1, 2, 3, 4]


async def test_a_failing_write_is_rolled_back_alone(
    thread: ConnectionThread, traced: Traced
) -> None:
    gate, busy = await held(thread)
    first = asyncio.ensure_future(thread.write(insert(1)))
    failing = asyncio.ensure_future(thread.write(fail))
    last = asyncio.ensure_future(thread.write(insert(2)))
    await asyncio.sleep(0.05)
    gate.set()
    await busy
    assert (await first, await last) == (1, 2)
    with pytest.raises(ValueError, match="changes its mind"):
        await failing
    assert traced.rows() == [1, 2]  # not 99: its savepoint was rolled back


async def test_a_call_made_after_a_write_sees_it(thread: ConnectionThread) -> None:
    write = asyncio.ensure_future(thread.write(insert(7)))
    read = asyncio.ensure_future(thread.call(lambda c: c.execute("SELECT n FROM t").fetchall()))
    assert await read == [(7,)]
    assert await write == 7


async def test_a_write_whose_caller_gave_up_is_still_committed(
    thread: ConnectionThread, traced: Traced
) -> None:
    gate, busy = await held(thread)
    abandoned = asyncio.ensure_future(thread.write(insert(3)))
    await asyncio.sleep(0.05)
    abandoned.cancel()
    gate.set()
    await busy
    await thread.call(lambda _: None)  # after the abandoned write
    assert traced.rows() == [3]


async def test_stopping_finishes_what_was_queued_first(traced: Traced) -> None:
    thread = ConnectionThread(traced.connect, name="test-sqlite")
    await thread.start()
    gate, busy = await held(thread)
    writes = [asyncio.ensure_future(thread.write(insert(n))) for n in range(3)]
    await asyncio.sleep(0.05)
    stopping = asyncio.ensure_future(thread.stop())
    await asyncio.sleep(0.05)
    gate.set()
    await stopping
    await busy
    assert [w.result() for w in writes] == [0, 1, 2]
    assert traced.rows() == [0, 1, 2]


async def test_marks_skip_the_fsync_only_when_the_whole_batch_allows_it(
    thread: ConnectionThread, traced: Traced
) -> None:
    await thread.write(insert(1), durable=False)
    assert traced.count("PRAGMA synchronous=NORMAL") == 1
    gate, busy = await held(thread)
    mixed = [thread.write(insert(2), durable=False), thread.write(insert(3))]
    together = asyncio.gather(*mixed)
    await asyncio.sleep(0.05)
    gate.set()
    await together
    await busy
    assert traced.count("PRAGMA synchronous=NORMAL") == 1  # the durable write kept the fsync
    synchronous = await thread.call(lambda c: c.execute("PRAGMA synchronous").fetchone()[0])
    assert synchronous == 2  # FULL again after the mark


async def test_a_connection_that_cannot_open_is_reported_and_its_thread_ends(
    tmp_path: Path,
) -> None:
    def refuse() -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    thread = ConnectionThread(refuse, name="test-sqlite")
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        await thread.start()
    assert not any(t.name == "test-sqlite" for t in threading.enumerate())


async def test_a_commit_that_fails_is_rolled_back_and_the_next_write_goes_ahead(
    tmp_path: Path,
) -> None:
    """COMMIT itself can fail (here a deferred constraint; a full disk the same way) and
    leaves its transaction open: the thread must not carry it into the next batch."""

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(tmp_path / "fk.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.execute(
            "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER "
            "REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )
        return conn

    thread = ConnectionThread(connect, name="test-sqlite")
    await thread.start()
    try:
        orphan = "INSERT INTO child VALUES (1, 99)"
        with pytest.raises(sqlite3.IntegrityError):
            await thread.write(lambda c: c.execute(orphan))
        await thread.write(lambda c: c.execute("INSERT INTO parent VALUES (7)"))
        rows = await thread.call(lambda c: c.execute("SELECT id FROM parent").fetchall())
        assert rows == [(7,)]
        assert await thread.call(lambda c: c.execute("SELECT id FROM child").fetchall()) == []
    finally:
        await thread.stop()


async def test_a_cursor_never_leaves_the_thread(thread: ConnectionThread, traced: Traced) -> None:
    """A cursor dropped on the event loop would reset its statement from the wrong thread,
    while the store's thread may be running that same cached statement for another caller."""
    assert await thread.call(lambda c: c.execute("SELECT 1")) is None
    assert await thread.write(lambda c: c.execute("INSERT INTO t VALUES (1)")) is None
    assert traced.rows() == [1]
