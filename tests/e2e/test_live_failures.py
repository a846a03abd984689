"""Real processes, real failures: SIGKILL during a busy night, the store going away, replicas.

Each test runs ``oohbot serve`` (and ``oohbot worker``) as subprocesses against a real SQLite
file or ``redis-server`` (append-only file on), with Slack played by signed HTTP requests and
the local recording Web API. Afterwards the store is opened directly and checked: every
requester has exactly one request, it was paged (channel card and a DM to the SPOC), the
requester was told its reference, nothing is left in the inbox or the outbox, and
``oohbot audit verify`` passes.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from flows.request import Request
from tests.decision_values import approval, slack_state
from tests.e2e.live import (
    SPOC,
    SPOC_CHANNEL,
    Live,
    Requester,
    Slack,
    asked,
    posts_to,
    requester_id,
)
from tests.e2e.slack_recorder import TEAM, SlackRecorder, dm_of, running_recorder
from tests.redis_process import AofRedis

REQUESTERS = 6
KILLS = 30


@pytest.fixture
async def recorder() -> AsyncIterator[SlackRecorder]:
    async with running_recorder() as running:
        yield running


def store_url(kind: str, tmp_path: Path, aof: AofRedis | None) -> str:
    return aof.url if aof is not None else f"sqlite:///{tmp_path / 'live.db'}"


async def night_of_requests(live: Live, slack: Slack, timeout: float = 120) -> list[Requester]:
    people = [Requester(requester_id(n), slack, live.recorder) for n in range(live.requesters)]
    await asyncio.gather(*(person.run(timeout) for person in people))
    return people


async def check_the_night(live: Live, people: list[Requester]) -> dict[str, int]:
    """Everything that must hold after the failures; returns counts worth printing."""
    store = await live.open_store()
    try:
        requests = [Request.model_validate(v.data) for v in await store.list_requests()]
        per_person = Counter(r.requester for r in requests)
        assert {f"req.{n:03d}" for n in range(live.requesters)} <= set(per_person), "lost"
        duplicates = sum(count - 1 for count in per_person.values())
        channel = " ".join(c.text() for c in posts_to(live.recorder, SPOC_CHANNEL))
        spoc_dm = " ".join(c.text() for c in posts_to(live.recorder, dm_of(SPOC)))
        for request in requests:
            assert request.paged, f"{request.ref} was never paged"
            assert request.ref in channel, f"{request.ref} has no card in the SPOC channel"
            assert request.ref in spoc_dm, f"{request.ref}: the SPOC was not paged"
        for person in people:
            told = " ".join(c.text() for c in posts_to(live.recorder, dm_of(person.user)))
            assert person.ref and person.ref in told, f"{person.user} was never confirmed"
        jobs = await store.pending_jobs()
        assert not [j for j in jobs if j.kind == "inbound"], "an event was never handled"
        assert {j.payload.get("ref") for j in jobs if j.kind == "spoc_ack"} >= {
            r.ref for r in requests if r.state == "paged"
        }
        assert await store.outbox_entries() == [], "a message was never delivered"
    finally:
        await store.close()
    verified = live.cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return {"requests": len(requests), "duplicates": duplicates}


async def settle(live: Live, timeout: float = 30.0) -> None:
    """Wait until the live processes have handled everything they stored."""
    store = await live.open_store()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            inbox = [j for j in await store.pending_jobs() if j.kind == "inbound"]
            if not inbox and not await store.outbox_entries():
                return
            await asyncio.sleep(0.2)
    finally:
        await store.close()


def asked_twice(recorder: SlackRecorder, people: list[Requester]) -> int:
    """Questions posted to a requester more than once over the whole night."""
    twice = 0
    for person in people:
        fields = [f for f in map(asked, posts_to(recorder, dm_of(person.user))) if f]
        twice += len(fields) - len(set(fields))
    return twice


async def night_beside(
    live: Live, trouble: Coroutine[Any, Any, None]
) -> tuple[Slack, list[Requester], dict[str, int]]:
    """One ``oohbot serve`` and a night of requests while ``trouble`` runs beside them; then
    everything the failures must not have broken is checked."""
    try:
        live.start("serve")
        await live.healthy("serve")
        async with aiohttp.ClientSession() as session:
            slack = Slack(live, session, ["serve"])
            running = asyncio.create_task(trouble)
            people = await night_of_requests(live, slack)
            await running
            await settle(live)
        return slack, people, await check_the_night(live, people)
    finally:
        live.stop_all()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_random_kills_during_a_busy_night_lose_nothing(
    kind: str, tmp_path: Path, recorder: SlackRecorder, request: pytest.FixtureRequest
) -> None:
    aof = request.getfixturevalue("aof_redis") if kind == "redis" else None
    live = Live(tmp_path, store_url(kind, tmp_path, aof), recorder, REQUESTERS)
    chance = random.Random(f"kills-{kind}")
    kills = 0

    async def killer() -> None:
        nonlocal kills
        while kills < KILLS:
            await asyncio.sleep(chance.uniform(0.05, 0.4))
            live.kill("serve")
            kills += 1
            live.start("serve")
            await live.healthy("serve")

    _, people, counts = await night_beside(live, killer())
    repeats = sum(p.repeats for p in people)
    print(f"\n{kind}: {kills} kills, {counts}, questions repeated {repeats}")
    assert kills >= KILLS
    assert counts["duplicates"] == 0


async def test_redis_outage_acknowledges_nothing_it_drops(
    tmp_path: Path, recorder: SlackRecorder, aof_redis: AofRedis
) -> None:
    """Redis SIGKILLed, shut down cleanly, SIGKILLed again, each back 1-5 s later: events during
    an outage are refused (Slack sends them again) and every one is answered afterwards."""
    live = Live(tmp_path, aof_redis.url, recorder, REQUESTERS)

    async def outages() -> None:
        for pause, stop in (
            (1.0, aof_redis.kill),
            (3.0, aof_redis.shut_down),
            (5.0, aof_redis.kill),
        ):
            await asyncio.sleep(0.5)
            stop()
            await asyncio.sleep(pause)
            aof_redis.start()

    slack, people, counts = await night_beside(live, outages())
    twice = asked_twice(recorder, people)
    print(f"\nredis outages: {slack.rejected} deliveries refused during outages, {counts}")
    assert slack.rejected > 0, "the outages fell where no event was sent"
    assert counts["duplicates"] == 0
    # A reply shown while Redis was away is marked sent once it is back (left pending, it
    # would go again after the reply grace, with the person's later replies held behind it),
    # and a commit whose answer was lost is shown by the event's redelivery.
    assert twice == 0, f"{twice} questions were posted twice"


async def test_two_servers_and_two_workers_share_one_redis(
    tmp_path: Path, recorder: SlackRecorder, aof_redis: AofRedis
) -> None:
    """Events spread over two ``serve --no-worker`` replicas, timers and leftovers over two
    ``oohbot worker`` processes; two SPOC clicks race on different replicas: one decision."""
    live = Live(tmp_path, aof_redis.url, recorder, 4)
    try:
        for name in ("a", "b"):
            live.start(name, "serve", "--no-worker")
        for name in ("w1", "w2"):
            live.start(name, "worker")
        await live.healthy("a")
        await live.healthy("b")
        async with aiohttp.ClientSession() as session:
            slack = Slack(live, session, ["a", "b"])
            people = await night_of_requests(live, slack)
            for person in people:
                await race_to_approve(slack, recorder, person.ref)
            await settle(live)
        counts = await check_the_night(live, people)
        store = await live.open_store()
        try:
            for person in people:
                stored = await store.get_request(person.ref)
                assert stored is not None
                request = Request.model_validate(stored.data)
                assert request.outcome == "approved" and request.paged == ["di.marsh"]
                kinds = {
                    j.kind for j in await store.pending_jobs() if j.payload.get("ref") == person.ref
                }
                assert {"retro_reminder", "retro_overdue"} <= kinds
            decided = [e for e in await store.audit_entries() if e.action == "request.approved"]
            assert len(decided) == len(people), "one decision per request"
        finally:
            await store.close()
    finally:
        live.stop_all()
    assert counts["duplicates"] == 0
    outcomes = [
        c
        for p in people
        for c in posts_to(recorder, dm_of(p.user))
        if "approved" in c.text().lower()
    ]
    assert len(outcomes) >= len(people)


async def race_to_approve(slack: Slack, recorder: SlackRecorder, ref: str) -> None:
    """The SPOC opens the decision form, then submits it twice at once on both replicas."""
    opened = len(recorder.of("views.open"))
    await slack.interaction(click("spoc:approve", ref), target="a")
    deadline = time.monotonic() + 15
    while len(recorder.of("views.open")) <= opened and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    view = recorder.of("views.open")[-1].params["view"]
    values = slack_state(approval("Disclosed"))
    payload = {
        "type": "view_submission",
        "user": {"id": SPOC, "team_id": TEAM},
        "team": {"id": TEAM},
        "trigger_id": f"trig.{ref}",
        "view": {**view, "id": "V1", "state": {"values": values}},
    }
    await asyncio.gather(
        slack.interaction(payload, target="a"), slack.interaction(payload, target="b")
    )


def click(action_id: str, ref: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": SPOC, "team_id": TEAM},
        "team": {"id": TEAM},
        "trigger_id": f"trig.click.{ref}",
        "channel": {"id": SPOC_CHANNEL},
        "container": {"type": "message", "channel_id": SPOC_CHANNEL, "message_ts": "1.1"},
        "actions": [{"type": "button", "action_id": action_id, "value": ref, "action_ts": "1.2"}],
        "state": {"values": {}},
    }
