"""Bot Framework message activities → ``Inbound``.

Typed text becomes ``kind="text"`` (with the bot's ``<at>`` mention removed in channels); an
``Action.Submit`` click becomes ``kind="action"`` (a choice or a card button) or
``kind="form"`` (a multi-choice Continue, the decision note card, the retrospective form), as
laid out in ``adapters.teams.cards``. The activity id is the ``event_id``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from botbuilder.schema import Activity

from adapters.teams.references import channel_of, conversation_type, tenant_of
from flows.ids import answer_id
from flows.inbound import Inbound

_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)


def to_inbound(activity: Activity) -> Inbound | None:
    """The neutral event for a message activity, or None if it carries nothing to act on."""
    data = activity.value if isinstance(activity.value, dict) else None
    base = _base(activity)
    if data is not None and data.get("action"):
        return _submission(base, cast(dict[str, Any], data))
    text = _MENTION.sub("", activity.text or "").strip()
    if not text:
        return None
    return Inbound(**base, kind="text", text=text)


def _base(activity: Activity) -> dict[str, Any]:
    user = activity.from_property
    user_id = (user.aad_object_id or user.id or "") if user is not None else ""
    kind = conversation_type(activity)
    conversation = channel_of(activity) if kind == "channel" else activity.conversation.id
    return {
        "platform": "teams",
        "user_id": str(user_id),
        "tenant": tenant_of(activity),
        "conversation": str(conversation or ""),
        "event_id": str(activity.id or ""),
        "in_channel": kind != "personal",
    }


def _submission(base: dict[str, Any], data: Mapping[str, Any]) -> Inbound:
    action = str(data["action"])
    if "prefix" in data:
        return Inbound(
            **base,
            kind="form",
            action=action,
            form=_form_values(data),
            form_ref=str(data.get("ref", "")),
            form_context=str(data.get("context", "")),
        )
    if action == "pick":  # one choice list standing for a card's field buttons (cards._facts)
        action_id, _, value = str(data.get("pick", "")).partition("|")
        return Inbound(**base, kind="action", action=action_id, value=value)
    field = str(data.get("field", ""))
    if field and action == answer_id(field):
        chosen = _split(data.get(answer_id(field), ""))
        return Inbound(**base, kind="form", action=action, form={field: chosen})
    value = data.get("option", data.get("ref", data.get("value", "")))
    return Inbound(**base, kind="action", action=action, value=str(value))


def _form_values(data: Mapping[str, Any]) -> dict[str, str | list[str]]:
    prefix = f"{data['prefix']}:"
    raw_multi = data.get("multi")
    multi = {str(k) for k in raw_multi} if isinstance(raw_multi, list) else set()
    values: dict[str, str | list[str]] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not key.startswith(prefix):
            continue
        name = key.removeprefix(prefix)
        values[name] = _split(value) if name in multi else _plain(value)
    return values


def _split(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if str(v)]
    return [part for part in (p.strip() for p in _plain(value).split(",")) if part]


def _plain(value: object) -> str:
    return "" if value is None else str(value)
