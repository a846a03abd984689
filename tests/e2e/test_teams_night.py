"""A whole night on Microsoft Teams through the real application.

``build_app`` with SQLite in ``tmp_path``, a frozen clock and the worker run by hand; activities
are POSTed to ``/api/messages`` with ``serviceUrl`` pointing at a local connector recorder, so
every reply, page, update and chat creation the SDK makes is a real HTTP call we can read.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.app import STORE, WORKER, build_app
from bot.clock import FrozenClock
from bot.config import parse_settings
from bot.directory import load_directory
from flows.request import Request
from store.base import Store
from tests.decision_values import approval, teams_data
from tests.e2e.teams_recorder import Call, TeamsRecorder
from tests.night import ANSWERS, CANARY_VALUES, SATURDAY_2AM, TIMERS, open_test_store

ROOT = Path(__file__).resolve().parents[2]
TENANT = "tenant-westshire"
CHANNEL = "19:spoc-room@thread.tacv2"
AAD = {
    "amara.okafor": "aad-amara",
    "gwen.hollis": "aad-gwen",
    "ifan.price": "aad-ifan",
    "di.marsh": "aad-dana",
    "ds.kellow": "aad-sam",
    "duty.inspector": "aad-priya",
}
INJECTION = "[click](https://evil.example) <at>Everyone</at> **now**"
REF = re.compile(r"DPT/\d{2,}/2026")


def elements(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from elements(value)
    elif isinstance(node, list):
        for item in node:
            yield from elements(item)


def plain(call: Call) -> str:
    """The card's visible text with markdown escapes removed."""
    blocks = [e["text"] for e in elements(call.card) if e.get("type") == "TextBlock"]
    return re.sub(r"\\(.)", r"\1", "\n".join(blocks)).replace("\u200b", "")


def submits(call: Call) -> list[dict[str, Any]]:
    return [e["data"] for e in elements(call.card) if e.get("type") == "Action.Submit"]


def question_field(call: Call) -> str | None:
    for element in elements(call.card):
        element_id = str(element.get("id", ""))
        if element.get("type") == "Container" and element_id.startswith("ask:"):
            return element_id.removeprefix("ask:")
    return None


@dataclass
class TeamsNight:
    client: TestClient[Any, Any]
    recorder: TeamsRecorder
    clock: FrozenClock
    store: Store
    app_worker: Any
    events: int = 0
    chats: dict[str, str] = field(default_factory=dict)

    def _activity(self, who: str, conversation: str, kind: str, **extra: Any) -> dict[str, Any]:
        self.events += 1
        aad = AAD.get(who, who)
        body: dict[str, Any] = {
            "type": "message",
            "id": f"evt-{self.events}",
            "channelId": "msteams",
            "serviceUrl": self.recorder.url,
            "from": {"id": f"29:{aad}", "aadObjectId": aad},
            "recipient": {"id": "28:oohbot"},
            "conversation": {"id": conversation, "conversationType": kind, "tenantId": TENANT},
            "channelData": {"tenant": {"id": TENANT}},
            **extra,
        }
        if kind == "channel":
            body["channelData"]["channel"] = {"id": CHANNEL}
        return body

    def chat(self, who: str) -> str:
        return self.chats.setdefault(who, f"a:chat-{AAD.get(who, who)}")

    async def post(self, body: dict[str, Any]) -> list[Call]:
        before = len(self.recorder.calls)
        response = await self.client.post("/api/messages", json=body)
        assert response.status in {200, 201}, await response.text()
        return self.recorder.calls[before:]

    async def install(self, who: str) -> None:
        body = self._activity(who, self.chat(who), "personal", type="conversationUpdate")
        body["membersAdded"] = [{"id": "28:oohbot"}]
        await self.post(body)

    async def install_in_channel(self) -> None:
        await self.post(self._activity("di.marsh", CHANNEL, "channel", type="conversationUpdate"))

    async def say(self, who: str, text: str) -> list[Call]:
        return await self.post(self._activity(who, self.chat(who), "personal", text=text))

    async def submit(self, who: str, data: dict[str, Any]) -> list[Call]:
        return await self.post(self._activity(who, self.chat(who), "personal", value=data))

    async def click_in_channel(self, who: str, data: dict[str, Any]) -> list[Call]:
        thread = f"{CHANNEL};messageid=1700000000000"
        return await self.post(self._activity(who, thread, "channel", value=data))

    async def advance(self, delta: timedelta) -> list[Call]:
        before = len(self.recorder.calls)
        self.clock.advance(delta)
        await self.app_worker.drain()
        return self.recorder.calls[before:]

    def to(self, who: str) -> list[Call]:
        return [c for c in self.recorder.calls if c.conversation == self.chat(who)]

    async def request(self, who: str, given: Mapping[str, str] = ANSWERS) -> list[Call]:
        """Answer every question: buttons where offered, the multi-choice card once, typing
        otherwise (so all three input paths are exercised)."""
        calls = await self.say(who, "hello")
        answers = {**given, "summary": f"{given['summary']} {INJECTION}"}
        self.asked: list[str] = []
        for _ in range(60):
            asked = [c for c in calls if question_field(c)]
            if not asked:
                return calls
            last = asked[-1]
            self.asked.append(question_field(last) or "")
            calls = await self._answer(who, last, answers)
        raise AssertionError("the conversation did not end")

    async def _answer(self, who: str, card: Call, answers: dict[str, str]) -> list[Call]:
        asked = question_field(card)
        assert asked is not None
        buttons = {d.get("option"): d for d in submits(card) if "option" in d}
        wanted = answers[asked]
        if wanted in buttons:
            return await self.submit(who, buttons[wanted])
        if asked == "grounds":
            choice_set = next(e for e in elements(card.card) if e.get("id") == "answer:grounds")
            keys = [c["value"] for c in choice_set["choices"][:2]]
            cont = next(d for d in submits(card) if d["action"] == "answer:grounds")
            return await self.submit(who, {**cont, "answer:grounds": ",".join(keys)})
        return await self.say(who, wanted)


