"""The SPOC desk's schedule on real platforms: signed Slack requests against the recording Web
API, and the web console over its HTTP API, each with an injected clock either side of the
08:00 hand-over. ``/ooh oncall``, the Home tab and the console's status show who is on duty;
``spoc:reassign`` opens a Slack modal whose submission pages the chosen colleague."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.app import WORKER, build_app
from bot.clock import FrozenClock
from bot.config import parse_settings
from bot.directory import load_directory
from tests.bot.test_desk_schedule import local, scheduled_example
from tests.e2e import test_slack_more as slack_more
from tests.e2e import test_slack_night as slack_night
from tests.e2e import test_teams_night as teams_night
from tests.e2e.slack_recorder import TEAM, running_recorder
from tests.e2e.teams_recorder import TeamsRecorder
from tests.night import ANSWERS, TIMERS, open_test_store

SPOC_CHANNEL = slack_night.SPOC_CHANNEL
AMARA, MARSH, KELLOW = slack_night.AMARA, slack_night.MARSH, slack_night.KELLOW
PAGE = "waiting for a SPOC"


def _with_slack_ids(tmp_path: Path) -> Path:
    path = scheduled_example(tmp_path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for officer in raw["officers"]:
        officer["slack"] = {"user": slack_night.SLACK_IDS[officer["id"]], "team": TEAM}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@asynccontextmanager
async def slack_desk(tmp_path: Path, at: datetime) -> AsyncIterator[slack_night.SlackNight]:
    async with running_recorder() as recorder:
        raw = {
            "directory": str(_with_slack_ids(tmp_path)),
            "timers": TIMERS,
            "web": {"enabled": False},
            "service": {"timezone": "Europe/London"},
            "slack": {
                "signing_secret": slack_night.SECRET,
                "bot_token": "xoxb-e2e",
                "api_url": recorder.url,
                "spoc_channel": SPOC_CHANNEL,
            },
        }
        settings = parse_settings(raw, {}, tmp_path)
        store = await open_test_store(f"sqlite:///{tmp_path / 'desk.db'}")
        clock = FrozenClock(at)
        directory = load_directory(settings.directory, settings.service.zone, at)
        app = build_app(settings, clock=clock, store=store, directory=directory, run_worker=False)
        client = TestClient(TestServer(app))
        await client.start_server()
        try:
            yield slack_night.SlackNight(client, recorder, clock, store)
        finally:
            await client.close()
            await store.close()


def _said(calls: list[Any]) -> str:
    return " ".join(c.text() for c in calls)


@pytest.mark.parametrize(
    ("at", "on_duty", "off_duty"),
    [
        (local(29, 7, 50), KELLOW, MARSH),  # the night officer, before the 08:00 hand-over
        (local(29, 8, 10), MARSH, KELLOW),  # the day officer after it
        (local(27, 23, 0), MARSH, KELLOW),  # Friday night: the override wins
    ],
)
async def test_slack_pages_whoever_is_on_duty(
    tmp_path: Path, at: datetime, on_duty: str, off_duty: str
) -> None:
    async with slack_desk(tmp_path, at) as night:
        await slack_night._submitted(night, dict(ANSWERS))
        assert PAGE in _said(night.posts_to(slack_night.dm_of(on_duty)))
        assert PAGE not in _said(night.posts_to(slack_night.dm_of(off_duty)))


async def test_slack_oncall_home_tab_and_reassign(tmp_path: Path) -> None:
    async with slack_desk(tmp_path, local(29, 8, 10)) as night:
        since = len(night.recorder.calls)
        await slack_more._command(night, KELLOW, "oncall", slack_night.dm_of(KELLOW))
        shown = _said(night.posts_to(slack_night.dm_of(KELLOW), await night.settled(since)))
        assert "SPOC desk on duty" in shown and "Level 1" in shown and "Dana Marsh" in shown

        since = len(night.recorder.calls)
        await slack_more._home_opened(night, MARSH)
        [home] = [c for c in await night.settled(since) if c.method == "views.publish"]
        assert "SPOC desk on duty" in home.text() and "Sam Kellow" in home.text()

        ref = await slack_night._submitted(night, dict(ANSWERS))
        since = len(night.recorder.calls)
        trigger = await night.click(MARSH, "spoc:reassign", ref, SPOC_CHANNEL)
        [opened] = [c for c in await night.settled(since) if c.method == "views.open"]
        view = opened.params["view"]
        assert opened.params["trigger_id"] == trigger
        assert view["callback_id"] == "spoc:reassign_to"
        [block] = view["blocks"]
        options = json.dumps(block)
        assert "ds.kellow" in options and "duty.inspector" in options
        since = len(night.recorder.calls)
        picked = {"type": "static_select", "selected_option": {"value": "ds.kellow"}}
        radio = {"type": "radio_buttons", "selected_option": {"value": "ds.kellow"}}
        element = block["element"]["type"]
        values = {block["block_id"]: {block["element"]["action_id"]: picked}}
        if element == "radio_buttons":
            values = {block["block_id"]: {block["element"]["action_id"]: radio}}
        await night.submit(MARSH, view, values)
        await night.settled(since)
        assert "handed" in _said(night.posts_to(slack_night.dm_of(KELLOW)))
        assert (await night.state(ref)).paged[-1] == "ds.kellow"


# --- the web console ------------------------------------------------------------------------


@asynccontextmanager
async def console(tmp_path: Path, at: datetime) -> AsyncIterator[TestClient[Any, Any]]:
    raw = {
        "directory": str(scheduled_example(tmp_path)),
        "timers": TIMERS,
        "service": {"timezone": "Europe/London"},
        "store": {"url": f"sqlite:///{tmp_path / 'console.db'}"},
    }
    settings = parse_settings(raw, {}, tmp_path)
    store = await open_test_store(settings.store.url)
    directory = load_directory(settings.directory, settings.service.zone, at)
    app = build_app(
        settings, clock=FrozenClock(at), store=store, directory=directory, run_worker=False
    )
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        await store.close()


async def _say(client: TestClient[Any, Any], officer: str, text: str) -> list[dict[str, Any]]:
    origin = f"http://{client.host}:{client.port}"
    body = {"officer": officer, "kind": "text", "text": text}
    response = await client.post("/web/api/event", json=body, headers={"Origin": origin})
    assert response.status == 200, await response.text()
    entries: list[dict[str, Any]] = (await response.json())["entries"]
    return [e["message"] for e in entries if e["origin"] == "bot"]


async def _request(client: TestClient[Any, Any], officer: str) -> None:
    """The whole conversation typed into the console."""
    messages = await _say(client, officer, "hello")
    for _ in range(60):
        asked = [m["field"] for m in messages if m.get("type") == "question"]
        if not asked:
            return
        messages = await _say(client, officer, ANSWERS[asked[-1]])
    raise AssertionError("the conversation did not end")


async def _inbox(client: TestClient[Any, Any], officer: str) -> str:
    async with client.get(f"/web/api/events?officer={officer}") as response:
        async for raw in response.content:
            line = raw.decode().strip()
            if line.startswith("data: "):
                return json.dumps(json.loads(line.removeprefix("data: "))["inbox"])
    return ""


@pytest.mark.parametrize(
    ("at", "on_duty", "off_duty"),
    [
        (local(29, 7, 50), "ds.kellow", "di.marsh"),
        (local(29, 8, 10), "di.marsh", "ds.kellow"),
        (local(27, 23, 0), "di.marsh", "ds.kellow"),
    ],
)
async def test_console_pages_whoever_is_on_duty_and_shows_oncall(
    tmp_path: Path, at: datetime, on_duty: str, off_duty: str
) -> None:
    async with console(tmp_path, at) as client:
        await _request(client, "amara.okafor")
        assert PAGE in await _inbox(client, on_duty)
        assert PAGE not in await _inbox(client, off_duty)
        [card] = [m for m in await _say(client, off_duty, "oncall") if m["type"] == "card"]
        assert card["card_id"] == "oncall"
        response = await client.get(f"/web/api/home?officer={off_duty}")
        home = await response.json()
        assert any(m.get("card_id") == "oncall" for m in home["messages"])


# --- Microsoft Teams ------------------------------------------------------------------------


async def test_teams_status_shows_who_is_on_duty(tmp_path: Path) -> None:
    path = scheduled_example(tmp_path)
    raw_directory = yaml.safe_load(path.read_text(encoding="utf-8"))
    for officer in raw_directory["officers"]:
        aad = teams_night.AAD.get(officer["id"], f"aad-{officer['id']}")
        officer["teams"] = {"aad_object_id": aad, "tenant_id": teams_night.TENANT}
    path.write_text(yaml.safe_dump(raw_directory), encoding="utf-8")
    raw = {
        "directory": str(path),
        "timers": TIMERS,
        "web": {"enabled": False},
        "teams": {
            "enabled": True,
            "spoc_channel": teams_night.CHANNEL,
            "tenant_id": teams_night.TENANT,
        },
        "service": {
            "environment": "development",
            "listen": {"host": "127.0.0.1"},
            "timezone": "Europe/London",
        },
        "store": {"url": f"sqlite:///{tmp_path / 'teams.db'}"},
    }
    settings = parse_settings(raw, {}, tmp_path)
    store = await open_test_store(settings.store.url)
    at = local(29, 7, 50)
    clock = FrozenClock(at)
    directory = load_directory(settings.directory, settings.service.zone, at)
    app = build_app(settings, clock=clock, store=store, directory=directory, run_worker=False)
    try:
        async with (
            TeamsRecorder() as recorder,
            TestClient(TestServer(app, host="127.0.0.1")) as client,
        ):
            night = teams_night.TeamsNight(client, recorder, clock, store, app[WORKER])
            await night.install("di.marsh")
            shown = "\n".join(teams_night.plain(c) for c in await night.say("di.marsh", "status"))
            assert "SPOC desk on duty" in shown
            assert "Sam Kellow" in shown and "Level 1" in shown

            await night.install_in_channel()
            await night.install("ds.kellow")
            await night.request("amara.okafor")
            [page] = [c for c in night.to("ds.kellow") if teams_night.submits(c)]
            hand_over = teams_night.action(page, "spoc:reassign")
            [form] = [c for c in await night.submit("ds.kellow", hand_over) if c.card]
            assert any(e.get("id") == "reassign:officer" for e in teams_night.elements(form.card))
            chosen = teams_night.action(form, "spoc:reassign_to")
            chosen["reassign:officer"] = "di.marsh"
            await night.submit("ds.kellow", chosen)
            told = "\n".join(teams_night.plain(c) for c in night.to("di.marsh"))
            assert "has handed urgent information request" in told
    finally:
        await store.close()
