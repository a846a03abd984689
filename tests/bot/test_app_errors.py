"""The application's outermost handler: a short answer with an error id, never a traceback."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.clock import FrozenClock
from bot.config import parse_settings
from bot.directory import load_directory
from store.crypto import generate_key
from tests.bot.test_cli import ROOT
from tests.bot.test_cli_after_night import _overdue_night
from tests.night import SATURDAY_2AM, open_test_store


async def test_a_record_sealed_with_an_unknown_key_is_a_503_not_a_traceback(
    tmp_path: Path,
) -> None:
    """A service that was not given the new key before ``keys rotate`` ran (the order the
    README forbids) answers its status view with an error id, and logs the fix."""
    db = tmp_path / "night.db"
    await _overdue_night(db, generate_key())
    settings = parse_settings({"directory": str(ROOT / "directory.example.yaml")}, {}, tmp_path)
    store = await open_test_store(f"sqlite:///{db}", generate_key())
    app = build_app(
        settings,
        clock=FrozenClock(SATURDAY_2AM),
        store=store,
        directory=load_directory(settings.directory),
        run_worker=False,
    )
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        response = await client.get("/web/api/home?officer=amara.okafor")
        body = await response.json()
        assert response.status == 503
        assert set(body) == {"error", "error_id"} and body["error_id"] in body["error"]
        assert len(body["error"]) < 100
    finally:
        await client.close()
        await store.close()


async def test_console_bodies_over_its_limit_are_413_in_the_full_app(tmp_path: Path) -> None:
    settings = parse_settings({"directory": str(ROOT / "directory.example.yaml")}, {}, tmp_path)
    store = await open_test_store(f"sqlite:///{tmp_path / 'x.db'}")
    app = build_app(
        settings,
        clock=FrozenClock(SATURDAY_2AM),
        store=store,
        directory=load_directory(settings.directory),
        run_worker=False,
    )
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        response = await client.post(
            "/web/api/event",
            data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
            headers={"Content-Type": "application/json", "Origin": str(client.make_url(""))},
        )
        assert response.status == 413
    finally:
        await client.close()
        await store.close()
