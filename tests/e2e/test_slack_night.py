"""The whole night on Slack: the production aiohttp application (``bot.app.build_app``) with a
SQLite store and a frozen clock, Slack played by signed HTTP requests to ``/slack/events`` and
a local recording Web API (``slack.api_url``). Nothing of ours is mocked.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import WORKER, build_app
from bot.clock import FrozenClock
from bot.config import parse_settings
from bot.directory import load_directory
from flows.request import Request
from store.base import Store
from tests.adapters.slack.conftest import signature
from tests.decision_values import for_action, slack_state
from tests.e2e.slack_recorder import (
    TEAM,
    Call,
    SlackRecorder,
    dm_envelope,
    running_recorder,
)
from tests.e2e.slack_recorder import (
    dm_of as dm_of,  # re-exported: the night tests reach it through this module
)
from tests.night import ANSWERS, CANARY_VALUES, SATURDAY_2AM, TIMERS, open_test_store
from tests.platform_checks import CHECKER

ROOT = Path(__file__).resolve().parents[2]
SECRET = "e2e-signing-secret"
SPOC_CHANNEL = "C0SPOC"
REF = re.compile(r"DPT/\d{2,}/2026")
SLACK_IDS = {
    "amara.okafor": "UAMARA",
    "tom.reyes": "UTOM",
    "gwen.hollis": "UGWEN",
    "ifan.price": "UIFAN",
    "di.marsh": "UDIMARSH",
    "ds.kellow": "UKELLOW",
    "duty.inspector": "UDUTY",
}
AMARA, GWEN, MARSH, KELLOW = "UAMARA", "UGWEN", "UDIMARSH", "UKELLOW"
# What arrives from Slack when someone types these characters: Slack escapes them.
HOSTILE_SUMMARY = "Threatened staff &lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|x&gt;"


def _directory(tmp_path: Path) -> Path:
    raw = yaml.safe_load((ROOT / "directory.example.yaml").read_text(encoding="utf-8"))
    for officer in raw["officers"]:
        officer["slack"] = {"user": SLACK_IDS[officer["id"]], "team": TEAM}
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


class SlackNight:
    """Slack as a person and the workspace see it: signed requests in, recorded calls out."""

    def __init__(
        self,
        client: TestClient[web.Request, web.Application],
        recorder: SlackRecorder,
        clock: FrozenClock,
        store: Store,
    ) -> None:
        self.client, self.recorder, self.clock, self.store = client, recorder, clock, store
        self.count = 0

    # --- requests Slack sends ----------------------------------------------------------------

    async def _post(self, body: str, content_type: str, **headers: str) -> tuple[int, str]:
        timestamp = int(time.time())
        signed = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature(body, timestamp, SECRET),
            **headers,
        }
        response = await self.client.post("/slack/events", data=body, headers=signed)
        return response.status, await response.text()

    def _next(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count:05d}"

    async def dm(self, user: str, text: str, event_id: str = "", **headers: str) -> None:
        envelope = dm_envelope(user, text, event_id or self._next("Ev"))
        status, _ = await self._post(json.dumps(envelope), "application/json", **headers)
        assert status == 200

    async def click(
        self,
        user: str,
        action_id: str,
        value: str,
        channel: str,
        state: dict[str, Any] | None = None,
    ) -> str:
        trigger = self._next("trig.")
        payload = {
            "type": "block_actions",
            "user": {"id": user, "team_id": TEAM},
            "team": {"id": TEAM},
            "trigger_id": trigger,
            "channel": {"id": channel},
            "container": {"type": "message", "channel_id": channel, "message_ts": "1.1"},
            "actions": [
                {"type": "button", "action_id": action_id, "value": value, "action_ts": "1.2"}
            ],
            "state": {"values": state or {}},
        }
        status, _ = await self._post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )
        assert status == 200
        return trigger

    async def submit(self, user: str, view: dict[str, Any], values: dict[str, Any]) -> Any:
        payload = {
            "type": "view_submission",
            "user": {"id": user, "team_id": TEAM},
            "team": {"id": TEAM},
            "trigger_id": self._next("trig."),
            "view": {**view, "id": "V1", "state": {"values": values}},
        }
        status, body = await self._post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )
        assert status == 200
        answer = json.loads(body) if body.startswith("{") else {}
        CHECKER.record_slack_ack(answer)
        return answer

    # --- waiting and reading ------------------------------------------------------------------

    async def settled(self, since: int) -> list[Call]:
        """Wait for the calls caused by the last request; return them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5

        def answered() -> bool:  # Bolt's own auth.test is not the bot's answer
            return any(c.method != "auth.test" for c in self.recorder.calls[since:])

        while not answered() and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await self.recorder.settle(quiet=0.15)
        return self.recorder.calls[since:]

    async def advance(self, delta: timedelta) -> None:
        since = len(self.recorder.calls)
        self.clock.advance(delta)
        await self.client.app[WORKER].drain()
        await self.recorder.settle(quiet=0.05)
        assert len(self.recorder.calls) >= since

    def posts_to(self, channel: str, calls: list[Call] | None = None) -> list[Call]:
        calls = self.recorder.calls if calls is None else calls
        return [c for c in calls if c.method == "chat.postMessage" and c.channel() == channel]

    async def request(self, user: str, answers: dict[str, str]) -> list[Call]:
        """Hold the whole conversation in the DM: buttons, checkboxes and typing."""
        since = len(self.recorder.calls)
        await self.dm(user, "hello")
        calls = await self.settled(since)
        for _ in range(60):
            field = _asked(self.posts_to(dm_of(user), calls))
            if field is None:
                return calls
            since = len(self.recorder.calls)
            await self._answer(user, field, answers[field])
            calls = await self.settled(since)
        raise AssertionError("the conversation did not end")

    async def _answer(self, user: str, field: str, answer: str) -> None:
        if field == "emergency":
            await self.click(user, f"answer:{field}:{answer}", answer, dm_of(user))
        elif field == "grounds":
            picked = [{"value": "health_threat"}, {"value": "injury_prevention"}]
            state = {
                f"choices:{field}": {
                    f"pick:{field}": {"type": "checkboxes", "selected_options": picked}
                }
            }
            await self.click(user, f"answer:{field}", "continue", dm_of(user), state)
        elif field == "review":
            for attempt in range(3):  # Slack redelivers: the same event three times
                retry = {"X-Slack-Retry-Num": str(attempt)} if attempt else {}
                await self.dm(user, answer, event_id="EvSubmitOnce", **retry)
        else:
            await self.dm(user, answer)

    async def state(self, ref: str) -> Request:
        stored = await self.store.get_request(ref)
        assert stored is not None
        return Request.model_validate(stored.data)


