"""The whole night in a browser: the real application, headless Chromium, the web console.

``build_app`` serves on a free loopback port with SQLite in ``tmp_path`` and an ``OffsetClock``
(the console's development fast-forward). Every step is done the way a person would: pick who
you are, click the buttons, type the answers, fill the forms. Nothing is reloaded except where
the test checks that an inbox survives a reload.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.app import build_app
from bot.clock import FrozenClock, OffsetClock
from bot.config import parse_settings
from bot.directory import load_directory
from flows.directory import Officer
from flows.request import Request
from store.base import Store
from tests.decision_values import approval, fill_console
from tests.e2e.browser import DESKTOP, PHONE, artifact, browser, pick, say, serve
from tests.night import ANSWERS, CANARY_VALUES, SATURDAY_2AM, TIMERS, open_test_store

if TYPE_CHECKING:
    from playwright.async_api import Browser, Locator, Page

pytestmark = pytest.mark.browser
__all__ = ["browser"]

ROOT = Path(__file__).resolve().parents[2]
EXPIRED = Officer(
    id="old.hand",
    name="Olive Hand",
    post="Former on-call manager",
    org="DPT",
    manager="gwen.hollis",
    roles=("requester",),
    valid_until=date(2020, 1, 1),
)
REF = re.compile(r"DPT/\d{2,}/2026")
UNANSWERED = '#inbox [data-id^="ask:"]:not([data-answered])'
REFUSED = "Sorry, I cannot take a request from you"


@dataclass
class Console:
    url: str
    store: Store
    browser: Browser

    async def page(self, officer_id: str, viewport: dict[str, int] = DESKTOP) -> Page:
        page = await self.browser.new_page(viewport=viewport)  # type: ignore[arg-type]
        await page.goto(self.url)
        await pick(page, officer_id)
        return page

    async def request(self, ref: str) -> Request:
        stored = await self.store.get_request(ref)
        assert stored is not None
        return Request.model_validate(stored.data)


@pytest.fixture
async def console(tmp_path: Path, browser: Browser) -> AsyncIterator[Console]:
    raw = {
        "directory": str(ROOT / "directory.example.yaml"),
        "store": {"url": f"sqlite:///{tmp_path / 'oohbot.db'}"},
        "timers": TIMERS,
    }
    settings = parse_settings(raw, {}, tmp_path)
    directory = load_directory(settings.directory)
    directory = directory.model_copy(update={"officers": (*directory.officers, EXPIRED)})
    store = await open_test_store(settings.store.url)
    clock = OffsetClock(FrozenClock(SATURDAY_2AM))
    app = build_app(settings, clock=clock, store=store, directory=directory, run_worker=False)
    try:
        async with serve(app) as url:
            yield Console(url, store, browser)
    finally:
        await store.close()


async def answer(page: Page, question: Locator, field: str) -> None:
    """Answer like a person: click the option's button, tick the boxes, or type."""
    value = ANSWERS[field]
    button = question.locator(f'button[data-id="answer:{field}:{value}"]')
    if await button.count():
        await button.click()
        return
    if await question.locator("input[type=checkbox]").count():
        for part in (p.strip() for p in value.split(",")):
            box = (
                question.locator("input[type=checkbox]").nth(int(part) - 1)
                if part.isdigit()
                else question.locator(f'[data-id="answer:{field}:{part}"]')
            )
            await box.check()
        await question.locator(f'[data-id="answer:{field}"]').click()
        return
    await say(page, value)


async def hold_conversation(page: Page) -> str:
    """Say hello, answer every prompt; return the reference the bot allocated."""
    from playwright.async_api import expect

    await say(page, "hello")
    for _ in range(60):
        await page.wait_for_function(
            f"""() => document.querySelector('{UNANSWERED}')
                || /DPT\\/\\d+\\/2026/.test(document.querySelector('#inbox').textContent)"""
        )
        question = page.locator(UNANSWERED).last
        if not await question.count():
            found = REF.search(await page.inner_text("#inbox"))
            assert found
            return found.group(0)
        field = (await question.get_attribute("data-id") or "").removeprefix("ask:")
        if field == "emergency":  # focus moved to the new prompt's first button
            await expect(question.locator("button").first).to_be_focused()
        await page.eval_on_selector_all(
            '#inbox [data-id^="ask:"]', "nodes => nodes.forEach(n => n.dataset.answered = '1')"
        )
        await answer(page, question, field)
    raise AssertionError("the conversation did not end")


