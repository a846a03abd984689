"""After a night and the retention period, nothing stored is without a lifetime (issue: every
key has a lifetime). A real engine and worker run a night on each store; the clock then moves
past the retention period with the daily jobs running; a scan of every Redis key and every
SQLite table must find only documented kinds (``store.lifetimes.KINDS``), each kind that ends
carrying its end (a Redis TTL, an SQLite ``expires_at``), and the request's personal data gone.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from bot.app import build_core
from bot.clock import FrozenClock
from bot.config import Settings
from bot.directory import load_directory
from flows.messages import Card
from store import keys as k
from store.lifetimes import kind_of_redis_key, kind_of_table
from store.sqlite import EXPIRING
from tests.night import SATURDAY_2AM, Night, RecordingSender, only, open_test_store, texts

REF = re.compile(r"DPT/\d{2,}/2026")


@pytest.fixture(params=["sqlite", "redis"])
async def night_and_url(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[Night, str]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'night.db'}"
    else:
        url = request.getfixturevalue("redis_url")
    store = await open_test_store(url)
    clock = FrozenClock(SATURDAY_2AM)
    core = build_core(
        settings, clock=clock, store=store, directory=load_directory(settings.directory)
    )
    sender = RecordingSender()
    core.engine.add_sender(sender, "spoc")
    yield Night(engine=core.engine, worker=core.worker, clock=clock, sender=sender), url
    await store.close()


async def _a_withdrawn_request(night: Night) -> str:
    found = REF.search(texts(await night.request("amara.okafor")))
    assert found
    status = only(await night.say("amara.okafor", "status"), Card)
    (entry,) = [f for f in status.fields if f.label == found.group(0)]
    assert entry.action is not None
    await night.click("amara.okafor", entry.action.action_id, entry.action.value)
    return found.group(0)


async def test_after_a_night_and_the_retention_period_every_key_has_a_lifetime(
    night_and_url: tuple[Night, str],
) -> None:
    night, url = night_and_url
    ref = await _a_withdrawn_request(night)
    await night.say("di.marsh", "status")
    await night.engine.schedule_digest()
    await night.engine.schedule_retention()
    for _ in range(4):
        await night.advance(timedelta(days=100))

    stored = await night.engine.store.get_request(ref)
    assert stored is not None and stored.data.get("destroyed_at"), "retention ran"
    if url.startswith("redis"):
        _every_redis_key_has_a_lifetime(url)
    else:
        _every_sqlite_row_has_a_lifetime(Path(url.removeprefix("sqlite:///")))


def _every_redis_key_has_a_lifetime(url: str) -> None:
    client = redis.Redis.from_url(url, decode_responses=True)
    keys = list(client.scan_iter(match=k.PREFIX + "*"))
    assert any(key.startswith(k.session_key("")) for key in keys), "the night left sessions"
    for key in keys:
        kind = kind_of_redis_key(key, k.PREFIX)
        assert kind is not None, f"{key} is no documented kind"
        if kind.rule == "ttl":
            assert client.pttl(key) > 0, f"{key} ({kind.name}) has no TTL"
    assert not client.hlen(k.DATA_KEYS), "the withdrawn request's data key was destroyed"


def _every_sqlite_row_has_a_lifetime(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for table in tables:
            assert kind_of_table(table) is not None, f"table {table} is no documented kind"
        sessions = conn.execute(f"SELECT COUNT(*) FROM {k.T_SESSIONS}").fetchone()[0]
        assert sessions == 0, "400 days without a message: the daily sweep ended the sessions"
        for table in EXPIRING:
            missing = conn.execute(
                f"SELECT COUNT(*) FROM {table} WHERE expires_at IS NULL"
            ).fetchone()[0]
            assert missing == 0, f"{table} has rows without an end"
        assert conn.execute(f"SELECT COUNT(*) FROM {k.T_DATA_KEYS}").fetchone()[0] == 0
    conn.close()
