"""A whole night through Microsoft's own Teams emulator, the Microsoft 365 Agents Playground.

The production application (Slack and Teams on, SQLite in ``tmp_path``, a frozen clock, the
worker run by hand) listens on a loopback port; ``@microsoft/m365agentsplayground`` (pinned in
``tools/``) is started against its ``/api/messages`` and plays Teams: it sends the activities
and is the connector every reply, outcome and reminder is delivered to. Headless Chromium
drives the Playground's own web UI the way the requester would, reading and clicking the
Adaptive Cards as Microsoft's renderer shows them. The SPOC is on Slack (the recording Web
API, as in ``test_cross_platform``). Screenshots land in ``test-artifacts/playground-*.png``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from flows.forms import FieldSpec, conversation_fields
from flows.policy import Policy
from tests.e2e import test_slack_night as slack_night
from tests.e2e import test_teams_night as teams_night
from tests.e2e.browser import artifact, browser
from tests.e2e.test_cross_platform import CrossNight, cross_night
from tests.night import ANSWERS
from tests.platform_checks import CHECKER, in_ci
from tools.npm import ToolMissing
from tools.playground import (
    PlaygroundUser,
    recorded_events,
    start_playground,
    stop,
    wait_until_up,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser, Locator, Page, Route

pytestmark = pytest.mark.browser
__all__ = ["browser"]

REF = re.compile(r"DPT/\d{2,}/2026")
PERSONAL_CHAT = "__PERSONAL_CHAT_ID__"  # the Playground's requester chat (its config)
CARD = ".ac-adaptiveCard"
TIMEOUT = 15.0  # seconds to wait for the bot's next card
SENT = re.compile(r"Request DPT/\d{2,}/2026 has gone to the police SPOC")
AMARA_IN_TEAMS = PlaygroundUser(
    "amara.okafor", "Amara", "Okafor", teams_night.AAD["amara.okafor"], teams_night.TENANT
)
"""The Playground's user is Amara with the Teams identity ``cross_night``'s directory gives her;
her colleagues there are the trust's other officers, so oohbot can reach them too."""
COLLEAGUES = [
    PlaygroundUser(
        officer, given, surname, teams_night.AAD.get(officer, f"aad-{officer}"), teams_night.TENANT
    )
    for officer, given, surname in [
        ("gwen.hollis", "Gwen", "Hollis"),
        ("ifan.price", "Ifan", "Price"),
        ("tom.reyes", "Tom", "Reyes"),
        ("", "Nia", "Hale"),
        ("", "Owen", "Tate"),
    ]
]
EVERY_QUESTION = [  # of a Saturday night, with ANSWERS: no office-hours or 'other risks' question
    "emergency",
    "on_behalf_of",
    "form",
    "subject.last_name",
    "subject.first_names",
    "subject.alias",
    "subject.dob",
    "subject.place_of_birth",
    "subject.address",
    "subject.postcode",
    "reason",
    "grounds",
    "info_required",
    "consent",
    "consent_reason",
    "lawful_basis",
    "summary",
    "contact_phone",
    "review",
]
PROGRESS = re.compile(r"Question \d+ of \d+")
PROMPTS: dict[str, FieldSpec] = {
    spec.question().prompt: spec for spec in conversation_fields(Policy())
}


@dataclass
class Playground:
    """The Playground's web UI, as the requester sees it."""

    page: Page
    night: CrossNight
    recording: Path

    def cards(self) -> Locator:
        return self.page.locator(CARD)

    async def screenshot(self, name: str) -> None:
        await self.page.screenshot(path=artifact(f"playground-{name}.png"))

    async def wait_for(self, before: int, wanted: Callable[[str], bool]) -> Locator:
        """The newest card that arrived after the first ``before`` and whose text is
        ``wanted``, waiting for it as long as ``TIMEOUT``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while loop.time() < deadline:
            count = await self.cards().count()
            for index in reversed(range(before, count)):
                card = self.cards().nth(index)
                if wanted(await card.inner_text()):
                    return card
            await asyncio.sleep(0.05)
        texts = [await c.inner_text() for c in (await self.cards().all())[before:]]
        raise AssertionError(f"no such card in the Playground; the new ones: {texts}")

    async def next_question(self, before: int) -> tuple[FieldSpec, Locator] | None:
        """The question the bot asks after the first ``before`` cards; ``None`` once a card
        says the request went to the SPOC (a question is always the last card of a turn)."""
        card = await self.wait_for(
            before, lambda text: asks(text) is not None or bool(SENT.search(text))
        )
        spec = asks(await card.inner_text())
        return None if spec is None else (spec, card)

    async def say(self, text: str) -> int:
        """Type into the chat; return how many cards there were before."""
        before = await self.cards().count()
        box = self.page.locator("[data-lexical-editor=true]")
        await box.click()
        await self.page.keyboard.type(text)
        await self.page.keyboard.press("Enter")
        return before

    async def press(self, card: Locator, label: str) -> int:
        """Click an ``Action.Submit`` button of ``card`` (by its title, as a person would);
        return how many cards there were before."""
        before = await self.cards().count()
        await card.get_by_role("button", name=label, exact=True).click()
        return before

    def sent_to_me(self) -> list[dict[str, Any]]:
        """What oohbot sent to this chat, from the Playground's own recording."""
        return [
            event
            for event in recorded_events(self.recording)
            if event["direction"].startswith("User Application")
            and event.get("conversationId") == PERSONAL_CHAT
        ]


