"""More of the night on Slack, through the same rig as ``test_slack_night``: the production
application on SQLite with a frozen clock, signed requests to ``/slack/events`` and the local
recording Web API. Two officers deciding at once, a question relayed both ways, ``/ooh status``
and the Home tab, and requests that fail the signature check.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.adapters.slack.conftest import signature
from tests.decision_values import approval, slack_state
from tests.e2e import test_slack_night as base
from tests.e2e.slack_recorder import TEAM, Call, dm_envelope
from tests.e2e.test_slack_night import (
    AMARA,
    KELLOW,
    MARSH,
    SECRET,
    SPOC_CHANNEL,
    SlackNight,
    dm_of,
)
from tests.night import ANSWERS, CANARY_VALUES

night = base.night
TOM = "UTOM"
PRIVATE = (*CANARY_VALUES, ANSWERS["contact_phone"], ANSWERS["summary"])
SIX_MINUTES = 6 * 60


# --- helpers ----------------------------------------------------------------------------------


async def _signed_post(
    night: SlackNight, body: str, content_type: str, *, secret: str = SECRET, age: int = 0
) -> tuple[int, str]:
    """POST as Slack would, signed with ``secret`` at a timestamp ``age`` seconds ago."""
    timestamp = int(time.time()) - age
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(body, timestamp, secret),
    }
    response = await night.client.post("/slack/events", data=body, headers=headers)
    return response.status, await response.text()


def _dm_envelope(user: str, text: str, event_id: str) -> str:
    return json.dumps(dm_envelope(user, text, event_id))


async def _command(night: SlackNight, user: str, text: str, channel: str) -> str:
    """``/ooh <text>`` typed in ``channel``; returns the immediate (ack) answer."""
    body = urlencode(
        {
            "command": "/ooh",
            "text": text,
            "user_id": user,
            "team_id": TEAM,
            "channel_id": channel,
            "trigger_id": night._next("trig."),
            "response_url": "https://hooks.slack.invalid/commands/1",
        }
    )
    status, answer = await _signed_post(night, body, "application/x-www-form-urlencoded")
    assert status == 200
    return answer


async def _home_opened(night: SlackNight, user: str) -> None:
    event = {"type": "app_home_opened", "user": user, "channel": dm_of(user), "tab": "home"}
    envelope = {
        "type": "event_callback",
        "team_id": TEAM,
        "event_id": night._next("Ev"),
        "event": event,
    }
    status, _ = await _signed_post(night, json.dumps(envelope), "application/json")
    assert status == 200


async def _modal(night: SlackNight, user: str, action: str, ref: str) -> dict[str, Any]:
    """Click a SPOC button in the channel; return the modal it opened."""
    since = len(night.recorder.calls)
    await night.click(user, action, ref, SPOC_CHANNEL)
    [opened] = [c for c in await night.settled(since) if c.method == "views.open"]
    view: dict[str, Any] = opened.params["view"]
    assert view["callback_id"] == "spoc:decision"
    return view


def _note(text: str) -> dict[str, Any]:
    return {"decision:note": {"note": {"type": "plain_text_input", "value": text}}}


def _shown(answer: dict[str, Any]) -> str:
    """What a modal's answer to its submission shows (its text blocks)."""
    view = answer.get("view") or {}
    return " ".join(str(b.get("text", {}).get("text", "")) for b in view.get("blocks", []))


def _said(calls: list[Call]) -> str:
    return " ".join(c.text() for c in calls)


async def _to_review(night: SlackNight) -> None:
    """Hold Amara's conversation up to the review, without submitting."""
    since = len(night.recorder.calls)
    await night.dm(AMARA, "hello")
    calls = await night.settled(since)
    while (field := base._asked(night.posts_to(dm_of(AMARA), calls))) != "review":
        assert field is not None, "the conversation ended before the review"
        since = len(night.recorder.calls)
        await night._answer(AMARA, field, ANSWERS[field])
        calls = await night.settled(since)


# --- two officers decide at once --------------------------------------------------------------


async def test_two_officers_approving_at_once_record_one_decision(night: SlackNight) -> None:
    ref = await base._submitted(night, ANSWERS)
    await night.advance(timedelta(minutes=11))  # the backup is paged too: three copies
    copies = await night.store.handles(f"spoc:{ref}")
    assert {h["recipient"] for h in copies} == {"channel", "di.marsh", "ds.kellow"}
    views = {user: await _modal(night, user, "spoc:approve", ref) for user in (MARSH, KELLOW)}
    notes = {MARSH: "Disclosed two cautions", KELLOW: "Disclosed the warning marker"}

    since = len(night.recorder.calls)
    answers = await asyncio.gather(
        *(
            night.submit(user, views[user], slack_state(approval(notes[user])))
            for user in (MARSH, KELLOW)
        )
    )
    calls = await night.settled(since)

    request = await night.state(ref)
    winner = MARSH if request.decided_by == "di.marsh" else KELLOW
    loser, (won, lost) = (KELLOW, answers) if winner == MARSH else (MARSH, answers[::-1])
    assert request.outcome == "approved" and request.decision_note == notes[winner]
    decided = [e for e in await night.store.audit_entries(ref) if e.action == "request.approved"]
    assert len(decided) == 1

    updates = Counter((c.channel(), c.params["ts"]) for c in calls if c.method == "chat.update")
    assert updates == Counter({(h["channel"], h["ts"]): 1 for h in copies}), "one per copy"
    assert len(night.posts_to(dm_of(AMARA), calls)) == 1, "the requester is told once"
    assert "Recorded" in _shown(won)
    winner_name = "Dana Marsh" if winner == MARSH else "Sam Kellow"
    told = _shown(lost) + _said(night.posts_to(dm_of(loser), calls))
    assert "already approved" in told and winner_name in told


