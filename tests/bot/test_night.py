"""Whole nights through the real engine, worker and store (both backends), injected clock."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

from flows.messages import Card, Form, FormField, Message
from flows.request import Request
from store.audit import verify
from tests.decision_values import approval, declining
from tests.night import ANSWERS, CANARY_VALUES, Night, only, texts

REF = re.compile(r"DPT/\d{2,}/2026")


async def _submitted(night: Night, who: str = "amara.okafor") -> str:
    replies = await night.request(who)
    found = REF.search(texts(replies))
    assert found, texts(replies)
    return found.group(0)


async def _state(night: Night, ref: str) -> Request:
    stored = await night.engine.store.get_request(ref)
    assert stored is not None
    return Request.model_validate(stored.data)


def _filled(form: Form) -> dict[str, str | list[str]]:
    """The form's pre-filled values, with something sensible in every empty required field."""
    values: dict[str, str | list[str]] = {}
    for field in form.fields:
        values[field.key] = _value_for(field)
    return values


def _value_for(field: FormField) -> str | list[str]:
    if field.value:
        return list(field.value) if isinstance(field.value, tuple) else field.value
    if field.optional:
        return [] if field.kind == "multi" else ""
    samples: dict[str, str | list[str]] = {
        "date": "14/02/1979",
        "phone": "07700 900123",
        "postcode": "TD1 4QX",
    }
    if field.kind in samples:
        return samples[field.kind]
    if field.kind == "choice":
        return field.choices[0].key
    if field.kind == "multi":
        return [field.choices[0].key]
    return "Recorded for the retrospective form"


def _cards(messages: list[Message], card_id: str) -> list[Card]:
    return [m for m in messages if isinstance(m, Card) and m.card_id == card_id]


async def test_the_whole_night(night: Night) -> None:
    """protocol-requirements §1.1, §3 T1, §8: request → page → escalate → approve → 72 h form."""
    ref = await _submitted(night)
    assert _cards(night.sender.channel(), f"spoc:{ref}"), "the SPOC channel got the card"
    assert night.sender.inbox("di.marsh"), "the first officer on the rota was paged"
    assert not night.sender.inbox("ds.kellow")

    await night.advance(timedelta(minutes=11))
    assert night.sender.inbox("ds.kellow"), "no acknowledgement: the backup was paged"

    form = only(await night.click("ds.kellow", "spoc:approve", ref), Form)
    assert form.form_id == "spoc:decision"
    await night.submit("ds.kellow", form, approval("Disclosed two cautions for a bladed article"))
    assert (await _state(night, ref)).outcome == "approved"
    updated = [
        m for _, m in night.sender.updates if isinstance(m, Card) and m.card_id == f"spoc:{ref}"
    ]
    assert updated and "approved" in updated[-1].status.lower()
    assert [a.action_id for a in updated[-1].actions] == ["record:open"]
    assert "approved" in texts(night.sender.inbox("amara.okafor")).lower()

    before = len(night.sender.inbox("amara.okafor"))
    await night.advance(timedelta(hours=48))
    reminders = night.sender.inbox("amara.okafor")[before:]
    assert any(
        a.action_id == "retro:open" for m in reminders if isinstance(m, Card) for a in m.actions
    )

    await night.advance(timedelta(hours=24, minutes=1))
    assert (await _state(night, ref)).state == "retro_overdue"
    assert ref in texts(night.sender.inbox("gwen.hollis")), "the manager was nudged"

    form = only(await night.click("amara.okafor", "retro:open", ref), Form)
    assert form.form_id == "retro:submit"
    await night.submit("amara.okafor", form, _filled(form))
    assert (await _state(night, ref)).state == "closed"

    quiet = len(night.sender.inbox("amara.okafor")), len(night.sender.inbox("gwen.hollis"))
    await night.advance(timedelta(days=5))
    after = len(night.sender.inbox("amara.okafor")), len(night.sender.inbox("gwen.hollis"))
    assert after == quiet, "a submitted form stops every reminder and nudge"
    assert verify(await night.engine.store.audit_entries()).ok


async def test_no_personal_data_in_channel_posts_or_notifications(night: Night) -> None:
    """protocol-requirements §7 (restricted data, need to know): the channel card is redacted."""
    ref = await _submitted(night)
    await night.click("di.marsh", "spoc:ack", ref)
    reply = await night.click("di.marsh", "spoc:details", ref)
    assert "Zqxjvonkle" not in texts(reply), "the reply may land in a channel"
    assert "Zqxjvonkle" in texts(night.sender.inbox("di.marsh")), "details arrive by DM"
    channel = "\n".join(repr(m) for m in night.sender.channel())
    notifications = " ".join(d.message.notification for d in night.sender.sent)
    for value in CANARY_VALUES:
        assert value not in channel
        assert value not in notifications
    entries = await night.engine.store.audit_entries()
    assert not any(v in repr(e.details) for e in entries for v in CANARY_VALUES)
    assert any(e.action.endswith("details_viewed") or "details" in e.action for e in entries)


