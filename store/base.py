"""The one ``Store`` protocol both backends implement, and the records it speaks in.

Documents (sessions, requests) are JSON-able dicts. The store owns encryption at rest: the keys
named in ``store.keys.SEALED_KEYS`` are encrypted (bound to the document's key or reference as
associated data) before they reach SQLite or Redis, and decrypted on the way out. Callers never
see ciphertext.

Times are passed in explicitly (``now`` as epoch seconds or aware datetimes): the store never
reads the clock itself, so tests drive it with an injected clock.
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

Document = dict[str, Any]


class StoreError(Exception):
    """Base class of store failures."""


class LockTimeout(StoreError):
    """A per-conversation lock could not be taken in time."""


class AlreadyExists(StoreError):
    """``create_request`` with a reference that is taken."""


@dataclass(frozen=True)
class Versioned:
    """A document with the version used for compare-and-set updates."""

    data: Document
    version: int


@dataclass(frozen=True)
class Job:
    """A durable timer. ``id`` is deterministic (re-scheduling the same id replaces it).

    ``due_at`` is epoch seconds. ``attempts`` counts claims; ``lease`` is the token of the
    current claim (empty while unclaimed).
    """

    id: str
    kind: str
    due_at: float
    payload: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    lease: str = ""


@dataclass(frozen=True)
class AuditEntry:
    """One link of the hash chain. ``hash`` covers every other field and ``prev_hash``."""

    seq: int
    at: str
    actor: str
    action: str
    ref: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class Store(Protocol):
    """Persistence for oohbot. Implemented by ``SqliteStore`` and ``RedisStore``."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> bool: ...

    # conversation sessions -------------------------------------------------------------
    def lock(
        self, key: str, ttl: float = 30.0, wait: float = 10.0
    ) -> AbstractAsyncContextManager[None]:
        """Exclusive per-key lock across processes; expires after ``ttl`` seconds if the holder
        dies; released on error; raises ``LockTimeout`` after ``wait`` seconds."""
        ...

    async def load_session(self, key: str) -> Document | None: ...
    async def save_session(self, key: str, data: Document) -> None: ...
    async def delete_session(self, key: str) -> None: ...

    # requests ---------------------------------------------------------------------------
    async def create_request(self, ref: str, data: Document) -> None:
        """Store a new request at version 1; ``AlreadyExists`` if the reference is taken."""
        ...

    async def get_request(self, ref: str) -> Versioned | None: ...

    async def update_request(self, ref: str, data: Document, expected_version: int) -> bool:
        """Compare-and-set: write (version + 1) only if the stored version is still
        ``expected_version``. Of N concurrent updates from the same version exactly one wins."""
        ...

    async def list_requests(self, exclude_states: Collection[str] = ()) -> list[Versioned]:
        """Requests in reference order, leaving out those whose ``state`` key is one of
        ``exclude_states`` (the store indexes the state, so ended requests cost nothing)."""
        ...

    # references -------------------------------------------------------------------------
    async def next_reference_number(self, prefix: str, year: int) -> int:
        """Atomically allocate the next number (1, 2, 3 …) for ``prefix`` in ``year``."""
        ...

    # durable jobs -----------------------------------------------------------------------
    async def schedule(self, job: Job) -> None:
        """Insert or replace the job with this id (attempts reset, lease cleared)."""
        ...

    async def cancel(self, job_id: str) -> None: ...
    async def get_job(self, job_id: str) -> Job | None: ...
    async def pending_jobs(self) -> list[Job]: ...

    async def claim(self, now: float, lease_seconds: float, limit: int) -> list[Job]:
        """Claim up to ``limit`` jobs due at ``now``: each gets a fresh lease token, its
        attempts incremented and its due time pushed to ``now + lease_seconds`` so that a job
        whose worker dies reappears. Safe with several workers claiming at once."""
        ...

    async def complete(self, job: Job) -> None:
        """Delete the job if it still holds ``job.lease`` (a re-scheduled job survives)."""
        ...

    async def retry(self, job: Job, due_at: float, max_attempts: int) -> bool:
        """Release a failed claim to run again at ``due_at``; once ``job.attempts`` reached
        ``max_attempts`` move it to the dead letters instead and return False."""
        ...

    async def dead_letters(self) -> list[Job]: ...

    # delivery de-duplication ------------------------------------------------------------
    async def seen(self, event_id: str, ttl_seconds: float, now: float) -> bool:
        """Record ``event_id``; True if it was already recorded within its ttl."""
        ...

    # addresses and message handles -------------------------------------------------------
    async def save_address(self, platform: str, key: str, address: Document) -> None:
        """Remember how to reach someone proactively (Teams conversation reference, Slack DM
        channel, …)."""
        ...

    async def load_address(self, platform: str, key: str) -> Document | None: ...

    async def add_handle(self, card_id: str, handle: Document) -> None:
        """Remember a delivered copy of a card so it can be updated later."""
        ...

    async def handles(self, card_id: str) -> list[Document]: ...

    # audit ------------------------------------------------------------------------------
    async def append_audit(
        self, at: datetime, actor: str, action: str, ref: str, details: dict[str, Any]
    ) -> AuditEntry:
        """Append to the hash chain (atomically with reading the previous head)."""
        ...

    async def audit_entries(self, ref: str | None = None) -> list[AuditEntry]: ...

    # keys -------------------------------------------------------------------------------
    async def reencrypt(self) -> int:
        """Re-encrypt every sealed value with the newest key; returns how many were rewritten."""
        ...
