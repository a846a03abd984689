"""Commits whose answer never came back: the store took the unit, or not, and then the
connection dropped. Their outbox entries are kept here, by the event's delivery mark, so that
the event's redelivery can show the replies at once if the commit did go through, instead of
leaving them to the worker after the reply grace (``bot.engine``)."""

from __future__ import annotations

from collections import OrderedDict

from store.base import Outgoing

KEPT = 1000  # the newest unsure commits remembered; older ones fall back to the grace


class UnsureCommits:
    """A bounded map from delivery mark to the entries its unsure commit would have written."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._entries: OrderedDict[str, list[Outgoing]] = OrderedDict()

    def keep(self, mark: str, entries: list[Outgoing]) -> None:
        """Add ``entries`` under ``mark``. Several unsure commits of one event keep all their
        entries: the delivery mark lets at most one of them have gone through."""
        self._entries[mark] = [*self._entries.get(mark, []), *entries]
        self._entries.move_to_end(mark)
        while len(self._entries) > self._kept:
            self._entries.popitem(last=False)

    def pop(self, mark: str) -> list[Outgoing]:
        return self._entries.pop(mark, [])

    def __len__(self) -> int:
        return len(self._entries)
