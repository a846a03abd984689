"""A Teams reminder delivered after a restart, from the conversation reference in the store.

The first application runs the night up to the SPOC's approval and is then torn down
completely (HTTP server, aiohttp application, store connection). A second ``build_app`` on the
same SQLite file and encryption key never receives an activity: when its worker runs the
retrospective reminder, the only way to reach the requester's personal chat is the reference
the first application stored. The connector recorder plays Microsoft's side, which does not
restart with the bot.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.app import STORE, WORKER, build_app
from bot.clock import FrozenClock
from bot.config import Settings, parse_settings
from bot.directory import load_directory
from store.crypto import generate_key, load_cipher
from store.factory import open_store
from tests.decision_values import approval, teams_data
from tests.e2e.teams_recorder import TeamsRecorder
from tests.e2e.test_teams_night import (
    AAD,
    CHANNEL,
    TENANT,
    TeamsNight,
    action,
    directory_file,
    elements,
    plain,
    retro_values,
    spoc_card,
    state,
    submits,
    submitted,
)
from tests.night import CANARY_VALUES, SATURDAY_2AM, TIMERS

REQUESTER = "amara.okafor"


def settings_for(tmp_path: Path) -> Settings:
    raw = {
        "directory": str(directory_file(tmp_path)),
        "timers": TIMERS,
        "web": {"enabled": False},
        "teams": {"enabled": True, "spoc_channel": CHANNEL, "tenant_id": TENANT},
        "service": {"environment": "development", "listen": {"host": "127.0.0.1"}},
        "store": {"url": f"sqlite:///{tmp_path / 'teams.db'}"},
    }
    return parse_settings(raw, {}, tmp_path)


@asynccontextmanager
async def running_app(
    settings: Settings, key: str, now: datetime, recorder: TeamsRecorder
) -> AsyncIterator[TeamsNight]:
    """One life of the bot: its own store connection, application and HTTP server."""
    cipher, _ = load_cipher(
        {"OOHBOT_ENCRYPTION_KEYS": key}, settings.service.data_dir, "development"
    )
    store = open_store(settings.store.url, cipher)
    await store.open()
    clock = FrozenClock(now)
    directory = load_directory(settings.directory)
    app = build_app(settings, clock=clock, store=store, directory=directory, run_worker=False)
    try:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield TeamsNight(client, recorder, clock, app[STORE], app[WORKER])
    finally:
        await store.close()


async def test_a_reminder_after_a_restart_reaches_the_teams_requester(tmp_path: Path) -> None:
    settings, key = settings_for(tmp_path), generate_key()
    async with TeamsRecorder() as recorder:
        async with running_app(settings, key, SATURDAY_2AM, recorder) as first:
            ref = await submitted(first)
            card = spoc_card(first, ref)
            private = await first.click_in_channel("di.marsh", action(card, "spoc:approve"))
            [form] = [c for c in private if c.conversation == first.chat("di.marsh")]
            await first.submit(
                "di.marsh", {**action(form, "spoc:decision"), **teams_data(approval("Ok"))}
            )
            assert (await state(first, ref)).outcome == "approved"
            chat, stopped_at = first.chat(REQUESTER), first.clock.now()
            # the review summary went there too (delivered so that it updates in place)
            *_, told = [c for c in recorder.of_kind("send") if c.conversation == chat]

        async with running_app(settings, key, stopped_at, recorder) as second:
            stored = await second.store.load_address("teams", AAD[REQUESTER])
            assert stored and stored["conversation"]["id"] == chat, "kept by the first app"
            reminders = await second.advance(timedelta(hours=48, minutes=1))
            [reminder] = [
                c for c in reminders if any(d["action"] == "retro:open" for d in submits(c))
            ]
            assert reminder.kind == "send" and reminder.conversation == chat
            assert reminder.body["recipient"]["aadObjectId"] == AAD[REQUESTER]
            for routing in ("serviceUrl", "conversation", "recipient", "from"):
                assert reminder.body[routing] == told.body[routing], routing
            assert ref in plain(reminder)
            assert not [
                c
                for c in reminders
                if c.kind == "create" and c.body["members"][0]["id"] == AAD[REQUESTER]
            ], "the stored personal chat was used; no new chat was opened"

            opened = await second.submit(REQUESTER, action(reminder, "retro:open"))
            [retro] = [c for c in opened if any(d["action"] == "retro:submit" for d in submits(c))]
            assert any(str(e.get("id", "")).startswith("retro:") for e in elements(retro.card))
            closing = await second.submit(
                REQUESTER, {**action(retro, "retro:submit"), **retro_values(retro)}
            )
            assert (await state(second, ref)).state == "closed"
            assert [
                c for c in closing if c.kind == "update" and c.activity_id == card.activity_id
            ], "the channel card posted before the restart is still updated in place"

        channel = json.dumps([c.body for c in recorder.calls if c.conversation.startswith(CHANNEL)])
        summaries = json.dumps([c.body.get("summary") for c in recorder.calls])
        for value in CANARY_VALUES:
            assert value not in channel and value not in summaries, value
        assert not any("text" in c.body for c in recorder.calls if c.kind != "create")
