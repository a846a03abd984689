"""Right first time for a tired person on a phone (issue 16), in a real browser.

The real application and the web console in headless Chromium, at a desktop's 1280×900 and a
phone's 390×844, as a requester, a SPOC and a manager would use them — with wrong answers on
purpose. Each view is checked with axe-core (no serious or critical violation) and saved as a
screenshot under ``test-artifacts/``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.decision_values import approval, fill_console
from tests.e2e.axe import assert_accessible
from tests.e2e.browser import artifact, browser, say
from tests.e2e.test_web_night import REF, Console, console
from tests.night import ANSWERS

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

pytestmark = pytest.mark.browser
__all__ = ["browser", "console"]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x900", "390x844"])
UNANSWERED = '#inbox [data-id^="ask:"]:not([data-answered])'
REVIEW = '#inbox [data-card-id^="review:"]'
ERROR_RED = "rgb(198, 38, 26)"
NIGHT = {
    **ANSWERS,
    "on_behalf_of": "Tidemouth Borough Council",
    "subject.dob": "about 40",
    "subject.postcode": "TD1",
}


def named(viewport: dict[str, int], view: str) -> str:
    return f"{view}-{viewport['width']}x{viewport['height']}.png"


async def next_question(page: Page) -> tuple[Locator, str]:
    """The newest question not answered yet, and its field."""
    await page.wait_for_selector(UNANSWERED)
    asked = page.locator('#inbox [data-id^="ask:"]')
    question = asked.nth(await asked.count() - 1)  # stays this question once marked answered
    field = (await question.get_attribute("data-id") or "").removeprefix("ask:")
    await page.eval_on_selector_all(
        '#inbox [data-id^="ask:"]', "nodes => nodes.forEach(n => n.dataset.answered = '1')"
    )
    return question, field


async def answer(page: Page, question: Locator, field: str, value: str) -> None:
    """As a person would: the option's button, the boxes and Continue, or typing."""
    button = question.locator(f'button[data-id="answer:{field}:{value}"]')
    if await button.count():
        await button.click()
        return
    if await question.locator("input[type=checkbox]").count():
        for part in (p.strip() for p in value.split(",")):
            boxes = "input[type=checkbox]"
            box = (
                question.locator(boxes).nth(int(part) - 1)
                if part.isdigit()
                else question.locator(f"{boxes}[value={part}]")
            )
            await box.check()
        await question.locator(f'[data-id="answer:{field}"]').click()
        return
    await say(page, value)


async def start(page: Page) -> None:
    """Say hello and answer the emergency question: no."""
    await say(page, "hello")
    question, field = await next_question(page)
    assert field == "emergency"
    await question.locator('[data-id="answer:emergency:no"]').click()


async def converse_until(page: Page, stop: str, answers: dict[str, str] = NIGHT) -> Locator:
    """Answer every question until ``stop`` is asked; return that question."""
    for _ in range(40):
        question, field = await next_question(page)
        if field == stop:
            return question
        await answer(page, question, field, answers[field])
    raise AssertionError(f"{stop} was never asked")


async def submitted(page: Page) -> str:
    """Send the request from the review; return its reference."""
    await page.locator('[data-id="answer:review:submit"]').last.click()
    await page.wait_for_function(
        "() => /DPT\\/\\d+\\/2026/.test(document.querySelector('#inbox').textContent)"
    )
    found = REF.search(await page.inner_text("#inbox"))
    assert found
    return found.group(0)


async def in_view(page: Page, selector: str) -> bool:
    box = await page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    return box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


# --- the requester ----------------------------------------------------------------------------


