"""Nights that cross platforms: the requester on one, the SPOC rota on the other.

One ``build_app`` with both Slack and Teams enabled, SQLite in ``tmp_path`` and a frozen clock.
Slack is played by signed requests to ``/slack/events`` and the recording Web API; Teams by
activities POSTed to ``/api/messages`` with ``serviceUrl`` at the connector recorder. The
directory (a copy of ``directory.example.yaml``) decides where each officer is reached: the
police officers have an identity only on the SPOC side, everyone else only on the requester
side, so every message has exactly one place to go.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.app import WORKER, build_app
from bot.clock import FrozenClock
from bot.config import parse_settings
from bot.directory import load_directory
from tests.decision_values import approval, teams_data
from tests.e2e import test_slack_night as slack_night
from tests.e2e import test_teams_night as teams_night
from tests.e2e.slack_recorder import TEAM, SlackRecorder, running_recorder
from tests.e2e.slack_recorder import Call as SlackCall
from tests.e2e.teams_recorder import Call, TeamsRecorder
from tests.night import CANARY_VALUES, SATURDAY_2AM, TIMERS, open_test_store

ROOT = Path(__file__).resolve().parents[2]
Side = Literal["slack", "teams"]
POLICE = "POL"
REF = re.compile(r"DPT/\d{2,}/2026")
SLACK_SPOC_CHANNEL = slack_night.SPOC_CHANNEL
TEAMS_SPOC_CHANNEL = teams_night.CHANNEL
AMARA_SLACK, MARSH_SLACK = slack_night.AMARA, slack_night.MARSH
AMARA_TEAMS = "amara.okafor"


@dataclass
class CrossNight:
    """Both platforms on one application: drive either side, read both recorders."""

    slack: slack_night.SlackNight
    teams: teams_night.TeamsNight

    @property
    def slack_calls(self) -> SlackRecorder:
        return self.slack.recorder

    @property
    def teams_calls(self) -> TeamsRecorder:
        return self.teams.recorder


def directory_file(tmp_path: Path, spoc_side: Side) -> Path:
    """The example directory with one platform identity per officer: police on ``spoc_side``,
    the trust's staff on the other side."""
    raw = yaml.safe_load((ROOT / "directory.example.yaml").read_text(encoding="utf-8"))
    for officer in raw["officers"]:
        side = spoc_side if officer["org"] == POLICE else _other(spoc_side)
        if side == "slack":
            officer["slack"] = {"user": slack_night.SLACK_IDS[officer["id"]], "team": TEAM}
        else:
            aad = teams_night.AAD.get(officer["id"], f"aad-{officer['id']}")
            officer["teams"] = {"aad_object_id": aad, "tenant_id": teams_night.TENANT}
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _other(side: Side) -> Side:
    return "teams" if side == "slack" else "slack"


@asynccontextmanager
async def cross_night(tmp_path: Path, spoc_side: Side) -> AsyncIterator[CrossNight]:
    """The production application with Slack and Teams enabled; the SPOC channel on one."""
    async with running_recorder() as slack_recorder, TeamsRecorder() as teams_recorder:
        raw: dict[str, Any] = {
            "directory": str(directory_file(tmp_path, spoc_side)),
            "timers": TIMERS,
            "web": {"enabled": False},
            "slack": {
                "signing_secret": slack_night.SECRET,
                "bot_token": "xoxb-e2e",
                "api_url": slack_recorder.url,
                "spoc_channel": SLACK_SPOC_CHANNEL if spoc_side == "slack" else "",
            },
            "teams": {
                "enabled": True,
                "spoc_channel": TEAMS_SPOC_CHANNEL if spoc_side == "teams" else "",
                "tenant_id": teams_night.TENANT,
            },
            "service": {"environment": "development", "listen": {"host": "127.0.0.1"}},
            "store": {"url": f"sqlite:///{tmp_path / 'cross.db'}"},
        }
        settings = parse_settings(raw, {}, tmp_path)
        store = await open_test_store(settings.store.url)
        clock = FrozenClock(SATURDAY_2AM)
        directory = load_directory(settings.directory)
        app = build_app(settings, clock=clock, store=store, directory=directory, run_worker=False)
        try:
            async with TestClient(TestServer(app, host="127.0.0.1")) as client:
                yield CrossNight(
                    slack=slack_night.SlackNight(client, slack_recorder, clock, store),
                    teams=teams_night.TeamsNight(client, teams_recorder, clock, store, app[WORKER]),
                )
        finally:
            await store.close()