async def test_someone_without_the_requester_role_is_refused_and_audited(night: Night) -> None:
    """protocol-requirements §1.1: requests from anyone but a nominated officer are declined."""
    replies = await night.request("gwen.hollis")
    assert "not" in texts(replies).lower()
    assert not night.sender.channel()
    assert any("refus" in e.action for e in await night.engine.store.audit_entries())


async def test_an_unknown_caller_is_refused(night: Night) -> None:
    replies = await night.request("stranger")
    assert not night.sender.channel()
    assert texts(replies)


async def test_emergency_is_sent_to_the_control_room(night: Night) -> None:
    """protocol-requirements §8: emergencies go to the police control room, not this route."""
    replies = await night.request("amara.okafor", {**ANSWERS, "emergency": "yes"})
    assert "999" in texts(replies)
    assert not night.sender.channel()


async def test_decline_with_reason(night: Night) -> None:
    """protocol-requirements §6.1 / §10.24: a refusal records its reasons."""
    ref = await _submitted(night)
    form = only(await night.click("di.marsh", "spoc:decline", ref), Form)
    await night.submit("di.marsh", form, declining("Threshold for disclosure not met"))
    request = await _state(night, ref)
    assert request.outcome == "declined"
    assert request.decision_note == "Threshold for disclosure not met"
    assert "declined" in texts(night.sender.inbox("amara.okafor")).lower()


async def test_a_decision_needs_a_note(night: Night) -> None:
    ref = await _submitted(night)
    form = only(await night.click("di.marsh", "spoc:approve", ref), Form)
    await night.submit("di.marsh", form, approval("  "))
    assert (await _state(night, ref)).outcome is None


async def test_only_rota_officers_decide_and_never_the_requester(night: Night) -> None:
    """protocol-requirements §1.1: only the police nominated officer discloses."""
    ref = await _submitted(night)
    for who in ("amara.okafor", "gwen.hollis", "ifan.price", "duty.inspector", "stranger"):
        replies = await night.click(who, "spoc:approve", ref)
        assert not any(isinstance(m, Form) for m in replies), who
    assert (await _state(night, ref)).outcome is None
    refusals = [
        e for e in await night.engine.store.audit_entries(ref) if e.action.endswith("refused")
    ]
    assert {e.actor for e in refusals} >= {"amara.okafor", "gwen.hollis", "web::stranger"}


async def test_two_spocs_deciding_at_once_one_wins(night: Night) -> None:
    ref = await _submitted(night)
    form_a = only(await night.click("di.marsh", "spoc:approve", ref), Form)
    form_b = only(await night.click("ds.kellow", "spoc:decline", ref), Form)
    results = await asyncio.gather(
        night.submit("di.marsh", form_a, approval("Disclosed")),
        night.submit("ds.kellow", form_b, declining("Not met")),
    )
    request = await _state(night, ref)
    assert request.outcome in {"approved", "declined"}
    loser = results[1] if request.decided_by == "di.marsh" else results[0]
    assert "already" in texts(loser).lower()


async def test_info_question_is_relayed_both_ways(night: Night) -> None:
    ref = await _submitted(night)
    form = only(await night.click("di.marsh", "spoc:ask", ref), Form)
    await night.submit("di.marsh", form, {"note": "Is there a current address for the person?"})
    assert "current address" in texts(night.sender.inbox("amara.okafor"))
    await night.say("amara.okafor", "Yes, the one given is current")
    assert "the one given is current" in texts(night.sender.inbox("di.marsh"))
    request = await _state(night, ref)
    assert request.info and request.info[-1].answer == "Yes, the one given is current"


async def test_withdrawal_before_a_decision(night: Night) -> None:
    ref = await _submitted(night)
    status = only(await night.say("amara.okafor", "status"), Card)
    (entry,) = [f for f in status.fields if f.label == ref]
    assert entry.action is not None and entry.action.action_id == "withdraw"
    await night.click("amara.okafor", entry.action.action_id, entry.action.value)
    assert (await _state(night, ref)).state == "withdrawn"
    replies = await night.click("di.marsh", "spoc:approve", ref)
    assert not any(isinstance(m, Form) for m in replies)


async def test_a_duplicate_delivery_creates_nothing_twice(night: Night) -> None:
    await night.say("amara.okafor", "hello")
    first = await night.engine.handle(
        night._inbound("amara.okafor", kind="text", text="no", event_id="dup")
    )
    again = await night.engine.handle(
        night._inbound("amara.okafor", kind="text", text="no", event_id="dup")
    )
    assert first and again == []


