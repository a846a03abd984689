"""The hash chain, independent of any store."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from typing import Any

from store.audit import GENESIS, entry_hash, export, from_json, make_entry, verify
from store.base import AuditEntry


def chain(n: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for i in range(n):
        head = entries[-1] if entries else None
        at = f"2026-11-21T02:0{i}:00+00:00"
        entries.append(make_entry(head, at, "off-1", "request.step", "R/1", {"i": i, "b": "x"}))
    return entries


def test_hash_is_canonical_over_details_order() -> None:
    one = entry_hash(GENESIS, 1, "t", "a", "x", "R", {"a": 1, "b": 2})
    assert one == entry_hash(GENESIS, 1, "t", "a", "x", "R", {"b": 2, "a": 1})
    assert one != entry_hash(GENESIS, 1, "t", "a", "x", "R", {"a": 1, "b": 3})
    assert one != entry_hash(GENESIS, 2, "t", "a", "x", "R", {"a": 1, "b": 2})


def test_valid_and_empty_chains_verify() -> None:
    assert verify([]).ok
    entries = chain(4)
    assert entries[0].prev_hash == GENESIS and entries[3].seq == 4
    assert verify(entries) == verify(entries[:4])
    assert verify(entries).ok and verify(entries).first_bad_seq is None


def test_detects_edit_of_each_field() -> None:
    entries = chain(4)
    changes: list[dict[str, Any]] = [
        {"actor": "x"},
        {"action": "x"},
        {"ref": "x"},
        {"at": "x"},
        {"details": {}},
    ]
    for change in changes:
        tampered = [*entries[:2], replace(entries[2], **change), entries[3]]
        assert verify(tampered).first_bad_seq == 3, change


def test_detects_recomputed_edit_by_the_link_that_follows() -> None:
    entries = chain(4)
    e = entries[1]
    edited = replace(
        e, actor="x", hash=entry_hash(e.prev_hash, 2, e.at, "x", e.action, e.ref, e.details)
    )
    result = verify([entries[0], edited, *entries[2:]])
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_detects_deletion_reorder_and_truncation() -> None:
    entries = chain(5)
    assert verify([*entries[:2], *entries[3:]]).first_bad_seq == 3
    assert verify([entries[1], entries[0], *entries[2:]]).first_bad_seq == 1
    assert verify(entries[:4], expected_head=entries[4].hash).first_bad_seq == 5
    assert verify(entries, expected_head=entries[4].hash).ok


def test_export_jsonl_round_trips() -> None:
    entries = chain(3)
    lines = export(entries, "jsonl").splitlines()
    assert [from_json(line) for line in lines] == entries
    assert json.loads(lines[0])["seq"] == 1


def test_export_csv() -> None:
    entries = chain(2)
    rows = list(csv.DictReader(io.StringIO(export(entries, "csv"))))
    assert [r["seq"] for r in rows] == ["1", "2"]
    assert json.loads(rows[1]["details"]) == {"i": 1, "b": "x"}
    assert rows[1]["prev_hash"] == rows[0]["hash"]


def test_detects_a_gap_in_seq_even_when_rehashed() -> None:
    # A whole chain rebuilt by a forger is internally consistent; the numbering still gives
    # away the entry they left out.
    entries = chain(2)
    gap = make_entry(entries[1], entries[1].at, "a", "x", "R", {})
    rehashed = replace(gap, seq=4, hash=entry_hash(gap.prev_hash, 4, gap.at, "a", "x", "R", {}))
    result = verify([*entries, rehashed])
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "expected entry 3" in result.reason
