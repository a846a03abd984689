"""Neutral messages → Adaptive Cards: stable ids, submit data, escaping, notification text."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from adapters.teams.cards import render, to_activity
from adapters.teams.escape import escape
from flows.messages import (
    Action,
    Card,
    CardField,
    Choice,
    Form,
    FormField,
    Question,
    Text,
)

YES_NO = (Choice("yes", "Yes"), Choice("no", "No"))


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every element (dict) of a card, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def by_id(card: dict[str, Any], element_id: str) -> dict[str, Any]:
    [found] = [e for e in walk(card) if e.get("id") == element_id]
    return found


def submits(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in walk(card) if e.get("type") == "Action.Submit"]


def test_question_has_ask_id_and_answer_buttons() -> None:
    card = render(Question(field="emergency", prompt="Is anyone in danger?", choices=YES_NO))
    assert by_id(card, "ask:emergency")["items"][0]["text"] == "Is anyone in danger?"
    data = [s["data"] for s in submits(card)]
    assert data == [
        {"action": "answer:emergency:yes", "field": "emergency", "option": "yes"},
        {"action": "answer:emergency:no", "field": "emergency", "option": "no"},
    ]
    assert [s["title"] for s in submits(card)] == ["Yes", "No"]
    assert all(e["type"] != "Action.Execute" for e in walk(card) if "type" in e)


def test_many_choices_are_split_into_rows() -> None:
    choices = tuple(Choice(f"c{i}", f"C {i}") for i in range(12))
    card = render(Question(field="f", prompt="p", choices=choices))
    rows = [e for e in walk(card) if e.get("type") == "ActionSet"]
    assert [len(r["actions"]) for r in rows] == [5, 5, 2]


def test_multi_choice_question_has_choice_set_and_continue() -> None:
    card = render(Question(field="grounds", prompt="Grounds?", choices=YES_NO, multi=True))
    choice_set = by_id(card, "answer:grounds")
    assert choice_set["type"] == "Input.ChoiceSet" and choice_set["isMultiSelect"] is True
    assert [c["value"] for c in choice_set["choices"]] == ["yes", "no"]
    [cont] = submits(card)
    assert cont["data"] == {"action": "answer:grounds", "field": "grounds"}


def test_spoc_card_buttons_carry_action_and_ref() -> None:
    card = render(
        Card(
            card_id="request:DPT/17/2026",
            title="Urgent request DPT/17/2026",
            fields=(CardField("Organisation", "Devon Partnership Trust"),),
            actions=(
                Action("spoc:ack", "Acknowledge", "DPT/17/2026"),
                Action("spoc:approve", "Approve", "DPT/17/2026", style="primary"),
                Action("spoc:decline", "Decline", "DPT/17/2026", style="danger"),
            ),
        )
    )
    data = [s["data"] for s in submits(card)]
    assert data[1] == {"action": "spoc:approve", "ref": "DPT/17/2026"}
    assert [s.get("style") for s in submits(card)] == [None, "positive", "destructive"]
    assert by_id(card, "request:DPT/17/2026")["type"] == "Container"


def test_card_field_with_its_own_button() -> None:
    field = CardField("Date of birth", "1980-01-01", Action("edit", "Edit", "subject.dob"))
    card = render(Card(card_id="review", title="Review", fields=(field,), status="Approved"))
    assert [s["data"] for s in submits(card)] == [{"action": "edit", "ref": "subject.dob"}]
    assert any(e.get("text") == "Approved" for e in walk(card))


def test_many_field_buttons_become_one_list_and_one_button() -> None:
    """Issue 16: 17 "Change" buttons made the review card 1,735 px tall at 560 px."""
    fields = tuple(
        CardField(f"{n}. Answer {n}", "x", Action(f"edit:k{n}", "Change", f"k{n}"))
        for n in range(1, 18)
    )
    card = render(Card(card_id="review:1", title="Please check your request", fields=fields))
    [button] = submits(card)
    assert button == {"type": "Action.Submit", "title": "Change", "data": {"action": "pick"}}
    picker = by_id(card, "pick")
    assert picker["type"] == "Input.ChoiceSet" and picker["style"] == "compact"
    assert picker["choices"][2] == {"title": "3. Answer 3", "value": "edit:k3|k3"}
    assert picker["label"] == "Choose one to change"


def test_a_button_that_cannot_be_undone_opens_a_confirmation_first() -> None:
    withdraw = Action("withdraw", "Withdraw", "DPT/17/2026", "danger", "Withdraw DPT/17/2026?")
    card = render(Card(card_id="home", title="Mine", fields=(CardField("R", "v", withdraw),)))
    [shown] = [e for e in walk(card) if e.get("type") == "Action.ShowCard"]
    assert shown["title"] == "Withdraw"
    assert shown["card"]["body"][0]["text"] == escape("Withdraw DPT/17/2026?")
    [sure] = shown["card"]["actions"]
    assert sure["data"] == {"action": "withdraw", "ref": "DPT/17/2026"}
    assert sure["title"] == "Yes, withdraw" and sure["style"] == "destructive"


def test_errors_and_progress_are_marked_in_words_and_colour() -> None:
    card = render(
        Question(
            "subject.dob",
            "Date of birth?",
            progress="Question 6 of 17",
            error="There is no such date.",
        )
    )
    texts = [(e["text"], e.get("color")) for e in walk(card) if e.get("type") == "TextBlock"]
    assert texts[0] == (escape("Question 6 of 17"), None)
    assert (escape("Error: There is no such date."), "Attention") in texts
    form = render(Form("retro:submit", "Form", "R", (FormField("a", "A", error="Required."),)))
    errors = [e["text"] for e in walk(form) if e.get("color") == "Attention"]
    assert errors == [
        escape("Error: There is a problem with: A. Correct it and send again."),
        escape("Error: Required."),
    ]


def test_decision_form_has_note_input_and_hidden_context() -> None:
    form = Form(
        form_id="spoc:decision",
        title="Approve DPT/17/2026",
        ref="DPT/17/2026",
        context="approve",
        fields=(FormField("note", "What was disclosed", kind="long_text"),),
    )
    card = render(form)
    note = by_id(card, "decision:note")
    assert note["type"] == "Input.Text" and note["isMultiline"] and note["isRequired"]
    [submit] = submits(card)
    assert submit["data"] == {
        "action": "spoc:decision",
        "ref": "DPT/17/2026",
        "context": "approve",
        "prefix": "decision",
        "multi": [],
    }


def test_retro_form_is_pre_filled_and_not_escaped() -> None:
    form = Form(
        form_id="retro:submit",
        title="Retrospective form",
        ref="DPT/17/2026",
        fields=(
            FormField("subject.last_name", "Surname", value="O'Brien-Smith [jr]"),
            FormField("subject.dob", "Date of birth", kind="date", value="1980-01-31"),
            FormField("grounds", "Grounds", kind="multi", choices=YES_NO, value=("yes", "no")),
            FormField("consent", "Consent", kind="choice", choices=YES_NO, value="no"),
            FormField("contact_phone", "Phone", kind="phone", value="07700 900123"),
            FormField("info_other", "Other", optional=True),
        ),
    )
    card = render(form)
    assert by_id(card, "retro:subject.last_name")["value"] == "O'Brien-Smith [jr]"
    assert by_id(card, "retro:subject.dob") == {
        "id": "retro:subject.dob",
        "label": "Date of birth",
        "isRequired": True,
        "errorMessage": "Please fill this in.",
        "type": "Input.Date",
        "value": "1980-01-31",
    }
    assert by_id(card, "retro:grounds")["value"] == "yes,no"
    assert by_id(card, "retro:consent")["isMultiSelect"] is False
    assert by_id(card, "retro:contact_phone")["style"] == "tel"
    assert by_id(card, "retro:info_other")["isRequired"] is False
    [submit] = submits(card)
    assert submit["data"]["multi"] == ["grounds"] and submit["data"]["prefix"] == "retro"


def test_non_iso_date_falls_back_to_text() -> None:
    form = Form("retro:submit", "t", "R", (FormField("d", "D", kind="date", value="31/01/1980"),))
    assert by_id(render(form), "retro:d")["type"] == "Input.Text"


def test_activity_preview_is_the_notification_only() -> None:
    message = Text("Jane Doe, 1 High St", notification="oohbot has a message for you")
    activity = to_activity(message)
    assert activity.summary == "oohbot has a message for you"
    assert activity.text is None
    assert activity.attachments[0].content_type == "application/vnd.microsoft.card.adaptive"


# --- escaping ---------------------------------------------------------------------------------

LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\s*\(")
AUTOLINK = re.compile(r"://|www\.|@\w", re.IGNORECASE)


def active_markup(markdown: str) -> list[str]:
    """Constructs a markdown renderer could turn into a link, mention, tag or emphasis."""
    problems = []
    if LINK.search(markdown):
        problems.append("link")
    if re.search(r"(?<!\\)<", markdown):
        problems.append("tag")
    if AUTOLINK.search(markdown):
        problems.append("autolink")
    if re.search(r"(?<!\\)[*_`]", _without_escaped_backslashes(markdown)):
        problems.append("emphasis")
    return problems


def _without_escaped_backslashes(markdown: str) -> str:
    return markdown.replace("\\\\", "")


def unescape(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


@given(st.text())
def test_escaped_text_has_no_active_markup_and_keeps_the_characters(text: str) -> None:
    escaped = escape(text)
    assert active_markup(escaped) == []
    assert unescape(escaped) == text.replace("\u200b", "")


@given(st.text(alphabet="[]()<>@:/.w*_`\\ abc", max_size=40))
def test_escaping_holds_for_markup_heavy_text(text: str) -> None:
    assert active_markup(escape(text)) == []


def test_injection_examples() -> None:
    assert escape("[click](https://evil.example)") == (
        "\\[click\\]\\(https:\u200b//evil\\.example\\)"
    )
    assert escape("<at>SPOC</at>") == "\\<at\\>SPOC\\</at\\>"
    assert escape("**bold** _it_") == "\\*\\*bold\\*\\* \\_it\\_"


@given(st.text(), st.text(), st.text(min_size=1))
def test_all_message_text_in_text_blocks_is_escaped(title: str, label: str, value: str) -> None:
    card = render(
        Card(
            card_id="c",
            title=title,
            fields=(CardField(label, value),),
            status=value,
            actions=(Action("spoc:ack", label, value),),
        )
    )
    blocks = [e["text"] for e in walk(card) if e.get("type") == "TextBlock"]
    assert blocks == [escape(title), f"**{escape(label)}:** {escape(value)}", escape(value)]
    json.dumps(card)


def test_buttons_that_ask_first_or_differ_stay_one_per_field() -> None:
    """A Withdraw per request keeps its own confirming button under its request."""
    fields = tuple(
        CardField(ref, "Waiting", Action("withdraw", "Withdraw", ref, "danger", f"Withdraw {ref}?"))
        for ref in ("DPT/01/2026", "DPT/02/2026")
    )
    card = render(Card(card_id="home:mine:a", title="Mine", fields=fields))
    shown = [e for e in walk(card) if e.get("type") == "Action.ShowCard"]
    assert [s["card"]["actions"][0]["data"]["ref"] for s in shown] == ["DPT/01/2026", "DPT/02/2026"]
    assert not [e for e in walk(card) if e.get("id") == "pick"]