def directory_file(tmp_path: Path) -> Path:
    raw = yaml.safe_load((ROOT / "directory.example.yaml").read_text(encoding="utf-8"))
    for officer in raw["officers"]:
        if officer["id"] in AAD:
            officer["teams"] = {"aad_object_id": AAD[officer["id"]], "tenant_id": TENANT}
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.fixture
async def night(tmp_path: Path) -> AsyncIterator[TeamsNight]:
    raw = {
        "directory": str(directory_file(tmp_path)),
        "timers": TIMERS,
        "web": {"enabled": False},
        "teams": {"enabled": True, "spoc_channel": CHANNEL, "tenant_id": TENANT},
        "service": {"environment": "development", "listen": {"host": "127.0.0.1"}},
        "store": {"url": f"sqlite:///{tmp_path / 'teams.db'}"},
    }
    settings = parse_settings(raw, {}, tmp_path)
    store = await open_test_store(settings.store.url)
    clock = FrozenClock(SATURDAY_2AM)
    directory = load_directory(settings.directory)
    app = build_app(settings, clock=clock, store=store, directory=directory, run_worker=False)
    async with (
        TeamsRecorder() as recorder,
        TestClient(TestServer(app, host="127.0.0.1")) as client,
    ):
        yield TeamsNight(client, recorder, clock, app[STORE], app[WORKER])
    await store.close()


async def state(night: TeamsNight, ref: str) -> Request:
    stored = await night.store.get_request(ref)
    assert stored is not None
    return Request.model_validate(stored.data)


async def submitted(night: TeamsNight) -> str:
    await night.install_in_channel()
    await night.install("di.marsh")
    calls = await night.request("amara.okafor")
    found = REF.search("\n".join(plain(c) for c in calls))
    assert found, [plain(c) for c in calls]
    return found.group(0)


def channel_posts(night: TeamsNight) -> list[Call]:
    return [c for c in night.recorder.calls if c.conversation.startswith(CHANNEL)]


def spoc_card(night: TeamsNight, ref: str) -> Call:
    [card] = [
        c
        for c in night.recorder.of_kind("send")
        if c.conversation == CHANNEL and any(d.get("ref") == ref for d in submits(c))
    ]
    return card


def action(call: Call, action_id: str) -> dict[str, Any]:
    [data] = [d for d in submits(call) if d["action"] == action_id]
    return data


