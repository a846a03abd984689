"""How long each kind of stored key or row lives, and what ends it.

Nothing oohbot stores may live for ever by accident. Each kind below names its lifetime and how
it is enforced: ``ttl`` (Redis expires the key; SQLite rows carry ``expires_at`` and the daily
sweep deletes them), ``sweep`` (the daily housekeeping job deletes what is past its lifetime),
``done`` (deleted by the unit of work that finishes it), ``retention`` (the request's personal
data is destroyed under the retention rules; what remains holds no personal data) or ``record``
(the audit chain: no personal data, kept as the record of disclosures, S4 App4 §3.2).

``KINDS`` is the documentation the README's table and the lifetime test are built from: the
test scans every Redis key and SQLite table after a night and fails on anything not listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

Rule = Literal["ttl", "sweep", "done", "retention", "record"]


@dataclass(frozen=True)
class Lifetimes:
    """The configurable lifetimes (``lifetimes:`` in app.yaml)."""

    session_idle: timedelta = timedelta(days=30)
    message_handles: timedelta = timedelta(days=90)
    addresses: timedelta = timedelta(days=400)
    console: timedelta = timedelta(days=7)
    dead_letters: timedelta = timedelta(days=30)


DEFAULT_LIFETIMES = Lifetimes()


@dataclass(frozen=True)
class Kind:
    """One kind of key or row: its Redis key pattern (glob, after the prefix), its SQLite
    table, how its lifetime is enforced and what that lifetime is, in words; ``lasts`` names
    the ``Lifetimes`` field a writer stamps it with (a Redis TTL, an SQLite ``expires_at``)."""

    name: str
    redis: tuple[str, ...]
    sqlite: str | None
    rule: Rule
    lifetime: str
    lasts: str = ""


KINDS: tuple[Kind, ...] = (
    Kind(
        "session",
        ("session:*",),
        "sessions",
        "ttl",
        "lifetimes.session_idle after the last message",
        "session_idle",
    ),
    Kind("conversation lock", ("lock:*",), "locks", "ttl", "seconds (released when done)"),
    Kind("delivery mark", ("seen:*",), "seen_events", "ttl", "timers.dedupe_ttl"),
    Kind(
        "address",
        ("address:*",),
        "addresses",
        "ttl",
        "lifetimes.addresses after the person last wrote",
        "addresses",
    ),
    Kind(
        "card copy",
        ("handles:*",),
        "handles",
        "ttl",
        "lifetimes.message_handles after delivery",
        "message_handles",
    ),
    Kind(
        "console entry",
        ("console:box:*", "console:order:*"),
        "console_entries",
        "ttl",
        "lifetimes.console after the entry",
        "console",
    ),
    Kind("console counter", ("console:seq",), None, "record", "one number"),
    Kind(
        "reference counter",
        ("refno:*",),
        "reference_counters",
        "ttl",
        "until the end of the year after its year",
    ),
    Kind("job or inbox entry", ("job:*", "jobs:due"), "jobs", "done", "until it has run"),
    Kind("dead job", ("jobs:dead",), "dead_jobs", "sweep", "lifetimes.dead_letters after it died"),
    Kind(
        "outbox entry",
        ("outbox:entry:*", "outbox:queue:*", "outbox:ready", "outbox:seq"),
        "outbox",
        "done",
        "until it is delivered",
    ),
    Kind(
        "dead outbox entry",
        ("outbox:dead",),
        "dead_outbox",
        "sweep",
        "lifetimes.dead_letters after it died",
    ),
    Kind(
        "request",
        ("request:*",),
        "requests",
        "retention",
        "personal data destroyed under the retention rules; the rest is the record",
    ),
    Kind(
        "request index",
        ("requests", "request-states", "requests-in:*", "requests-of:*"),
        None,
        "retention",
        "as the request",
    ),
    Kind(
        "data key",
        ("data-keys",),
        "data_keys",
        "retention",
        "destroyed when the request's retention period ends (crypto-shredding)",
    ),
    Kind(
        "subject index",
        ("subject:*", "subjects-of:*"),
        "subject_index",
        "retention",
        "removed with the request's data key",
    ),
    Kind(
        "closed-request index",
        ("closed",),
        "closed_requests",
        "retention",
        "until the request's personal data is destroyed",
    ),
    Kind(
        "audit entry",
        ("audit", "audit:head", "audit-of:*"),
        "audit",
        "record",
        "kept: the tamper-evident record of disclosures (no personal data)",
    ),
    Kind("key layout", ("layout",), None, "record", "one number"),
)


STAMPED = tuple(kind for kind in KINDS if kind.lasts)
"""The kinds whose writer stamps them with their lifetime."""


def lifetime_of(kind: Kind, lifetimes: Lifetimes) -> timedelta:
    """How long a stamped kind lives under ``lifetimes``."""
    life: timedelta = getattr(lifetimes, kind.lasts)
    return life


def kind_of_redis_key(key: str, prefix: str) -> Kind | None:
    """The kind a Redis key belongs to, or None if it is not a documented kind."""
    from fnmatch import fnmatchcase

    name = key.removeprefix(prefix)
    for kind in KINDS:
        if any(fnmatchcase(name, pattern) for pattern in kind.redis):
            return kind
    return None


def kind_of_table(table: str) -> Kind | None:
    """The kind an SQLite table holds, or None if it is not a documented kind."""
    return next((kind for kind in KINDS if kind.sqlite == table), None)