def assert_nothing_personal_shared(night: CrossNight) -> None:
    """No canary value in a Slack channel post, a Teams channel card or any notification
    text (Slack's top-level ``text``, a Teams activity's ``summary``); Teams sends no
    ``text`` at all, only cards."""
    slack_channels = [
        c.text()
        for c in night.slack_calls.calls
        if c.channel().startswith("C") and c.method != "chat.postEphemeral"
    ]
    slack_notifications = [str(c.params.get("text", "")) for c in night.slack_calls.calls]
    teams_channel = [
        json.dumps(c.body, ensure_ascii=False)
        for c in night.teams_calls.calls
        if c.conversation.startswith(TEAMS_SPOC_CHANNEL)
    ]
    teams_notifications = [str(c.body.get("summary", "")) for c in night.teams_calls.calls]
    for value in CANARY_VALUES:
        for shown in (slack_channels, slack_notifications, teams_channel, teams_notifications):
            assert not any(value in text for text in shown), value
    assert not any("text" in c.body for c in night.teams_calls.calls if c.kind != "create")


def slack_text(calls: list[SlackCall]) -> str:
    return " ".join(c.text() for c in calls)


def teams_text(calls: list[Call]) -> str:
    return "\n".join(teams_night.plain(c) for c in calls)


async def test_teams_requester_slack_spoc(tmp_path: Path) -> None:
    """Night A: asked on Teams, paged and approved on Slack, answered on Teams."""
    async with cross_night(tmp_path, spoc_side="slack") as night:
        slack, teams = night.slack, night.teams
        replies = await teams.request(AMARA_TEAMS)
        found = REF.search(teams_text(replies))
        assert found, [teams_night.plain(c) for c in replies]
        ref = found.group(0)

        [card] = slack.posts_to(SLACK_SPOC_CHANNEL)
        assert {"spoc:approve", "spoc:decline", "spoc:details"} <= set(
            slack_night._action_ids(card)
        )
        assert ref in card.text()
        paged = slack.posts_to(slack_night.dm_of(MARSH_SLACK))
        assert paged and ref in slack_text(paged), "the on-duty SPOC was paged by Slack DM"
        assert not slack.posts_to(slack_night.dm_of(slack_night.KELLOW)), "not the backup yet"
        assert not [c for c in night.teams_calls.calls if c.conversation != teams.chat(AMARA_TEAMS)]

        since = len(night.slack_calls.calls)
        await slack.click(MARSH_SLACK, "spoc:details", ref, SLACK_SPOC_CHANNEL)
        details = await slack.settled(since)
        private = slack.posts_to(slack_night.dm_of(MARSH_SLACK), details)
        assert "Zqxjvonkle" in slack_text(private), "the SPOC opens the details privately"
        texts = [b["text"] for c in private for b in slack_night._blocks(c) if "text" in b]
        hostile = [t for t in texts if "evil" in str(t)]
        assert hostile, "the Teams requester's summary is shown to the Slack SPOC"
        for text in hostile:  # no Slack link or mention syntax, and no auto-linking
            assert text["verbatim"] is True and "<" not in text["text"]

        before = len(night.teams_calls.calls)
        await slack_night._decide(night.slack, MARSH_SLACK, "spoc:approve", ref, "Disclosed")
        decided = await slack.state(ref)
        assert decided.outcome == "approved" and decided.decision_note == "Disclosed"

        told = night.teams_calls.calls[before:]
        assert told and all(c.conversation == teams.chat(AMARA_TEAMS) for c in told)
        assert all(c.kind == "send" and "replyToId" not in c.body for c in told), "proactive"
        assert "approved" in teams_text(told).lower()

        updated = [
            c for c in night.slack_calls.of("chat.update") if c.channel() == SLACK_SPOC_CHANNEL
        ]
        assert updated and updated[-1].params["ts"] == card.answer["ts"]
        assert "spoc:approve" not in json.dumps(updated[-1].params["blocks"])
        assert "approved" in updated[-1].text().lower()
        copies = {c.channel() for c in night.slack_calls.of("chat.update")}
        assert slack_night.dm_of(MARSH_SLACK) in copies, "the SPOC's DM copy updated too"
        assert not [c for c in slack.posts_to(SLACK_SPOC_CHANNEL) if c is not card], (
            "one card and no 'could not reach' alerts: every delivery found its platform"
        )
        assert_nothing_personal_shared(night)


