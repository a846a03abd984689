"""Finding the option a person meant when they typed it slightly wrong ("Tidemuth",
"not sougth").

A typed answer that is not an option's number, key or label exactly may still be close to one
option and to no other. ``closest`` returns that option, and the conversation asks "Did you
mean …?" before using it: a guess is never taken as the answer without a yes.

Closeness is ``difflib``'s ratio, per word: every word typed must be close to a word of the
option's label (or key), and the option must be clearly closer than any other option. Short
answers (no word of four letters or more) are never guessed, so "no" is never read as "No, it
can wait" or the like.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from flows.messages import Choice

WORD_SCORE = 0.8
MARGIN = 0.1
MIN_WORD = 4
_WORD = re.compile(r"[a-z0-9']+")


def normalise(text: str) -> str:
    """Lower case, single spaces, no trailing full stop."""
    return " ".join(text.strip().lower().rstrip(".").split())


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text).replace("_", " "))


def exact(token: str, choices: Sequence[Choice]) -> str | None:
    """The option typed by its number, key or label (case-insensitive), or None."""
    wanted = normalise(token)
    if wanted.isdecimal() and 1 <= int(wanted) <= len(choices):
        return choices[int(wanted) - 1].key
    for choice in choices:
        if wanted in (choice.key.lower(), normalise(choice.label)):
            return choice.key
    return None


def _ratio(a: str, b: str) -> float:
    from difflib import SequenceMatcher  # local: only a near miss needs it

    return SequenceMatcher(None, a, b).ratio()


def _score(typed: Sequence[str], choice: Choice) -> float:
    """How close the typed words are to the option: to its whole label (or key), or word by
    word (every typed word close to a word of the option). 0 when neither is close."""
    whole = max(
        _ratio(" ".join(typed), " ".join(words(text))) for text in (choice.label, choice.key)
    )
    target = words(choice.label) + words(choice.key)
    best = [max((_ratio(word, other) for other in target), default=0.0) for word in typed]
    by_word = sum(best) / len(best) if best and min(best) >= WORD_SCORE else 0.0
    return max(whole if whole >= WORD_SCORE else 0.0, by_word)


def closest(token: str, choices: Sequence[Choice]) -> Choice | None:
    """The one option ``token`` is a near miss for, or None when none (or several) are."""
    typed = words(token)
    if not any(len(word) >= MIN_WORD for word in typed):
        return None
    scored = sorted(((_score(typed, c), i) for i, c in enumerate(choices)), reverse=True)
    if not scored or scored[0][0] == 0.0:
        return None
    runner_up = scored[1][0] if len(scored) > 1 else 0.0
    if scored[0][0] - runner_up < MARGIN:
        return None
    return choices[scored[0][1]]


def guessable(choices: Sequence[Choice]) -> bool:
    """Whether near misses may be guessed here. Never for yes/no questions: "Did you mean
    No?" answered "no" would be read both ways."""
    return not any(c.key in ("yes", "no") for c in choices)
