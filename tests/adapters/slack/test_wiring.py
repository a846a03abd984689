"""POST /slack/events through the real aiohttp app and Bolt, signed like Slack signs."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from adapters.base import NotStored
from flows.inbound import Inbound
from flows.messages import Action, Card, CardField, Choice, Form, FormField, Message, Question, Text
from tests.adapters.slack.conftest import SPOC_CHANNEL, USER, Slack, click, submission
from tests.e2e.slack_recorder import TEAM

CANARY = "Zqxjvonkle"


async def _until(condition: object, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not callable(condition) or not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


# --- signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "age"), [("wrong-secret", 0), ("test-signing-secret", 301)], ids=["bad", "stale"]
)
async def test_unsigned_requests_are_refused_without_logging_the_body(
    slack: Slack,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    secret: str,
    age: int,
) -> None:
    caplog.set_level(logging.DEBUG)
    status = await slack.dm(f"{CANARY} lives at 17 Quillon Mews", secret=secret, age=age)
    await asyncio.sleep(0.1)
    assert status == 401
    assert slack.handler.inbounds == []
    logged = caplog.text + "".join(capsys.readouterr())
    assert CANARY not in logged and "Quillon" not in logged


async def test_a_request_without_a_timestamp_is_refused(slack: Slack) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-1"})
    for headers in ({}, {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=1"}):
        response = await slack.client.post("/slack/events", data=body, headers=headers)
        assert response.status == 401, headers
        assert await response.json() == {"error": "invalid request"}


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ('{"type": "event_callback", "event": {"type": "message"}}', "application/json", 400),
        ("[" * 5_000 + "]" * 5_000, "application/json", 400),
        ("payload=" + "%5B" * 5_000, "application/x-www-form-urlencoded", 400),
        (json.dumps({"type": "event_callback"}), "text/plain", 415),
    ],
    ids=["missing-fields", "deep", "deep-payload", "not-json-or-form"],
)
async def test_a_signed_body_that_cannot_be_read_is_a_short_4xx(
    slack: Slack, body: str, content_type: str, status: int
) -> None:
    answer, text = await slack.post(body, content_type)
    assert (answer, len(text) < 300, "Traceback" in text) == (status, True, False)
    assert slack.handler.inbounds == []


async def test_a_malformed_event_names_the_field_and_logs_nothing_personal(
    slack: Slack, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    event = {"type": "message", "channel_type": "im", "channel": "D1", "user": 7}
    assert await slack.event({**event, "text": f"{CANARY} lives at 17 Quillon Mews"}) == 400
    logged = caplog.text + "".join(capsys.readouterr())
    assert "event.user" in logged and CANARY not in logged and "Quillon" not in logged


async def test_what_oohbot_does_not_handle_is_acknowledged_so_slack_does_not_retry(
    slack: Slack,
) -> None:
    assert await slack.event({"type": "reaction_added", "user": USER, "reaction": "+1"}) == 200
    status, _ = await slack.interaction({"type": "view_closed", "user": {"id": USER}})
    assert status == 200
    status, _ = await slack.post("ssl_check=1&token=x", "application/x-www-form-urlencoded")
    assert status == 200
    await asyncio.sleep(0.1)
    assert slack.handler.inbounds == []


async def test_url_verification_answers_the_challenge(slack: Slack) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"})
    status, text = await slack.post(body, "application/json")
    assert status == 200 and "c-123" in text


# --- direct messages and mentions -------------------------------------------------------------


async def test_a_direct_message_reaches_the_engine_and_the_reply_the_dm(slack: Slack) -> None:
    slack.handler.reply = lambda _: [Text("Is anyone in immediate danger?", "oohbot asks")]
    assert await slack.dm("hello &lt;there&gt; <mailto:a@b.uk|a@b.uk>", event_id="Ev1") == 200
    posts = await slack.recorder.wait_for("chat.postMessage")
    [inbound] = slack.handler.inbounds
    assert inbound == Inbound(
        platform="slack",
        user_id=USER,
        tenant=TEAM,
        conversation="D0REQUEST",
        kind="text",
        text="hello <there> a@b.uk",
        event_id="Ev1",
    )
    assert posts[0].params["channel"] == "D0REQUEST"
    assert posts[0].params["text"] == "oohbot asks"


async def test_bot_messages_and_edits_are_ignored(slack: Slack) -> None:
    base = {"type": "message", "channel_type": "im", "channel": "D1", "user": USER, "text": "x"}
    await slack.event({**base, "bot_id": "BBOT"})
    await slack.event({**base, "subtype": "message_changed"})
    await slack.event({**base, "channel_type": "channel", "channel": "C1"})
    await asyncio.sleep(0.2)
    assert slack.handler.inbounds == []


async def test_the_same_event_redelivered_carries_the_same_event_id(slack: Slack) -> None:
    for attempt in range(3):
        headers = {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"}
        assert await slack.dm("hello", event_id="EvSame", headers=headers if attempt else None)
    await _until(lambda: len(slack.handler.inbounds) == 3)
    assert {i.event_id for i in slack.handler.inbounds} == {"EvSame"}


async def test_a_mention_in_a_channel_is_marked_and_answered_privately(slack: Slack) -> None:
    slack.handler.reply = lambda _: [Text("Send me a direct message to start.")]
    event = {"type": "app_mention", "channel": "C0GENERAL", "user": USER, "text": "<@UBOT> hi"}
    await slack.event(event)
    [ephemeral] = await slack.recorder.wait_for("chat.postEphemeral")
    [inbound] = slack.handler.inbounds
    assert inbound.in_channel and inbound.conversation == "C0GENERAL" and inbound.text == ""
    assert ephemeral.params["user"] == USER and ephemeral.params["channel"] == "C0GENERAL"
    assert not slack.recorder.of("chat.postMessage")


# --- slash command ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "status", "forms", "help"])
async def test_the_slash_command_continues_in_the_dm(slack: Slack, text: str) -> None:
    slack.handler.reply = lambda _: [Text("Hello")]
    status, body = await slack.command(text)
    assert status == 200 and "direct message" in body
    posts = await slack.recorder.wait_for("chat.postMessage")
    [inbound] = slack.handler.inbounds
    assert inbound.text == text and inbound.kind == "text" and not inbound.in_channel
    assert inbound.event_id == f"trig.command.{text or 'start'}"
    assert inbound.conversation == posts[0].params["channel"] == "D0REQUEST"
    assert slack.recorder.of("conversations.open")[0].params["users"] == USER


# --- clicks -----------------------------------------------------------------------------------


async def test_an_answer_button_becomes_an_action(slack: Slack) -> None:
    await slack.interaction(click("answer:emergency:no", "no", channel="D0REQUEST"))
    await _until(lambda: bool(slack.handler.inbounds))
    [inbound] = slack.handler.inbounds
    assert (inbound.kind, inbound.action, inbound.value) == ("action", "answer:emergency:no", "no")
    assert inbound.event_id == "trig.click" and not inbound.in_channel


async def test_continue_under_checkboxes_submits_the_ticked_options(slack: Slack) -> None:
    state = {
        "choices:grounds": {
            "pick:grounds": {
                "type": "checkboxes",
                "selected_options": [{"value": "health_threat"}, {"value": "public_safety"}],
            }
        }
    }
    tick = click("pick:grounds", "", channel="D0REQUEST")
    tick["actions"][0] = {"type": "checkboxes", "action_id": "pick:grounds", "selected_options": []}
    await slack.interaction(tick)
    await slack.interaction(click("answer:grounds", "continue", channel="D0REQUEST", state=state))
    await _until(lambda: bool(slack.handler.inbounds))
    await asyncio.sleep(0.1)
    [inbound] = slack.handler.inbounds
    assert inbound.kind == "form" and inbound.action == "answer:grounds"
    assert inbound.form == {"grounds": ["health_threat", "public_safety"]}


def _decision_form(ref: str, context: str, hint: str = "") -> Form:
    note = FormField("note", "What was disclosed, or why not", "long_text", hint=hint)
    return Form("spoc:decision", "Approve DPT/17/2026", ref, (note,), "Approve", context)


async def test_a_form_reply_to_a_click_opens_a_modal(slack: Slack) -> None:
    slack.handler.reply = lambda _: [_decision_form("DPT/17/2026", "approve")]
    status, _ = await slack.interaction(
        click("spoc:approve", "DPT/17/2026", user="U0SPOC", channel=SPOC_CHANNEL, trigger="t-9")
    )
    assert status == 200
    [opened] = await slack.recorder.wait_for("views.open")
    view = opened.params["view"]
    assert opened.params["trigger_id"] == "t-9"
    assert view["callback_id"] == "spoc:decision"
    assert view["blocks"][0]["block_id"] == "decision:note"
    assert view["blocks"][0]["element"]["action_id"] == "note"
    assert json.loads(view["private_metadata"]) == {"ref": "DPT/17/2026", "context": "approve"}
    [inbound] = slack.handler.inbounds
    assert (inbound.action, inbound.value, inbound.in_channel) == (
        "spoc:approve",
        "DPT/17/2026",
        True,
    )


async def test_a_refusal_after_a_channel_click_is_shown_only_to_the_clicker(slack: Slack) -> None:
    slack.handler.reply = lambda _: [Text("You are not authorised to do that.")]
    await slack.interaction(click("spoc:approve", "DPT/17/2026", user="U0X", channel=SPOC_CHANNEL))
    [ephemeral] = await slack.recorder.wait_for("chat.postEphemeral")
    assert ephemeral.params["user"] == "U0X" and ephemeral.params["channel"] == SPOC_CHANNEL
    assert not slack.recorder.of("chat.postMessage")


async def test_details_from_a_channel_click_go_to_the_clickers_dm(slack: Slack) -> None:
    details = Card("details:DPT/17/2026", "DPT/17/2026", (CardField("Surname", CANARY),))
    slack.handler.reply = lambda _: [details]
    await slack.interaction(click("spoc:details", "DPT/17/2026", user="U0SPOC", channel="C0SPOC"))
    [post] = await slack.recorder.wait_for("chat.postMessage")
    assert post.params["channel"] == "D0SPOC" and CANARY not in post.params["text"]
    assert not slack.recorder.of("chat.postEphemeral")


# --- modal submissions -------------------------------------------------------------------------


def _note(text: str) -> dict[str, dict[str, object]]:
    return {"decision:note": {"note": {"type": "plain_text_input", "value": text}}}


async def test_a_decision_submission_becomes_a_form_inbound(slack: Slack) -> None:
    meta = {"ref": "DPT/17/2026", "context": "decline"}
    status, body = await slack.interaction(submission("spoc:decision", _note("No trace"), meta))
    assert status == 200 and "response_action" not in body
    [inbound] = slack.handler.inbounds
    assert inbound.kind == "form" and inbound.action == "spoc:decision"
    assert inbound.form == {"note": "No trace"}
    assert (inbound.form_ref, inbound.form_context) == ("DPT/17/2026", "decline")


async def test_a_form_answer_to_a_submission_updates_the_modal(slack: Slack) -> None:
    slack.handler.reply = lambda _: [_decision_form("DPT/17/2026", "approve", "A note is needed")]
    meta = {"ref": "DPT/17/2026", "context": "approve"}
    status, body = await slack.interaction(submission("spoc:decision", _note(""), meta))
    answer = json.loads(body)
    assert status == 200 and answer["response_action"] == "update"
    assert answer["view"]["blocks"][0]["hint"]["text"] == "A note is needed"


async def test_a_text_answer_to_a_submission_is_shown_in_the_modal(slack: Slack) -> None:
    slack.handler.reply = lambda _: [Text("You are not authorised to do that.")]
    meta = {"ref": "DPT/17/2026", "context": "approve"}
    _, body = await slack.interaction(submission("spoc:decision", _note("x"), meta, user="U0X"))
    answer = json.loads(body)
    assert answer["response_action"] == "update"
    assert "not authorised" in json.dumps(answer["view"])


async def test_a_retro_submission_keys_values_by_field(slack: Slack) -> None:
    values: dict[str, dict[str, Any]] = {
        "retro:subject.last_name": {
            "subject.last_name": {"type": "plain_text_input", "value": CANARY}
        },
        "retro:grounds": {
            "grounds": {"type": "checkboxes", "selected_options": [{"value": "public_safety"}]}
        },
        "retro:consent": {
            "consent": {"type": "static_select", "selected_option": {"value": "obtained"}}
        },
    }
    await slack.interaction(submission("retro:submit", values, {"ref": "DPT/17/2026"}))
    [inbound] = slack.handler.inbounds
    assert inbound.action == "retro:submit" and inbound.form_ref == "DPT/17/2026"
    assert inbound.form == {
        "subject.last_name": CANARY,
        "grounds": ["public_safety"],
        "consent": "obtained",
    }


# --- App Home ---------------------------------------------------------------------------------


async def test_app_home_publishes_the_engines_cards(slack: Slack) -> None:
    retro = Action("retro:open", "Submit form", "DPT/17/2026", "primary")
    card = Card("home:mine:amara", "My requests", (), (retro,))
    slack.handler.home_reply = [card]
    await slack.event({"type": "app_home_opened", "user": USER, "tab": "home", "channel": "D1"})
    [published] = await slack.recorder.wait_for("views.publish")
    assert slack.handler.homes == [("slack", USER, TEAM)]
    assert published.params["user_id"] == USER
    [actions] = [b for b in published.params["view"]["blocks"] if b["type"] == "actions"]
    assert actions["elements"][0]["action_id"] == "retro:open"


# --- the sender -------------------------------------------------------------------------------


async def test_send_returns_a_handle_and_update_calls_chat_update(slack: Slack) -> None:
    from adapters.base import Address

    card = Card("spoc:DPT/17/2026", "Urgent request DPT/17/2026", notification="New request")
    handle = await slack.sender.send(Address("slack", "channel", SPOC_CHANNEL), card)
    assert handle is not None and handle["platform"] == "slack"
    assert handle["channel"] == SPOC_CHANNEL and handle["ts"]
    await slack.sender.update(handle, Card(card.card_id, card.title, status="Approved"))
    [update] = slack.recorder.of("chat.update")
    assert update.params["ts"] == handle["ts"] and update.params["channel"] == SPOC_CHANNEL
    assert "Approved" in json.dumps(update.params["blocks"])


async def test_a_direct_send_opens_the_dm_once(slack: Slack) -> None:
    from adapters.base import Address

    question = Question("emergency", "Is anyone in danger?", (Choice("yes", "Yes"),))
    for _ in range(2):
        await slack.sender.send(Address("slack", "user", "U0SPOC", TEAM), question)
    assert len(slack.recorder.of("conversations.open")) == 1
    assert [c.channel() for c in slack.recorder.of("chat.postMessage")] == ["D0SPOC", "D0SPOC"]


async def test_unreachable_people_raise_unreachable(slack: Slack) -> None:
    from adapters.base import Address, Unreachable

    slack.recorder.fail_next("conversations.open", error="user_not_found")
    with pytest.raises(Unreachable):
        await slack.sender.send(Address("slack", "user", "U0GONE", TEAM), Text("hi"))


async def test_429_is_retried_after_retry_after(slack: Slack) -> None:
    from adapters.base import Address

    slack.recorder.fail_next("chat.postMessage", status=429, retry_after=1)
    message: Message = Text("hi")
    handle = await slack.sender.send(Address("slack", "channel", SPOC_CHANNEL), message)
    first, second = slack.recorder.of("chat.postMessage")
    assert handle is not None and second.at - first.at >= 1.0


async def test_5xx_is_retried(slack: Slack) -> None:
    from adapters.base import Address

    slack.recorder.fail_next("chat.postMessage", status=503)
    handle = await slack.sender.send(Address("slack", "channel", SPOC_CHANNEL), Text("hi"))
    assert handle is not None and len(slack.recorder.of("chat.postMessage")) == 2


# --- failures ---------------------------------------------------------------------------------


async def test_an_engine_failure_shows_an_error_id_and_logs_no_text(
    slack: Slack, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(_: Inbound) -> list[Message]:
        raise RuntimeError(f"boom {CANARY}")

    caplog.set_level(logging.DEBUG)
    slack.handler.reply = explode
    await slack.dm(f"{CANARY} lives at 17 Quillon Mews")
    [post] = await slack.recorder.wait_for("chat.postMessage")
    assert "Error id" in json.dumps(post.params["blocks"])
    logged = caplog.text + "".join(capsys.readouterr())
    assert CANARY not in logged and "Quillon" not in logged


@pytest.mark.parametrize("kind", ["dm", "command", "click", "submission"])
async def test_an_event_the_inbox_cannot_store_is_refused_so_slack_sends_it_again(
    slack: Slack, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    async def down(_: Inbound) -> None:
        raise NotStored("ConnectionError")

    monkeypatch.setattr(slack.handler, "receive", down)
    status, text = await _send(slack, kind)
    assert status == 500 and len(text) < 300
    assert slack.recorder.of("chat.postMessage") == []


@pytest.mark.parametrize("kind", ["dm", "command", "click", "submission"])
async def test_an_unforeseen_error_is_a_500_with_an_error_id_and_nothing_personal_logged(
    slack: Slack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    async def broken(_: Inbound) -> None:
        raise RuntimeError(f"boom {CANARY}")

    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(slack.handler, "receive", broken)
    status, text = await _send(slack, kind)
    error_id = json.loads(text)["error_id"]
    logged = caplog.text + "".join(capsys.readouterr())
    assert status == 500 and error_id in logged and CANARY not in logged


async def _send(slack: Slack, kind: str) -> tuple[int, str]:
    if kind == "dm":
        event = {"type": "message", "channel_type": "im", "channel": "D1", "user": USER}
        envelope = {"type": "event_callback", "team_id": TEAM, "event_id": "Ev1", "event": event}
        return await slack.post(json.dumps(envelope), "application/json")
    if kind == "command":
        return await slack.command("")
    if kind == "click":
        return await slack.interaction(click("spoc:ack", "DPT/1/2026", channel=SPOC_CHANNEL))
    note = {"decision:note": {"note": {"type": "plain_text_input", "value": "x"}}}
    return await slack.interaction(submission("spoc:decision", note, {"ref": "DPT/1/2026"}))


async def test_a_slow_engine_closes_the_modal_and_answers_by_dm(
    slack: Slack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import adapters.slack.app as slack_app

    monkeypatch.setattr(slack_app, "VIEW_DEADLINE", 0.05)
    original = slack.handler.handle

    async def slow(inbound: Inbound) -> list[Message]:
        await asyncio.sleep(0.3)
        await original(inbound)
        return [Text("Decision recorded.")]

    slack.handler.handle = slow  # type: ignore[method-assign]
    meta = {"ref": "DPT/17/2026", "context": "approve"}
    status, body = await slack.interaction(submission("spoc:decision", _note("x"), meta))
    assert status == 200 and "response_action" not in body
    [post] = await slack.recorder.wait_for("chat.postMessage")
    assert post.params["channel"] == "D0REQUEST"


async def test_a_refusal_where_the_bot_cannot_post_goes_to_the_dm(slack: Slack) -> None:
    slack.handler.reply = lambda _: [Text("You are not authorised to do that.")]
    slack.recorder.fail_next("chat.postEphemeral", error="not_in_channel")
    await slack.interaction(click("spoc:approve", "DPT/17/2026", user="U0X", channel="C0OTHER"))
    [post] = await slack.recorder.wait_for("chat.postMessage")
    assert post.params["channel"] == "D0X"
