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

from flows.errors import OohbotError

Document = dict[str, Any]


class StoreError(OohbotError):
    """Base class of store failures (internal: the CLI reports them as bugs)."""

    explained = False


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


@dataclass(frozen=True)
class Change:
    """A compare-and-set write of one versioned document (a session or a request).

    ``expected_version`` 0 means the document must not exist yet (create at version 1);
    otherwise the stored version must still be ``expected_version`` (written as + 1)."""

    key: str
    data: Document
    expected_version: int


@dataclass(frozen=True)
class AuditDraft:
    """An audit entry to append; the store links it into the hash chain at commit."""

    at: datetime
    actor: str
    action: str
    ref: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Outgoing:
    """One message in the outbox: ``payload`` (the recipient and the message, JSON-able) is
    sealed at rest because messages can carry personal data.

    Entries of one ``recipient`` (an ordering key such as ``officer:ID``, ``channel`` or
    ``conversation:KEY``) are delivered in ``seq`` order: only the oldest pending entry of a
    recipient can be claimed. ``id`` is unique and chosen by the caller; ``seq`` is given by the
    store. ``lease``/``due_at`` as for jobs: an entry enqueued with a lease belongs to the
    committing process until ``due_at`` (its fast path), then anyone may claim it. An entry
    that does not keep its lease (its recipient has older entries pending) is due from
    ``queued_at``, the committer's time, so the outbox gauges can tell how long it has waited;
    the store keeps no other copy of it (read back, it is 0)."""

    id: str
    recipient: str
    payload: Document
    due_at: float
    attempts: int = 0
    lease: str = ""
    seq: int = 0
    queued_at: float = 0.0


@dataclass(frozen=True)
class Seen:
    """An event's delivery mark: ``key`` (platform and event id) counts as received until
    ``until``; ``now`` decides whether an earlier mark is still live."""

    key: str
    until: float
    now: float


@dataclass
class UnitOfWork:
    """Everything one event or one job changes, written atomically by ``Store.commit``.

    The store applies, all or nothing: ``seen`` (an event handled without the inbox: its
    delivery mark is set, and a live mark refuses the whole unit with ``Duplicate``), ``done``
    (the inbox entry or job being handled: it must still hold its lease, and is deleted), the
    ``sessions`` and ``requests`` compare-and-set
    writes, ``cancel`` then ``schedule`` (so a job may re-schedule its own id), the ``outbox``
    entries and the ``audit`` entries (linked to the chain head in order). ``shred`` names
    requests whose data keys and subject-index entries are deleted (crypto-shredding; their
    request ``Change`` must mark them destroyed in the same unit)."""

    done: Job | None = None
    seen: Seen | None = None
    sessions: list[Change] = field(default_factory=list)
    requests: list[Change] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)
    schedule: list[Job] = field(default_factory=list)
    outbox: list[Outgoing] = field(default_factory=list)
    audit: list[AuditDraft] = field(default_factory=list)
    shred: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Committed:
    """A successful commit: the outbox entries that kept the committer's lease (their
    recipient had nothing older pending), which the committer should deliver at once."""

    fast: list[Outgoing]


@dataclass(frozen=True)
class OutboxStats:
    """How many outbox entries are pending, and the earliest due time among them."""

    depth: int
    oldest_due: float | None


@dataclass(frozen=True)
class QueueStats:
    """The sizes the store gauges show: jobs (``waiting`` are due at the time asked about),
    the outbox and both dead-letter queues. Read from counts and indexes, never by reading or
    decrypting what the entries hold, so that it costs the same whatever the store holds."""

    jobs_scheduled: int
    jobs_waiting: int
    oldest_job_due: float | None
    outbox: OutboxStats
    dead_jobs: int
    dead_outbox: int


class Conflict(StoreError):
    """``commit`` found a version changed or ``done``'s lease gone; nothing was written."""


class Duplicate(StoreError):
    """``commit`` found the unit's event already received (its ``seen`` mark is live);
    nothing was written."""