def _blocks(call: Call) -> list[dict[str, Any]]:
    blocks = call.params.get("blocks") or (call.params.get("view") or {}).get("blocks") or []
    return list(blocks)


def _asked(posts: list[Call]) -> str | None:
    for call in reversed(posts):
        for block in _blocks(call):
            if str(block.get("block_id", "")).startswith("ask:"):
                return str(block["block_id"]).removeprefix("ask:")
    return None


def _action_ids(call: Call) -> list[str]:
    ids = []
    for block in _blocks(call):
        ids += [e.get("action_id", "") for e in block.get("elements", [])]
        if "accessory" in block:
            ids.append(block["accessory"].get("action_id", ""))
    return ids


def _filled(view: dict[str, Any]) -> dict[str, Any]:
    """The modal's pre-filled values, with something sensible where a required one is empty."""
    values: dict[str, Any] = {}
    for block in (b for b in view["blocks"] if b["type"] == "input"):
        element = block["element"]
        kind, key = element["type"], element["action_id"]
        if kind == "plain_text_input":
            value = element.get("initial_value") or ("" if block["optional"] else "Recorded")
            state: dict[str, Any] = {"type": kind, "value": value}
        elif kind == "static_select":
            chosen = element.get("initial_option") or element["options"][0]
            state = {"type": kind, "selected_option": chosen}
        else:
            chosen = element.get("initial_options") or [element["options"][0]]
            state = {"type": kind, "selected_options": chosen}
        values[block["block_id"]] = {key: state}
    return values


@pytest.fixture
async def night(tmp_path: Path) -> AsyncIterator[SlackNight]:
    async with running_recorder() as recorder:
        raw = {
            "directory": str(_directory(tmp_path)),
            "timers": TIMERS,
            "web": {"enabled": False},
            "slack": {
                "signing_secret": SECRET,
                "bot_token": "xoxb-e2e",
                "api_url": recorder.url,
                "spoc_channel": SPOC_CHANNEL,
            },
        }
        settings = parse_settings(raw, {}, tmp_path)
        store = await open_test_store(f"sqlite:///{tmp_path / 'night.db'}")
        clock = FrozenClock(SATURDAY_2AM)
        directory = load_directory(settings.directory)
        app = build_app(settings, clock=clock, store=store, directory=directory, run_worker=False)
        client = TestClient(TestServer(app))
        await client.start_server()
        try:
            yield SlackNight(client, recorder, clock, store)
        finally:
            await client.close()
            await store.close()


