"""Slack bodies: what is handed to Bolt, what is only acknowledged, what is refused as
unreadable. The accepted payloads are shaped like Slack's documented examples, with the
nulls Slack sends for inputs nobody filled in."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from adapters.slack.payloads import FORM, JSON, Unreadable, read

TEAM = "T0001"


def _event(event: dict[str, Any]) -> bytes:
    envelope = {
        "token": "x",
        "team_id": TEAM,
        "api_app_id": "A0OOH",
        "event": event,
        "type": "event_callback",
        "event_id": "Ev0001",
        "event_time": 1_700_000_000,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM,
                "user_id": "UBOT",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-eyJldCI6Im1lc3NhZ2UifQ",
    }
    return json.dumps(envelope).encode()


def _payload(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


DM = {
    "client_msg_id": "5e0c6d1e",
    "type": "message",
    "text": "hello",
    "user": "U0REQUEST",
    "ts": "1700000000.000100",
    "blocks": [{"type": "rich_text", "block_id": "x", "elements": []}],
    "team": TEAM,
    "channel": "D0DM",
    "event_ts": "1700000000.000100",
    "channel_type": "im",
}
CHECKBOXES = {
    "type": "checkboxes",
    "selected_options": [
        {"text": {"type": "plain_text", "text": "Public safety"}, "value": "public_safety"}
    ],
}
VIEW_STATE = {
    "values": {
        "decision:note": {"note": {"type": "plain_text_input", "value": None}},
        "decision:power": {"power": {"type": "static_select", "selected_option": None}},
        "retro:date": {"date": {"type": "datepicker", "selected_date": None}},
        "decision:disclosed": {"disclosed": CHECKBOXES},
        "rich": {"rich": {"type": "rich_text_input", "rich_text_value": {"type": "rich_text"}}},
    }
}
CLICK = {
    "type": "block_actions",
    "user": {"id": "U0SPOC", "username": "di.marsh", "name": "di.marsh", "team_id": TEAM},
    "api_app_id": "A0OOH",
    "token": "x",
    "container": {"type": "message", "message_ts": "1.2", "channel_id": "C0SPOC"},
    "trigger_id": "123.456.abc",
    "team": {"id": TEAM, "domain": "westshire"},
    "enterprise": None,
    "is_enterprise_install": False,
    "channel": {"id": "C0SPOC", "name": "spoc"},
    "message": {"type": "message", "ts": "1.2", "text": "A request needs you"},
    "state": {"values": {"b1": {"pick:grounds": CHECKBOXES}}},
    "response_url": "https://hooks.slack.com/actions/T0001/1/x",
    "actions": [
        {
            "action_id": "spoc:ack",
            "block_id": "b2",
            "text": {"type": "plain_text", "text": "Acknowledge"},
            "value": "DPT/17/2026",
            "type": "button",
            "action_ts": "1700000001.000200",
        }
    ],
}
VIEW: dict[str, Any] = {
    "id": "V0MODAL",
    "team_id": TEAM,
    "type": "modal",
    "blocks": [],
    "private_metadata": json.dumps({"ref": "DPT/17/2026", "context": "approve"}),
    "callback_id": "spoc:decision",
    "state": VIEW_STATE,
    "hash": "1.abc",
    "title": {"type": "plain_text", "text": "Decision", "emoji": True},
    "previous_view_id": None,
    "root_view_id": "V0MODAL",
    "app_id": "A0OOH",
    "bot_id": "B0OOH",
}
SUBMISSION = {
    "type": "view_submission",
    "team": {"id": TEAM, "domain": "westshire"},
    "user": {"id": "U0SPOC", "username": "di.marsh", "name": "di.marsh", "team_id": TEAM},
    "api_app_id": "A0OOH",
    "token": "x",
    "trigger_id": "123.456.def",
    "view": VIEW,
    "response_urls": [],
    "is_enterprise_install": False,
    "enterprise": None,
}
COMMAND = {
    "token": "x",
    "team_id": TEAM,
    "team_domain": "westshire",
    "channel_id": "C0GENERAL",
    "channel_name": "general",
    "user_id": "U0REQUEST",
    "user_name": "amara",
    "command": "/ooh",
    "text": "",
    "api_app_id": "A0OOH",
    "is_enterprise_install": "false",
    "response_url": "https://hooks.slack.com/commands/T0001/1/x",
    "trigger_id": "123.456.ghi",
}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (_event(DM), JSON),
        (_event({**DM, "subtype": "thread_broadcast"}), JSON),
        (
            _event({"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "channel": "C1"}),
            JSON,
        ),
        (_event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}), JSON),
        (json.dumps({"type": "url_verification", "challenge": "c-1", "token": "x"}).encode(), JSON),
        (_payload(CLICK), FORM),
        (_payload({**CLICK, "team": None, "channel": None}), FORM),
        (_payload(SUBMISSION), FORM),
        (_payload({**SUBMISSION, "view": {**VIEW, "private_metadata": ""}}), FORM),
        (urlencode(COMMAND).encode(), FORM),
    ],
    ids=[
        "dm",
        "thread-broadcast",
        "mention",
        "home",
        "url-verification",
        "click",
        "org-wide-click",
        "submission",
        "no-metadata",
        "command",
    ],
)
def test_what_slack_sends_is_handed_to_bolt(body: bytes, content_type: str) -> None:
    payload = read(body, content_type)
    assert payload.handled


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (_event({**DM, "subtype": "message_changed"}), JSON),
        (_event({**DM, "bot_id": "B0OTHER"}), JSON),
        (_event({**DM, "channel_type": "channel"}), JSON),
        (_event({"type": "reaction_added", "user": "U1", "reaction": "+1"}), JSON),
        (_event({"type": "app_home_opened", "user": "U1", "tab": "messages"}), JSON),
        (json.dumps({"type": "app_rate_limited", "minute_rate_limited": 1}).encode(), JSON),
        (_payload({**SUBMISSION, "type": "view_closed"}), FORM),
        (_payload({"type": "shortcut", "callback_id": "x", "trigger_id": "t"}), FORM),
        (urlencode({**COMMAND, "command": "/other"}).encode(), FORM),
        (b"ssl_check=1&token=x", FORM),
    ],
    ids=[
        "edit",
        "bot-message",
        "channel-message",
        "reaction",
        "messages-tab",
        "rate-limited",
        "view-closed",
        "shortcut",
        "other-command",
        "ssl-check",
    ],
)
def test_what_oohbot_does_not_handle_is_only_acknowledged(body: bytes, content_type: str) -> None:
    assert not read(body, content_type).handled


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"\xff\xfe", JSON, "not UTF-8"),
        (b"[" * 1000 + b"]" * 1000, JSON, "nested deeper"),
        (b"[]", JSON, "not a JSON object"),
        (b"payload=%5B%5D", FORM, "not a JSON object"),
        (b"a=b", FORM, "no payload and no command"),
        (json.dumps({"event": {}}).encode(), JSON, "type"),
        (_event({**DM, "user": 5}), JSON, "event.user"),
        (_event({key: value for key, value in DM.items() if key != "user"}), JSON, "event.user"),
        (_event({"type": "app_mention", "user": "U1"}), JSON, "event.channel"),
        (_payload({**CLICK, "actions": []}), FORM, "actions"),
        (_payload({**CLICK, "user": "U1"}), FORM, "user"),
        (
            _payload({**CLICK, "state": {"values": {"b": {"a": {"type": "x", "value": 1}}}}}),
            FORM,
            "state.values.b.a.value",
        ),
        (
            _payload({**SUBMISSION, "view": {**VIEW, "title": "x"}}),
            FORM,
            "view.title",
        ),
        (
            _payload({**SUBMISSION, "view": {**VIEW, "private_metadata": "[1]"}}),
            FORM,
            "view.private_metadata",
        ),
        (urlencode({**COMMAND, "user_id": ""}).encode(), FORM, "user_id"),
    ],
)
def test_unreadable_bodies_name_the_field_not_its_value(
    body: bytes, content_type: str, reason: str
) -> None:
    with pytest.raises(Unreadable) as refused:
        read(body, content_type)
    assert reason in str(refused.value)
    assert "U0REQUEST" not in str(refused.value) and "hello" not in str(refused.value)
