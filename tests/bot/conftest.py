"""Fixtures for engine scenario tests: the real engine on both stores, an injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_core
from bot.clock import FrozenClock
from bot.config import Settings, parse_settings
from bot.directory import load_directory
from store.base import Store
from tests.night import SATURDAY_2AM, TIMERS, Night, RecordingSender, open_test_store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    raw = {"directory": str(ROOT / "directory.example.yaml"), "timers": TIMERS}
    return parse_settings(raw, {}, tmp_path)


@pytest.fixture(params=["sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'night.db'}"
    else:
        url = request.getfixturevalue("redis_url")
    opened = await open_test_store(url)
    yield opened
    await opened.close()


def night_on(settings: Settings, store: Store) -> Night:
    """A night whose engine works on ``store`` (the real store, or a wrapper around it)."""
    clock = FrozenClock(SATURDAY_2AM)
    directory = load_directory(settings.directory)
    core = build_core(settings, clock=clock, store=store, directory=directory)
    sender = RecordingSender()
    core.engine.add_sender(sender, "spoc")
    return Night(engine=core.engine, worker=core.worker, clock=clock, sender=sender)


@pytest.fixture
async def night(settings: Settings, store: Store) -> Night:
    return night_on(settings, store)