async def test_a_draft_survives_a_restart(night: Night) -> None:
    replies = await night.say("amara.okafor", "hello")
    replies = await night.say("amara.okafor", "no")
    from tests.night import last_question

    asked = last_question(replies)
    assert asked is not None
    restarted = type(night.engine)(
        settings=night.engine.settings,
        store=night.engine.store,
        directory=night.engine.directory,
        clock=night.clock,
        delivery=night.engine.delivery,
        dispatcher=night.engine.dispatcher,
        metrics=night.engine.metrics,
    )
    again = await restarted.handle(night._inbound("amara.okafor", kind="text", text="status"))
    assert texts(again)
    night.engine = restarted
    replies = await night.request("amara.okafor")
    assert REF.search(texts(replies))


async def test_references_are_consecutive_per_organisation(night: Night) -> None:
    """protocol-requirements §2.3: ORG/No/Year."""
    first = await _submitted(night)
    second = await _submitted(night)
    assert int(first.split("/")[1]) + 1 == int(second.split("/")[1])


async def test_an_idle_draft_is_warned_then_expired(night: Night) -> None:
    await night.say("amara.okafor", "hello")
    await night.say("amara.okafor", "no")
    await night.advance(timedelta(minutes=26))
    warned = texts(night.sender.inbox("amara.okafor")).lower()
    assert warned, "the idle warning reached the requester"
    await night.advance(timedelta(minutes=5))
    session = await night.engine.store.load_session("web::amara.okafor")
    assert session is not None and session["state"] == "expired"
    assert session["answers"] == {}, "an expired draft is discarded"
    assert "start" in texts(await night.say("amara.okafor", "status")).lower()


async def test_logs_carry_no_personal_data(night: Night) -> None:
    """DESIGN: personal data is never written to logs (whole night, every component)."""
    import structlog

    with structlog.testing.capture_logs() as logs:
        ref = await _submitted(night)
        await night.click("di.marsh", "spoc:details", ref)
        form = only(await night.click("di.marsh", "spoc:approve", ref), Form)
        await night.submit("di.marsh", form, approval("Disclosed Zqxjvonkle history"))
        await night.advance(timedelta(hours=80))
    dumped = repr(logs)
    for value in CANARY_VALUES:
        assert value not in dumped


async def test_an_answer_during_a_new_draft_needs_the_answer_prefix(night: Night) -> None:
    ref = await _submitted(night)
    form = only(await night.click("di.marsh", "spoc:ask", ref), Form)
    await night.submit("di.marsh", form, {"note": "Any weapons seen tonight?"})
    await night.say("amara.okafor", "start")  # a second request, not an answer
    await night.say("amara.okafor", "no")  # answers the draft's triage question, not the SPOC
    assert (await _state(night, ref)).info[-1].answer is None
    await night.say("amara.okafor", "answer: none seen tonight")
    assert (await _state(night, ref)).info[-1].answer == "none seen tonight"
    assert "none seen tonight" in texts(night.sender.inbox("di.marsh"))


async def _approved_while_requester_unreachable(night: Night) -> tuple[str, Any]:
    """A request approved while Amara's platform refuses every message; returns the reference
    and the platform's real ``send`` (to put back)."""
    ref = await _submitted(night)
    real_send = night.sender.send

    async def failing_send(address: Any, message: Message) -> Any:
        if address.id == "amara.okafor":
            raise ConnectionError("platform down")
        return await real_send(address, message)

    night.sender.send = failing_send  # type: ignore[method-assign]
    form = only(await night.click("di.marsh", "spoc:approve", ref), Form)
    await night.submit("di.marsh", form, approval("Disclosed"))
    return ref, real_send


async def test_a_platform_failure_loses_no_timer_and_no_audit_entry(night: Night) -> None:
    """A platform outage for one person delays their message; reminders and audit survive."""
    ref, real_send = await _approved_while_requester_unreachable(night)
    request = await _state(night, ref)
    assert request.outcome == "approved" and request.retro_due_at is not None
    kinds = {job.kind for job in await night.engine.store.pending_jobs()}
    assert "retro_reminder" in kinds and "retro_overdue" in kinds
    actions = [e.action for e in await night.engine.store.audit_entries(ref)]
    assert "request.approved" in actions
    assert "approved" not in texts(night.sender.inbox("amara.okafor"))
    # The outcome waits in the outbox and goes out once the platform is back.
    night.sender.send = real_send  # type: ignore[method-assign]
    await night.advance(timedelta(minutes=1))
    assert "approved" in texts(night.sender.inbox("amara.okafor")).lower()
    assert await night.engine.store.outbox_entries() == []


async def test_a_message_that_never_goes_through_is_handed_to_a_person(night: Night) -> None:
    """After the configured attempts the SPOC channel is told to phone instead."""
    ref, _ = await _approved_while_requester_unreachable(night)
    for _ in range(8):
        await night.advance(timedelta(minutes=10))
    assert "could not deliver a message about " + ref in texts(night.sender.channel())
    assert [e.recipient for e in await night.engine.store.dead_outbox()] == ["officer:amara.okafor"]
