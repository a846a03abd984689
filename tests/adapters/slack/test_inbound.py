"""Slack payloads → Inbound, without the HTTP layer."""

from __future__ import annotations

from adapters.slack import inbound
from tests.adapters.slack.conftest import click


def test_a_home_tab_click_has_no_channel() -> None:
    parsed = inbound.from_block_action(click("retro:open", "DPT/17/2026"))
    assert parsed is not None
    assert parsed.conversation == "" and not parsed.in_channel
    assert (parsed.kind, parsed.action, parsed.value) == ("action", "retro:open", "DPT/17/2026")


def test_a_click_in_a_channel_is_in_channel() -> None:
    parsed = inbound.from_block_action(click("answer:emergency:no", "no", channel="C1"))
    assert parsed is not None and parsed.in_channel


def test_a_checkbox_tick_is_not_an_event() -> None:
    payload = click("pick:grounds", "", channel="D1")
    payload["actions"][0] = {"type": "checkboxes", "action_id": "pick:grounds"}
    assert inbound.from_block_action(payload) is None


def test_unreadable_private_metadata_gives_no_reference() -> None:
    body = {
        "user": {"id": "U1", "team_id": "T1"},
        "view": {"callback_id": "retro:submit", "private_metadata": "{oops", "state": {}},
    }
    parsed = inbound.from_view_submission(body)
    assert parsed.form_ref == "" and parsed.tenant == "T1" and parsed.form == {}


def test_commands_are_lower_cased_and_trimmed() -> None:
    body = {"user_id": "U1", "team_id": "T1", "text": "  Status ", "trigger_id": "t"}
    parsed = inbound.from_command(body, "D1")
    assert (parsed.text, parsed.conversation, parsed.event_id) == ("status", "D1", "t")
