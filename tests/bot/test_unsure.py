"""The memory of unsure commits: bounded, and every attempt of one event kept."""

from __future__ import annotations

from bot.unsure import UnsureCommits
from store.base import Outgoing


def entry(entry_id: str) -> Outgoing:
    return Outgoing(entry_id, "conversation:web::a", {}, 0.0, 0, "lease")


def test_two_attempts_of_one_event_keep_both_their_entries_until_taken() -> None:
    unsure = UnsureCommits()
    unsure.keep("web:e1", [entry("a")])
    unsure.keep("web:e1", [entry("b"), entry("c")])
    assert [e.id for e in unsure.pop("web:e1")] == ["a", "b", "c"]
    assert unsure.pop("web:e1") == []


def test_only_the_newest_are_remembered() -> None:
    unsure = UnsureCommits(kept=3)
    for n in range(5):
        unsure.keep(f"web:e{n}", [entry(str(n))])
    unsure.keep("web:e2", [entry("again")])  # the newest again, not dropped next
    unsure.keep("web:e5", [entry("5")])
    assert len(unsure) == 3
    assert unsure.pop("web:e0") == [] and unsure.pop("web:e3") == []
    assert [e.id for e in unsure.pop("web:e2")] == ["2", "again"]
