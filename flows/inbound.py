"""What an adapter hands the engine: who said what, where, in platform-neutral form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Platform = str
"""A platform's name (``slack``, ``teams``, ``web`` or one added as a plugin)."""
InboundKind = Literal["text", "action", "form"]


@dataclass(frozen=True)
class Inbound:
    """One event from a person.

    ``user_id`` is the stable platform id (Slack user id, Teams AAD object id, web: officer id);
    ``tenant`` the Slack team id or Teams tenant id (empty for web). ``conversation`` is the
    platform's id of the place to reply (DM channel, Teams conversation id, web session).
    ``action``/``value`` carry a button's stable id and value; ``form`` a submitted form's
    values keyed by field key (without the ``retro:``/``decision:`` prefix), with ``form_id`` in
    ``action``. ``event_id`` de-duplicates redeliveries. ``in_channel`` marks a public channel.
    """

    platform: Platform
    user_id: str
    tenant: str
    conversation: str
    kind: InboundKind
    text: str = ""
    action: str = ""
    value: str = ""
    form: Mapping[str, str | list[str]] = field(default_factory=dict)
    form_ref: str = ""
    form_context: str = ""
    event_id: str = ""
    in_channel: bool = False

    @property
    def session_key(self) -> str:
        """The key of this person's conversation with the bot (one per platform identity)."""
        return f"{self.platform}:{self.tenant}:{self.user_id}"
