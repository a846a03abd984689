"""Activities: what Teams and the Emulator send is read; anything else is refused naming the
field, never its value. The accepted activities are shaped like the ones Teams posts."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.teams.activities import Unreadable, read

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
PERSONAL: dict[str, Any] = {
    "text": "hello",
    "textFormat": "plain",
    "type": "message",
    "timestamp": "2026-01-05T01:02:03.4567891Z",
    "localTimestamp": "2026-01-05T01:02:03.4567891+00:00",
    "id": "1704416523456",
    "channelId": "msteams",
    "serviceUrl": "https://smba.trafficmanager.net/uk/",
    "from": {"id": "29:1abc", "name": "Amara Okafor", "aadObjectId": "6f1c-aad"},
    "conversation": {"conversationType": "personal", "tenantId": TENANT, "id": "a:1xyz"},
    "recipient": {"id": "28:app-id", "name": "oohbot"},
    "entities": [{"locale": "en-GB", "platform": "Web", "type": "clientInfo"}],
    "channelData": {"tenant": {"id": TENANT}},
    "locale": "en-GB",
    "localTimezone": "Europe/London",
}
CHANNEL: dict[str, Any] = {
    **PERSONAL,
    "text": "<at>oohbot</at> status",
    "conversation": {
        "isGroup": True,
        "conversationType": "channel",
        "tenantId": TENANT,
        "id": "19:spoc@thread.tacv2;messageid=1704416523456",
    },
    "channelData": {
        "teamsChannelId": "19:spoc@thread.tacv2",
        "teamsTeamId": "19:team@thread.tacv2",
        "channel": {"id": "19:spoc@thread.tacv2"},
        "team": {"id": "19:team@thread.tacv2"},
        "tenant": {"id": TENANT},
    },
    "entities": [
        {"mentioned": {"id": "28:app-id", "name": "oohbot"}, "text": "<at>oohbot</at>"},
        {"type": "clientInfo", "locale": "en-GB"},
    ],
}
SUBMIT: dict[str, Any] = {
    **{key: value for key, value in PERSONAL.items() if key != "text"},
    "value": {"action": "spoc:approve", "ref": "DPT/17/2026"},
    "replyToId": "1704416500000",
}
UPDATE: dict[str, Any] = {
    **{key: value for key, value in CHANNEL.items() if key not in {"text", "entities", "id"}},
    "type": "conversationUpdate",
    "membersAdded": [{"id": "28:app-id"}],
}
INSTALL: dict[str, Any] = {
    **{key: value for key, value in PERSONAL.items() if key != "text"},
    "type": "installationUpdate",
    "action": "add",
    "channelData": {"source": {"name": "message"}, "tenant": {"id": TENANT}},
}
EMULATOR: dict[str, Any] = {
    "type": "message",
    "id": "c1d2e3",
    "serviceUrl": "http://localhost:56789",
    "channelId": "emulator",
    "from": {"id": "user-1", "name": "User", "role": "user"},
    "recipient": {"id": "bot-1", "name": "Bot", "role": "bot"},
    "conversation": {"id": "conv-1|livechat"},
    "timestamp": "2026-01-05T01:02:03.456Z",
    "locale": "en-US",
    "text": "hi",
    "entities": [{"type": "ClientCapabilities", "requiresBotState": True}],
}


@pytest.mark.parametrize(
    "body",
    [PERSONAL, CHANNEL, SUBMIT, UPDATE, INSTALL, EMULATOR],
    ids=["personal", "channel", "submit", "update", "install", "emulator"],
)
def test_what_teams_sends_is_read(body: dict[str, Any]) -> None:
    activity = read(body)
    assert activity.type == body["type"] and activity.service_url == body["serviceUrl"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([PERSONAL], "not a JSON object"),
        ({**PERSONAL, "type": ""}, "type"),
        ({**PERSONAL, "from": "Amara Okafor"}, "from"),
        ({**PERSONAL, "from": {"name": "Amara Okafor"}}, "from.id"),
        ({key: v for key, v in PERSONAL.items() if key != "conversation"}, "conversation"),
        ({key: v for key, v in PERSONAL.items() if key != "id"}, "id"),
        ({**PERSONAL, "text": ["hello"]}, "text"),
        ({**PERSONAL, "channelData": {"tenant": TENANT}}, "channelData.tenant"),
        ({**PERSONAL, "conversation": {"id": "a:1", "isGroup": "no"}}, "conversation.isGroup"),
        ({**PERSONAL, "serviceUrl": "file:///etc/passwd"}, "serviceUrl"),
        ({**PERSONAL, "serviceUrl": "http://[::1"}, "serviceUrl"),
        ({**PERSONAL, "timestamp": "5 minutes ago"}, "not a Bot Framework activity"),
        ({**PERSONAL, "entities": "clientInfo"}, "entities"),
    ],
)
def test_what_is_not_an_activity_is_refused_naming_the_field(body: Any, reason: str) -> None:
    with pytest.raises(Unreadable) as refused:
        read(body)
    assert reason in str(refused.value)
    assert "Amara" not in str(refused.value) and TENANT not in str(refused.value)
