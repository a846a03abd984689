"""Clocks per protocol and per organisation, through the real engine, worker and store (both
backends) with an injected clock: the form falls due from the request even if nobody answers;
two organisations with their own office hours and clocks in one night; an update's master
reference checked against the store."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.app import build_core
from bot.clock import FrozenClock
from bot.config import Settings, parse_settings
from bot.directory import load_directory
from flows.messages import Card, Message, Question
from flows.request import Request
from store.base import Store
from tests.night import (
    ANSWERS,
    SATURDAY_2AM,
    TIMERS,
    Night,
    RecordingSender,
    last_question,
    texts,
)

ROOT = Path(__file__).resolve().parents[2]
REF = re.compile(r"\b[A-Z]{2,4}/\d{2,}/2026\b")
HOUR = timedelta(hours=1)

# Coastal Partnership keeps a weekend night desk as its "office hours" and its local protocol
# wants the form within one working day and an answer within the hour; Downland keeps the
# service's defaults (08:30–17:00 weekdays, 72 h, 2 h).
CPT_SETTINGS = {
    "office_hours": {"start": "01:00", "end": "06:00", "days": ["sat", "sun"]},
    "timers": {"retrospective_due": "1 working day", "response_due": "1h"},
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    raw = yaml.safe_load((ROOT / "directory.example.yaml").read_text())
    for org in raw["organisations"]:
        if org["code"] == "CPT":
            org["settings"] = CPT_SETTINGS
    directory = tmp_path / "directory.yaml"
    directory.write_text(yaml.safe_dump(raw))
    return parse_settings({"directory": str(directory), "timers": TIMERS}, {}, tmp_path)


@pytest.fixture
async def night(settings: Settings, store: Store) -> AsyncIterator[Night]:
    clock = FrozenClock(SATURDAY_2AM)
    core = build_core(
        settings, clock=clock, store=store, directory=load_directory(settings.directory)
    )
    sender = RecordingSender()
    core.engine.add_sender(sender, "spoc")
    yield Night(engine=core.engine, worker=core.worker, clock=clock, sender=sender)


async def _request(night: Night, who: str, answers: Mapping[str, str] = ANSWERS) -> str:
    replies = await night.request(who, answers)
    found = REF.search(texts(replies))
    assert found, texts(replies)
    return found.group(0)


async def _stored(night: Night, ref: str) -> Request:
    stored = await night.engine.store.get_request(ref)
    assert stored is not None
    return Request.model_validate(stored.data)


def _cards(messages: Sequence[Message], prefix: str) -> list[Card]:
    return [m for m in messages if isinstance(m, Card) and m.card_id.startswith(prefix)]


async def test_a_request_nobody_answers_falls_due_72_hours_after_it_was_made(night: Night) -> None:
    """S4 App4 §1.5(c) (protocol-requirements §3 T1): the form backs up the request."""
    ref = await _request(night, "amara.okafor")
    made = (await _stored(night, ref)).created_at
    assert (await _stored(night, ref)).retro_due_at == made + 72 * HOUR

    await night.advance(48 * HOUR)  # 24 h before the deadline
    assert len(_cards(night.sender.inbox("amara.okafor"), f"reminder:{ref}")) == 1
    await night.advance(22 * HOUR)  # 2 h before
    assert len(_cards(night.sender.inbox("amara.okafor"), f"reminder:{ref}")) == 2
    assert not _cards(night.sender.inbox("amara.okafor"), f"nudge:{ref}")

    await night.advance(2 * HOUR)  # 72 h after the request was made
    request = await _stored(night, ref)
    assert request.state == "paged" and request.outcome is None, "nobody answered"
    assert request.nudges_sent == 1
    assert _cards(night.sender.inbox("amara.okafor"), f"nudge:{ref}")
    assert _cards(night.sender.inbox("gwen.hollis"), f"nudge:{ref}"), "the manager is told"

    await night.advance(24 * HOUR)
    assert (await _stored(night, ref)).nudges_sent == 2
    actions = [e.action for e in await night.engine.store.audit_entries(ref)]
    assert actions.count("request.retro_reminded") == 2
    assert "request.retro_overdue" in actions and actions.count("request.overdue_nudged") == 2


async def test_two_organisations_keep_their_own_office_hours_and_clocks(night: Night) -> None:
    """§9: office hours and timers per organisation. At 02:00 on a Saturday Coastal's night
    desk is open (so its requester is asked whether it can wait), Downland's is not."""
    replies = await night.say("tom.reyes", "hello")
    replies = await night.say("tom.reyes", "no")
    asked = last_question(replies)
    assert asked is not None and asked.field == "urgent_in_hours"
    await night.say("tom.reyes", "cancel")
    coastal = await _request(night, "tom.reyes")

    replies = await night.say("amara.okafor", "hello")
    replies = await night.say("amara.okafor", "no")
    asked = last_question(replies)
    assert asked is not None and asked.field != "urgent_in_hours"
    await night.say("amara.okafor", "cancel")
    downland = await _request(night, "amara.okafor")

    c, d = await _stored(night, coastal), await _stored(night, downland)
    assert c.response_due_at == SATURDAY_2AM + HOUR
    assert d.response_due_at == SATURDAY_2AM + 2 * HOUR
    assert c.retro_due_at == datetime(2026, 11, 22, 6, 0, tzinfo=UTC), "Sunday's close"
    assert d.retro_due_at == SATURDAY_2AM + 72 * HOUR

    await night.advance(HOUR)
    channel = texts(night.sender.channel())
    assert f"Request {coastal}: the response time" in channel
    assert f"Request {downland}: the response time" not in channel
    await night.advance(28 * HOUR)  # Sunday 07:00
    assert (await _stored(night, coastal)).nudges_sent == 1, "Coastal's form is overdue"
    assert (await _stored(night, downland)).nudges_sent == 0