def retro_values(form: Call) -> dict[str, Any]:
    """The form's inputs: pre-filled values kept, required empty ones filled sensibly."""
    values: dict[str, Any] = {}
    for element in elements(form.card):
        element_id = str(element.get("id", ""))
        if not element_id.startswith("retro:"):
            continue
        value = element.get("value", "")
        if not value and element.get("isRequired"):
            value = _sample(element_id, element)
        values[element_id] = value
    return values


def _sample(element_id: str, element: dict[str, Any]) -> str:
    if element["type"] == "Input.ChoiceSet":
        return str(element["choices"][0]["value"])
    if element["type"] == "Input.Date" or "dob" in element_id:
        return "1979-02-14"
    if "phone" in element_id:
        return "07700 900123"
    if "postcode" in element_id:
        return "TD1 4QX"
    return "Recorded for the retrospective form"


async def test_the_whole_night_on_teams(night: TeamsNight) -> None:
    ref = await submitted(night)
    card = spoc_card(night, ref)
    assert card.body["summary"] and "text" not in card.body
    assert night.to("di.marsh"), "the first SPOC on the rota was paged in their chat"

    await night.advance(timedelta(minutes=11))
    created = night.recorder.of_kind("create")
    assert created and created[0].body["members"][0]["id"] == AAD["ds.kellow"], (
        "the backup, who never wrote to the bot, gets a chat opened and is paged"
    )

    private = await night.click_in_channel("di.marsh", action(card, "spoc:approve"))
    [form] = [c for c in private if c.conversation == night.chat("di.marsh")]
    assert any(e.get("id") == "decision:note" for e in elements(form.card))
    decision = {**action(form, "spoc:decision"), **teams_data(approval(f"Disclosed. {INJECTION}"))}
    after = await night.submit("di.marsh", decision)
    assert (await state(night, ref)).outcome == "approved"

    updates = [c for c in after if c.kind == "update" and c.activity_id == card.activity_id]
    assert updates, "the channel card was updated in place"
    assert [d["action"] for d in submits(updates[-1])] == ["record:open"]
    assert "approved" in plain(updates[-1]).lower()
    told = [c for c in after if c.conversation == night.chat("amara.okafor")]
    assert any("approved" in plain(c).lower() for c in told), "the requester was told"

    reminders = await night.advance(timedelta(hours=48))
    reminder = next(c for c in reminders if any(d["action"] == "retro:open" for d in submits(c)))
    assert reminder.conversation == night.chat("amara.okafor")
    opened = await night.submit("amara.okafor", action(reminder, "retro:open"))
    [retro] = [c for c in opened if any(d["action"] == "retro:submit" for d in submits(c))]
    await night.submit("amara.okafor", {**action(retro, "retro:submit"), **retro_values(retro)})
    assert (await state(night, ref)).state == "closed"


async def test_unauthorised_card_actions_are_refused(night: TeamsNight) -> None:
    ref = await submitted(night)
    card = spoc_card(night, ref)
    for who in ("amara.okafor", "gwen.hollis", "aad-stranger"):
        replies = await night.click_in_channel(who, action(card, "spoc:approve"))
        assert not any(e.get("id") == "decision:note" for c in replies for e in elements(c.card)), (
            who
        )
        assert not [c for c in replies if c.kind == "send" and c.conversation == CHANNEL], who
        assert [c for c in replies if c.conversation == night.chat(who) or c.kind == "send"], who
    forged = {
        "action": "spoc:decision",
        "ref": ref,
        "context": "approve",
        "prefix": "decision",
        **teams_data(approval("self-approved")),
    }
    await night.submit("amara.okafor", forged)
    assert (await state(night, ref)).outcome is None


async def test_no_personal_data_in_the_channel_or_notifications(night: TeamsNight) -> None:
    ref = await submitted(night)
    card = spoc_card(night, ref)
    await night.click_in_channel("di.marsh", action(card, "spoc:ack"))
    await night.click_in_channel("di.marsh", action(card, "spoc:details"))
    details_text = "\n".join(plain(c) for c in night.to("di.marsh"))
    assert "Zqxjvonkle" in details_text, "the SPOC can open the details privately"
    channel = json.dumps([c.body for c in channel_posts(night)])
    summaries = json.dumps([c.body.get("summary") for c in night.recorder.calls])
    for value in CANARY_VALUES:
        assert value not in channel
        assert value not in summaries
    assert not any("text" in c.body for c in night.recorder.calls if c.kind != "create")


