"""The console page in a real browser against its own routes and a recording engine double:
escaping, live updates in place, keyboard use, multi-choice forms, hidden clock control."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from adapters.base import Address
from adapters.web import WebSender, install
from adapters.web.settings import WebSettings
from flows.messages import Action, Card, Choice, Question, Text
from tests.adapters.web.conftest import DIRECTORY, RecordingHandler, service
from tests.e2e.browser import PHONE, browser, pick, say, serve

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = pytest.mark.browser
__all__ = ["browser"]

HOSTILE = '<img src=x onerror="document.title=1"><script>document.title=2</script>'
CARD = Card(
    card_id="spoc:DPT/01/2026",
    title="Urgent information request DPT/01/2026",
    actions=(Action("spoc:approve", "Approve", "DPT/01/2026", "primary"),),
    status="Waiting for the SPOC",
)


@dataclass
class Rig:
    url: str
    handler: RecordingHandler
    sender: WebSender
    browser: Browser

    async def page(self, officer_id: str) -> Page:
        page = await self.browser.new_page()
        page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
        await page.goto(self.url)
        await pick(page, officer_id)
        return page


@pytest.fixture
async def rig(browser: Browser) -> AsyncIterator[Rig]:
    app = web.Application()
    handler = RecordingHandler()
    settings = WebSettings(clock_control=False)
    sender = install(
        app, handler, settings=settings, service=service(), directory=DIRECTORY, advance=None
    )
    async with serve(app) as url:
        yield Rig(url, handler, sender, browser)


async def test_user_text_is_shown_never_run(rig: Rig) -> None:
    from playwright.async_api import expect

    rig.handler.replies = [Text(HOSTILE)]
    page = await rig.page("req")
    await say(page, HOSTILE)
    await expect(page.locator("#inbox .from-bot")).to_contain_text(HOSTILE)
    await expect(page.locator("#inbox .from-me")).to_contain_text(HOSTILE)
    assert await page.locator("#inbox img, #inbox script").count() == 0
    assert await page.title() == "oohbot web console"


async def test_channel_card_arrives_live_and_is_replaced_in_place(rig: Rig) -> None:
    from playwright.async_api import expect

    page = await rig.page("spoc")
    handle = await rig.sender.send(Address("web", "channel", "spoc"), CARD)
    cards = page.locator("#feed article.card")
    await expect(cards).to_have_count(1)
    await expect(cards.locator('[data-id="spoc:approve"]')).to_have_attribute(
        "value", "DPT/01/2026"
    )
    decided = Card(card_id=CARD.card_id, title=CARD.title, status="Approved by DS Pock")
    await rig.sender.update(handle, decided)
    await expect(cards).to_have_count(1)
    await expect(cards).to_contain_text("Approved by DS Pock")
    await expect(cards.locator("button")).to_have_count(0)


async def test_a_new_prompt_takes_focus_and_the_keyboard_answers_it(rig: Rig) -> None:
    from playwright.async_api import expect

    choices = (Choice("yes", "Yes, someone is in danger now"), Choice("no", "No"))
    rig.handler.replies = [Question("emergency", "Is anyone in danger?", choices)]
    page = await rig.page("req")
    await say(page, "hello")
    first = page.locator('[data-id="answer:emergency:yes"]')
    await expect(first).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.locator('[data-id="answer:emergency:no"]')).to_be_focused()
    rig.handler.replies = []
    await page.keyboard.press("Enter")
    await expect(page.locator("#inbox .from-me .text").last).to_have_text("No")
    assert rig.handler.inbounds[-1].action == "answer:emergency:no"


async def test_multi_choice_is_checkboxes_and_continue(rig: Rig) -> None:
    from playwright.async_api import expect

    choices = (
        Choice("weapons", "Weapons"),
        Choice("violence", "Violence"),
        Choice("drugs", "Drugs"),
    )
    rig.handler.replies = [Question("info_required", "What do you need?", choices, multi=True)]
    page = await rig.page("req")
    await say(page, "next")
    await page.get_by_label("Weapons").check()
    await page.get_by_label("Drugs").check()
    rig.handler.replies = []
    await page.locator('[data-id="answer:info_required"]').click()
    await expect(page.locator("#inbox .from-me .text").last).to_have_text("Weapons, Drugs")
    inbound = rig.handler.inbounds[-1]
    assert (inbound.kind, inbound.action) == ("form", "answer:info_required")
    assert inbound.form == {"info_required": ["weapons", "drugs"]}


async def test_clock_control_is_hidden_without_a_clock(rig: Rig) -> None:
    page = await rig.page("req")
    assert not await page.locator("#clock").is_visible()


async def test_inbox_survives_a_reload_and_fits_a_phone(rig: Rig) -> None:
    from playwright.async_api import expect

    page = await rig.page("req")
    await rig.sender.send(Address("web", "user", "req"), Text("Your request was approved"))
    await expect(page.locator("#inbox")).to_contain_text("Your request was approved")
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await page.reload()
    await page.wait_for_selector("body[data-ready=true]")
    await expect(page.locator("#inbox")).to_contain_text("Your request was approved")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "no sideways scrolling on a phone"
