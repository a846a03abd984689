"""The official Adaptive Cards renderer (npm ``adaptivecards``) in Chromium, to measure and look
at the cards Teams would show.

``require("adaptivecards")`` is broken on Node 20, but the package's browser bundle
(``dist/adaptivecards.min.js``) works: it is loaded into a page. The bundle comes from
``tools/node_modules`` when the repository's tools are installed (``npm ci --prefix tools``),
else it is installed once into ``.cache/npm`` by ``npm`` itself. Without ``npm`` (or without
network for the first install) the tests skip, or fail under ``CI=true``.

Teams renders the cards' escaped markdown; here a minimal ``onProcessMarkdown`` undoes the
backslash escapes so that text reads (and wraps) as it would in Teams.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Page

ROOT = Path(__file__).resolve().parents[2]
VERSION = "3.0.6"
BUNDLE = Path("node_modules/adaptivecards/dist/adaptivecards.min.js")
HOST = """<!doctype html><html><head><meta charset="utf-8"><style>
body { margin: 0; background: #f5f5f5; font-family: "Segoe UI", system-ui, sans-serif; }
#host { width: %dpx; background: #fff; }
</style></head><body><div id="host"></div></body></html>"""
RENDER = """(card) => {
  const html = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const bold = (text) => text.replace(/(?<!\\\\)\\*\\*(.+?)(?<!\\\\)\\*\\*/g, "<b>$1</b>");
  const unescape = (text) => text.replace(/\\\\(.)/g, "$1").replace(/\\u200b/g, "");
  AdaptiveCards.AdaptiveCard.onProcessMarkdown = (text, result) => {
    result.outputHtml = unescape(bold(html(text)));
    result.didProcess = true;
  };
  const adaptive = new AdaptiveCards.AdaptiveCard();
  adaptive.parse(card);
  const element = adaptive.render();
  const host = document.getElementById("host");
  host.replaceChildren(element);
  return Math.ceil(element.getBoundingClientRect().height);
}"""


def _fail_or_skip(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def bundle() -> Path:
    """The renderer's browser bundle, installing it into ``.cache/npm`` the first time."""
    for base in (ROOT / "tools", ROOT / ".cache" / "npm"):
        if (base / BUNDLE).exists():
            return base / BUNDLE
    npm = shutil.which("npm")
    if npm is None:
        _fail_or_skip("npm is not installed: cannot install the adaptivecards renderer")
    cache = ROOT / ".cache" / "npm"
    cache.mkdir(parents=True, exist_ok=True)
    command = [str(npm), "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(cache)]
    done = subprocess.run(
        [*command, f"adaptivecards@{VERSION}"], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0 or not (cache / BUNDLE).exists():
        _fail_or_skip(f"npm could not install adaptivecards: {done.stderr[-300:]}")
    return cache / BUNDLE


async def render_card(page: Page, card: dict[str, Any], width: int = 560) -> int:
    """Render ``card`` at ``width`` CSS pixels; return its height in pixels."""
    await page.set_content(HOST % width)
    await page.add_script_tag(path=str(bundle()))
    height: int = await page.evaluate(RENDER, json.loads(json.dumps(card)))
    return height