async def _submitted(night: SlackNight, answers: dict[str, str] | None = None) -> str:
    calls = await night.request(AMARA, answers or {**ANSWERS, "summary": HOSTILE_SUMMARY})
    found = REF.search(" ".join(c.text() for c in night.posts_to(dm_of(AMARA), calls)))
    assert found, [c.text() for c in calls]
    return found.group(0)


async def _decide(night: SlackNight, user: str, action: str, ref: str, note: str) -> Any:
    since = len(night.recorder.calls)
    trigger = await night.click(user, action, ref, SPOC_CHANNEL)
    [opened] = [c for c in await night.settled(since) if c.method == "views.open"]
    view = opened.params["view"]
    assert opened.params["trigger_id"] == trigger and view["callback_id"] == "spoc:decision"
    ids = [b.get("block_id") for b in view["blocks"]]
    assert "decision:note" in ids and all(f"decision:{k}" in ids for k in for_action(action, note))
    values = slack_state(for_action(action, note))
    since = len(night.recorder.calls)
    answer = await night.submit(user, view, values)
    await night.settled(since)
    return answer


async def test_the_whole_night_on_slack(night: SlackNight) -> None:
    ref = await _submitted(night)
    channel = night.posts_to(SPOC_CHANNEL)
    assert len(channel) == 1, "three deliveries of the submit event: one request, one page"
    assert {"spoc:ack", "spoc:details", "spoc:approve", "spoc:decline"} <= set(
        _action_ids(channel[0])
    )
    assert night.posts_to(dm_of(MARSH)), "the first officer on the rota got a DM"
    assert not night.posts_to(dm_of(KELLOW))

    await night.advance(timedelta(minutes=11))
    assert night.posts_to(dm_of(KELLOW)), "no acknowledgement: the backup was paged"

    for outsider in (GWEN, AMARA):
        since = len(night.recorder.calls)
        await night.click(outsider, "spoc:approve", ref, SPOC_CHANNEL)
        calls = await night.settled(since)
        refusals = [c for c in calls if c.method == "chat.postEphemeral"]
        assert refusals and refusals[0].params["user"] == outsider
        assert not [c for c in calls if c.method == "views.open"]

    before = len(night.posts_to(dm_of(AMARA)))
    await _decide(night, KELLOW, "spoc:approve", ref, "Disclosed two cautions")
    assert (await night.state(ref)).outcome == "approved"
    updated = [c for c in night.recorder.of("chat.update") if c.channel() == SPOC_CHANNEL]
    assert updated and updated[-1].params["ts"] == channel[0].answer["ts"]
    assert "spoc:approve" not in json.dumps(updated[-1].params["blocks"])
    told = night.posts_to(dm_of(AMARA))[before:]
    assert "approved" in " ".join(c.text() for c in told).lower()

    before = len(night.posts_to(dm_of(AMARA)))
    await night.advance(timedelta(hours=48))
    reminders = night.posts_to(dm_of(AMARA))[before:]
    assert any("retro:open" in _action_ids(c) for c in reminders)

    since = len(night.recorder.calls)
    await night.click(AMARA, "retro:open", ref, dm_of(AMARA))
    [opened] = [c for c in await night.settled(since) if c.method == "views.open"]
    view = opened.params["view"]
    assert view["callback_id"] == "retro:submit"
    assert view["title"]["text"] == f"Form {ref}", "the 24-character title keeps the reference"
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert inputs and all(b["block_id"].startswith("retro:") for b in inputs)
    since = len(night.recorder.calls)
    await night.submit(AMARA, view, _filled(view))
    await night.settled(since)
    assert (await night.state(ref)).state == "closed"


async def test_decline_with_a_reason(night: SlackNight) -> None:
    ref = await _submitted(night, ANSWERS)
    before = len(night.posts_to(dm_of(AMARA)))
    await _decide(night, MARSH, "spoc:decline", ref, "Threshold for disclosure not met")
    request = await night.state(ref)
    assert request.outcome == "declined"
    assert request.decision_note == "Threshold for disclosure not met"
    told = night.posts_to(dm_of(AMARA))[before:]
    assert "declined" in " ".join(c.text() for c in told).lower()


async def test_a_decision_without_a_note_is_answered_in_the_modal(night: SlackNight) -> None:
    ref = await _submitted(night, ANSWERS)
    answer = await _decide(night, MARSH, "spoc:approve", ref, "  ")
    assert answer.get("response_action") in {"update", "errors"}
    assert (await night.state(ref)).outcome is None


