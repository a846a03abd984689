"""Activity → Inbound: text, choice clicks, multi-choice, card buttons and forms."""

from __future__ import annotations

from typing import Any

from botbuilder.schema import Activity

from adapters.teams.inbound import to_inbound
from flows.inbound import Inbound
from tests.adapters.teams.conftest import AAD, CHANNEL, TENANT, activity


def parse(**kwargs: Any) -> Inbound | None:
    raw = activity("https://service.example/", **kwargs)
    parsed: Activity = Activity().deserialize(raw)
    return to_inbound(parsed)


def test_typed_text() -> None:
    inbound = parse(text="  2, 3 ", activity_id="abc")
    assert inbound == Inbound(
        platform="teams",
        user_id=AAD,
        tenant=TENANT,
        conversation="a:personal-1",
        kind="text",
        text="2, 3",
        event_id="abc",
    )


def test_channel_mention_is_stripped_and_marked_in_channel() -> None:
    inbound = parse(
        text="<at>oohbot</at> help",
        conversation=f"{CHANNEL};messageid=123",
        conversation_type="channel",
    )
    assert inbound is not None
    assert inbound.text == "help" and inbound.in_channel and inbound.conversation == CHANNEL


def test_group_chat_counts_as_not_private() -> None:
    inbound = parse(text="hi", conversation="19:group@thread.v2", conversation_type="groupChat")
    assert inbound is not None and inbound.in_channel


def test_empty_message_is_ignored() -> None:
    assert parse(text="<at>oohbot</at>  ") is None


def test_choice_button() -> None:
    value = {"action": "answer:emergency:no", "field": "emergency", "option": "no"}
    inbound = parse(value=value)
    assert inbound is not None
    assert (inbound.kind, inbound.action, inbound.value) == ("action", "answer:emergency:no", "no")


def test_multi_choice_continue_is_a_form() -> None:
    value = {"action": "answer:grounds", "field": "grounds", "answer:grounds": "a,b"}
    inbound = parse(value=value)
    assert inbound is not None
    assert (inbound.kind, inbound.action) == ("form", "answer:grounds")
    assert inbound.form == {"grounds": ["a", "b"]}


def test_multi_choice_continue_with_nothing_chosen() -> None:
    inbound = parse(value={"action": "answer:grounds", "field": "grounds"})
    assert inbound is not None and inbound.form == {"grounds": []}


def test_spoc_card_button() -> None:
    inbound = parse(
        value={"action": "spoc:approve", "ref": "DPT/17/2026"},
        conversation=f"{CHANNEL};messageid=9",
        conversation_type="channel",
    )
    assert inbound is not None
    assert (inbound.kind, inbound.action, inbound.value) == (
        "action",
        "spoc:approve",
        "DPT/17/2026",
    )
    assert inbound.in_channel


def test_decision_note_form() -> None:
    value = {
        "action": "spoc:decision",
        "ref": "DPT/17/2026",
        "context": "approve",
        "prefix": "decision",
        "multi": [],
        "decision:note": "Disclosed warning markers",
    }
    inbound = parse(value=value)
    assert inbound is not None
    assert (inbound.kind, inbound.action) == ("form", "spoc:decision")
    assert inbound.form == {"note": "Disclosed warning markers"}
    assert (inbound.form_ref, inbound.form_context) == ("DPT/17/2026", "approve")


def test_retro_form_splits_multi_fields_only() -> None:
    value = {
        "action": "retro:submit",
        "ref": "DPT/17/2026",
        "context": "",
        "prefix": "retro",
        "multi": ["grounds"],
        "retro:grounds": "health_threat,public_safety",
        "retro:summary": "a, b and c",
        "unrelated": "x",
    }
    inbound = parse(value=value)
    assert inbound is not None
    assert inbound.form == {"grounds": ["health_threat", "public_safety"], "summary": "a, b and c"}


def test_the_pick_list_of_a_card_is_that_field_s_own_action() -> None:
    """The review card's one "Change" list (``cards._field_actions``) → ``edit:<field>``."""
    inbound = parse(value={"action": "pick", "pick": "edit:subject.dob|subject.dob"})
    assert inbound is not None
    assert (inbound.kind, inbound.action, inbound.value) == (
        "action",
        "edit:subject.dob",
        "subject.dob",
    )