# --- a question relayed both ways -------------------------------------------------------------


async def test_a_question_reaches_the_requester_and_the_answer_the_spoc(
    night: SlackNight,
) -> None:
    ref = await base._submitted(night, ANSWERS)
    view = await _modal(night, MARSH, "spoc:ask", ref)
    assert json.loads(view["private_metadata"]) == {"ref": ref, "context": "ask"}

    question = "Is the blade a kitchen knife or something else?"
    since = len(night.recorder.calls)
    answer = await night.submit(MARSH, view, _note(question))
    calls = await night.settled(since)
    assert "question was sent" in _shown(answer)
    assert question in _said(night.posts_to(dm_of(AMARA), calls))
    assert (await night.state(ref)).state == "info_requested"

    reply = "A kitchen knife, seen on Tuesday"
    since = len(night.recorder.calls)
    await night.dm(AMARA, reply)
    calls = await night.settled(since)
    assert reply in _said(night.posts_to(dm_of(MARSH), calls)), "the SPOC has the answer"
    assert "answer was sent" in _said(night.posts_to(dm_of(AMARA), calls))
    request = await night.state(ref)
    assert request.state == "acknowledged" and request.info[-1].answer == reply

    in_channel = _said([c for c in night.recorder.calls if c.channel() == SPOC_CHANNEL])
    assert question not in in_channel and reply not in in_channel


# --- /ooh status and the Home tab -------------------------------------------------------------


async def test_status_and_home_show_references_and_the_queue_only(night: SlackNight) -> None:
    ref = await base._submitted(night)

    since = len(night.recorder.calls)
    assert "direct message" not in await _command(night, AMARA, "status", dm_of(AMARA))
    mine = _said(night.posts_to(dm_of(AMARA), await night.settled(since)))
    assert ref in mine and "Waiting for a SPOC" in mine and "Type start" in mine

    since = len(night.recorder.calls)
    assert "direct message" in await _command(night, MARSH, "status", SPOC_CHANNEL)
    calls = await night.settled(since)
    assert not night.posts_to(SPOC_CHANNEL, calls), "the answer is not posted in the channel"
    queue = _said(night.posts_to(dm_of(MARSH), calls))
    assert "SPOC queue" in queue and ref in queue
    assert base._asked(night.posts_to(dm_of(MARSH), calls)) is None, "no draft was started"

    published: dict[str, str] = {}
    for user in (AMARA, MARSH):
        since = len(night.recorder.calls)
        await _home_opened(night, user)
        [call] = [c for c in await night.settled(since) if c.method == "views.publish"]
        assert call.params["user_id"] == user and call.params["view"]["type"] == "home"
        published[user] = call.text()
    assert ref in published[AMARA] and "SPOC queue" not in published[AMARA]
    assert ref in published[MARSH] and "SPOC queue" in published[MARSH]

    for shown in (mine, queue, *published.values()):
        assert not [value for value in PRIVATE if value in shown]


# --- requests that fail the signature check ---------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "age"), [("not-the-secret", 0), (SECRET, SIX_MINUTES)], ids=["bad", "stale"]
)
async def test_unverified_requests_change_nothing(night: SlackNight, secret: str, age: int) -> None:
    hello = _dm_envelope(TOM, "hello", "EvForgedHello")
    assert (await _signed_post(night, hello, "application/json", secret=secret, age=age))[0] == 401
    assert await night.store.load_session(f"slack:{TEAM}:{TOM}") is None

    await _to_review(night)
    since = len(night.recorder.calls)
    submit = _dm_envelope(AMARA, "submit", "EvSubmit")
    assert (await _signed_post(night, submit, "application/json", secret=secret, age=age))[0] == 401
    await night.recorder.settle(quiet=0.1)
    assert night.recorder.calls[since:] == [], "nothing was sent"
    assert await night.store.list_requests() == []
    session = await night.store.load_session(f"slack:{TEAM}:{AMARA}")
    assert session is not None and session["state"] == "reviewing"

    # The same event, properly signed, is not mistaken for a redelivery: it submits.
    assert (await _signed_post(night, submit, "application/json"))[0] == 200
    await night.settled(since)
    assert len(await night.store.list_requests()) == 1
