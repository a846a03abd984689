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
    assert view["callback_id"] == "retro:submit" and view["title"]["text"] == "Form DPT/17/2026"
    title, *inputs = view["blocks"]
    assert title["text"]["text"] == "Retrospective form MH1 for DPT/17/2026"
    by_id = {b["block_id"]: b for b in inputs}
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


def test_a_short_modal_title_is_kept_and_errors_are_summarised_and_shown_at_the_input() -> None:
    form = Form(
        "spoc:decision",
        "Approve DPT/17/2026",
        "DPT/17/2026",
        (FormField("note", "What was disclosed", "long_text", error="A decision needs a note."),),
        context="approve",
    )
    view = blocks.modal(form)
    assert view["title"]["text"] == "Approve DPT/17/2026"
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert "There is a problem" in texts[0] and "What was disclosed" in texts[0]
    assert texts[1] == ":warning: *Error:* What was disclosed: A decision needs a note."
    assert view["blocks"][-1]["block_id"] == "decision:note"


def test_a_question_says_where_you_are_and_what_was_wrong() -> None:
    question = Question(
        "contact_phone",
        "What number can the police call you back on?",
        progress="Question 17 of 17",
        error="That number is too short (5 digits).",
    )
    rendered = blocks.render(question)
    assert rendered[0] == blocks.context("Question 17 of 17")
    assert rendered[1]["block_id"] == "ask:contact_phone"
    assert rendered[2]["block_id"] == "error:contact_phone"
    assert rendered[2]["text"]["text"].startswith(":warning: *Error:* That number is too short")


def test_a_destructive_button_asks_first_with_slack_s_confirm_dialog() -> None:
    card = Card(
        "home:mine:a",
        "My requests",
        fields=(
            CardField(
                "DPT/17/2026",
                "Waiting for a SPOC",
                Action("withdraw", "Withdraw", "DPT/17/2026", "danger", "Withdraw DPT/17/2026?"),
            ),
        ),
    )
    button = blocks.render(card)[1]["accessory"]
    assert (button["action_id"], button["value"]) == ("withdraw", "DPT/17/2026")
    assert button["confirm"]["text"]["text"] == "Withdraw DPT/17/2026?"
    assert button["confirm"]["confirm"]["text"] == "Yes, withdraw"
    assert button["confirm"]["style"] == "danger"


def test_a_short_modal_title_is_kept_as_it_is() -> None:
    form = Form("spoc:decision", "Approve DPT/17/2026", "DPT/17/2026", (FormField("note", "N"),))
    view = blocks.modal(form)
    assert view["title"]["text"] == "Approve DPT/17/2026"
    assert [b["block_id"] for b in view["blocks"]] == ["decision:note"]


def _list_card(n: int, actions: tuple[Action, ...] = ()) -> Card:
    fields = tuple(CardField(f"DPT/{i:02d}/2026", "form overdue") for i in range(1, n + 1))
    return Card("home:overdue:ig", "Overdue forms", fields, actions, status="As of 08:00")


def test_a_60_item_list_says_how_many_more_there_are() -> None:
    rendered = blocks.render(_list_card(60))
    assert len(rendered) == blocks.MESSAGE_BLOCKS
    note = rendered[-2]["elements"][0]["text"]
    shown = sum(1 for b in rendered if b.get("block_id", "").startswith("home:overdue:ig:field"))
    assert note == f"…and {60 - shown} more, not shown: too many for one message"
    assert shown == 47 and rendered[-1]["elements"][0]["text"] == "As of 08:00"


def test_a_long_card_with_details_points_to_them_and_keeps_its_buttons() -> None:
    details = Action("spoc:details", "Details", "DPT/01/2026")
    rendered = blocks.render(_list_card(80, (details,)))
    assert len(rendered) == blocks.MESSAGE_BLOCKS
    assert rendered[-1]["type"] == "actions"
    assert rendered[-3]["elements"][0]["text"] == "…and 34 more — open Details"


def test_the_home_tab_fits_100_blocks_and_says_what_it_left_out() -> None:
    view = blocks.home([_list_card(60), _list_card(60), Text("Type start to begin.")])
    texts = json.dumps(view["blocks"])
    assert len(view["blocks"]) <= blocks.VIEW_BLOCKS
    assert texts.count("more, not shown") == 2 and "Type start to begin." in texts


def test_a_huge_text_says_how_much_is_left_out() -> None:
    rendered = blocks.render(Text("y" * 200_000))
    assert len(rendered) == blocks.MESSAGE_BLOCKS
    assert rendered[-1]["elements"][0]["text"] == "… (53000 more characters not shown)"
