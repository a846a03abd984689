"""The embedded store: one SQLite file in WAL mode.

Each ``SqliteStore`` owns one connection used from one thread of its own
(``store.sqlite_thread``: sqlite3 connections are not meant to be shared across threads), so
calls from the event loop are serialised in-process while other processes (``oohbot serve``
next to a CLI command) coordinate through SQLite's own locking: every read-modify-write runs
in a ``BEGIN IMMEDIATE`` transaction, which takes the write lock up front instead of failing
on upgrade, and ``busy_timeout`` waits for it. Writes that arrive while one is committing are
committed together (group commit): one fsync for a burst, each write still all-or-nothing in
its own savepoint. The reads every message makes (its conversation; on a first message, the
person's own requests) are made on a second, read-only connection on the event loop itself
(``_read_now``), which WAL lets go ahead of a commit under way.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from store import datakeys
from store import keys as k
from store.audit import make_entry
from store.base import (
    AlreadyExists,
    AuditDraft,
    AuditEntry,
    Change,
    Committed,
    Conflict,
    Document,
    Duplicate,
    Job,
    LockTimeout,
    OutboxStats,
    Outgoing,
    QueueStats,
    StoreError,
    UnitOfWork,
    Versioned,
)
from store.blind_index import BlindIndex
from store.crypto import (
    INBOX_EVENT,
    INBOX_FIELD,
    Cipher,
    open_console,
    open_job_payload,
    open_outgoing,
    open_session,
    reseal_session,
    seal_console,
    seal_job_payload,
    seal_outgoing,
    seal_session,
)
from store.lifetimes import DEFAULT_LIFETIMES, STAMPED, Lifetimes, lifetime_of
from store.sqlite_thread import ConnectionThread

T = TypeVar("T")
BUSY_TIMEOUT_SECONDS = 10.0
LOCK_POLL_SECONDS = 0.02
JOB_COLUMNS = "id, kind, due_at, payload, attempts, lease"
OUTBOX_COLUMNS = "id, recipient, payload, due_at, attempts, lease, seq"

# Tables whose rows carry ``expires_at`` (see ``store.lifetimes``).
EXPIRING = tuple(kind.sqlite for kind in STAMPED if kind.sqlite)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {k.T_SESSIONS} (
    key TEXT PRIMARY KEY, token TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1,
    expires_at REAL);
CREATE TABLE IF NOT EXISTS {k.T_REQUESTS} (
    ref TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {k.T_REFERENCES} (
    prefix TEXT NOT NULL, year INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (prefix, year));
CREATE TABLE IF NOT EXISTS {k.T_LOCKS} (
    key TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS {k.T_JOBS} (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, due_at REAL NOT NULL, payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, lease TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS {k.T_JOBS}_due ON {k.T_JOBS} (due_at);
CREATE TABLE IF NOT EXISTS {k.T_DEAD_JOBS} (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, due_at REAL NOT NULL, payload TEXT NOT NULL,
    attempts INTEGER NOT NULL, lease TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {k.T_SEEN} (event_id TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS {k.T_SEEN}_expiry ON {k.T_SEEN} (expires_at);
CREATE TABLE IF NOT EXISTS {k.T_ADDRESSES} (
    platform TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL, expires_at REAL,
    PRIMARY KEY (platform, key));
CREATE TABLE IF NOT EXISTS {k.T_HANDLES} (
    id INTEGER PRIMARY KEY AUTOINCREMENT, card_id TEXT NOT NULL, doc TEXT NOT NULL,
    expires_at REAL);
CREATE INDEX IF NOT EXISTS {k.T_HANDLES}_card ON {k.T_HANDLES} (card_id);
CREATE TABLE IF NOT EXISTS {k.T_AUDIT} (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    ref TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS {k.T_AUDIT}_ref ON {k.T_AUDIT} (ref);
CREATE TABLE IF NOT EXISTS {k.T_OUTBOX} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, recipient TEXT NOT NULL,
    payload TEXT NOT NULL, due_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    lease TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS {k.T_OUTBOX}_recipient ON {k.T_OUTBOX} (recipient, seq);
CREATE INDEX IF NOT EXISTS {k.T_OUTBOX}_due ON {k.T_OUTBOX} (due_at);
CREATE TABLE IF NOT EXISTS {k.T_CONSOLE} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, box TEXT NOT NULL, id TEXT NOT NULL,
    token TEXT NOT NULL, expires_at REAL, UNIQUE (box, id));
CREATE TABLE IF NOT EXISTS {k.T_DEAD_OUTBOX} (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL, recipient TEXT NOT NULL, payload TEXT NOT NULL,
    due_at REAL NOT NULL, attempts INTEGER NOT NULL, lease TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {k.T_DATA_KEYS} (ref TEXT PRIMARY KEY, wrapped TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {k.T_SUBJECTS} (
    digest TEXT NOT NULL, ref TEXT NOT NULL, PRIMARY KEY (digest, ref));
CREATE INDEX IF NOT EXISTS {k.T_SUBJECTS}_ref ON {k.T_SUBJECTS} (ref);
CREATE TABLE IF NOT EXISTS {k.T_CLOSED} (ref TEXT PRIMARY KEY, closed_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS {k.T_CLOSED}_at ON {k.T_CLOSED} (closed_at);
"""
REQUEST_WITH_KEY = (
    f"SELECT r.ref, r.doc, r.version, d.wrapped FROM {k.T_REQUESTS} r "
    f"LEFT JOIN {k.T_DATA_KEYS} d ON d.ref = r.ref"
)


