"""The platform checkers catch what Slack and Teams would refuse, and the suite fails on it.

``tests/platform_checks.py`` checks every payload the recorders receive; these tests prove
that each checker catches a deliberately broken block, view, card and manifest, that a test
which sends one through a recorder fails, and that what oohbot renders passes them all.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack import blocks as slack_blocks
from adapters.teams import cards as teams_cards
from flows.messages import Action, Card, CardField, Choice, Form, FormField, Question
from tests.platform_checks import (
    Checker,
    MicrosoftTools,
    PlatformRulesBroken,
    card_schema_problems,
    in_ci,
    manifest_problems,
    microsoft_tools,
    slack_problems,
)
from tools.npm import ToolMissing

ROOT = Path(__file__).resolve().parents[1]
APP_ID = "00000000-1111-2222-3333-444444444444"
GROUNDS = tuple(Choice(f"g{i}", f"Ground number {i}") for i in range(12))
QUESTION = Question("grounds", "Which grounds apply?", GROUNDS, multi=True, hint="Pick any")
CARD = Card(
    "request:DPT/1/2026",
    "Urgent request DPT/1/2026",
    (CardField("Organisation", "Downland Partnership NHS Trust"),),
    (Action("spoc:approve", "Approve", "DPT/1/2026", "primary"),),
    status="Waiting for the SPOC",
)
FORM = Form(
    "retro:submit",
    "Retrospective form",
    "DPT/1/2026",
    (
        FormField("summary", "What happened", "long_text"),
        FormField("consent", "Consent", "choice", (Choice("obtained", "Obtained"),)),
        FormField("dob", "Date of birth", "date", optional=True),
    ),
)


@pytest.fixture(scope="module")
def microsoft() -> MicrosoftTools:
    """Microsoft's checkers in Node; skipped without Node locally, failed under ``CI=true``."""
    try:
        return microsoft_tools()
    except ToolMissing as missing:
        if in_ci():
            pytest.fail(str(missing))
        pytest.skip(str(missing))


def message(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"channel": "D0123", "text": "oohbot has a question for you", "blocks": blocks}


# --- Slack ----------------------------------------------------------------------------------


def test_what_oohbot_renders_for_slack_passes() -> None:
    for rendered in (QUESTION, CARD):
        assert slack_problems("chat.postMessage", message(slack_blocks.render(rendered))) == []
    modal = slack_blocks.modal(FORM)
    assert slack_problems("views.open", {"trigger_id": "t", "view": modal}) == []
    home = slack_blocks.home([CARD, QUESTION])
    assert slack_problems("views.publish", {"user_id": "U1", "view": home}) == []


Breakage = Callable[[list[dict[str, Any]]], object]


def _repeat_block_id(blocks: list[dict[str, Any]]) -> None:
    blocks[1]["block_id"] = blocks[0]["block_id"]


def _repeat_action_id(blocks: list[dict[str, Any]]) -> None:
    elements = blocks[-1]["elements"]
    elements[1]["action_id"] = elements[0]["action_id"]


@pytest.mark.parametrize(
    ("breakage", "rule"),
    [
        (lambda b: b.extend([{"type": "divider"}] * 50), "1 to 50"),
        (lambda b: b[0]["text"].update(text="x" * 3001), "cannot exceed 3000"),
        (_repeat_block_id, "block_id repeated"),
        (_repeat_action_id, "repeated in the block"),
        (lambda b: b[0].update(block_id="b" * 256), "1 to 255"),
        (lambda b: b[0].update(colour="red"), "does not know colour"),
        (lambda b: b.append({"type": "carousel_of_doom"}), "unknown block type"),
        (lambda b: b[-1]["elements"][-1]["text"].update(text="x" * 76), "cannot exceed 75"),
    ],
    ids=[
        "51-blocks",
        "section-text",
        "block-id-twice",
        "action-id-twice",
        "long-block-id",
        "unknown-field",
        "unknown-block",
        "long-button",
    ],
)
def test_a_broken_block_is_caught(breakage: Breakage, rule: str) -> None:
    blocks = slack_blocks.render(QUESTION)
    breakage(blocks)
    problems = slack_problems("chat.postMessage", message(blocks))
    assert any(rule in p for p in problems), problems