async def test_slack_requester_teams_spoc(tmp_path: Path) -> None:
    """Night B: asked on Slack, paged and approved on Teams, answered on Slack."""
    async with cross_night(tmp_path, spoc_side="teams") as night:
        slack, teams = night.slack, night.teams
        await teams.install_in_channel()
        ref = await slack_night._submitted(slack)

        card = teams_night.spoc_card(teams, ref)
        assert card.kind == "send" and card.conversation == TEAMS_SPOC_CHANNEL
        [opened] = night.teams_calls.of_kind("create")
        assert opened.body["members"][0]["id"] == teams_night.AAD["di.marsh"]
        paged = night.teams_calls.to(opened.conversation)
        assert paged and ref in teams_text(paged), "the on-duty SPOC was paged in a new chat"
        teams.chats["di.marsh"] = opened.conversation
        assert not slack.posts_to(SLACK_SPOC_CHANNEL)

        private = await teams.click_in_channel("di.marsh", teams_night.action(card, "spoc:details"))
        details = [c for c in private if c.conversation == opened.conversation]
        assert "Zqxjvonkle" in teams_text(details), "the SPOC opens the details privately"
        blocks = [e["text"] for c in details for e in teams_night.elements(c.card) if "text" in e]
        hostile = [b for b in blocks if "evil" in b]
        assert hostile, "the Slack requester's summary is shown to the Teams SPOC"
        for block in hostile:  # Slack text escaped for Adaptive Card markdown
            assert "https://" not in block and "<" not in block.replace("\\<", "")

        private = await teams.click_in_channel("di.marsh", teams_night.action(card, "spoc:approve"))
        [form] = [c for c in private if c.conversation == opened.conversation]
        before = len(slack.posts_to(slack_night.dm_of(AMARA_SLACK)))
        note = {**teams_night.action(form, "spoc:decision"), **teams_data(approval("Disclosed"))}
        after = await teams.submit("di.marsh", note)
        decided = await slack.state(ref)
        assert decided.outcome == "approved" and decided.decision_note == "Disclosed"

        updates = [c for c in after if c.kind == "update" and c.activity_id == card.activity_id]
        assert updates and updates[-1].conversation == TEAMS_SPOC_CHANNEL
        assert "spoc:approve" not in json.dumps(updates[-1].card), "no decision buttons left"
        assert "approved" in teams_night.plain(updates[-1]).lower()

        await night.slack_calls.settle(quiet=0.1)
        told = slack.posts_to(slack_night.dm_of(AMARA_SLACK))[before:]
        assert "approved" in slack_text(told).lower(), "the Slack requester was told"
        alerts = [c for c in night.teams_calls.calls if c.conversation == TEAMS_SPOC_CHANNEL]
        assert [c.activity_id for c in alerts if c.kind == "send"] == [card.activity_id], (
            "one card and no 'could not reach' alerts: every delivery found its platform"
        )
        assert_nothing_personal_shared(night)