async def fill_retrospective(form: Locator) -> None:
    """Keep what the form pre-filled; put something sensible in each empty required input."""
    inputs = form.locator("input[data-id^='retro:'], textarea[data-id^='retro:']")
    for index in range(await inputs.count()):
        control = inputs.nth(index)
        if await control.input_value() or await control.get_attribute("required") is None:
            continue
        kind = await control.get_attribute("type")
        samples = {"date": "1979-02-14", "tel": "07700 900123"}
        await control.fill(samples.get(kind or "", "Recorded for the retrospective form"))
    selects = form.locator("select[data-id^='retro:']")
    for index in range(await selects.count()):
        if not await selects.nth(index).input_value():
            await selects.nth(index).select_option(index=1)


async def test_the_whole_night_in_a_browser(console: Console) -> None:
    from playwright.async_api import expect

    spoc = await console.page("di.marsh")
    requester = await console.page("amara.okafor")

    ref = await hold_conversation(requester)

    card = spoc.locator("#feed article.card", has_text=ref)
    await expect(card).to_be_visible()  # arrived live: the SPOC page was never reloaded
    await expect(spoc.locator("#inbox")).to_contain_text(ref)  # paged by direct message too
    channel_text = await spoc.inner_text("#feed")
    assert not any(value in channel_text for value in CANARY_VALUES), "the channel is redacted"

    await card.locator('[data-id="spoc:approve"]').click()
    decision = spoc.locator('#inbox form[data-form-id="spoc:decision"]').last
    first = decision.locator('[data-id="decision:disclosed"] input').first
    await expect(first).to_be_focused()
    note = "Disclosed: two cautions for a bladed article <b>not bold</b>"
    await fill_console(decision, approval(note))
    await decision.locator("button[type=submit]").click()
    await expect(card).to_contain_text(re.compile("approved", re.I))
    await expect(card.locator('[data-id="spoc:approve"]')).to_have_count(0)
    assert (await console.request(ref)).outcome == "approved"
    await expect(requester.locator("#inbox")).to_contain_text(re.compile("approved", re.I))

    await spoc.screenshot(path=artifact("spoc-view.png"), full_page=True)
    await spoc.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await spoc.screenshot(path=artifact("spoc-view-phone.png"), full_page=True)

    await requester.click('[data-id="clock:72h"]')
    await requester.click('[data-id="clock:1h"]')
    await expect(requester.locator("#clock-offset")).to_contain_text("73 h")
    assert (await console.request(ref)).state == "retro_overdue"

    manager = await console.page("gwen.hollis")
    await expect(manager.locator("#inbox")).to_contain_text(ref)  # the overdue nudge, kept
    await expect(manager.locator("#home")).to_contain_text(ref)  # team overdue in the status
    await manager.screenshot(path=artifact("manager-view.png"), full_page=True)

    await requester.reload()
    await requester.wait_for_selector("body[data-ready=true]")
    await expect(requester.locator("#inbox")).to_contain_text("hello")  # survived the reload
    await requester.locator('#home [data-id="retro:open"]').first.click()
    form = requester.locator('#inbox form[data-form-id="retro:submit"]').last
    await expect(form).to_be_visible()
    await fill_retrospective(form)
    await form.locator("button[type=submit]").click()
    await expect(requester.locator("#home")).not_to_contain_text(ref)
    assert (await console.request(ref)).state == "closed"

    await requester.fill("#timeline-ref", ref)
    await requester.click("#timeline-show")
    await expect(requester.locator("#timeline")).to_contain_text(f"Timeline of {ref}")


@pytest.mark.parametrize("officer_id", ["old.hand", "gwen.hollis"])
async def test_a_caller_who_may_not_request_is_refused(console: Console, officer_id: str) -> None:
    from playwright.async_api import expect

    page = await console.page(officer_id)
    await say(page, "hello")
    await page.locator('[data-id="answer:emergency:no"]').click()
    await expect(page.locator("#inbox")).to_contain_text(REFUSED)
    assert await console.store.list_requests() == []


async def test_an_event_not_saved_is_sent_again_by_the_page_under_the_same_id(
    console: Console,
) -> None:
    """The service refuses the first sending (503: the store could not take it); the page
    sends it again under the same id, and the person sees the echo and the question once."""
    from playwright.async_api import Request as Sent
    from playwright.async_api import Route, expect

    page = await console.page("amara.okafor", PHONE)
    sent: list[dict[str, Any]] = []

    async def refuse_the_first(route: Route, request: Sent) -> None:
        sent.append(dict(request.post_data_json or {}))
        if len(sent) == 1:
            error = "I could not save that just now. Wait a minute, then type status."
            await route.fulfill(status=503, json={"error": error})
        else:
            await route.continue_()

    await page.route("**/web/api/event", refuse_the_first)
    await say(page, "hello")
    await expect(page.locator(UNANSWERED)).to_have_count(1)
    assert len(sent) == 2 and sent[0]["id"] == sent[1]["id"]
    await expect(page.locator("#inbox .from-me")).to_have_count(1)
    await expect(page.get_by_text("could not save")).to_have_count(0)