def asks(text: str) -> FieldSpec | None:
    """The form field a card's text asks for: its first line is the question's prompt, after
    the progress line ("Question 5 of 17") where there is one."""
    lines = [line.strip() for line in text.strip().split("\n") if line.strip()]
    if lines and PROGRESS.fullmatch(lines[0]):
        lines = lines[1:]
    return PROMPTS.get(lines[0]) if lines else None


def wanted_keys(spec: FieldSpec, answer: str) -> list[str]:
    """Option keys of an answer typed as numbers (``1, 2``) or keys (``weapons, violence``)."""
    keys = [c.key for c in spec.choices]
    parts = [p.strip() for p in answer.split(",")]
    return [keys[int(p) - 1] if p.isdigit() else p for p in parts]


async def answer(playground: Playground, spec: FieldSpec, card: Locator) -> int:
    """Answer the way the card invites: a button, ticks and Continue, or typing. Returns how
    many cards there were before the answer."""
    wanted = ANSWERS[spec.key]
    labels = {c.key: c.label for c in spec.choices}
    if spec.multi:
        for key in wanted_keys(spec, wanted):
            await card.get_by_role("checkbox", name=labels[key], exact=True).check()
        return await playground.press(card, "Continue")
    if wanted in labels:
        return await playground.press(card, labels[wanted])
    return await playground.say(wanted)


async def fill_required(form: Locator) -> None:
    """Type into every required text box the form left empty, as a person must (the form is
    pre-filled from the request; a required choice left empty fails the test at submit)."""
    boxes = form.locator("input[aria-required=true]:not([role=combobox]), textarea")
    for index in range(await boxes.count()):
        box = boxes.nth(index)
        if await box.get_attribute("aria-required") == "true" and not await box.input_value():
            await box.fill("Recorded for the retrospective form")


@pytest.fixture
async def playground(tmp_path: Path, browser: Browser) -> AsyncIterator[Playground]:
    async with cross_night(tmp_path, spoc_side="slack") as night:
        endpoint = str(night.teams.client.make_url("/api/messages"))
        try:
            recording = tmp_path / "events.log"
            process, url = start_playground(
                endpoint, tmp_path, AMARA_IN_TEAMS, COLLEAGUES, recording=recording
            )
        except ToolMissing as missing:
            _missing(str(missing))
        try:
            await asyncio.to_thread(wait_until_up, url, process)
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost)"), _offline)
            await page.goto(url)
            await page.locator("[data-lexical-editor=true]").wait_for()
            yield Playground(page, night, recording)
        finally:
            stop(process)


async def _offline(route: Route) -> None:
    """Nothing leaves the machine (the Playground's page asks a CDN for fonts)."""
    await route.abort()


def _missing(reason: str) -> None:
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


async def test_a_whole_night_in_the_agents_playground(playground: Playground) -> None:
    before = await playground.say("hello")
    answered: list[str] = []
    while (asked := await playground.next_question(before)) is not None:
        spec, card = asked
        assert spec.key not in answered[-1:], f"{spec.key} was asked again: answer refused"
        before = await answer(playground, spec, card)
        answered.append(spec.key)
    assert answered == EVERY_QUESTION
    sent = await playground.wait_for(before, lambda text: bool(SENT.search(text)))
    found = REF.search(await sent.inner_text())
    assert found
    ref = found.group(0)
    await playground.screenshot("1-submitted")

    slack = playground.night.slack
    [posted] = slack.posts_to(slack_night.SPOC_CHANNEL)
    assert ref in posted.text(), "the SPOC channel on Slack got the request"
    before = await playground.cards().count()
    await slack_night._decide(slack, slack_night.MARSH, "spoc:approve", ref, "Disclosed")
    await playground.wait_for(before, lambda text: ref in text and "approved" in text.lower())
    await playground.screenshot("2-approved")

    before = await playground.cards().count()
    await playground.night.teams.advance(timedelta(hours=48))
    reminder = await playground.wait_for(before, lambda text: f"Written form for {ref}" in text)
    await reminder.get_by_role("button", name="Submit the form").wait_for()
    await playground.screenshot("3-reminder")
    before = await playground.press(reminder, "Submit the form")

    form = await playground.wait_for(before, lambda text: "Distinguishing marks" in text)
    await form.get_by_label("Distinguishing marks or unique features").fill("A scar on one hand")
    await fill_required(form)
    await playground.screenshot("4-form")
    before = await playground.press(form, "Submit the form")
    await playground.wait_for(before, lambda text: ref in text and "recorded" in text)
    closed = await slack.state(ref)
    assert closed.state == "closed" and closed.retro is not None
    assert closed.retro["distinguishing_marks"] == "A scar on one hand"
    await playground.screenshot("5-form-received")

    sent_here = playground.sent_to_me()
    # A PUT updates a card already shown (the review summary, closed once sent): no new card.
    new_messages = [e for e in sent_here if e.get("request", {}).get("method") != "PUT"]
    assert len(new_messages) == await playground.cards().count(), "every message oohbot sent shows"
    assert all(e["response"]["statusCode"] in (200, 201) for e in sent_here), "all were taken"
    for event in sent_here:  # each checked like the recorders' (tests/platform_checks.py)
        CHECKER.record_teams("playground", PERSONAL_CHAT, event["request"]["body"])