def test_broken_views_and_texts_are_caught() -> None:
    modal = copy.deepcopy(slack_blocks.modal(FORM))
    modal["title"]["text"] = "A title longer than Slack allows"
    assert any("title" in p for p in slack_problems("views.open", {"view": modal}))
    home = slack_blocks.home([CARD])
    home["blocks"] = home["blocks"] * 30
    problems = slack_problems("views.publish", {"view": home})
    assert any("1 to 100" in p for p in problems), problems
    assert slack_problems("views.publish", {"view": slack_blocks.modal(FORM)})
    assert slack_problems("chat.postMessage", {"channel": "C1", "text": "x" * 40_001})
    assert slack_problems("chat.postMessage", {"channel": "C1"})


# --- Adaptive Cards -------------------------------------------------------------------------


def test_what_oohbot_renders_for_teams_passes(microsoft: MicrosoftTools) -> None:
    checker = Checker()
    for rendered in (QUESTION, CARD, FORM):
        card = teams_cards.render(rendered)
        assert "msteams" in card, "the documented Teams property is allowed, not stripped"
        assert checker.card_problems(card) == [], rendered


CardBreakage = Callable[[dict[str, Any]], object]


def _first_text(card: dict[str, Any]) -> dict[str, Any]:
    text: dict[str, Any] = card["body"][0]
    return text


def _repeat_input_id(card: dict[str, Any]) -> None:
    inputs = [e for e in card["body"] if e["type"].startswith("Input.")]
    inputs[1]["id"] = inputs[0]["id"]


@pytest.mark.parametrize(
    ("breakage", "parser_says", "schema_says"),
    [
        (lambda c: _first_text(c).update(size="Huge"), "InvalidPropertyValue", "'Huge'"),
        (lambda c: c["body"].append({"type": "Carousel"}), "UnknownElementType", "'Carousel'"),
        (lambda c: c.update(version="1.6"), "newer than Teams supports", ""),
        (_repeat_input_id, "DuplicateId", ""),
        (lambda c: c["actions"].append({"type": "Action.Teleport"}), "UnknownActionType", ""),
        (lambda c: _first_text(c).update(colour="red"), "", "'colour' was unexpected"),
        (lambda c: c.update(msteams={"width": "Wide"}), "", "'Wide' is not one of"),
        (lambda c: c["body"].append({"type": "Input.Text"}), "", "'id' is a required"),
    ],
    ids=[
        "bad-size",
        "unknown-element",
        "version-1.6",
        "input-id-twice",
        "unknown-action",
        "unknown-property",
        "bad-msteams",
        "input-without-id",
    ],
)
def test_a_broken_card_is_caught(
    microsoft: MicrosoftTools, breakage: CardBreakage, parser_says: str, schema_says: str
) -> None:
    card = copy.deepcopy(teams_cards.render(FORM))
    breakage(card)
    problems = Checker().card_problems(card)
    if parser_says:
        parser = [p for p in problems if not p.startswith("schema")]
        assert any(parser_says in p for p in parser), problems
    if schema_says:
        schema = card_schema_problems(card)
        assert any(schema_says in p for p in schema), schema


def test_an_oversized_activity_is_caught() -> None:
    card = teams_cards.render(CARD)
    card["body"].append({"type": "TextBlock", "text": "x" * 30_000})
    checker = Checker()
    checker.card_problems = lambda card: []  # type: ignore[method-assign]
    checker.record_teams("send", "a:1", {"type": "message", "attachments": [attachment(card)]})
    with pytest.raises(PlatformRulesBroken, match="over Teams' 28672"):
        checker.verify()