def _migrate(conn: sqlite3.Connection) -> None:
    """Older files: requests get a state column (filled from the documents), sessions a
    version column (existing sessions start at version 1)."""
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({k.T_REQUESTS})")}
    if "state" not in columns:
        conn.execute(f"ALTER TABLE {k.T_REQUESTS} ADD COLUMN state TEXT")
        conn.execute(f"UPDATE {k.T_REQUESTS} SET state = json_extract(doc, '$.state')")
    conn.execute(f"CREATE INDEX IF NOT EXISTS {k.T_REQUESTS}_state ON {k.T_REQUESTS} (state)")
    if "requester" not in columns:
        conn.execute(f"ALTER TABLE {k.T_REQUESTS} ADD COLUMN requester TEXT")
        conn.execute(f"UPDATE {k.T_REQUESTS} SET requester = json_extract(doc, '$.requester')")
    conn.execute(
        f"CREATE INDEX IF NOT EXISTS {k.T_REQUESTS}_requester ON {k.T_REQUESTS} (requester, state)"
    )
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({k.T_SESSIONS})")}
    if columns and "version" not in columns:
        conn.execute(f"ALTER TABLE {k.T_SESSIONS} ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
    for table in EXPIRING:  # rows written before lifetimes get one at the next sweep
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if columns and "expires_at" not in columns:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN expires_at REAL")


def _write_ahead_log(conn: sqlite3.Connection) -> None:
    """Switch a file to WAL. Two processes switching a new file at once may be told "database
    is locked" at once (SQLite does not wait there, to avoid a deadlock): try again until the
    busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower() == "wal":
                return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
        if time.monotonic() > deadline:
            raise StoreError(f"{BUSY_TIMEOUT_SECONDS:g} s: could not switch the file to WAL")
        time.sleep(0.01)


def _prepare(conn: sqlite3.Connection) -> None:
    """Create the schema and upgrade an older file in one write transaction, so processes
    opening the file at the same moment (``serve`` and ``worker`` started together) take
    turns: the first makes or upgrades it, the others find it done."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        exists = f"SELECT 1 FROM sqlite_master WHERE type='table' AND name='{k.T_CLOSED}'"
        indexed = conn.execute(exists).fetchone() is not None
        for statement in _statements(SCHEMA):
            conn.execute(statement)
        _migrate(conn)
        if not indexed:
            _index_closed(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _statements(script: str) -> list[str]:
    """The statements of a script of simple statements (``executescript`` would commit the
    transaction they are meant to be part of)."""
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def _index_closed(conn: sqlite3.Connection) -> None:
    """Files older than retention: index the requests that already ended."""
    sql = (
        f"SELECT ref, doc FROM {k.T_REQUESTS} WHERE json_extract(doc, '$.closed_at') IS NOT NULL"
        " OR json_extract(doc, '$.withdrawn_at') IS NOT NULL"
    )
    rows = []
    for ref, doc in conn.execute(sql).fetchall():
        closed = datakeys.closed_at(json.loads(doc))
        if closed is not None:
            rows.append((ref, closed))
    conn.executemany(f"INSERT OR REPLACE INTO {k.T_CLOSED} VALUES (?, ?)", rows)


def _audit(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6], row[7])


class SqliteStore:
    """``Store`` on one SQLite file; see the module docstring for the concurrency model."""

    def __init__(
        self,
        path: Path,
        cipher: Cipher,
        index: BlindIndex | None = None,
        lifetimes: Lifetimes = DEFAULT_LIFETIMES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = path
        self._cipher = cipher
        self._index = index
        self._lifetimes = lifetimes
        self._clock = clock
        self._connection: ConnectionThread | None = None
        self._reader: sqlite3.Connection | None = None

    # plumbing -----------------------------------------------------------------------------

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` in the store's thread, after everything asked of it before."""
        return await self._thread().call(fn)

    async def _tx(self, fn: Callable[[sqlite3.Connection], T], *, durable: bool = True) -> T:
        """Run ``fn`` in a write transaction taken up front (BEGIN IMMEDIATE); return once it
        is committed. Writes that arrive while one is committing are committed together, and
        ``durable=False`` may skip the fsync: see ``store.sqlite_thread``."""
        return await self._thread().write(fn, durable=durable)

    async def _read_now(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A small read on the event loop's own connection, without the hop to the store's
        thread and back (the hop costs more than the read): only for reads an index bounds to
        a few rows (a row by its key, one person's requests), which WAL lets go ahead of a
        commit under way and which ``fn`` must finish
        (``fetchall``, so no read transaction is left open to hold back checkpoints). A read
        SQLite refuses at once (busy: WAL recovery under way), or one made from a thread other
        than the one that opened the store, goes to the store's thread, which waits as long as
        any other call would."""
        if self._reader is not None:
            try:
                return fn(self._reader)
            except (sqlite3.OperationalError, sqlite3.ProgrammingError):
                pass
        return await self._run(fn)

    def _thread(self) -> ConnectionThread:
        if self._connection is None:
            raise StoreError("SqliteStore used before open()")
        return self._connection

    def _job(self, row: sqlite3.Row) -> Job:
        payload = open_job_payload(self._cipher, row[0], json.loads(row[3]))
        return Job(row[0], row[1], row[2], payload, row[4], row[5])

    def _outgoing(self, row: sqlite3.Row) -> Outgoing:
        payload = open_outgoing(self._cipher, row[0], row[2])
        return Outgoing(row[0], row[1], payload, row[3], row[4], row[5], row[6])

    def _connect(self) -> sqlite3.Connection:
        self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Personal data: only this user may read the file. SQLite gives the -wal and -shm
        # files the database file's mode; older installs had 0644, so tighten those too.
        os.close(os.open(self._path, os.O_CREAT | os.O_RDWR, 0o600))
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f"{self._path}{suffix}", 0o600)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves.
        conn = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        _write_ahead_log(conn)
        # FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss, and
        # a lost decision or audit entry matters far more than the few writes per minute cost.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
        # Deleted rows (a destroyed data key above all) are overwritten, not left in free pages.
        conn.execute("PRAGMA secure_delete=ON")
        _prepare(conn)
        return conn

    async def open(self) -> None:
        """Create the file and schema if needed."""
        connection = ConnectionThread(self._connect, name="oohbot-sqlite")
        await connection.start()
        self._connection = connection
        self._reader = self._connect_reader()

    def _connect_reader(self) -> sqlite3.Connection:
        """The event loop's read-only connection (see ``_read_now``), opened after the file
        and its schema exist. It does not wait for locks: a refused read takes the thread."""
        reader = sqlite3.connect(self._path, timeout=0, isolation_level=None)
        reader.execute("PRAGMA query_only=ON")
        return reader

    async def close(self) -> None:
        """Finish the work under way, then close the connection and its thread."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.stop()

    async def ping(self) -> bool:
        """True if the database answers."""
        try:
            return await self._run(lambda c: c.execute("SELECT 1").fetchone() == (1,))
        except (sqlite3.Error, StoreError):
            return False

    async def persistence_warning(self) -> str | None:
        """None: every commit is written to the file (WAL) before it returns."""
        return None

    # locks ------------------------------------------------------------------------------

    def lock(
        self, key: str, ttl: float = 30.0, wait: float = 10.0
    ) -> AbstractAsyncContextManager[None]:
        """Exclusive per-key lock shared by every process using this file."""
        return self._locked(key, ttl, wait)

    @asynccontextmanager
    async def _locked(self, key: str, ttl: float, wait: float) -> AsyncIterator[None]:
        token = uuid.uuid4().hex
        deadline = asyncio.get_running_loop().time() + wait
        while not await self._tx(lambda c: self._try_lock(c, key, token, ttl)):
            if asyncio.get_running_loop().time() >= deadline:
                raise LockTimeout(f"lock {key!r} still held after {wait:.1f}s")
            await asyncio.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            await self._tx(
                lambda c: c.execute(
                    f"DELETE FROM {k.T_LOCKS} WHERE key=? AND token=?", (key, token)
                )
            )

    @staticmethod
    def _try_lock(conn: sqlite3.Connection, key: str, token: str, ttl: float) -> bool:
        # Wall-clock time, not the injected clock: lock expiry must agree across processes
        # and protects against a real crashed holder, whatever time the tests pretend it is.
        now = time.time()
        row = conn.execute(f"SELECT expires_at FROM {k.T_LOCKS} WHERE key=?", (key,)).fetchone()
        if row is not None and row[0] > now:
            return False
        conn.execute(
            f"INSERT OR REPLACE INTO {k.T_LOCKS} (key, token, expires_at) VALUES (?, ?, ?)",
            (key, token, now + ttl),
        )
        return True

    # sessions ---------------------------------------------------------------------------

    async def load_session(self, key: str) -> Document | None:
        """The session document, decrypted, or None."""
        sql = f"SELECT token FROM {k.T_SESSIONS} WHERE key=?"
        row = await self._run(lambda c: c.execute(sql, (key,)).fetchone())
        return None if row is None else open_session(self._cipher, key, row[0])

    async def get_session(self, key: str) -> Versioned | None:
        """The session document and its version, or None."""
        sql = f"SELECT token, version FROM {k.T_SESSIONS} WHERE key=?"
        rows = await self._read_now(lambda c: c.execute(sql, (key,)).fetchall())
        if not rows:
            return None
        return Versioned(open_session(self._cipher, key, rows[0][0]), rows[0][1])

    async def save_session(self, key: str, data: Document) -> None:
        """Seal and store the session document (unconditionally; version + 1)."""
        token = seal_session(self._cipher, key, data)
        sql = (
            f"INSERT INTO {k.T_SESSIONS} (key, token, version, expires_at) VALUES (?, ?, 1, ?) "
            "ON CONFLICT (key) DO UPDATE SET token=excluded.token, version=version+1, "
            "expires_at=excluded.expires_at"
        )
        expires = self._expires(self._lifetimes.session_idle)
        await self._tx(lambda c: c.execute(sql, (key, token, expires)))

    async def delete_session(self, key: str) -> None:
        """Forget the session."""
        await self._tx(lambda c: c.execute(f"DELETE FROM {k.T_SESSIONS} WHERE key=?", (key,)))

    # requests ---------------------------------------------------------------------------

    async def create_request(self, ref: str, data: Document) -> None:
        """Insert at version 1; ``AlreadyExists`` if taken."""
        try:
            await self.commit(UnitOfWork(requests=[Change(ref, data, 0)]))
        except Conflict:
            raise AlreadyExists(f"request {ref} already exists") from None

    async def get_request(self, ref: str) -> Versioned | None:
        """The request and its version, or None."""
        sql = f"{REQUEST_WITH_KEY} WHERE r.ref=?"
        row = await self._run(lambda c: c.execute(sql, (ref,)).fetchone())
        return None if row is None else self._versioned(row)

    async def get_requests(self, refs: Collection[str]) -> list[Versioned]:
        """One query for the whole batch."""
        wanted = sorted(set(refs))
        if not wanted:
            return []
        sql = f"{REQUEST_WITH_KEY} WHERE r.ref IN ({','.join('?' * len(wanted))})"
        rows = await self._run(lambda c: c.execute(sql, wanted).fetchall())
        return [self._versioned(row) for row in rows]

    def _versioned(self, row: sqlite3.Row) -> Versioned:
        return Versioned(datakeys.open_document(self._cipher, row[0], row[1], row[3]), row[2])

    async def update_request(self, ref: str, data: Document, expected_version: int) -> bool:
        """Compare-and-set on the version column."""
        try:
            await self.commit(UnitOfWork(requests=[Change(ref, data, expected_version)]))
        except Conflict:
            return False
        return True

    async def list_requests(
        self,
        exclude_states: Collection[str] = (),
        *,
        states: Collection[str] | None = None,
        requester: str | None = None,
    ) -> list[Versioned]:
        """Requests in reference order, filtered on the indexed state and requester columns
        (a filter on ``states``/``requester`` reads only the rows that match)."""
        clauses, args = [], []
        if states is not None:
            clauses.append(f"state IN ({','.join('?' * len(states))})")
            args += list(states)
        if requester is not None:
            clauses.append("requester = ?")
            args.append(requester)
        if exclude_states:
            marks = ",".join("?" * len(exclude_states))
            clauses.append(f"(state IS NULL OR state NOT IN ({marks}))")
            args += list(exclude_states)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"{REQUEST_WITH_KEY} {where} ORDER BY r.ref"
        # One person's requests (a first message looks for a question waiting for them) are
        # a few rows of the requester index: read on the loop like a conversation.
        read = self._read_now if requester is not None else self._run
        rows = await read(lambda c: c.execute(sql, args).fetchall())
        return [self._versioned(r) for r in rows]

    async def closed_before(self, cutoff: float) -> list[str]:
        """Ended requests still holding data, by the indexed closure time."""
        sql = f"SELECT ref FROM {k.T_CLOSED} WHERE closed_at <= ? ORDER BY closed_at, ref"
        return [r[0] for r in await self._run(lambda c: c.execute(sql, (cutoff,)).fetchall())]

    async def find_subject(self, digest: str) -> list[str]:
        """References indexed under ``digest``."""
        sql = f"SELECT ref FROM {k.T_SUBJECTS} WHERE digest=? ORDER BY ref"
        return [r[0] for r in await self._run(lambda c: c.execute(sql, (digest,)).fetchall())]

    async def next_reference_number(self, prefix: str, year: int) -> int:
        """Allocate with an UPSERT … RETURNING inside a write transaction."""
        sql = (
            f"INSERT INTO {k.T_REFERENCES} (prefix, year, n) VALUES (?, ?, 1) "
            "ON CONFLICT (prefix, year) DO UPDATE SET n = n + 1 RETURNING n"
        )
        row = await self._tx(lambda c: c.execute(sql, (prefix, year)).fetchone())
        return int(row[0])

    # jobs -------------------------------------------------------------------------------

    async def schedule(self, job: Job) -> None:
        """Insert or replace (attempts reset, lease cleared)."""
        sql = f"INSERT OR REPLACE INTO {k.T_JOBS} ({JOB_COLUMNS}) VALUES (?, ?, ?, ?, 0, '')"
        args = (job.id, job.kind, job.due_at, json.dumps(job.payload))
        await self._tx(lambda c: c.execute(sql, args))

    async def cancel(self, job_id: str) -> None:
        """Delete the job if present."""
        await self._tx(lambda c: c.execute(f"DELETE FROM {k.T_JOBS} WHERE id=?", (job_id,)))

    async def get_job(self, job_id: str) -> Job | None:
        """The job as stored, or None."""
        sql = f"SELECT {JOB_COLUMNS} FROM {k.T_JOBS} WHERE id=?"
        row = await self._run(lambda c: c.execute(sql, (job_id,)).fetchone())
        return None if row is None else self._job(row)

    async def pending_jobs(self) -> list[Job]:
        """Every job not yet completed, soonest first."""
        sql = f"SELECT {JOB_COLUMNS} FROM {k.T_JOBS} ORDER BY due_at, id"
        return [self._job(r) for r in await self._run(lambda c: c.execute(sql).fetchall())]

    async def claim(self, now: float, lease_seconds: float, limit: int) -> list[Job]:
        """Select due jobs and lease them in one write transaction."""
        return await self._tx(lambda c: self._claim(c, now, lease_seconds, limit))

    def _claim(self, conn: sqlite3.Connection, now: float, lease: float, limit: int) -> list[Job]:
        select = f"SELECT id FROM {k.T_JOBS} WHERE due_at <= ? ORDER BY due_at, id LIMIT ?"
        ids = [row[0] for row in conn.execute(select, (now, limit))]
        update = (
            f"UPDATE {k.T_JOBS} SET attempts=attempts+1, lease=?, due_at=? WHERE id=? "
            f"RETURNING {JOB_COLUMNS}"
        )
        return [
            self._job(conn.execute(update, (uuid.uuid4().hex, now + lease, i)).fetchone())
            for i in ids
        ]

    async def complete(self, job: Job) -> None:
        """Delete the job if it still holds this claim's lease."""
        sql = f"DELETE FROM {k.T_JOBS} WHERE id=? AND lease=?"
        await self._tx(lambda c: c.execute(sql, (job.id, job.lease)))

    async def retry(self, job: Job, due_at: float, max_attempts: int) -> bool:
        """Release the claim to run at ``due_at``, or dead-letter it after ``max_attempts``."""
        return await self._tx(lambda c: self._retry(c, job, due_at, max_attempts))

    @staticmethod
    def _retry(conn: sqlite3.Connection, job: Job, due_at: float, max_attempts: int) -> bool:
        queue = _Queue(k.T_JOBS, k.T_DEAD_JOBS, JOB_COLUMNS)
        return _release_or_bury(conn, queue, job.id, job.lease, job.attempts, due_at, max_attempts)

    async def dead_letters(self) -> list[Job]:
        """Jobs that failed ``max_attempts`` times."""
        sql = f"SELECT {JOB_COLUMNS} FROM {k.T_DEAD_JOBS} ORDER BY id"
        return [self._job(r) for r in await self._run(lambda c: c.execute(sql).fetchall())]

    # the unit of work ---------------------------------------------------------------------

    async def commit(self, work: UnitOfWork) -> Committed:
        """Everything in one BEGIN IMMEDIATE transaction; ``Conflict`` rolls it all back."""
        sealed = _Sealed(
            sessions=[(c, seal_session(self._cipher, c.key, c.data)) for c in work.sessions],
            outbox=[(e, seal_outgoing(self._cipher, e.id, e.payload)) for e in work.outbox],
        )
        committed = await self._tx(lambda c: self._commit(c, work, sealed))
        if work.shred:
            # The WAL still holds the pages as they were, data keys included: copy it back
            # into the file (where secure_delete zeroed them) and empty it.
            await self._run(lambda c: c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
        return committed

    def _commit(self, conn: sqlite3.Connection, work: UnitOfWork, sealed: _Sealed) -> Committed:
        seen = work.seen
        if seen is not None and self._seen(conn, seen.key, seen.until, seen.now):
            raise Duplicate(f"event {seen.key} was received already")
        if work.done is not None:
            sql = f"DELETE FROM {k.T_JOBS} WHERE id=? AND lease=?"
            if conn.execute(sql, (work.done.id, work.done.lease)).rowcount != 1:
                raise Conflict(f"job {work.done.id} is no longer held by this claim")
        expires = self._expires(self._lifetimes.session_idle)
        for change, token in sealed.sessions:
            _write_session(conn, change, token, expires)
        for ref in work.shred:
            _shred(conn, ref)
        for change in work.requests:
            _write_request(conn, change, self._seal_request(conn, change))
            self._index_request(conn, change)
        for job_id in work.cancel:
            conn.execute(f"DELETE FROM {k.T_JOBS} WHERE id=?", (job_id,))
        for job in work.schedule:
            _schedule(conn, dataclasses.replace(job, attempts=0, lease=""))
        fast = _enqueue(conn, sealed.outbox)
        self._append_all(conn, work.audit)
        return Committed(fast=fast)

    def _seal_request(self, conn: sqlite3.Connection, change: Change) -> str:
        """The request sealed under its data key, read inside the transaction (a new request,
        or one written before data keys, gets a new key here)."""
        ref = change.key
        if not datakeys.needs_key(change.data):
            return datakeys.seal_document(ref, change.data, None)
        sql = f"SELECT wrapped FROM {k.T_DATA_KEYS} WHERE ref=?"
        row = conn.execute(sql, (ref,)).fetchone()
        if row is not None:
            key = datakeys.unwrap(self._cipher, ref, row[0])
        else:
            key = datakeys.new_data_key()
            wrapped = datakeys.wrap(self._cipher, ref, key)
            insert = f"INSERT INTO {k.T_DATA_KEYS} (ref, wrapped) VALUES (?, ?)"
            conn.execute(insert, (ref, wrapped))
        return datakeys.seal_document(ref, change.data, key)

    def _index_request(self, conn: sqlite3.Connection, change: Change) -> None:
        """The subject index and the index of closed requests, in step with the document."""
        ref = change.key
        if self._index is not None or datakeys.is_destroyed(change.data):
            conn.execute(f"DELETE FROM {k.T_SUBJECTS} WHERE ref=?", (ref,))
        if self._index is not None and not datakeys.is_destroyed(change.data):
            rows = [(digest, ref) for digest in self._index.of_request(change.data)]
            conn.executemany(f"INSERT OR IGNORE INTO {k.T_SUBJECTS} VALUES (?, ?)", rows)
        closed = datakeys.closed_at(change.data)
        if closed is None:
            conn.execute(f"DELETE FROM {k.T_CLOSED} WHERE ref=?", (ref,))
        else:
            sql = f"INSERT OR REPLACE INTO {k.T_CLOSED} (ref, closed_at) VALUES (?, ?)"
            conn.execute(sql, (ref, closed))

    def _append_all(self, conn: sqlite3.Connection, drafts: list[AuditDraft]) -> None:
        for draft in drafts:
            stamp = draft.at.isoformat()
            self._append(conn, stamp, draft.actor, draft.action, draft.ref, draft.details)

    async def receive(
        self, job: Job, dedupe_key: str, dedupe_ttl: float, now: float, sealed: Document
    ) -> Job | None:
        """Mark seen and store the leased job in one transaction; None for a duplicate."""
        payload = seal_job_payload(self._cipher, job.id, job.payload, sealed)
        stored = Job(job.id, job.kind, job.due_at, payload, 1, job.lease)

        def run(conn: sqlite3.Connection) -> bool:
            if self._seen(conn, dedupe_key, now + dedupe_ttl, now):
                return False
            _schedule(conn, stored)
            return True

        if not await self._tx(run):
            return None
        return Job(job.id, job.kind, job.due_at, {**job.payload, "event": sealed}, 1, job.lease)

    # the outbox ---------------------------------------------------------------------------

    async def claim_outbox(self, now: float, lease_seconds: float, limit: int) -> list[Outgoing]:
        """Lease the due head entry of each recipient, oldest first."""
        return await self._tx(lambda c: self._claim_outbox(c, now, lease_seconds, limit))

    def _claim_outbox(
        self, conn: sqlite3.Connection, now: float, lease: float, limit: int
    ) -> list[Outgoing]:
        heads = (
            f"SELECT o.seq FROM {k.T_OUTBOX} o WHERE o.due_at <= ? AND o.seq = "
            f"(SELECT MIN(seq) FROM {k.T_OUTBOX} WHERE recipient = o.recipient) "
            "ORDER BY o.seq LIMIT ?"
        )
        seqs = [row[0] for row in conn.execute(heads, (now, limit))]
        update = (
            f"UPDATE {k.T_OUTBOX} SET attempts=attempts+1, lease=?, due_at=? WHERE seq=? "
            f"RETURNING {OUTBOX_COLUMNS}"
        )
        return [
            self._outgoing(conn.execute(update, (uuid.uuid4().hex, now + lease, s)).fetchone())
            for s in seqs
        ]

    async def complete_outbox(self, entries: Collection[Outgoing]) -> None:
        """Delete delivered entries that still hold their lease (no fsync: see ``_tx``)."""
        rows = [(e.id, e.lease) for e in entries]
        if rows:
            sql = f"DELETE FROM {k.T_OUTBOX} WHERE id=? AND lease=?"
            await self._tx(lambda c: c.executemany(sql, rows), durable=False)

    async def retry_outbox(self, entry: Outgoing, due_at: float, max_attempts: int) -> bool:
        """Release the claim to run at ``due_at``, or dead-letter it after ``max_attempts``."""
        return await self._tx(lambda c: _retry_outbox(c, entry, due_at, max_attempts))

    async def outbox_entries(self) -> list[Outgoing]:
        """Every pending entry, in seq order."""
        sql = f"SELECT {OUTBOX_COLUMNS} FROM {k.T_OUTBOX} ORDER BY seq"
        return [self._outgoing(r) for r in await self._run(lambda c: c.execute(sql).fetchall())]

    async def pending_outbox(self, ids: Collection[str]) -> list[Outgoing]:
        """The entries among ``ids`` still pending, in seq order: one indexed read."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        sql = f"SELECT {OUTBOX_COLUMNS} FROM {k.T_OUTBOX} WHERE id IN ({marks}) ORDER BY seq"
        rows = await self._run(lambda c: c.execute(sql, wanted).fetchall())
        return [self._outgoing(r) for r in rows]

    async def dead_outbox(self) -> list[Outgoing]:
        """Entries that failed ``max_attempts`` times, in seq order."""
        sql = f"SELECT {OUTBOX_COLUMNS} FROM {k.T_DEAD_OUTBOX} ORDER BY seq"
        return [self._outgoing(r) for r in await self._run(lambda c: c.execute(sql).fetchall())]

    async def outbox_stats(self) -> OutboxStats:
        """A count and the due-time index's first entry: no payload is read."""
        return await self._run(_outbox_stats)

    async def queue_stats(self, now: float) -> QueueStats:
        """Counts and the due-time indexes, in the store's thread: no payload is read."""
        return await self._run(lambda c: _queue_stats(c, now))

    # the web console's boxes --------------------------------------------------------------

    async def save_console_entry(self, box: str, entry_id: str, entry: Document, keep: int) -> None:
        """Upsert (an update keeps its place), then trim the box to its newest ``keep``."""
        token = seal_console(self._cipher, box, entry_id, entry)
        upsert = (
            f"INSERT INTO {k.T_CONSOLE} (box, id, token, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (box, id) DO UPDATE SET token=excluded.token, "
            "expires_at=excluded.expires_at"
        )
        expires = self._expires(self._lifetimes.console)
        trim = (
            f"DELETE FROM {k.T_CONSOLE} WHERE box=? AND seq NOT IN "
            f"(SELECT seq FROM {k.T_CONSOLE} WHERE box=? ORDER BY seq DESC LIMIT ?)"
        )

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(upsert, (box, entry_id, token, expires))
            conn.execute(trim, (box, box, keep))

        await self._tx(write)

    async def console_entries(self, box: str) -> list[Document]:
        """The box, oldest first."""
        sql = f"SELECT id, token FROM {k.T_CONSOLE} WHERE box=? ORDER BY seq"
        rows = await self._run(lambda c: c.execute(sql, (box,)).fetchall())
        return [open_console(self._cipher, box, row[0], row[1]) for row in rows]

    # de-duplication ---------------------------------------------------------------------

    async def seen(self, event_id: str, ttl_seconds: float, now: float) -> bool:
        """Record ``event_id``; True if already recorded and not expired at ``now``."""
        return await self._tx(lambda c: self._seen(c, event_id, now + ttl_seconds, now))

    @staticmethod
    def _seen(conn: sqlite3.Connection, event_id: str, expires: float, now: float) -> bool:
        conn.execute(f"DELETE FROM {k.T_SEEN} WHERE expires_at <= ?", (now,))
        sql = f"INSERT INTO {k.T_SEEN} (event_id, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING"
        return conn.execute(sql, (event_id, expires)).rowcount == 0

    # addresses and handles --------------------------------------------------------------

    async def save_address(self, platform: str, key: str, address: Document) -> None:
        """Remember how to reach ``key`` on ``platform``."""
        sql = (
            f"INSERT OR REPLACE INTO {k.T_ADDRESSES} (platform, key, doc, expires_at) "
            "VALUES (?, ?, ?, ?)"
        )
        row = (platform, key, json.dumps(address), self._expires(self._lifetimes.addresses))
        await self._tx(lambda c: c.execute(sql, row))

    async def load_address(self, platform: str, key: str) -> Document | None:
        """The saved address, or None."""
        sql = f"SELECT doc FROM {k.T_ADDRESSES} WHERE platform=? AND key=?"
        row = await self._run(lambda c: c.execute(sql, (platform, key)).fetchone())
        return None if row is None else dict(json.loads(row[0]))

    async def add_handle(self, card_id: str, handle: Document) -> None:
        """Remember one delivered copy of a card."""
        sql = f"INSERT INTO {k.T_HANDLES} (card_id, doc, expires_at) VALUES (?, ?, ?)"
        row = (card_id, json.dumps(handle), self._expires(self._lifetimes.message_handles))
        await self._tx(lambda c: c.execute(sql, row))

    async def handles(self, card_id: str) -> list[Document]:
        """Every delivered copy, in delivery order."""
        sql = f"SELECT doc FROM {k.T_HANDLES} WHERE card_id=? ORDER BY id"
        rows = await self._run(lambda c: c.execute(sql, (card_id,)).fetchall())
        return [dict(json.loads(row[0])) for row in rows]

    # lifetimes --------------------------------------------------------------------------

    def _expires(self, lifetime: timedelta) -> float:
        return self._clock() + lifetime.total_seconds()

    async def sweep(self, now: float) -> dict[str, int]:
        """Delete every row past its lifetime (``store.lifetimes``); how many, per kind."""
        return await self._tx(lambda c: self._sweep(c, now))

    def _sweep(self, conn: sqlite3.Connection, now: float) -> dict[str, int]:
        for kind in STAMPED:  # a row from before lifetimes existed starts its lifetime now
            first = now + lifetime_of(kind, self._lifetimes).total_seconds()
            sql = f"UPDATE {kind.sqlite} SET expires_at=? WHERE expires_at IS NULL"
            conn.execute(sql, (first,))
        dead_before = now - self._lifetimes.dead_letters.total_seconds()
        ends = [(table, "expires_at", now) for table in (*EXPIRING, k.T_LOCKS, k.T_SEEN)]
        ends += [(table, "due_at", dead_before) for table in (k.T_DEAD_JOBS, k.T_DEAD_OUTBOX)]
        # a reference counter goes once the year after its own has ended (its Redis expiry)
        ends.append((k.T_REFERENCES, "year", datetime.fromtimestamp(now, UTC).year - 2))
        counts = {
            table: conn.execute(f"DELETE FROM {table} WHERE {column} <= ?", (end,)).rowcount
            for table, column, end in ends
        }
        return {table: n for table, n in counts.items() if n}

    # audit ------------------------------------------------------------------------------

    async def append_audit(
        self, at: datetime, actor: str, action: str, ref: str, details: dict[str, Any]
    ) -> AuditEntry:
        """Read the head and append the next link in one write transaction."""
        stamp = at.isoformat()
        return await self._tx(lambda c: self._append(c, stamp, actor, action, ref, details))

    @staticmethod
    def _append(
        conn: sqlite3.Connection, at: str, actor: str, action: str, ref: str, details: Document
    ) -> AuditEntry:
        row = conn.execute(f"SELECT * FROM {k.T_AUDIT} ORDER BY seq DESC LIMIT 1").fetchone()
        entry = make_entry(None if row is None else _audit(row), at, actor, action, ref, details)
        conn.execute(
            f"INSERT INTO {k.T_AUDIT} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (entry.seq, at, actor, action, ref, json.dumps(details), entry.prev_hash, entry.hash),
        )
        return entry

    async def audit_entries(self, ref: str | None = None) -> list[AuditEntry]:
        """The chain oldest first, optionally only one reference's entries."""
        where, args = ("WHERE ref=?", (ref,)) if ref is not None else ("", ())
        sql = f"SELECT * FROM {k.T_AUDIT} {where} ORDER BY seq"
        return [_audit(r) for r in await self._run(lambda c: c.execute(sql, args).fetchall())]

    # keys -------------------------------------------------------------------------------

    async def reencrypt(self) -> int:
        """Re-seal sessions and requests written with an older key."""
        return await self._tx(self._reencrypt)

    def _reencrypt(self, conn: sqlite3.Connection) -> int:
        count = 0
        for key, token in conn.execute(f"SELECT key, token FROM {k.T_SESSIONS}").fetchall():
            new = reseal_session(self._cipher, key, token)
            if new is not None:
                conn.execute(f"UPDATE {k.T_SESSIONS} SET token=? WHERE key=?", (new, key))
                count += 1
        count += self._rewrap_data_keys(conn)
        for table in (k.T_OUTBOX, k.T_DEAD_OUTBOX):
            count += self._reseal_outbox(conn, table)
        for table in (k.T_JOBS, k.T_DEAD_JOBS):
            count += self._reseal_inbox(conn, table)
        return count

    def _rewrap_data_keys(self, conn: sqlite3.Connection) -> int:
        """Data keys re-wrapped with the newest service key; requests still sealed under a
        service key (written before data keys) moved under a data key of their own."""
        count = 0
        for ref, wrapped in conn.execute(f"SELECT ref, wrapped FROM {k.T_DATA_KEYS}").fetchall():
            new = datakeys.rewrap(self._cipher, ref, wrapped)
            if new is not None:
                conn.execute(f"UPDATE {k.T_DATA_KEYS} SET wrapped=? WHERE ref=?", (new, ref))
                count += 1
        legacy = (
            f"SELECT r.ref, r.doc FROM {k.T_REQUESTS} r WHERE NOT EXISTS "
            f"(SELECT 1 FROM {k.T_DATA_KEYS} d WHERE d.ref = r.ref)"
        )
        for ref, doc in conn.execute(legacy).fetchall():
            if datakeys.sealed_with_service_key(self._cipher, doc):
                data = datakeys.open_document(self._cipher, ref, doc, None)
                change = Change(ref, data, 0)
                sealed = self._seal_request(conn, change)
                conn.execute(f"UPDATE {k.T_REQUESTS} SET doc=? WHERE ref=?", (sealed, ref))
                self._index_request(conn, change)  # older requests join the subject index
                count += 1
        return count

    def _reseal_outbox(self, conn: sqlite3.Connection, table: str) -> int:
        count = 0
        for entry_id, token in conn.execute(f"SELECT id, payload FROM {table}").fetchall():
            if self._cipher.needs_rotation(token):
                new = seal_outgoing(
                    self._cipher, entry_id, open_outgoing(self._cipher, entry_id, token)
                )
                conn.execute(f"UPDATE {table} SET payload=? WHERE id=?", (new, entry_id))
                count += 1
        return count

    def _reseal_inbox(self, conn: sqlite3.Connection, table: str) -> int:
        count = 0
        sql = f"SELECT id, payload FROM {table} WHERE payload LIKE '%{INBOX_FIELD}%'"
        for job_id, text in conn.execute(sql).fetchall():
            stored = json.loads(text)
            if INBOX_FIELD in stored and self._cipher.needs_rotation(stored[INBOX_FIELD]):
                opened = open_job_payload(self._cipher, job_id, stored)
                event = opened.pop(INBOX_EVENT)
                new = json.dumps(seal_job_payload(self._cipher, job_id, opened, event))
                conn.execute(f"UPDATE {table} SET payload=? WHERE id=?", (new, job_id))
                count += 1
        return count


@dataclass(frozen=True)
class _Sealed:
    """A unit of work's encrypted values, sealed on the event loop before the transaction."""

    sessions: list[tuple[Change, str]]
    outbox: list[tuple[Outgoing, str]]


def _write_session(conn: sqlite3.Connection, change: Change, token: str, expires: float) -> None:
    if change.expected_version == 0:
        sql = f"INSERT INTO {k.T_SESSIONS} (key, token, version, expires_at) VALUES (?, ?, 1, ?)"
        try:
            conn.execute(sql, (change.key, token, expires))
        except sqlite3.IntegrityError:
            raise Conflict(f"session {change.key} exists already") from None
        return
    sql = (
        f"UPDATE {k.T_SESSIONS} SET token=?, version=version+1, expires_at=? "
        "WHERE key=? AND version=?"
    )
    if conn.execute(sql, (token, expires, change.key, change.expected_version)).rowcount != 1:
        raise Conflict(f"session {change.key} changed since it was read")


def _write_request(conn: sqlite3.Connection, change: Change, doc: str) -> None:
    state = str(change.data.get("state", ""))
    if change.expected_version == 0:
        sql = (
            f"INSERT INTO {k.T_REQUESTS} (ref, version, doc, state, requester) "
            "VALUES (?, 1, ?, ?, ?)"
        )
        try:
            conn.execute(sql, (change.key, doc, state, str(change.data.get("requester", ""))))
        except sqlite3.IntegrityError:
            raise Conflict(f"request {change.key} exists already") from None
        return
    sql = f"UPDATE {k.T_REQUESTS} SET doc=?, state=?, version=version+1 WHERE ref=? AND version=?"
    if conn.execute(sql, (doc, state, change.key, change.expected_version)).rowcount != 1:
        raise Conflict(f"request {change.key} changed since it was read")


def _shred(conn: sqlite3.Connection, ref: str) -> None:
    """Destroy a request's data key and its subject-index entries (secure_delete overwrites
    them in the file)."""
    conn.execute(f"DELETE FROM {k.T_DATA_KEYS} WHERE ref=?", (ref,))
    conn.execute(f"DELETE FROM {k.T_SUBJECTS} WHERE ref=?", (ref,))
    conn.execute(f"DELETE FROM {k.T_CLOSED} WHERE ref=?", (ref,))


def _schedule(conn: sqlite3.Connection, job: Job) -> None:
    sql = f"INSERT OR REPLACE INTO {k.T_JOBS} ({JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
    conn.execute(
        sql, (job.id, job.kind, job.due_at, json.dumps(job.payload), job.attempts, job.lease)
    )


def _enqueue(conn: sqlite3.Connection, entries: list[tuple[Outgoing, str]]) -> list[Outgoing]:
    """Insert in order; an entry keeps its lease only if its recipient had nothing pending."""
    pending_sql = f"SELECT 1 FROM {k.T_OUTBOX} WHERE recipient=? LIMIT 1"
    busy = {
        e.recipient
        for e, _ in entries
        if conn.execute(pending_sql, (e.recipient,)).fetchone() is not None
    }
    insert = (
        f"INSERT INTO {k.T_OUTBOX} (id, recipient, payload, due_at, attempts, lease) "
        "VALUES (?, ?, ?, ?, 0, ?) RETURNING seq"
    )
    fast: list[Outgoing] = []
    for entry, token in entries:
        keeps = bool(entry.lease) and entry.recipient not in busy
        lease, due = (entry.lease, entry.due_at) if keeps else ("", entry.queued_at)
        seq = conn.execute(insert, (entry.id, entry.recipient, token, due, lease)).fetchone()[0]
        if keeps:
            fast.append(dataclasses.replace(entry, seq=seq))
    return fast


def _retry_outbox(
    conn: sqlite3.Connection, entry: Outgoing, due_at: float, max_attempts: int
) -> bool:
    queue = _Queue(k.T_OUTBOX, k.T_DEAD_OUTBOX, OUTBOX_COLUMNS)
    return _release_or_bury(
        conn, queue, entry.id, entry.lease, entry.attempts, due_at, max_attempts
    )


@dataclass(frozen=True)
class _Queue:
    """A leased queue's table, its dead-letter table and their columns."""

    table: str
    dead: str
    columns: str


def _release_or_bury(
    conn: sqlite3.Connection,
    queue: _Queue,
    item_id: str,
    lease: str,
    attempts: int,
    due_at: float,
    max_attempts: int,
) -> bool:
    """Release a failed claim to run at ``due_at``, or move it to the dead letters once it
    has had ``max_attempts``; True unless buried. An item whose lease changed (cancelled or
    re-scheduled since the claim) is not ours to bury."""
    if attempts < max_attempts:
        sql = f"UPDATE {queue.table} SET due_at=?, lease='' WHERE id=? AND lease=?"
        conn.execute(sql, (due_at, item_id, lease))
        return True
    moved = conn.execute(
        f"INSERT OR REPLACE INTO {queue.dead} ({queue.columns}) "
        f"SELECT {queue.columns} FROM {queue.table} WHERE id=? AND lease=?",
        (item_id, lease),
    )
    if not moved.rowcount:
        return True
    conn.execute(f"DELETE FROM {queue.table} WHERE id=?", (item_id,))
    return False


def _count(conn: sqlite3.Connection, sql: str, *args: object) -> int:
    return int(conn.execute(sql, args).fetchone()[0])


def _outbox_stats(conn: sqlite3.Connection) -> OutboxStats:
    depth, oldest = conn.execute(f"SELECT COUNT(*), MIN(due_at) FROM {k.T_OUTBOX}").fetchone()
    return OutboxStats(depth, oldest)


def _queue_stats(conn: sqlite3.Connection, now: float) -> QueueStats:
    scheduled, oldest = conn.execute(f"SELECT COUNT(*), MIN(due_at) FROM {k.T_JOBS}").fetchone()
    return QueueStats(
        jobs_scheduled=scheduled,
        jobs_waiting=_count(conn, f"SELECT COUNT(*) FROM {k.T_JOBS} WHERE due_at <= ?", now),
        oldest_job_due=oldest,
        outbox=_outbox_stats(conn),
        dead_jobs=_count(conn, f"SELECT COUNT(*) FROM {k.T_DEAD_JOBS}"),
        dead_outbox=_count(conn, f"SELECT COUNT(*) FROM {k.T_DEAD_OUTBOX}"),
    )
