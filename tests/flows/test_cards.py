"""Message builders: the redacted channel card and the private messages (§6.2, §7)."""

from __future__ import annotations

from datetime import timedelta

from flows import cards
from flows.messages import Card, Message
from tests.flows.lifecycle_world import (
    CANARY_VALUES,
    FRIDAY_10PM,
    REF,
    World,
    new_request,
    text_of,
)


def _fields(card: Card) -> dict[str, str]:
    return {f.label: f.value for f in card.fields}


def test_the_channel_card_is_redacted() -> None:
    """§7 (S4 §9.4, App4 §2.4): no subject details or free text in the SPOC channel."""
    world = World()
    card = cards.spoc_card(new_request(paged=["spoc1"]), world.directory, world.ctx)
    shown = repr(card)
    for value in CANARY_VALUES:
        assert value not in shown, value
    fields = _fields(card)
    assert fields["Reference"] == REF
    assert fields["Requesting organisation"] == (
        "Northmoor Health Trust, on behalf of Northmoor County Council"
    )
    assert fields["Requested by"] == "Robin Vale, On-call manager"
    assert fields["Phone on record"] == "01632 960555"
    assert fields["Call-back number"] == "01632 960777 (not the number on record)"
    assert "2.4.1" in fields["Urgency grounds"] and "2.4.4" in fields["Urgency grounds"]
    assert "Weapons" in fields["Information requested"]
    assert fields["Requested at"] == "Fri 20 Nov 22:00"
    assert card.status == "Waiting for a SPOC to pick it up (paged: Detective Inspector)"
    assert card.card_id == f"spoc:{REF}"
    assert [a.action_id for a in card.actions] == [
        "spoc:ack",
        "spoc:details",
        "spoc:approve",
        "spoc:decline",
        "spoc:ask",
        "spoc:reassign",
    ]
    assert {a.value for a in card.actions} == {REF}


def test_free_text_in_a_choice_answer_is_withheld() -> None:
    world = World()
    request = new_request(answers={"grounds": "He said he'd hurt Vexmoorland"})
    card = cards.spoc_card(request, world.directory, world.ctx)
    assert "Vexmoorland" not in repr(card)
    assert "(withheld)" in _fields(card)["Urgency grounds"]


def test_a_decided_card_has_only_the_case_file_button_and_says_who_and_when() -> None:
    world = World()
    request = new_request(
        state="retro_due",
        outcome="declined",
        decided_by="spoc2",
        decided_at=FRIDAY_10PM + timedelta(minutes=7),
        decision_note="Not met for Vexmoorland",
    )
    card = cards.spoc_card(request, world.directory, world.ctx)
    assert [(a.action_id, a.value) for a in card.actions] == [("record:open", REF)]
    assert card.status == "Declined by Jo Trewin, Detective Sergeant at 22:07"
    assert "Vexmoorland" not in repr(card)


def test_details_carry_the_personal_data_privately() -> None:
    card = cards.details_message(new_request())
    shown = text_of([card])
    assert "Vexmoorland" in shown and "Brackwater" in shown and "crossbow" in shown
    assert "Vexmoorland" not in card.notification
    assert card.card_id != f"spoc:{REF}", "never replaces the channel card"


def test_every_notification_is_generic() -> None:
    world = World()
    request = new_request(
        state="retro_due",
        outcome="approved",
        decided_by="spoc1",
        decided_at=FRIDAY_10PM,
        decision_note="Crossbow caution disclosed",
        retro_due_at=FRIDAY_10PM + timedelta(hours=72),
    )
    messages: list[Message] = [
        cards.spoc_card(request, world.directory, world.ctx),
        cards.details_message(request),
        cards.outcome_card(request, world.directory, world.ctx),
        cards.page_text(REF, repeat=True),
        cards.question_text(request, world.directory, "Is Vexmoorland at home?"),
        cards.answer_text(request, "Ottoline is at home"),
        cards.reminder_card(request, 0, world.ctx),
        cards.nudge_card(request, 1, "mgr", world.directory, world.ctx),
        cards.digest_card([request], "ig1", world.ctx),
        cards.channel_text("x", REF),
    ]
    for message in messages:
        assert not any(v in message.notification for v in CANARY_VALUES), message
        assert "Crossbow" not in message.notification


def test_the_outcome_goes_privately_with_the_note_and_the_form_button() -> None:
    world = World()
    request = new_request(
        state="retro_due",
        outcome="approved",
        decided_by="spoc1",
        decided_at=FRIDAY_10PM,
        decision_note="Two cautions disclosed",
        retro_due_at=FRIDAY_10PM + timedelta(hours=72),
    )
    card = cards.outcome_card(request, world.directory, world.ctx)
    assert _fields(card)["Note from the SPOC"] == "Two cautions disclosed"
    assert _fields(card)["Written form due"] == "Mon 23 Nov 22:00 (in 3 days)"
    assert [(a.action_id, a.value) for a in card.actions] == [
        ("retro:open", REF),
        ("record:open", REF),
    ]


def test_reminders_and_nudges_have_distinct_ids_so_each_one_notifies() -> None:
    world = World()
    request = new_request(retro_due_at=FRIDAY_10PM + timedelta(hours=72))
    ids = {
        cards.reminder_card(request, 0, world.ctx).card_id,
        cards.reminder_card(request, 1, world.ctx).card_id,
        cards.nudge_card(request, 1, "req", world.directory, world.ctx).card_id,
        cards.nudge_card(request, 2, "req", world.directory, world.ctx).card_id,
    }
    assert len(ids) == 4


def test_the_call_back_number_is_the_one_just_given_written_like_the_one_on_record() -> None:
    """Issue 16: the card showed the directory phone, not the call-back number just given;
    both are shown, in one format, and a difference is pointed out for the verification call
    (§1.1: the police verify the caller)."""
    world = World()
    given = new_request(paged=["spoc1"])
    given.answers["contact_phone"] = "+441632960555"
    same = _fields(cards.spoc_card(given, world.directory, world.ctx))
    assert same["Call-back number"] == same["Phone on record"] == "01632 960555"
    del given.answers["contact_phone"]
    unknown = _fields(cards.spoc_card(given, world.directory, world.ctx))
    assert unknown["Call-back number"] == "01632 960555"


def test_details_name_the_organisation_as_the_card_does() -> None:
    """Issue 16: Details said "On behalf of: NCC" where the card names the council."""
    world = World()
    request = new_request(paged=["spoc1"])
    request.answers["on_behalf_of"] = "NCC"
    details = _fields(cards.details_message(request, world.directory))
    assert details["On behalf of"] == "Northmoor County Council"
    assert details["Call-back number"] == "01632 960777", "phones as everywhere else"


def test_the_ig_digest_opens_the_case_file_of_each_overdue_request() -> None:
    world = World()
    overdue = [new_request(ref=f"NHT/{n:02d}/2026", state="retro_overdue") for n in range(1, 8)]
    card = cards.digest_card([new_request(state="paged"), *overdue], "ig1", world.ctx)
    assert [(a.action_id, a.value) for a in card.actions] == [
        ("record:open", f"NHT/{n:02d}/2026") for n in range(1, 6)
    ], "one button per overdue request, as many as a card holds"