async def _answer_until(
    night: Night, who: str, replies: list[Message], answers: Mapping[str, str], stop: str
) -> list[Message]:
    for _ in range(60):
        question = last_question(replies)
        assert question is not None, texts(replies)
        if question.field == stop:
            return replies
        replies = await night.say(who, answers[question.field])
    raise AssertionError("never asked " + stop)


async def test_an_update_must_name_a_master_reference_of_the_requesters_organisation(
    night: Night,
) -> None:
    """§2.3 / §10.6: an update names its master reference, which must exist and be the
    requester's organisation's. A wrong one is refused at the question; nothing is lost."""
    earlier = await _request(night, "amara.okafor")
    foreign = await _request(night, "tom.reyes")

    replies = await night.say("amara.okafor", "hello")
    replies = await night.say("amara.okafor", "update")
    assert "update of an earlier one" in texts(replies)
    replies = await _answer_until(night, "amara.okafor", replies, ANSWERS, "master_ref")
    errors = []
    for wrong in ("DPT/99/2026", foreign, "not a reference"):
        replies = await night.say("amara.okafor", wrong)
        question = last_question(replies)
        assert isinstance(question, Question) and question.field == "master_ref", wrong
        errors.append(question.error)
    missing, theirs, garbled = errors
    assert "cannot find a request DPT/99/2026 made by your organisation" in missing
    assert theirs == missing.replace("DPT/99/2026", foreign), "no hint that it exists elsewhere"
    assert "looks like DPT/17/2026" in garbled

    replies = await night.say("amara.okafor", earlier.lower())
    replies = await _answer_until(night, "amara.okafor", replies, ANSWERS, "review")
    replies = await night.say("amara.okafor", "submit")
    found = REF.findall(texts(replies))
    update = next(r for r in found if r not in (earlier, foreign))
    stored = await _stored(night, update)
    assert stored.answers["update"] == "yes" and stored.answers["master_ref"] == earlier
    [card] = [c for c in night.sender.channel() if isinstance(c, Card) and update in c.title]
    assert ("Update of", earlier) in [(f.label, f.value) for f in card.fields]
    assert stored.answers["subject.last_name"] == ANSWERS["subject.last_name"], "nothing lost"