@VIEWPORTS
async def test_the_requester_gets_it_right_first_time(
    console: Console, viewport: dict[str, int]
) -> None:
    from playwright.async_api import expect

    page = await console.page("amara.okafor", viewport)
    await start(page)

    # Where am I: "Question 1 of 17". A typo is offered back, not refused or taken silently.
    question, field = await next_question(page)
    assert field == "on_behalf_of"
    await expect(question.locator(".progress")).to_have_text("Question 1 of 17")
    await say(page, "Tidemuth")
    offered, _ = await next_question(page)
    await expect(offered).to_contain_text("Did you mean Tidemouth Borough Council?")
    await assert_accessible(page, "a question")
    await offered.locator('[data-id="answer:on_behalf_of:yes"]').click()

    # About 40, a partial postcode: accepted. A number that cannot be called: a visible error.
    phone = await converse_until(page, "contact_phone")
    await expect(phone.locator(".progress")).to_have_text("Question 17 of 17")
    await say(page, "12345")
    again, _ = await next_question(page)
    error = again.locator(".error-message")
    await expect(error).to_contain_text("too short")
    await expect(error).to_contain_text("07700 900123")
    await expect(error).to_have_attribute("role", "alert")
    assert await error.evaluate("e => getComputedStyle(e).color") == ERROR_RED
    error_id = await error.get_attribute("id")
    message = page.locator("[name=message]")
    await expect(message).to_have_attribute("aria-invalid", "true")
    assert error_id and error_id in (await message.get_attribute("aria-describedby") or "")
    await expect(message).to_be_focused()
    assert await in_view(page, "[name=message]"), "the message box is on screen"
    await page.screenshot(path=artifact(named(viewport, "requester-error")))
    await assert_accessible(page, "a question with an error")
    await say(page, "07700 900123")
    _, field = await next_question(page)  # the review's question, before it is answered wrongly
    assert field == "review"

    # One summary, updated in place; a wrong reply re-asks the short question only.
    review = page.locator(REVIEW)
    await expect(review).to_have_count(1)
    await expect(review.locator("h3")).to_be_focused()
    for shown in ("Not known: about 40 years old", "TD1 (partial postcode)", "07700 900123"):
        await expect(review).to_contain_text(shown)
    await expect(review).to_contain_text("Tidemouth Borough Council")
    await say(page, "maybe")
    wrong, field = await next_question(page)
    assert field == "review"
    await expect(wrong.locator(".error-message")).to_contain_text("Please choose")
    await expect(review).to_have_count(1)
    await review.locator('[data-id="edit:subject.dob"]').click()
    _, field = await next_question(page)
    assert field == "subject.dob"
    await say(page, "3/5/1980")
    await expect(page.locator("#inbox")).to_contain_text("updated the summary")
    await expect(review).to_have_count(1)
    await expect(review).to_contain_text("03/05/1980")
    await expect(review).not_to_contain_text("about 40")
    await page.screenshot(path=artifact(named(viewport, "requester-review")))
    await review.screenshot(path=artifact(named(viewport, "requester-review-card")))
    await assert_accessible(page, "the review")

    ref = await submitted(page)
    await expect(review).to_contain_text("Sent to the police SPOC.")
    await expect(review.locator("button")).to_have_count(0)
    await check_layout(page, viewport)

    # Status in plain words; withdrawing asks first.
    home = page.locator("#home")
    await expect(home).to_contain_text(ref)
    await expect(home).to_contain_text("Waiting for a SPOC to pick it up")
    await expect(home).not_to_contain_text("paged")
    await home.locator('[data-id="withdraw"]').click()
    confirm = home.locator(".confirm")
    await expect(confirm).to_contain_text(f"Withdraw request {ref}?")
    await expect(confirm.locator("p")).to_be_focused()
    await confirm.scroll_into_view_if_needed()
    await page.screenshot(path=artifact(named(viewport, "requester-withdraw-confirm")))
    await assert_accessible(page, "the withdraw confirmation")
    await confirm.locator('[data-id="withdraw:no"]').click()
    await expect(home.locator('[data-id="withdraw"]')).to_be_focused()
    assert (await console.request(ref)).state == "paged", "nothing withdrawn without a yes"
    if viewport == PHONE:
        await home.locator('[data-id="withdraw"]').click()
        await home.locator('[data-id="withdraw:yes"]').click()
        await expect(page.locator("#inbox")).to_contain_text(f"Request {ref} has been withdrawn")
        assert (await console.request(ref)).state == "withdrawn"


