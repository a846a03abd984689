"""Accessibility checks with axe-core (``axe-playwright-python`` bundles ``axe.min.js``; it is
injected through the DevTools protocol, so the console's Content-Security-Policy stays as it
is). A view passes with no serious or critical violation."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Page

BLOCKING = ("serious", "critical")


async def blocking_violations(page: Page) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now, one line each."""
    try:
        from axe_playwright_python.async_playwright import Axe
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("axe-playwright-python is not installed (pip install -e '.[test]')")
        pytest.skip("axe-playwright-python is not installed")
    results = await Axe().run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
        if v.get("impact") in BLOCKING
    ]


async def assert_accessible(page: Page, view: str) -> None:
    found = await blocking_violations(page)
    assert not found, f"{view}: " + "; ".join(found)