async def test_user_text_is_escaped_everywhere(night: TeamsNight) -> None:
    ref = await submitted(night)
    card = spoc_card(night, ref)
    await night.click_in_channel("di.marsh", action(card, "spoc:details"))
    blocks = [
        e["text"]
        for c in night.recorder.calls
        for e in elements(c.card)
        if e.get("type") == "TextBlock"
    ]
    shown = [b for b in blocks if "evil" in b]
    assert shown, "the injected summary was shown back somewhere (review or details)"
    for block in shown:
        value = block.split(":** ", 1)[-1]  # a card field is "**Label:** value"
        assert "[click](" not in value and "<at>" not in value and "https://" not in value
        assert "**" not in value


async def test_a_redelivered_activity_is_handled_once(night: TeamsNight) -> None:
    await night.install("amara.okafor")
    body = night._activity("amara.okafor", night.chat("amara.okafor"), "personal", text="hello")
    first = await night.post(body)
    again = await night.post(body)
    assert first and again == []


async def test_throttled_connector_is_retried(night: TeamsNight) -> None:
    night.recorder.fail_next("reply", 429)
    replies = await night.say("amara.okafor", "hello")
    assert night.recorder.refused == [("reply", 429)]
    assert replies and question_field(replies[-1]) is not None


async def test_a_form_sent_with_a_missing_answer_is_shown_again_in_place(
    night: TeamsNight,
) -> None:
    """The decision form comes back with its error on the same card, not as a second card."""
    ref = await submitted(night)
    card = spoc_card(night, ref)
    private = await night.click_in_channel("di.marsh", action(card, "spoc:approve"))
    [form] = [c for c in private if c.conversation == night.chat("di.marsh")]
    empty = {**action(form, "spoc:decision"), "decision:note": ""}
    body = night._activity("di.marsh", night.chat("di.marsh"), "personal", value=empty)
    body["replyToId"] = form.activity_id
    after = await night.post(body)
    [update] = [c for c in after if c.kind == "update"]
    assert update.activity_id == form.activity_id
    assert any(e.get("id") == "decision:note" for e in elements(update.card))
    assert not [c for c in after if c.kind in ("send", "reply") and elements(c.card)]
    assert (await state(night, ref)).outcome is None


async def test_a_pdp_night_on_teams_asks_the_pdp_questions_and_prefills_the_form(
    night: TeamsNight,
) -> None:
    """S4 App8 at intake on Teams; the PDP form opens pre-filled from those answers."""
    from tests.e2e.test_slack_night import PDP_ANSWERS

    await night.install_in_channel()
    await night.install("di.marsh")
    calls = await night.request("amara.okafor", PDP_ANSWERS)
    assert {"risk_nature", "powers", "hr_a", "hr_f", "hr_e_details"} <= set(night.asked)
    found = REF.search("\n".join(plain(c) for c in calls))
    assert found
    ref = found.group(0)
    private = await night.click_in_channel(
        "di.marsh", action(spoc_card(night, ref), "spoc:approve")
    )
    [form] = [c for c in private if c.conversation == night.chat("di.marsh")]
    after = await night.submit(
        "di.marsh", {**action(form, "spoc:decision"), **teams_data(approval("Disclosed a caution"))}
    )
    outcome = next(
        c
        for c in after
        if c.conversation == night.chat("amara.okafor")
        and any(d["action"] == "retro:open" for d in submits(c))
    )
    opened = await night.submit("amara.okafor", action(outcome, "retro:open"))
    [retro] = [c for c in opened if any(d["action"] == "retro:submit" for d in submits(c))]
    values = retro_values(retro)
    assert values["retro:risk_nature"] == PDP_ANSWERS["risk_nature"]
    assert values["retro:hr_e_details"] == PDP_ANSWERS["hr_e_details"]
    assert values["retro:hr_e"] == "yes" and values["retro:powers"] == "cda_s115"
    await night.submit("amara.okafor", {**action(retro, "retro:submit"), **values})
    assert (await state(night, ref)).state == "closed"
