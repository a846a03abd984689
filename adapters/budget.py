"""Size budgets: what a renderer says when a message is too big for its platform.

Each platform bounds a message differently (Slack: 50 blocks, 100 in a Home tab or modal;
Teams: about 100 KB). A renderer that has to leave something out says so, visibly and with a
count, instead of cutting silently: ``more_note`` for items left out, ``clip`` for a text
shortened. ``largest_fitting`` finds how many items fit a budget in a few tries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flows.ids import DETAIL_ACTIONS
from flows.messages import Action


def more_note(hidden: int, actions: Iterable[Action] = ()) -> str:
    """``…and 12 more — open Details`` (or why they are not here, without a Details button)."""
    if any(action.action_id in DETAIL_ACTIONS for action in actions):
        return f"…and {hidden} more — open Details"
    return f"…and {hidden} more, not shown: too many for one message"


def clip(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters not shown)"


def largest_fitting(count: int, fits: Callable[[int], bool]) -> int:
    """The largest ``k`` in ``0..count`` with ``fits(k)``, given ``fits`` is monotone
    (True up to some ``k``, then False); 0 if nothing fits."""
    low, high = 0, count
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low