async def check_layout(page: Page, viewport: dict[str, int]) -> None:
    """A desktop's width is used; a phone reads as one column with the message box in view."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], "no sideways scrolling"
    chat = await page.locator("#chat").bounding_box()
    assert chat is not None
    if viewport == DESKTOP:
        assert not await page.locator("#channel").is_visible(), "no empty channel column"
        assert chat["width"] > 0.55 * viewport["width"], chat
        return
    assert chat["width"] > 0.9 * viewport["width"], chat
    inner = await page.evaluate("getComputedStyle(document.querySelector('#inbox')).overflowY")
    assert inner == "visible", "one scrolling page, not a scroll inside a scroll"
    await page.evaluate("window.scrollTo(0, document.querySelector('#inbox').offsetTop + 300)")
    assert await in_view(page, "[name=message]"), "the message box stays on screen"


async def test_changing_identity_drops_the_old_as_from_the_address(console: Console) -> None:
    from playwright.async_api import expect

    page = await console.browser.new_page(viewport=DESKTOP)  # type: ignore[arg-type]
    await page.goto(f"{console.url}/?as=amara.okafor")
    await page.wait_for_selector("body[data-ready=true]")
    await expect(page.locator("select[name=identity]")).to_have_value("amara.okafor")
    await page.select_option("select[name=identity]", "gwen.hollis")
    await page.wait_for_selector("body[data-ready=true]")
    assert "as=" not in page.url
    await page.reload()
    await page.wait_for_selector("body[data-ready=true]")
    await expect(page.locator("select[name=identity]")).to_have_value("gwen.hollis")


# --- the SPOC, the manager and the written form -----------------------------------------------


@VIEWPORTS
async def test_the_spoc_and_the_manager_get_it_right_first_time(
    console: Console, viewport: dict[str, int]
) -> None:
    from playwright.async_api import expect

    requester = await console.page("amara.okafor", DESKTOP)
    await start(requester)
    await converse_until(requester, "review")
    ref = await submitted(requester)

    spoc = await console.page("di.marsh", viewport)
    card = spoc.locator("#feed article.card", has_text=ref)
    await expect(card).to_contain_text("07700 900123 (not the number on record)")
    await expect(card).to_contain_text("01632 960101")
    await expect(card).to_contain_text("Waiting for a SPOC to pick it up")
    await card.locator('[data-id="spoc:details"]').click()
    details = spoc.locator("#inbox article.card", has_text="(confidential)")
    await expect(details).to_contain_text("Tidemouth Borough Council")
    await expect(details).to_contain_text("07700 900123")
    await expect(details).not_to_contain_text("+44")
    await expect(details).not_to_contain_text("TBC")

    # The Ask form: an empty question is an error shown the GOV.UK way, in place.
    await card.locator('[data-id="spoc:ask"]').click()
    form = spoc.locator('#inbox form[data-form-id="spoc:decision"]')
    await expect(form).to_have_count(1)
    await form.locator("button[type=submit]").click()
    summary = form.locator(".error-summary")
    await expect(summary).to_be_focused()
    await expect(summary).to_contain_text("There is a problem")
    await expect(summary.locator("a")).to_contain_text("Write the question")
    note = form.locator('[data-id="decision:note"]')
    await expect(note).to_have_attribute("aria-invalid", "true")
    await expect(form).to_have_count(1)
    await spoc.screenshot(path=artifact(named(viewport, "spoc-ask-error")))
    await assert_accessible(spoc, "a form with errors")
    await summary.locator("a").click()
    await expect(note).to_be_focused()
    await note.fill("Is he known to carry a knife?")
    await form.locator("button[type=submit]").click()
    await expect(form).to_have_count(0)
    await expect(spoc.locator("#inbox")).to_contain_text("Sent. This form is closed.")
    assert len((await console.request(ref)).info) == 1, "asked once"
    await say(requester, "He carried one last year")
    await expect(spoc.locator("#inbox")).to_contain_text("He carried one last year")

    await card.locator('[data-id="spoc:approve"]').click()
    approve = spoc.locator('#inbox form[data-form-id="spoc:decision"]')
    await fill_console(approve, approval("Disclosed: one caution, 2025"))
    await approve.locator("button[type=submit]").click()
    await expect(card).to_contain_text("Approved by Dana Marsh")
    await spoc.screenshot(path=artifact(named(viewport, "spoc-approved")))
    await assert_accessible(spoc, "the SPOC's chat and channel")
    await expect(requester.locator("#inbox")).to_contain_text("Tue 24 Nov 02:00 (in 3 days)")

    # The development clock shows the time it makes it; reminders and nudges count on.
    for _ in range(3):
        await requester.click('[data-id="clock:24h"]')
    await expect(requester.locator("#clock-now")).to_contain_text("Tue 24 Nov")
    await expect(requester.locator("#clock-offset")).to_contain_text("72 h ahead")
    assert (await console.request(ref)).state == "retro_overdue"
    inbox = requester.locator("#inbox")
    for n in (1, 2, 3):
        await expect(inbox).to_contain_text(f"Reminder {n}")
    await expect(inbox).not_to_contain_text("Reminder 4")

    manager = await console.page("gwen.hollis", viewport)
    nudge = manager.locator("#inbox article.card", has_text="is overdue")
    await expect(nudge).to_contain_text("Reminder 3")
    await expect(nudge).to_contain_text("Amara Okafor")
    await expect(manager.locator("#home")).to_contain_text(
        "Written form due now (Tue 24 Nov 02:00)"
    )
    await manager.screenshot(path=artifact(named(viewport, "manager-overdue")), full_page=True)
    await assert_accessible(manager, "the manager's view")

    # The written form: a missing answer is shown where it is; sent once; the manager is told.
    await requester.locator('#home [data-id="retro:open"]').first.click()
    retro = requester.locator('#inbox form[data-form-id="retro:submit"]')
    await expect(retro).to_have_count(1)
    await expect(retro.locator('[data-id="retro:contact_phone"]')).to_have_value("07700 900123")
    await expect(retro.locator('[data-id="retro:subject.dob"]')).to_have_value(
        "Not known: about 40 years old"
    )
    await retro.locator('[data-id="retro:requested_by"]').fill("")
    await retro.locator("button[type=submit]").click()
    await expect(retro.locator(".error-summary")).to_be_focused()
    await expect(retro.locator(".input--error")).to_contain_text("This is required.")
    await expect(retro).to_have_count(1)
    await retro.locator('[data-id="retro:requested_by"]').fill("Amara Okafor, On-call manager")
    await retro.locator("button[type=submit]").click()
    await expect(retro).to_have_count(0)
    assert (await console.request(ref)).state == "closed"
    await expect(manager.locator("#inbox")).to_contain_text(f"The written form for {ref}")
    await expect(manager.locator("#inbox")).to_contain_text("has arrived")

    # The timeline in plain words, credited to whoever did each thing.
    await spoc.fill("#timeline-ref", ref)
    await spoc.click("#timeline-show")
    timeline = spoc.locator("#timeline")
    await expect(timeline).to_contain_text("Request sent by Amara Okafor")
    await expect(timeline).to_contain_text("SPOC paged")
    await expect(timeline).not_to_contain_text(re.compile(r"request\.|paged by|retro_"))
    await timeline.scroll_into_view_if_needed()
    await spoc.screenshot(path=artifact(named(viewport, "spoc-timeline")))
    await assert_accessible(spoc, "the timeline")
