"""Block Kit rendering: the stable ids of DESIGN.md, Slack's size limits, modals."""

from __future__ import annotations

import json

from adapters.slack import blocks
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
GROUNDS = tuple(Choice(f"g{i}", f"Ground {i}") for i in range(12))


def test_a_question_is_a_section_with_answer_buttons() -> None:
    rendered = blocks.render(Question("emergency", "Is anyone in danger?", YES_NO, hint="Type it"))
    assert rendered[0]["block_id"] == "ask:emergency"
    [actions] = [b for b in rendered if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [
        "answer:emergency:yes",
        "answer:emergency:no",
    ]
    assert [e["value"] for e in actions["elements"]] == ["yes", "no"]


def test_a_multi_choice_question_has_checkboxes_and_continue() -> None:
    rendered = blocks.render(Question("grounds", "Which grounds?", GROUNDS, multi=True))
    [actions] = [b for b in rendered if b["type"] == "actions"]
    kinds = [(e["type"], e["action_id"]) for e in actions["elements"]]
    assert kinds == [
        ("checkboxes", "pick:grounds"),
        ("checkboxes", "pick:grounds:1"),
        ("button", "answer:grounds"),
    ]
    assert all(len(e.get("options", [])) <= 10 for e in actions["elements"])


def test_a_review_card_has_an_edit_button_per_answer() -> None:
    fields = tuple(
        CardField(f"Field {i}", f"answer {i}", Action("edit", "Edit", f"f{i}")) for i in range(3)
    )
    submit = Action("answer:review:submit", "Submit", "submit", "primary")
    rendered = blocks.render(Card("review", "Check your request", fields, (submit,)))
    accessories = [b["accessory"] for b in rendered if "accessory" in b]
    assert [a["value"] for a in accessories] == ["f0", "f1", "f2"]
    assert rendered[-1]["elements"][0]["style"] == "primary"
    assert len({b.get("block_id") for b in rendered}) == len(rendered)


def test_spoc_buttons_keep_their_ids_and_the_reference() -> None:
    ids = ("spoc:ack", "spoc:details", "spoc:approve", "spoc:decline", "spoc:ask")
    buttons = tuple(Action(i, i, "DPT/17/2026") for i in ids)
    card = Card("spoc:DPT/17/2026", "Urgent", actions=buttons)
    [actions] = [b for b in blocks.render(card) if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (i, "DPT/17/2026") for i in ids
    ]


def test_long_texts_fit_slacks_limits() -> None:
    rendered = blocks.render(Text("x" * 7000))
    assert len(rendered) == 3 and all(len(b["text"]["text"]) <= 3000 for b in rendered)
    long_label = blocks.render(Question("f", "?", (Choice("k", "L" * 200),)))
    assert len(long_label[-1]["elements"][0]["text"]["text"]) <= 75


def test_a_retro_form_becomes_a_prefilled_modal() -> None:
    form = Form(
        "retro:submit",
        "Retrospective form MH1 for DPT/17/2026",
        "DPT/17/2026",
        (
            FormField("subject.last_name", "Surname", value="Smith"),
            FormField("consent", "Consent", "choice", YES_NO, value="no"),
            FormField("grounds", "Grounds", "multi", GROUNDS[:3], value=("g1",)),
            FormField("info_other", "Other", "long_text", optional=True, hint="Optional"),
        ),
    )
    view = blocks.modal(form)
    assert view["callback_id"] == "retro:submit" and len(view["title"]["text"]) <= 24
    by_id = {b["block_id"]: b for b in view["blocks"]}
    keys = ["subject.last_name", "consent", "grounds", "info_other"]
    assert list(by_id) == [f"retro:{k}" for k in keys]
    assert by_id["retro:subject.last_name"]["element"]["initial_value"] == "Smith"
    assert by_id["retro:consent"]["element"]["initial_option"]["value"] == "no"
    assert by_id["retro:grounds"]["element"]["initial_options"][0]["value"] == "g1"
    assert by_id["retro:info_other"]["optional"] is True
    assert by_id["retro:info_other"]["element"]["multiline"] is True
    assert json.loads(view["private_metadata"]) == {"ref": "DPT/17/2026", "context": ""}


def test_the_home_tab_separates_cards() -> None:
    view = blocks.home([Card("a", "A"), Card("b", "B")])
    assert view["type"] == "home"
    assert [b["type"] for b in view["blocks"]] == ["header", "divider", "header"]