async def test_the_same_message_delivered_three_times_is_answered_once(night: SlackNight) -> None:
    since = len(night.recorder.calls)
    for attempt in range(3):
        retry = {"X-Slack-Retry-Num": str(attempt)} if attempt else {}
        await night.dm(AMARA, "hello", event_id="EvHello", **retry)
    calls = await night.settled(since)
    greetings = night.posts_to(dm_of(AMARA), calls)
    assert len([c for c in greetings if _asked([c])]) == 1


async def test_nothing_personal_reaches_a_channel_or_a_notification(night: SlackNight) -> None:
    ref = await _submitted(night)
    since = len(night.recorder.calls)
    await night.click(MARSH, "spoc:details", ref, SPOC_CHANNEL)
    details = await night.settled(since)
    private = " ".join(c.text() for c in details)
    assert any(v in private for v in CANARY_VALUES), "details open privately (DM)"
    assert not [
        c for c in details if c.channel() == SPOC_CHANNEL and c.method != "chat.postEphemeral"
    ]

    in_channel = [c for c in night.recorder.calls if c.channel() == SPOC_CHANNEL]
    tops = [str(c.params.get("text", "")) for c in night.recorder.calls]
    for value in CANARY_VALUES:
        assert not any(value in c.text() for c in in_channel), value
        assert not any(value in t for t in tops), value

    everything = " ".join(c.text() for c in night.recorder.calls)
    assert "<!channel>" not in everything and "<@U123>" not in everything
    assert "&lt;!channel&gt;" in everything and "&lt;@U123&gt;" in everything


PDP_ANSWERS = {
    **ANSWERS,
    "form": "pdp",
    "behaviour": "Repeated threats to neighbours, getting worse",
    "risk_nature": "Threats of violence with a blade",
    "at_risk": "The neighbours at number 19",
    "risk_increases": "When he stops his medication",
    "risk_reduces": "Contact with his care coordinator",
    "serious_harm_likely": "yes",
    "powers": "1",
    "hr_a": "yes",
    "hr_b": "yes",
    "hr_c": "no",
    "hr_d": "yes",
    "hr_e": "yes",
    "hr_e_details": "Only the risk to the neighbours is shared",
    "hr_f": "yes",
    "other_agencies": "skip",
}


async def test_a_pdp_night_asks_the_pdp_questions_and_prefills_the_pdp_form(
    night: SlackNight,
) -> None:
    """S4 App8: with the PDP form the intake asks its own questions (nature of risk, powers,
    tests (a)–(f) with details for (e), other agencies), and the written form is pre-filled."""
    calls = await night.request(AMARA, PDP_ANSWERS)
    asked = {
        str(b.get("block_id", "")).removeprefix("ask:")
        for c in night.posts_to(dm_of(AMARA), calls)
        for b in _blocks(c)
    }
    found = REF.search(" ".join(c.text() for c in night.posts_to(dm_of(AMARA), calls)))
    assert found
    ref = found.group(0)
    asked |= {
        str(b.get("block_id", "")).removeprefix("ask:")
        for c in night.posts_to(dm_of(AMARA))
        for b in _blocks(c)
    }
    pdp_keys = {"behaviour", "risk_nature", "at_risk", "powers", "hr_a", "hr_e", "hr_e_details"}
    assert pdp_keys <= asked, sorted(asked)
    request = await night.state(ref)
    assert request.form == "pdp" and request.answers["hr_e_details"].startswith("Only the risk")

    await _decide(night, MARSH, "spoc:approve", ref, "Disclosed a caution for a bladed article")
    since = len(night.recorder.calls)
    await night.click(AMARA, "retro:open", ref, dm_of(AMARA))
    [opened] = [c for c in await night.settled(since) if c.method == "views.open"]
    view = opened.params["view"]
    blocks = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert blocks["retro:risk_nature"]["initial_value"] == PDP_ANSWERS["risk_nature"]
    assert blocks["retro:hr_e"]["initial_option"]["value"] == "yes"
    assert blocks["retro:hr_c"]["initial_option"]["value"] == "no"
    assert [o["value"] for o in blocks["retro:powers"]["initial_options"]] == ["cda_s115"]
    since = len(night.recorder.calls)
    await night.submit(AMARA, view, _filled(view))
    await night.settled(since)
    closed = await night.state(ref)
    assert closed.state == "closed" and closed.retro is not None
    assert closed.retro["at_risk"] == PDP_ANSWERS["at_risk"]
