"""Browser fixtures for the web console's end-to-end tests (headless Debian Chromium).

Playwright drives the system's ``/usr/bin/chromium`` (``apt-get install chromium``); we never
run ``playwright install``. Without Chromium the browser tests skip, or fail under ``CI=true``.
``serve`` runs an aiohttp application on a free loopback port in the test's own event loop.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}
EXPECT_TIMEOUT_MS = 15_000
DESKTOP = {"width": 1440, "height": 900}


def chromium() -> str:
    """The Chromium binary, or skip (fail under CI=true) when there is none."""
    found = os.environ.get("OOHBOT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if Path(found).exists():
        return found
    message = "Chromium is not installed (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium."""
    executable = chromium()
    try:
        from playwright.async_api import async_playwright, expect
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("playwright is not installed (pip install playwright)")
        pytest.skip("playwright is not installed")
    # A busy 2-core machine can take longer than Playwright's 5 s to show a reply; waiting
    # longer only slows a test that is failing anyway.
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 and yield its base URL (``http://127.0.0.1:<port>``)."""
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def artifact(name: str) -> Path:
    """Where a test writes a screenshot (``test-artifacts/`` at the repository root)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


async def pick(page: Page, officer_id: str) -> None:
    """Choose who you are in the identity picker and wait for the live stream's snapshot."""
    await page.select_option("select[name=identity]", officer_id)
    await page.wait_for_selector("body[data-ready=true]")


async def say(page: Page, text: str) -> None:
    """Type into the chat box and press Enter."""
    await page.fill("[name=message]", text)
    await page.press("[name=message]", "Enter")