class Store(Protocol):
    """Persistence for oohbot. Implemented by ``SqliteStore`` and ``RedisStore``."""

    # the unit of work ---------------------------------------------------------------------
    async def commit(self, work: UnitOfWork) -> Committed:
        """Write ``work`` atomically (one transaction / one script). Raises ``Conflict`` and
        writes nothing when a compare-and-set fails or ``work.done`` no longer holds its lease;
        ``Duplicate`` and writes nothing when ``work.seen`` names an event received already.
        A request ``Change`` with ``expected_version`` 0 that finds the reference taken is a
        ``Conflict`` too."""
        ...

    async def receive(
        self, job: Job, dedupe_key: str, dedupe_ttl: float, now: float, sealed: Document
    ) -> Job | None:
        """The inbox: unless ``dedupe_key`` was received within ``dedupe_ttl`` seconds, store
        ``job`` (already leased by the caller: its ``lease`` and ``due_at``) with ``sealed``
        encrypted into its payload, and mark the key seen — atomically. Returns the stored job
        (``payload`` holding ``sealed`` decrypted under the ``"event"`` key), or None for a
        duplicate. A job whose lease runs out is claimed like any other job."""
        ...

    async def get_session(self, key: str) -> Versioned | None:
        """The session document with its version (0 … never, 1 after the first write)."""
        ...

    async def claim_outbox(self, now: float, lease_seconds: float, limit: int) -> list[Outgoing]:
        """Claim up to ``limit`` entries, each the oldest pending entry of its recipient and
        due at ``now`` (unleased, or its lease run out): attempts + 1, a fresh lease, due at
        ``now + lease_seconds``. Safe with several dispatchers."""
        ...

    async def complete_outbox(self, entries: Collection[Outgoing]) -> None:
        """Delete the entries that still hold the given lease (delivered)."""
        ...

    async def retry_outbox(self, entry: Outgoing, due_at: float, max_attempts: int) -> bool:
        """Release a failed delivery to try again at ``due_at``; once ``entry.attempts``
        reached ``max_attempts`` move it to the dead letters and return False."""
        ...

    async def outbox_entries(self) -> list[Outgoing]:
        """Every pending entry (payload decrypted), in ``seq`` order."""
        ...

    async def pending_outbox(self, ids: Collection[str]) -> list[Outgoing]:
        """The entries among ``ids`` still pending (payload decrypted), in ``seq`` order."""
        ...

    async def dead_outbox(self) -> list[Outgoing]:
        """Deliveries that failed ``max_attempts`` times, in ``seq`` order."""
        ...

    async def outbox_stats(self) -> OutboxStats:
        """The pending entries' count and earliest due time, without reading a payload."""
        ...

    async def queue_stats(self, now: float) -> QueueStats:
        """Every queue's size at ``now`` (see ``QueueStats``)."""
        ...

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> bool: ...
    async def persistence_warning(self) -> str | None:
        """A warning when the backend is set up to lose recent writes on restart, else None."""
        ...

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

    async def get_requests(self, refs: Collection[str]) -> list[Versioned]:
        """The requests of ``refs`` that exist, in one read (the worker's batch of timers)."""
        ...

    async def update_request(self, ref: str, data: Document, expected_version: int) -> bool:
        """Compare-and-set: write (version + 1) only if the stored version is still
        ``expected_version``. Of N concurrent updates from the same version exactly one wins."""
        ...

    async def list_requests(
        self,
        exclude_states: Collection[str] = (),
        *,
        states: Collection[str] | None = None,
        requester: str | None = None,
    ) -> list[Versioned]:
        """Requests in reference order: only those in ``states`` and of ``requester`` when
        given, leaving out ``exclude_states``. The store indexes state and requester, so a
        filter on either reads (and decrypts) only the requests that match, however long the
        history: per-message paths filter, only reports list everything."""
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

    # the web console's boxes --------------------------------------------------------------
    async def save_console_entry(self, box: str, entry_id: str, entry: Document, keep: int) -> None:
        """Insert or replace (same ``entry_id``, same place) one message of a console box,
        sealed; only the newest ``keep`` entries of the box are kept."""
        ...

    async def console_entries(self, box: str) -> list[Document]:
        """A console box's entries, oldest first, decrypted."""
        ...

    # lifetimes (``store.lifetimes``) -------------------------------------------------------
    async def sweep(self, now: float) -> dict[str, int]:
        """Delete what is past its lifetime and not expired by the backend itself; how many,
        per table or key kind."""
        ...

    # retention and subject access -------------------------------------------------------
    async def closed_before(self, cutoff: float) -> list[str]:
        """References of requests that ended (closed or withdrawn) at or before ``cutoff``
        (epoch seconds) and still hold personal data, oldest first (an index by closure time:
        only these are read)."""
        ...

    async def find_subject(self, digest: str) -> list[str]:
        """References whose subject has this blind-index digest (``store.blind_index``)."""
        ...

    # keys -------------------------------------------------------------------------------
    async def reencrypt(self) -> int:
        """Re-encrypt every sealed value with the newest key; returns how many were rewritten."""
        ...
