"""The structured decision form and the case file, checked against each platform's own rules
(slack_sdk's models for the Slack modal and message, Microsoft's Adaptive Card parser and
schema for Teams), at their largest: every item, every error, a long case file."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from adapters.slack import blocks as slack_blocks
from adapters.teams import cards as teams_cards
from flows import casefile, decision
from flows.decision import DecisionPolicy
from flows.forms import INFO_REQUIRED
from flows.messages import Card, Choice, Form
from tests.decision_values import approval
from tests.flows.lifecycle_world import DIRECTORY
from tests.flows.test_lifecycle import approved
from tests.platform_checks import Checker, MicrosoftTools, slack_problems
from tests.test_platform_checks import message, microsoft

__all__ = ["microsoft"]
POLICY = DecisionPolicy()
EVERY = tuple(Choice(c.key, c.label) for c in INFO_REQUIRED)


def _forms() -> list[Form]:
    approve = decision.items("approve", EVERY, POLICY)
    decline = decision.items("decline", EVERY, POLICY)
    wrong = {**approval("x" * 2000), "power": [], "article8": "no", "inform_reason": ""}
    _, errors = decision.validate("approve", approve, wrong, POLICY)
    return [
        decision.form("DPT/17/2026", "approve", approve, POLICY),
        decision.form("DPT/17/2026", "approve", approve, POLICY, wrong, errors),
        decision.form("DPT/17/2026", "decline", decline, POLICY),
    ]


def _case_file() -> Card:
    world = approved(note="Disclosed " + "y" * 1990)  # the longest note a SPOC may write
    record = casefile.build(world.request, DIRECTORY, world.ctx.policy, ZoneInfo("Europe/London"))
    return casefile.as_card(record, ZoneInfo("Europe/London"))


def test_the_decision_modal_and_the_case_file_pass_slacks_rules() -> None:
    for form in _forms():
        modal = slack_blocks.modal(form)
        ids = [b.get("block_id") for b in modal["blocks"] if b["type"] == "input"]
        assert "decision:note" in ids and all(i.startswith("decision:") for i in ids)
        assert slack_problems("views.open", {"trigger_id": "t", "view": modal}) == [], form.title
    card = slack_blocks.render(_case_file())
    assert slack_problems("chat.postMessage", message(card)) == []
    assert "y" * 1990 in json.dumps(card), "the longest note is shown whole, not clipped"


def test_the_decision_card_and_the_case_file_pass_microsofts_checks(
    microsoft: MicrosoftTools,
) -> None:
    checker = Checker()
    for form in _forms():
        rendered = teams_cards.render(form)
        assert '"id": "decision:note"' in json.dumps(rendered), form.title
        assert checker.card_problems(rendered) == [], form.title
    assert checker.card_problems(teams_cards.render(_case_file())) == []
