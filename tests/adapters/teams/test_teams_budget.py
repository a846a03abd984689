"""Teams refuses messages over about 100 KB (UTF-16; Microsoft advises staying under 80 KB):
every card stays under the budget and says what it left out."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from adapters.teams.cards import MESSAGE_BYTES, render, to_activity
from adapters.teams.escape import ZERO_WIDTH_SPACE
from flows import forms
from flows.cards import details_message
from flows.messages import Action, Card, CardField, Message, Text
from flows.policy import Policy
from flows.request import InfoExchange, Request
from tests.adapters.teams.test_teams_cards import walk
from tests.night import ANSWERS

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
WORST = "<.&*[" * 1000
"""Characters the card escaper doubles, in a string longer than any answer may be."""


def _utf16(payload: Any) -> int:
    return len(json.dumps(payload, ensure_ascii=False).encode("utf-16-le"))


def _activity_size(message: Message) -> int:
    return _utf16(to_activity(message).serialize())


def _texts(card: dict[str, Any]) -> list[str]:
    """What the card's text blocks show (escaping undone); a card field's one line
    ("**Label:** value") counts as its label and its value."""
    shown: list[str] = []
    for element in walk(card):
        if element.get("type") != "TextBlock":
            continue
        field = re.fullmatch(r"\*\*(.*?):\*\* (.*)", element["text"], re.DOTALL)
        shown += [unescape(field[1]), unescape(field[2])] if field else [unescape(element["text"])]
    return shown


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text).replace(ZERO_WIDTH_SPACE, "")


def worst_case_request(questions: int = 10) -> Request:
    """Every free-text answer at its longest, all characters that need escaping, and as many
    SPOC questions and answers as the console lets through (4,000 characters each)."""
    answers: dict[str, Any] = dict(ANSWERS)
    for spec in forms.conversation_fields(Policy()):
        if spec.kind in {"text", "long_text", "name"}:
            answers[spec.key] = WORST[: spec.max_len]
    info = [
        InfoExchange(question=WORST[:4000], asked_by="di.marsh", asked_at=NOW, answer=WORST[:4000])
        for _ in range(questions)
    ]
    return Request(
        ref="DPT/17/2026",
        requester="amara.okafor",
        org="DPT",
        on_behalf_of="DPT",
        created_at=NOW,
        answers=answers,
        info=info,
        response_due_at=NOW,
    )


def test_the_worst_case_details_card_stays_under_the_limit_and_says_so() -> None:
    message = details_message(worst_case_request())
    card = render(message)
    assert _activity_size(message) <= MESSAGE_BYTES < 100_000
    texts = _texts(card)
    hidden = len(message.fields) - sum(1 for f in message.fields if f.label in texts)
    assert hidden > 0 and "Question 1" in texts
    assert texts[-1] == f"…and {hidden} more, not shown: too many for one message"


def test_a_card_with_a_details_button_points_to_it() -> None:
    fields = tuple(CardField(f"Item {i}", WORST[:3000]) for i in range(40))
    card = Card("queue", "Queue", fields, (Action("spoc:details", "Details", "DPT/01/2026"),))
    rendered = render(card)
    assert _utf16(rendered) <= MESSAGE_BYTES
    assert "open Details" in _texts(rendered)[-1] and rendered["actions"][0]["title"] == "Details"


def test_one_huge_value_is_clipped_with_a_count() -> None:
    card = Card("c", "One answer", (CardField("Answer", "x" * 200_000),))
    rendered = render(card)
    assert _utf16(rendered) <= MESSAGE_BYTES
    assert _texts(rendered)[-1].endswith("x… (194000 more characters not shown)")


def test_a_huge_text_is_shortened_with_a_count() -> None:
    rendered = render(Text("y" * 120_000))
    assert _utf16(rendered) <= MESSAGE_BYTES
    assert _texts(rendered)[-1].endswith("more characters not shown)")


def test_small_cards_are_unchanged() -> None:
    card = Card("c", "Title", (CardField("A", "b"),))
    assert _texts(render(card)) == ["Title", "A", "b"]
