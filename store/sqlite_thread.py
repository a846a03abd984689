"""One thread that owns a SQLite connection: calls run in the order they were made, and writes
that queue up while one is being committed are committed together (group commit).

sqlite3 connections are not meant to be shared across threads, and SQLite blocks while it
reads, writes and fsyncs, so the event loop hands the connection work to this thread and
awaits a future. The thread settles each future itself (``call_soon_threadsafe``), so a
caller resumes one loop turn after its work is done, with no executor or writer task between
them: on a durable commit that is the difference between waiting for the fsync and waiting for
the fsync plus several turns of a busy loop.

Group commit: every write waiting when the thread comes to one is committed in one
transaction, each inside its own savepoint (one that raises is rolled back alone and its
caller gets the error), so a burst costs one fsync instead of one per write. A write marked
not ``durable`` skips the fsync (WAL with synchronous=NORMAL) when its whole batch allows it:
such a commit survives a process crash but may be lost with the power, so it is only for marks
whose loss repeats harmless work. A cancelled caller does not cancel its write: it is
committed (or not) with its batch like any other. A cursor never leaves the thread: one that
``fn`` returns is closed here (see ``_kept_here``).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]
Outcome = tuple[bool, Any]  # (True, value) or (False, the exception it raised)


@dataclass(frozen=True)
class _Call:
    """Work run on its own, outside any transaction this thread starts."""

    fn: Work
    future: asyncio.Future[Any]


@dataclass(frozen=True)
class _Write:
    """One caller's write transaction, waiting to be committed with the next batch."""

    fn: Work
    future: asyncio.Future[Any]
    durable: bool


@dataclass(frozen=True)
class _Stop:
    """Close the connection and end the thread, after everything queued before it."""

    future: asyncio.Future[Any]


_Item = _Call | _Write | _Stop


class ConnectionThread:
    """The thread and its connection: ``start``, then ``call``/``write``, then ``stop``."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], name: str) -> None:
        self._connect = connect
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._name = name
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        """Start the thread and open the connection in it; an error opening it is raised
        here, and the thread ends."""
        opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._thread = threading.Thread(
            target=self._serve, args=(opened,), name=self._name, daemon=True
        )
        self._thread.start()
        try:
            await opened
        except BaseException:
            self._thread.join()  # it ends right after reporting
            raise

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` in the thread, after everything queued before it."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put(_Call(fn, future))
        return await future

    async def write(self, fn: Callable[[sqlite3.Connection], T], *, durable: bool = True) -> T:
        """``fn(connection)`` inside a write transaction (BEGIN IMMEDIATE), returned once it
        is committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put(_Write(fn, future, durable))
        return await future

    async def stop(self) -> None:
        """Finish what is queued, close the connection and end the thread."""
        if self._thread is None or not self._thread.is_alive():
            return
        done = asyncio.get_running_loop().create_future()
        self._queue.put(_Stop(done))
        await done
        self._thread.join()

    # --- in the thread ----------------------------------------------------------------------

    def _serve(self, opened: asyncio.Future[None]) -> None:
        try:
            conn = self._connect()
        except BaseException as error:  # given to ``start``; the thread ends
            _settle([(opened, (False, error))])
            return
        _settle([(opened, (True, None))])
        self._loop(conn)

    def _loop(self, conn: sqlite3.Connection) -> None:
        held: _Item | None = None
        while True:
            item = held if held is not None else self._queue.get()
            held = None
            if isinstance(item, _Stop):
                _settle([(item.future, _run_call(conn, lambda c: c.close()))])
                return
            if isinstance(item, _Call):
                _settle([(item.future, _run_call(conn, item.fn))])
                continue
            batch = [item]
            while held is None:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(more, _Write):
                    batch.append(more)
                else:
                    held = more  # a call or the stop waits for this batch: order is kept
            outcomes = _run_batch(conn, batch)
            _settle([(w.future, o) for w, o in zip(batch, outcomes, strict=True)])


def _run_call(conn: sqlite3.Connection, fn: Work) -> Outcome:
    try:
        return True, _kept_here(fn(conn))
    except BaseException as error:  # given to the caller, whatever it is
        return False, error


def _kept_here(value: Any) -> Any:
    """What ``fn`` returned, unless it is a cursor: that is closed here and None given back.
    An ``executemany`` cursor keeps its statement, which sqlite3 caches and hands to the next
    caller of the same SQL. Dropped on the event loop, the cursor resets that statement and
    clears its in-use flag from the loop's thread; if this thread is running the same SQL for
    another caller just then, it skips its own reset, and its next row fails with "bad
    parameter or other API misuse" (seen on the outbox's marks under load)."""
    if isinstance(value, sqlite3.Cursor):
        value.close()
        return None
    return value


def _run_batch(conn: sqlite3.Connection, batch: list[_Write]) -> list[Outcome]:
    durable = any(write.durable for write in batch)
    try:
        return commit_batch(conn, batch=[w.fn for w in batch], durable=durable)
    except BaseException as error:  # the transaction itself failed: every write did
        return [(False, error)] * len(batch)


def commit_batch(conn: sqlite3.Connection, *, batch: list[Work], durable: bool) -> list[Outcome]:
    """Every write of ``batch`` in one transaction, each in a savepoint of its own."""
    if not durable:
        conn.execute("PRAGMA synchronous=NORMAL")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            outcomes = [_in_savepoint(conn, fn) for fn in batch]
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a COMMIT that failed leaves its transaction open
                conn.execute("ROLLBACK")
            raise
        return outcomes
    finally:
        if not durable:
            conn.execute("PRAGMA synchronous=FULL")


def _in_savepoint(conn: sqlite3.Connection, fn: Work) -> Outcome:
    conn.execute("SAVEPOINT write")
    try:
        value = fn(conn)
    except Exception as error:
        conn.execute("ROLLBACK TO write")
        conn.execute("RELEASE write")
        return False, error
    conn.execute("RELEASE write")
    return True, _kept_here(value)


def _settle(outcomes: list[tuple[asyncio.Future[Any], Outcome]]) -> None:
    """Hand each outcome to its future's loop, one wake-up per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Outcome]]] = {}
    for future, outcome in outcomes:
        by_loop.setdefault(future.get_loop(), []).append((future, outcome))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting
            loop.call_soon_threadsafe(_resolve, settled)


def _resolve(settled: list[tuple[asyncio.Future[Any], Outcome]]) -> None:
    for future, (ok, value) in settled:
        if future.done():  # its caller was cancelled
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
