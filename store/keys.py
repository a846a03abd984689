"""Every Redis key and SQLite table name oohbot uses, in one place (like arq's ``constants.py``).

Redis keys share the ``oohbot:`` prefix so one Redis database can be inspected, backed up or
flushed as a unit. Functions build the keys that carry a variable part.
"""

from __future__ import annotations

# Top-level keys of a request document that hold personal data. The store seals them into one
# encrypted blob bound to the reference; every other key (ids, states, times) stays readable so
# operators can list and debug requests without the encryption key. Sessions are sealed whole.
SEALED_KEYS: tuple[str, ...] = ("answers", "decision", "decision_note", "info", "retro", "versions")

# Where the sealed blob sits inside a stored request document.
SEALED_FIELD = "_sealed"

# Associated-data prefixes, so a session blob can never be opened as a request blob and back.
SESSION_AAD = "session:"
REQUEST_AAD = "request:"

# --- Redis ---------------------------------------------------------------------------------

PREFIX = "oohbot:"
REQUEST_INDEX = PREFIX + "requests"  # set of every reference
REQUEST_STATES = PREFIX + "request-states"  # hash: reference -> the document's state
JOBS_DUE = PREFIX + "jobs:due"  # sorted set: job id scored by due time
JOBS_DEAD = PREFIX + "jobs:dead"  # hash: job id -> JSON of the dead job
AUDIT_LOG = PREFIX + "audit"  # list of JSON entries, oldest first
JOB_PREFIX = PREFIX + "job:"  # + job id -> hash (kind, due_at, payload, attempts, lease)
AUDIT_HEAD = PREFIX + "audit:head"  # JSON of the newest audit entry (the chain head)
LAYOUT = PREFIX + "layout"  # version of this key layout, for migrations at open
REQUESTS_BY_STATE = PREFIX + "requests-in:"  # + state -> set of references in that state
REQUESTS_BY_REQUESTER = PREFIX + "requests-of:"  # + officer id -> set of their references
AUDIT_BY_REF = PREFIX + "audit-of:"  # + reference -> list of that request's entries (JSON)
OUTBOX_SEQ = PREFIX + "outbox:seq"  # counter giving outbox entries their seq
OUTBOX_READY = PREFIX + "outbox:ready"  # sorted set: recipient scored by its head's due time
OUTBOX_DEAD = PREFIX + "outbox:dead"  # hash: entry id -> JSON of the dead entry
OUTBOX_ENTRY_PREFIX = PREFIX + "outbox:entry:"  # + id -> hash (see ``outbox_entry_key``)
OUTBOX_QUEUE_PREFIX = PREFIX + "outbox:queue:"  # + recipient -> see ``outbox_queue_key``


CONSOLE_SEQ = PREFIX + "console:seq"  # counter ordering console entries
DATA_KEYS = PREFIX + "data-keys"  # hash: reference -> its data key, wrapped by service keys
CLOSED = PREFIX + "closed"  # sorted set: references of ended requests scored by closure time
SUBJECT_PREFIX = PREFIX + "subject:"  # + blind-index digest -> set of references
SUBJECTS_OF_PREFIX = PREFIX + "subjects-of:"  # + reference -> set of its digests


def console_box_key(box: str) -> str:
    """A web console box: hash entry id -> sealed entry."""
    return f"{PREFIX}console:box:{box}"


def console_order_key(box: str) -> str:
    """A web console box's entry ids scored by arrival (oldest first)."""
    return f"{PREFIX}console:order:{box}"


def state_set_key(state: str) -> str:
    """The references of requests in ``state``."""
    return REQUESTS_BY_STATE + state


def requester_set_key(officer_id: str) -> str:
    """The references of one requester's requests (every state)."""
    return REQUESTS_BY_REQUESTER + officer_id


def audit_ref_key(ref: str) -> str:
    """One request's audit entries, in chain order (copies of the chain's lines)."""
    return AUDIT_BY_REF + ref


def session_key(key: str) -> str:
    """A session: hash with ``version`` and ``token`` (the whole document sealed)."""
    return f"{PREFIX}session:{key}"


def request_key(ref: str) -> str:
    """A request: hash with ``version`` and ``doc`` (JSON, personal data sealed)."""
    return f"{PREFIX}request:{ref}"


def reference_key(prefix: str, year: int) -> str:
    """The counter behind ``next_reference_number``."""
    return f"{PREFIX}refno:{prefix}:{year}"


def lock_key(key: str) -> str:
    """A per-conversation lock holding its owner's token."""
    return f"{PREFIX}lock:{key}"


def job_key(job_id: str) -> str:
    """A job's hash; see ``JOB_PREFIX``."""
    return JOB_PREFIX + job_id


def seen_key(event_id: str) -> str:
    """Delivery de-duplication marker."""
    return f"{PREFIX}seen:{event_id}"


def address_key(platform: str, key: str) -> str:
    """How to reach someone proactively on a platform."""
    return f"{PREFIX}address:{platform}:{key}"


def handles_key(card_id: str) -> str:
    """List of delivered copies of a card."""
    return f"{PREFIX}handles:{card_id}"


def outbox_entry_key(entry_id: str) -> str:
    """An outbox entry: hash with ``recipient``, ``seq``, ``payload`` (sealed), ``due_at``,
    ``attempts`` and ``lease``."""
    return OUTBOX_ENTRY_PREFIX + entry_id


def outbox_queue_key(recipient: str) -> str:
    """A recipient's pending entries: sorted set of ids scored by ``seq`` (head first)."""
    return OUTBOX_QUEUE_PREFIX + recipient


# --- SQLite tables -------------------------------------------------------------------------

T_SESSIONS = "sessions"
T_REQUESTS = "requests"
T_REFERENCES = "reference_counters"
T_LOCKS = "locks"
T_JOBS = "jobs"
T_DEAD_JOBS = "dead_jobs"
T_SEEN = "seen_events"
T_ADDRESSES = "addresses"
T_HANDLES = "handles"
T_AUDIT = "audit"
T_OUTBOX = "outbox"
T_DEAD_OUTBOX = "dead_outbox"
T_CONSOLE = "console_entries"
T_DATA_KEYS = "data_keys"  # ref -> the request's data key, wrapped by the service keys
T_SUBJECTS = "subject_index"  # (blind-index digest, ref): subject access, no plain text
T_CLOSED = "closed_requests"  # ref -> closure time, for the daily retention run
