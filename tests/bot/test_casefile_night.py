"""A whole night with the structured decision, then the case file opened after closure
(issue 13: protocol-requirements §4.2–§4.4, §5.5, §6.1–§6.3), on both store backends."""

from __future__ import annotations

from datetime import timedelta

from flows.messages import Card, Form, FormField, Message
from store.audit import verify
from tests.bot.test_night import _filled
from tests.decision_values import CONDITIONS, OVERRIDE, REASONS_NOT_TOLD, approval
from tests.night import CANARY_VALUES, Night, only, texts

QUESTION = "Is the blade a kitchen knife or something else?"
ANSWER = "A hunting knife, seen on Tuesday"


async def finished_night(
    night: Night, note: str = "Disclosed: one caution for a bladed article"
) -> str:
    """Request, a question and its answer, a structured approval, the written form: closed."""
    replies = await night.request("amara.okafor")
    ref = texts(replies).split("Request ")[1].split(" ")[0]
    ask = only(await night.click("di.marsh", "spoc:ask", ref), Form)
    await night.submit("di.marsh", ask, {"note": QUESTION})
    await night.say("amara.okafor", ANSWER)
    form = only(await night.click("di.marsh", "spoc:approve", ref), Form)
    await night.submit("di.marsh", form, approval(note))
    await night.advance(timedelta(hours=1))
    retro = only(await night.click("amara.okafor", "retro:open", ref), Form)
    await night.submit("amara.okafor", retro, _filled(retro))
    request = await night.engine.store.get_request(ref)
    assert request is not None and request.data["state"] == "closed"
    return ref


def _case_file(messages: list[Message], ref: str) -> Card:
    [card] = [m for m in messages if isinstance(m, Card) and m.card_id == f"record:{ref}"]
    return card


def _text(card: Card) -> str:
    return "\n".join(f"{f.label}: {f.value}" for f in card.fields)


async def test_a_structured_approval_is_stored_whole_and_the_form_comes_back_with_errors(
    night: Night,
) -> None:
    """§4.2–§4.4, §6.2: an approval without the items S4 asks for is not recorded; the form
    comes back with each error at its field and nothing typed lost."""
    replies = await night.request("amara.okafor")
    ref = texts(replies).split("Request ")[1].split(" ")[0]
    form = only(await night.click("di.marsh", "spoc:approve", ref), Form)
    partial = {**approval(), "power": [], "article8": "no", "inform_reason": ""}
    again = only(await night.submit("di.marsh", form, partial), Form)
    errors = {f.key: f.error for f in again.fields if f.error}
    assert errors == {
        "power": "Select the lawful power relied on",
        "article8": "You can approve only a disclosure that is necessary and proportionate. "
        "If it is not, decline the request",
        "inform_reason": "Enter why the person will not be told",
    }
    kept: dict[str, FormField] = {f.key: f for f in again.fields}
    assert kept["override"].value == OVERRIDE and kept["public_interest"].value == (
        "vulnerable",
        "public_safety",
    ), "nothing typed is lost"
    stored = await night.engine.store.get_request(ref)
    assert stored is not None and stored.data.get("outcome") is None

    await night.submit("di.marsh", again, approval())
    stored = await night.engine.store.get_request(ref)
    assert stored is not None
    decision = stored.data["decision"]
    assert decision["power"] == ["cda_s115", "common_law"]
    assert decision["inform_subject"] == "no" and decision["inform_reason"] == REASONS_NOT_TOLD
    assert decision["facts"] == "fact" and decision["originator"] == "not_applicable"
    assert decision["conditions"] == CONDITIONS
    [approved] = [
        e for e in await night.engine.store.audit_entries(ref) if e.action.endswith("approved")
    ]
    assert approved.details["power"] == ["cda_s115", "common_law"]
    assert REASONS_NOT_TOLD not in repr(approved.details), "free text never in the audit"


async def test_requester_spoc_and_ig_open_the_case_file_after_closure(night: Night) -> None:
    """§6.1: the record of the request, the decision and its reasons can be read back by the
    requester, another rota SPOC and IG after closure; anyone else is refused; every opening
    is in the audit log."""
    ref = await finished_night(night)
    for who in ("amara.okafor", "ds.kellow", "ifan.price"):
        card = _case_file(await night.click(who, "record:open", ref), ref)
        shown = _text(card)
        assert "Lawful power relied on: Crime and Disorder Act 1998 s115" in shown, who
        assert f"If not, why not: {REASONS_NOT_TOLD}" in shown, who
        assert "Article 8: is the disclosure necessary and proportionate?: Yes" in shown
        assert f"Conditions on onward use: {CONDITIONS}" in shown
        assert QUESTION in shown and ANSWER in shown, "the questions and answers"
        assert "Zqxjvonkle" in shown, "every answer (privately)"
        assert "Requested by (name and designation of authorised signatory)" in shown, "the form"
        assert "Approved by Dana Marsh" in shown and "Written form received" in shown
        assert "retro_submitted" not in shown and "request." not in shown, "plain words"
    for who in ("tom.reyes", "gwen.hollis", "duty.inspector"):
        refused = await night.click(who, "record:open", ref)
        assert not [m for m in refused if isinstance(m, Card)], who
        assert "cannot open this case file" in texts(refused), who
        assert not any(value in repr(night.sender.inbox(who)) for value in CANARY_VALUES)

    entries = await night.engine.store.audit_entries(ref)
    opened = [e.actor for e in entries if e.action == "request.record_opened"]
    refused_by = [e.actor for e in entries if e.action == "request.record_refused"]
    assert sorted(opened) == ["amara.okafor", "ds.kellow", "ifan.price"]
    assert sorted(refused_by) == ["duty.inspector", "gwen.hollis", "tom.reyes"]
    assert not any(v in repr([e.details for e in entries]) for v in CANARY_VALUES)
    assert verify(await night.engine.store.audit_entries()).ok
