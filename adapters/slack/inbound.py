"""Slack payloads → ``Inbound``. Pure functions over the parsed JSON bodies Bolt hands us.

``event_id`` de-duplicates redeliveries in the engine: the Events API ``event_id`` for events
and the ``trigger_id`` (unique per click, command or submission) for everything else.
"""

from __future__ import annotations

from typing import Any

from adapters.http_input import BadJson, parse_json
from adapters.slack.escape import to_plain
from flows.ids import ANSWER
from flows.inbound import Inbound

Body = dict[str, Any]
FormValues = dict[str, str | list[str]]
TYPED_SUBTYPES = frozenset({"", "thread_broadcast"})


def _team(body: Body) -> str:
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    if isinstance(team, str) and team:
        return team
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return str(user["team_id"])
    return str(body.get("team_id") or "")


def is_person_dm(event: Body) -> bool:
    """A direct message typed by a person (not a bot, not an edit or deletion)."""
    return (
        event.get("type") == "message"
        and event.get("channel_type") == "im"
        and not event.get("bot_id")
        and str(event.get("subtype") or "") in TYPED_SUBTYPES
        and bool(event.get("user"))
    )


def from_dm(body: Body) -> Inbound:
    """A direct message to the bot."""
    event: Body = body["event"]
    return Inbound(
        platform="slack",
        user_id=str(event["user"]),
        tenant=str(body.get("team_id") or event.get("team") or ""),
        conversation=str(event["channel"]),
        kind="text",
        text=to_plain(str(event.get("text") or "")).strip(),
        event_id=str(body.get("event_id") or ""),
    )


def from_mention(body: Body) -> Inbound:
    """An @-mention in a channel: marked ``in_channel`` so nothing personal is gathered there."""
    event: Body = body["event"]
    return Inbound(
        platform="slack",
        user_id=str(event.get("user") or ""),
        tenant=str(body.get("team_id") or event.get("team") or ""),
        conversation=str(event.get("channel") or ""),
        kind="text",
        text="",
        event_id=str(body.get("event_id") or ""),
        in_channel=True,
    )


def from_command(body: Body, dm_channel: str) -> Inbound:
    """``/ooh [status|forms|help|…]``: continues the conversation in the bot's DM."""
    return Inbound(
        platform="slack",
        user_id=str(body["user_id"]),
        tenant=_team(body),
        conversation=dm_channel,
        kind="text",
        text=str(body.get("text") or "").strip().lower(),
        event_id=str(body.get("trigger_id") or ""),
    )


def click_channel(body: Body) -> str:
    """Where a clicked message lives ('' for Home tab and modal clicks)."""
    channel = body.get("channel")
    if isinstance(channel, dict) and channel.get("id"):
        return str(channel["id"])
    container = body.get("container") or {}
    return str(container.get("channel_id") or "")


def is_dm_channel(channel: str) -> bool:
    return channel.startswith("D")


def from_block_action(body: Body) -> Inbound | None:
    """A button click; a Continue under checkboxes becomes a form. Ticks return None."""
    action: Body = body["actions"][0]
    action_id = str(action.get("action_id") or "")
    if action.get("type") != "button":
        return None
    channel = click_channel(body)
    common: dict[str, Any] = {
        "platform": "slack",
        "user_id": str(body["user"]["id"]),
        "tenant": _team(body),
        "conversation": channel,
        "event_id": str(body.get("trigger_id") or action.get("action_ts") or ""),
        "in_channel": bool(channel) and not is_dm_channel(channel),
    }
    if action_id.startswith(f"{ANSWER}:") and action_id.count(":") == 1:
        field = action_id.removeprefix(f"{ANSWER}:")
        picked = _picked(body, field)
        return Inbound(kind="form", action=action_id, form={field: picked}, **common)
    return Inbound(kind="action", action=action_id, value=str(action.get("value") or ""), **common)


def _picked(body: Body, field: str) -> list[str]:
    values: Body = (body.get("state") or {}).get("values") or {}
    picked: list[str] = []
    for elements in values.values():
        for action_id, element in elements.items():
            if action_id == f"pick:{field}" or action_id.startswith(f"pick:{field}:"):
                picked += [str(o["value"]) for o in element.get("selected_options") or []]
    return picked


def from_view_submission(body: Body) -> Inbound:
    """A modal submitted: values keyed by the input's ``action_id`` (the field key)."""
    view: Body = body["view"]
    meta = _metadata(str(view.get("private_metadata") or ""))
    return Inbound(
        platform="slack",
        user_id=str(body["user"]["id"]),
        tenant=_team(body),
        conversation="",
        kind="form",
        action=str(view.get("callback_id") or ""),
        form=view_values(view),
        form_ref=meta.get("ref", ""),
        form_context=meta.get("context", ""),
        event_id=str(body.get("trigger_id") or view.get("id") or ""),
    )


def _metadata(raw: str) -> dict[str, str]:
    try:
        data = parse_json(raw) if raw else {}
    except BadJson:
        return {}
    return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def view_values(view: Body) -> FormValues:
    """``view.state.values`` → {field key: text or list of option keys}."""
    values: Body = (view.get("state") or {}).get("values") or {}
    form: FormValues = {}
    for elements in values.values():
        for action_id, element in elements.items():
            form[str(action_id)] = _element_value(element)
    return form


def _element_value(element: Body) -> str | list[str]:
    kind = element.get("type")
    if kind in {"checkboxes", "multi_static_select"}:
        return [str(o["value"]) for o in element.get("selected_options") or []]
    if kind in {"static_select", "radio_buttons"}:
        option = element.get("selected_option") or {}
        return str(option.get("value") or "")
    if kind == "datepicker":
        return str(element.get("selected_date") or "")
    return str(element.get("value") or "")
