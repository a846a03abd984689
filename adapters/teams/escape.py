"""Escaping plain text for Adaptive Card ``TextBlock`` markdown.

Flows never emit markup, so every string from a neutral ``Message`` is escaped before it goes
into a ``TextBlock``: markdown specials get a backslash (so ``[x](y)`` cannot become a link and
``**`` cannot become bold), ``<`` and ``>`` too (so ``<at>…</at>`` cannot become a mention or an
HTML tag), and a zero-width space breaks ``://``, ``www.`` and ``@`` so a client's auto-linker
does not turn a pasted URL or e-mail address into an active link. Input values, choice titles
and button titles are plain text in Adaptive Cards and are never escaped (escaping them would
corrupt what comes back on submit).
"""

from __future__ import annotations

import re

ZERO_WIDTH_SPACE = "\u200b"
MARKDOWN_SPECIALS = frozenset("\\`*_{}[]()#+-.!|~<>&")
_AUTOLINK = re.compile(r"(:)(//)|(www)(\.)|(@)()", re.IGNORECASE)


def escape(text: str) -> str:
    """Plain text → markdown that shows the same characters with no formatting, link or tag."""
    broken = _AUTOLINK.sub(_break, text)
    return "".join(f"\\{c}" if c in MARKDOWN_SPECIALS else c for c in broken)


def _break(match: re.Match[str]) -> str:
    head, tail = [g for g in match.groups() if g is not None]
    return f"{head}{ZERO_WIDTH_SPACE}{tail}"