def attachment(card: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}


# --- the Teams app package ------------------------------------------------------------------


def test_the_teams_app_package_passes_microsofts_manifest_schema(
    microsoft: MicrosoftTools, tmp_path: Path
) -> None:
    out = tmp_path / "oohbot-teams.zip"
    command = [sys.executable, "-m", "adapters.teams.package", "--app-id", APP_ID]
    subprocess.run([*command, "--out", str(out)], check=True, capture_output=True, cwd=ROOT)
    with zipfile.ZipFile(out) as archive:
        archive.extractall(tmp_path / "package")
    manifest = tmp_path / "package" / "manifest.json"
    assert manifest_problems(manifest) == []

    broken = json.loads(manifest.read_text())
    broken["bots"][0]["scopes"].append("everywhere")
    broken["accentColor"] = "NHS blue"
    manifest.write_text(json.dumps(broken))
    problems = manifest_problems(manifest)
    assert any("/bots/0/scopes" in p for p in problems), problems
    assert any("/accentColor" in p for p in problems), problems


# --- the whole renderers, any input ---------------------------------------------------------

words = st.text(st.characters(codec="utf-8"), max_size=4000)
labels = st.text(st.characters(codec="utf-8"), min_size=1, max_size=120)
choices = st.lists(
    st.builds(Choice, st.from_regex(r"[a-z_]{1,20}", fullmatch=True), labels.filter(str.strip)),
    min_size=1,
    max_size=30,
    unique_by=lambda c: c.key,
)


@settings(max_examples=40, deadline=None)
@given(prompt=words, hint=words, options=choices, multi=st.booleans())
def test_any_question_renders_within_the_rules(
    microsoft: MicrosoftTools, prompt: str, hint: str, options: list[Choice], multi: bool
) -> None:
    question = Question("grounds", prompt, tuple(options), multi=multi, hint=hint)
    blocks = slack_blocks.render(question)
    assert slack_problems("chat.postMessage", message(blocks)) == []
    assert Checker().card_problems(teams_cards.render(question)) == []


# --- the suite fails ------------------------------------------------------------------------

BROKEN_TESTS = """
from aiohttp import ClientSession

from tests.e2e.slack_recorder import running_recorder
from tests.e2e.teams_recorder import TeamsRecorder


async def test_sends_a_broken_block() -> None:
    async with running_recorder() as recorder, ClientSession() as session:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
        body = {"channel": "D1", "text": "hi", "blocks": blocks}
        await session.post(recorder.url + "chat.postMessage", json=body)


async def test_sends_a_broken_card() -> None:
    card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "Carousel"}]}
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
    async with TeamsRecorder() as recorder, ClientSession() as session:
        body = {"type": "message", "attachments": [attachment]}
        await session.post(recorder.url + "v3/conversations/a:1/activities", json=body)


async def test_sends_good_payloads() -> None:
    card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "hi"}]}
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
    async with running_recorder() as slack, TeamsRecorder() as teams, ClientSession() as session:
        await session.post(slack.url + "chat.postMessage", json={"channel": "D1", "text": "hi"})
        body = {"type": "message", "attachments": [attachment]}
        await session.post(teams.url + "v3/conversations/a:1/activities", json=body)
"""


def test_a_test_whose_payloads_break_a_rule_fails(
    microsoft: MicrosoftTools, tmp_path: Path
) -> None:
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    (tmp_path / "test_broken.py").write_text(textwrap.dedent(BROKEN_TESTS))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    out = done.stdout
    assert "2 failed, 1 passed" in out, out
    assert "Slack chat.postMessage D1: block 0: text attribute cannot exceed 3000" in out, out
    assert "Teams send a:1: card 0: UnknownElementType" in out, out
    assert "type 'Carousel' is not one Adaptive Cards 1.5 has here" in out, out
