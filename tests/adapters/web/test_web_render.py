"""Neutral messages → the JSON the page renders (plain text, stable ids)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.web.render import form_prefix, to_json
from flows.messages import Action, Card, CardField, Choice, Form, FormField, Question, Text


def test_question_keeps_field_and_choice_keys() -> None:
    question = Question(
        "grounds",
        "Which grounds?",
        (Choice("health_threat", "Threat to health"),),
        multi=True,
        progress="Question 11 of 17",
        error="Please choose at least one.",
    )
    assert to_json(question) == {
        "type": "question",
        "field": "grounds",
        "prompt": "Which grounds?",
        "hint": "",
        "progress": "Question 11 of 17",
        "error": "Please choose at least one.",
        "multi": True,
        "choices": [{"key": "health_threat", "label": "Threat to health"}],
    }


def test_card_keeps_action_ids_values_and_field_actions() -> None:
    edit = Action("answer:edit:summary", "Edit", "summary")
    card = Card(
        "req:1",
        "Request",
        fields=(CardField("Summary", "text", edit),),
        actions=(Action("withdraw", "Withdraw", "DPT/1/2026", "danger", "Withdraw it?"),),
        status="Paged",
    )
    data = to_json(card)
    assert data["fields"][0]["action"]["action_id"] == "answer:edit:summary"
    assert data["actions"][0] == {
        "action_id": "withdraw",
        "label": "Withdraw",
        "value": "DPT/1/2026",
        "style": "danger",
        "confirm": "Withdraw it?",
    }


def test_form_prefixes_and_prefill() -> None:
    assert form_prefix("spoc:decision") == "decision" and form_prefix("retro:submit") == "retro"
    form = Form(
        "retro:submit",
        "Retrospective form",
        "DPT/1/2026",
        (
            FormField("grounds", "Grounds", "multi", (Choice("a", "A"),), value=("a",)),
            FormField("summary", "Summary", "long_text", value="as asked", error="Too long."),
        ),
        context="mh1",
    )
    data = to_json(form)
    assert (data["prefix"], data["ref"], data["context"]) == ("retro", "DPT/1/2026", "mh1")
    assert [f["value"] for f in data["fields"]] == [["a"], "as asked"]
    assert [f["error"] for f in data["fields"]] == ["", "Too long."]


@given(st.text())
def test_text_is_carried_verbatim(text: str) -> None:
    assert to_json(Text(text)) == {"type": "text", "text": text}
