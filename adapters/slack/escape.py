"""Text safety for Slack: everything from a ``Message`` is plain text and is escaped here.

Slack mrkdwn gives ``&``, ``<`` and ``>`` control meaning (``<!channel>``, ``<@U123>``,
``<https://x|label>``); escaping those three neutralises every mention and link. Incoming
message text arrives escaped the same way and with links and mentions wrapped in ``<…>``;
``to_plain`` turns it back into what the person typed.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"
_ENTITY_TAIL = re.compile(r"&[a-z]{0,3}$")
_WRAPPED = re.compile(r"<([^<>]*)>")


def mrkdwn(text: str) -> str:
    """Escape plain text for a Slack mrkdwn field."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Shorten plain text to at most ``limit`` characters (for plain_text fields)."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def mrkdwn_clipped(text: str, limit: int) -> str:
    """Escape, then shorten without cutting an entity in half."""
    escaped = mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    cut = _ENTITY_TAIL.sub("", escaped[: max(limit - 1, 0)])
    return cut + ELLIPSIS


_WIDTH = {"&": len("&amp;"), "<": len("&lt;"), ">": len("&gt;")}


def chunks(text: str, limit: int) -> list[str]:
    """Split plain text so that each piece, once escaped, fits in ``limit`` characters."""
    if len(mrkdwn(text)) <= limit:
        return [text]  # the common case, without the walk below
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = _WIDTH.get(char, 1)
        if size + width > limit and current:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current or not pieces:
        pieces.append("".join(current))
    return pieces


def _unwrap(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith(("@", "#")):
        return f"{target[0]}{label or target[1:]}"
    if target.startswith("!"):
        return "@" + (label or target[1:].split("^")[0])
    return label or target.removeprefix("mailto:").removeprefix("tel:")


def to_plain(text: str) -> str:
    """What a person typed, from Slack message text (links, mentions and entities undone)."""
    unwrapped = _WRAPPED.sub(_unwrap, text)
    return unwrapped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
