"""The audit hash chain: canonical JSON, sha256 links, verification and export.

Each entry's hash covers its own fields and the previous entry's hash, so editing, deleting,
inserting or reordering entries breaks the chain at the first altered position. Details are
stored in plaintext (callers put no personal data there) so that the chain can be verified
without the encryption key. Truncating the newest entries is only detectable against a chain
head kept elsewhere: pass it as ``expected_head``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from store.base import AuditEntry

GENESIS = "0" * 64


def canonical(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    prev_hash: str, seq: int, at: str, actor: str, action: str, ref: str, details: dict[str, Any]
) -> str:
    """The sha256 (hex) of one link."""
    payload = canonical([prev_hash, seq, at, actor, action, ref, details])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def make_entry(
    head: AuditEntry | None, at: str, actor: str, action: str, ref: str, details: dict[str, Any]
) -> AuditEntry:
    """The entry that follows ``head`` (or starts the chain)."""
    seq = head.seq + 1 if head else 1
    prev = head.hash if head else GENESIS
    digest = entry_hash(prev, seq, at, actor, action, ref, details)
    return AuditEntry(seq, at, actor, action, ref, details, prev, digest)


def to_json(entry: AuditEntry) -> str:
    """One entry as canonical JSON (the Redis list element and the JSONL line)."""
    return canonical(asdict(entry))


def from_json(text: str) -> AuditEntry:
    """Inverse of ``to_json``."""
    return AuditEntry(**json.loads(text))


@dataclass(frozen=True)
class VerifyResult:
    """``first_bad_seq`` is the position (1-based, what ``seq`` should be) where it breaks."""

    ok: bool
    first_bad_seq: int | None
    reason: str


def verify(entries: Sequence[AuditEntry], expected_head: str | None = None) -> VerifyResult:
    """Check the whole chain, oldest first. ``expected_head``: a hash saved earlier that must
    still be the newest entry's (detects truncation)."""
    prev = GENESIS
    for position, entry in enumerate(entries, 1):
        problem = _problem(entry, position, prev)
        if problem:
            return VerifyResult(False, position, problem)
        prev = entry.hash
    if expected_head is not None and prev != expected_head:
        return VerifyResult(False, len(entries) + 1, "chain head differs from the saved head")
    return VerifyResult(True, None, f"{len(entries)} entries verified")


def _problem(entry: AuditEntry, position: int, prev: str) -> str:
    if entry.seq != position:
        return f"expected entry {position}, found entry {entry.seq} (deleted or reordered)"
    if entry.prev_hash != prev:
        return "previous-hash link broken (entry inserted, deleted or reordered)"
    fields = (entry.at, entry.actor, entry.action, entry.ref, entry.details)
    if entry_hash(entry.prev_hash, entry.seq, *fields) != entry.hash:
        return "hash does not match contents (entry edited)"
    return ""


CSV_FIELDS = ("seq", "at", "actor", "action", "ref", "details", "prev_hash", "hash")


def export(entries: Sequence[AuditEntry], fmt: Literal["jsonl", "csv"]) -> str:
    """Entries as JSON lines or CSV (``details`` as canonical JSON in one column)."""
    if fmt == "jsonl":
        return "".join(to_json(entry) + "\n" for entry in entries)
    if fmt == "csv":
        return _csv(entries)
    raise ValueError(f"unknown export format {fmt!r}")


def _csv(entries: Sequence[AuditEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for entry in entries:
        row = asdict(entry)
        row["details"] = canonical(entry.details)
        writer.writerow([row[name] for name in CSV_FIELDS])
    return out.getvalue()
