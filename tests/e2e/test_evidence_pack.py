"""The operator's case file and the IG evidence pack after a finished night (issue 13):
``oohbot requests show`` and ``oohbot requests export``, the HTML opened in Chromium and
printed on A4 with nothing cut at the page edge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from bot.app import build_core
from bot.clock import FrozenClock
from bot.config import parse_settings
from bot.directory import load_directory
from store.crypto import generate_key
from tests.bot.test_casefile_night import ANSWER, QUESTION, finished_night
from tests.bot.test_cli import ROOT, oohbot
from tests.decision_values import CONDITIONS, REASONS_NOT_TOLD
from tests.e2e.browser import artifact, browser
from tests.night import SATURDAY_2AM, TIMERS, Night, RecordingSender, open_test_store

if TYPE_CHECKING:
    from playwright.async_api import Browser

__all__ = ["browser"]

NOTE = "Disclosed <b>not bold</b>, reference " + "Q" * 160  # markup, and a word no line holds
A4_CONTENT_PX = round((210 - 2 * 15) / 25.4 * 96)  # A4 width less the 15 mm margins, at 96 dpi


async def _night_on_disk(db: Path, key: str) -> str:
    settings = parse_settings(
        {"directory": str(ROOT / "directory.example.yaml"), "timers": TIMERS}, {}, db.parent
    )
    store = await open_test_store(f"sqlite:///{db}", key)
    try:
        clock = FrozenClock(SATURDAY_2AM)
        directory = load_directory(settings.directory)
        core = build_core(settings, clock=clock, store=store, directory=directory)
        sender = RecordingSender()
        core.engine.add_sender(sender, "spoc")
        night = Night(engine=core.engine, worker=core.worker, clock=clock, sender=sender)
        return await finished_night(night, NOTE)
    finally:
        await store.close()


def _config(tmp_path: Path, db: Path) -> Path:
    config = tmp_path / "app.yaml"
    directory = str(ROOT / "directory.example.yaml")
    config.write_text(yaml.safe_dump({"directory": directory, "store": {"url": f"sqlite:///{db}"}}))
    return config


async def test_show_and_export_carry_answers_decision_form_and_audit(
    tmp_path: Path, browser: Browser
) -> None:
    db, key = tmp_path / "night.db", generate_key()
    ref = await _night_on_disk(db, key)
    config, env = str(_config(tmp_path, db)), {"OOHBOT_ENCRYPTION_KEYS": key}

    shown = oohbot("requests", "show", ref, "--config", config, env=env)
    assert shown.returncode == 0, shown.stderr
    for expected in (
        "Zqxjvonkle",  # an answer
        "Lawful power relied on: Crime and Disorder Act 1998 s115",  # a decision item
        f"If not, why not: {REASONS_NOT_TOLD}",
        QUESTION,
        ANSWER,
        "Requested by (name and designation of authorised signatory)",  # the written form
        "Approved by Dana Marsh",  # the timeline, in plain words
    ):
        assert expected in shown.stdout, expected
    assert "retro_due" not in shown.stdout and "request.approved" not in shown.stdout

    as_json = json.loads(oohbot("requests", "show", ref, "--format", "json", "--config", config,
                                env=env).stdout)  # fmt: skip
    titles = [s["title"] for s in as_json["sections"]]
    assert titles[:3] == ["The request", "What was asked", "The decision"]

    out = tmp_path / "pack.html"
    exported = oohbot("requests", "export", ref, "--format", "html", "--out", str(out),
                      "--config", config, env=env)  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    page_html = out.read_text(encoding="utf-8")
    for expected in ("Zqxjvonkle", CONDITIONS, "request.approved", "request.record_opened",
                     "Audit chain head", "Requested by (name and designation"):  # fmt: skip
        assert expected in page_html, expected
    assert "<b>not bold</b>" not in page_html and "&lt;b&gt;not bold&lt;/b&gt;" in page_html

    pack = json.loads(oohbot("requests", "export", ref, "--format", "json", "--config", config,
                             env=env).stdout)  # fmt: skip
    actions = [e["action"] for e in pack["audit"]]
    assert "request.submitted" in actions and "request.approved" in actions
    assert actions.count("request.record_opened") == 4, "show twice, export twice: all audited"
    assert [e["actor"] for e in pack["audit"] if e["action"] == "request.record_opened"] == [
        "operator"
    ] * 4
    verified = oohbot("audit", "verify", "--config", config, env=env)
    assert verified.returncode == 0 and f"head {pack['chain_head']}" in verified.stdout

    wrong = oohbot("requests", "show", "DPT/99/2026", "--config", config, env=env)
    assert wrong.returncode != 0 and "no request with reference" in wrong.stderr

    await _prints_on_a4(browser, out)


async def _prints_on_a4(browser: Browser, html_file: Path) -> None:
    page = await browser.new_page(viewport={"width": A4_CONTENT_PX, "height": 1100})
    await page.goto(html_file.as_uri())
    await page.emulate_media(media="print")
    overflowing = await page.evaluate(
        """(width) => [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > width + 1
                         || el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0)
            .map((el) => el.tagName + ': ' + el.textContent.slice(0, 60))""",
        A4_CONTENT_PX,
    )
    assert overflowing == [], "content is cut at the A4 page edge"
    assert await page.evaluate("document.documentElement.scrollWidth") <= A4_CONTENT_PX
    await page.screenshot(path=artifact("evidence-pack-print.png"), full_page=True)
    pdf = await page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000
    artifact("evidence-pack.pdf").write_bytes(pdf)
    await page.close()
