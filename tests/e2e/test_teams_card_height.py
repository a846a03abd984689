"""Teams cards as the official Adaptive Cards renderer draws them, 560 px wide (a Teams chat on
a phone, or a narrow desktop pane): the review card fits under 800 px (it was 1,735 px with a
"Change" button per answer), and the other cards a requester and a SPOC see stay compact."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from adapters.teams.cards import render
from bot.directory import load_directory
from flows.conversation import ConversationContext, ConversationFlow, Step
from flows.effects import Send
from flows.inbound import Inbound
from flows.messages import Card, Question
from flows.policy import Policy
from tests.e2e.adaptive import render_card
from tests.e2e.browser import artifact, browser
from tests.night import ANSWERS

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = pytest.mark.browser
__all__ = ["browser"]

ROOT = Path(__file__).resolve().parents[2]
NIGHT = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
LIMIT = 800
SUMMARY = (
    "Patient threatened two night staff with a kitchen knife at 01:30 and left the ward. "
    "Believed to be heading to his sister's address in Tidemouth. We need to know whether "
    "he has convictions for violence or weapons before staff and police attend."
)


def _review_card() -> Card:
    """The review card the conversation builds for Amara (acting for several organisations,
    so 18 answers: the most a review can have with the example directory)."""
    flow = ConversationFlow(Policy())
    context = ConversationContext(
        now=NIGHT,
        directory=load_directory(ROOT / "directory.example.yaml"),
        policy=Policy(),
        in_office_hours=False,
        platform="web",  # the web console's identities: the same card goes to Teams
        user_id="amara.okafor",
        tenant="",
    )
    answers = {**ANSWERS, "summary": SUMMARY, "info_required": "weapons, violence, other"}
    answers["info_other"] = "Whether he has access to firearms"
    step: Step = flow.begin(context)
    for _ in range(40):
        question = next((m for m in reversed(step.replies) if isinstance(m, Question)), None)
        assert question is not None
        if question.field == "review":
            break
        event = Inbound("web", "amara.okafor", "", "c", "text", text=answers[question.field])
        step = flow.step(step.session, event, context)
    [card] = [e.message for e in step.effects if isinstance(e, Send)]
    assert isinstance(card, Card) and len(card.fields) == 18
    return card


async def test_the_review_card_is_under_800_px_at_560_px_wide(browser: Browser) -> None:
    card = render(_review_card())
    page = await browser.new_page(viewport={"width": 600, "height": 1200})
    height = await render_card(page, card, width=560)
    await page.locator("#host").screenshot(path=artifact("teams-review-card-560.png"))
    assert height < LIMIT, f"the review card is {height} px tall at 560 px"
    buttons = page.locator("#host button")
    titles = [t.strip() for t in await buttons.all_inner_texts()]
    assert titles.count("Change") == 1, titles
    await expect_text(page, "Choose one to change")
    await expect_text(page, "Tidemouth")


async def expect_text(page: object, text: str) -> None:
    from playwright.async_api import Page, expect

    assert isinstance(page, Page)
    await expect(page.locator("#host")).to_contain_text(text)


async def test_the_spoc_card_and_a_withdraw_that_asks_first(browser: Browser) -> None:
    from playwright.async_api import expect

    from flows import cards
    from flows.home import requester_view
    from tests.flows.lifecycle_world import World, new_request

    world = World()
    request = new_request(paged=["spoc1"])
    page = await browser.new_page(viewport={"width": 600, "height": 1200})
    height = await render_card(page, render(cards.spoc_card(request, world.directory, world.ctx)))
    await page.locator("#host").screenshot(path=artifact("teams-spoc-card-560.png"))
    assert height < LIMIT
    await expect(page.locator("#host")).to_contain_text("Call-back number: 01632 960777")

    officer = world.directory.officer("req")
    assert officer is not None
    mine = requester_view(officer, [request], world.ctx.calendar.zone, world.now)
    await render_card(page, render(mine))
    await page.get_by_role("button", name="Withdraw").click()
    sure = page.get_by_role("button", name="Yes, withdraw")
    await expect(sure).to_be_visible()
    await expect(page.locator("#host")).to_contain_text("cannot be undone")
    await page.locator("#host").screenshot(path=artifact("teams-withdraw-confirm-560.png"))
