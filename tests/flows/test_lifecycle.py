"""The request lifecycle, driven with a fixed clock and a fictional directory."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import jobs
from flows.lifecycle import STATES, RequestFlow
from flows.messages import Card, Message, Text, ToSpocChannel
from tests.flows.lifecycle_world import (
    CANARY_VALUES,
    DIRECTORY,
    FRIDAY_10PM,
    REF,
    World,
    audits,
    cancels,
    cards_of,
    filled,
    is_refusal,
    only_form,
    schedules,
    sends,
    text_of,
    to_channel,
    to_officer,
)

SPOC_ACTIONS = ("spoc:ack", "spoc:details", "spoc:approve", "spoc:decline", "spoc:ask")
HOUR = timedelta(hours=1)


def submitted(world: World | None = None) -> World:
    world = world or World()
    world.submit()
    return world


def approved(world: World | None = None, note: str = "Two cautions, bladed article") -> World:
    world = submitted(world)
    world.advance(timedelta(minutes=5))
    world.act("spoc1", "spoc:approve", note)
    return world


# --- submission and paging (§8) ------------------------------------------------------------


def test_submit_pages_the_first_on_the_rota_and_starts_the_clocks() -> None:
    """§8 / §3 T2: the SPOC is paged (channel card + DM) and the 2-hour response clock runs."""
    world = World()
    step = world.submit()
    assert step.changed and world.request.state == "paged"
    assert world.request.paged == ["spoc1"]
    assert world.request.response_due_at == FRIDAY_10PM + 2 * HOUR
    assert cards_of(to_officer(step.effects, "spoc1"), f"spoc:{REF}")
    assert cards_of(to_channel(step.effects), f"spoc:{REF}")
    (ack,) = schedules(step.effects, jobs.SPOC_ACK)
    assert ack.due_at == FRIDAY_10PM + timedelta(minutes=10)
    assert ack.job_id == jobs.job_id(jobs.SPOC_ACK, REF, 1) and ack.payload["page"] == 1
    (warning,) = schedules(step.effects, jobs.RESPONSE_WARNING)
    (breach,) = schedules(step.effects, jobs.RESPONSE_BREACH)
    assert warning.due_at == FRIDAY_10PM + timedelta(minutes=90)
    assert breach.due_at == FRIDAY_10PM + 2 * HOUR
    assert REF in text_of(step.replies)
    assert {a.action for a in audits(step.effects)} >= {"request.submitted", "request.paged"}


def test_submitting_twice_is_a_no_op() -> None:
    world = submitted()
    again = world.submit()
    assert not again.changed and not again.effects


def test_no_acknowledgement_escalates_down_the_rota_then_alerts_the_fallback() -> None:
    """§8: no seed defines SPOC escalation; we page the rota in order for N rounds, then
    alert the fallback officer and the channel, and stop."""
    world = submitted()
    paged_posts = []
    for page in range(1, 4):
        world.advance(timedelta(minutes=10))
        step = world.timer(jobs.SPOC_ACK, page=page)
        assert step.changed
        (card,) = cards_of(to_channel(step.effects), f"spoc:{REF}")
        paged_posts.append(card.status)
        (next_ack,) = schedules(step.effects, jobs.SPOC_ACK)
        assert next_ack.payload["page"] == page + 1
    assert world.request.paged == ["spoc1", "spoc2", "spoc1", "spoc2"]
    assert paged_posts[0] == "Waiting for a SPOC to pick it up (paged: Detective Sergeant)"
    assert "still" in text_of(to_officer(world.steps[2].effects, "spoc1"))

    world.advance(timedelta(minutes=10))
    step = world.timer(jobs.SPOC_ACK, page=4)
    assert step.changed and not schedules(step.effects)
    assert to_officer(step.effects, "spoc3"), "the fallback was alerted"
    assert any(isinstance(m, Text) for m in to_channel(step.effects))
    assert "Nobody on the rota" in cards_of(to_channel(step.effects), f"spoc:{REF}")[0].status

    again = world.timer(jobs.SPOC_ACK, page=4)
    assert not again.changed and not again.effects, "exhausted: no more pages"


def test_a_lapsed_rota_entry_is_skipped_when_paging() -> None:
    """§1.1 / §8: only valid nominated officers are paged; the expired entry is passed over."""
    world = submitted(World(directory=DIRECTORY))
    for page in range(1, 4):
        world.timer(jobs.SPOC_ACK, page=page)
    assert world.request.paged == ["spoc1", "spoc2", "spoc1", "spoc2"]


def test_a_stale_acknowledgement_timer_is_a_no_op() -> None:
    world = submitted()
    world.timer(jobs.SPOC_ACK, page=1)
    stale = world.timer(jobs.SPOC_ACK, page=1)
    assert not stale.changed and not stale.effects


def test_acknowledging_stops_the_paging() -> None:
    world = submitted()
    step = world.act("spoc1", "spoc:ack")
    assert world.request.state == "acknowledged" and world.request.acknowledged_by == "spoc1"
    assert jobs.job_id(jobs.SPOC_ACK, REF, 1) in cancels(step.effects)
    assert to_officer(step.effects, "req"), "the requester hears it was picked up"
    late = world.timer(jobs.SPOC_ACK, page=1)
    assert not late.changed and not late.effects
    twice = world.act("spoc2", "spoc:ack")
    assert is_refusal(twice) and "already acknowledged" in text_of(twice.replies)


def test_response_warning_and_breach_only_while_undecided() -> None:
    """§3 T2: the urgent response is due within 2 hours."""
    world = submitted()
    warning = world.timer(jobs.RESPONSE_WARNING)
    assert not warning.changed and to_channel(warning.effects)
    breach = world.timer(jobs.RESPONSE_BREACH)
    assert to_channel(breach.effects) and to_officer(breach.effects, "req")
    assert to_officer(breach.effects, "spoc3")
    world.act("spoc1", "spoc:approve", "Disclosed")
    for kind in (jobs.RESPONSE_WARNING, jobs.RESPONSE_BREACH):
        late = world.timer(kind)
        assert not late.changed and not late.effects


# --- decisions (§1.1, §4.1, §6.1) ----------------------------------------------------------


def test_decision_form_for_approve_decline_and_ask() -> None:
    world = submitted()
    for action, context in (
        ("spoc:approve", "approve"),
        ("spoc:decline", "decline"),
        ("spoc:ask", "ask"),
    ):
        form = only_form(world.form("spoc1", action))
        assert form.form_id == "spoc:decision" and form.ref == REF and form.context == context
        keys = [f.key for f in form.fields]
        if context == "approve":
            assert keys[:4] == ["disclosed", "power", "public_interest", "override"]
            assert {"article8", "minimum", "facts", "originator", "inform_subject"} <= set(keys)
            assert keys[-2:] == ["conditions", "note"]
        else:
            assert keys == {"decline": ["decline_reason", "note"], "ask": ["note"]}[context]
    assert world.request.state == "paged"


def test_approve_with_a_note_from_paged() -> None:
    """§6.1 / §10.24: an approval records the reasons, who authorised it and when; deciding
    straight from paged acknowledges; §3 T1: the written form is due 72 h after the request."""
    world = approved()
    request = world.request
    assert request.outcome == "approved" and request.decided_by == "spoc1"
    assert request.decision_note == "Two cautions, bladed article"
    assert request.acknowledged_by == "spoc1"
    assert request.state == "retro_due"
    assert request.retro_due_at == FRIDAY_10PM + 72 * HOUR
    step = world.steps[-1]
    (card,) = cards_of(to_channel(step.effects), f"spoc:{REF}")
    assert [a.action_id for a in card.actions] == ["record:open"], "no decision buttons left"
    assert card.status == "Approved by Alex Penrose, Detective Inspector at 22:05"
    outcome = text_of(to_officer(step.effects, "req"))
    assert "approved" in outcome and "Two cautions" in outcome, "the note goes to the requester"
    assert "Two cautions" not in text_of(to_channel(step.effects)), "but not to the channel"
    assert {
        jobs.job_id(jobs.SPOC_ACK, REF, 1),
        jobs.job_id(jobs.RESPONSE_WARNING, REF),
        jobs.job_id(jobs.RESPONSE_BREACH, REF),
    } <= cancels(step.effects)


def test_approve_without_a_note_is_refused() -> None:
    """§6.1: "Staff must always record the reasons for any decision"."""
    world = submitted()
    step = world.act("spoc1", "spoc:approve", "   ")
    form = only_form(step)
    assert not step.changed and not sends(step.effects)
    assert form.form_id == "spoc:decision" and form.context == "approve"
    note = next(f for f in form.fields if f.key == "note")
    assert note.error == "Enter a note for the requester", "the form comes back with the error"
    assert world.request.outcome is None and world.request.state == "paged"


def test_decline_with_a_reason_still_needs_the_written_form() -> None:
    """§6.1 / §10.24: a refusal logs its reasons. S4 App4 §1.5(c): the telephone request is
    backed up by a form within 72 hours, whatever the decision."""
    world = submitted()
    world.act("spoc2", "spoc:decline", "Threshold not met")
    assert world.request.outcome == "declined"
    assert world.request.decision_note == "Threshold not met"
    assert world.request.state == "retro_due"
    assert schedules(world.steps[0].effects, jobs.RETRO_OVERDUE), "scheduled at submission"
    assert not schedules(world.steps[-1].effects, jobs.RETRO_OVERDUE), "and not again"
    assert (
        "Declined by Jo Trewin"
        in cards_of(to_channel(world.steps[-1].effects), f"spoc:{REF}")[0].status
    )


def test_decline_closes_at_once_when_the_local_policy_says_no_form() -> None:
    world = submitted(World().with_timers(retrospective_after_decline=False))
    step = world.act("spoc1", "spoc:decline", "Not met")
    assert world.request.state == "closed"
    assert not schedules(step.effects)
    assert jobs.job_id(jobs.RETRO_OVERDUE, REF) in cancels(step.effects), "the form clock stops"


def test_the_first_decision_wins_and_the_second_is_told_who_and_when() -> None:
    world = approved()
    world.advance(HOUR)
    step = world.act("spoc2", "spoc:decline", "Not met")
    assert is_refusal(step)
    assert "already approved by Alex Penrose, Detective Inspector at Fri 20 Nov 22:05" in (
        text_of(step.replies)
    )
    assert is_refusal(world.form("spoc2", "spoc:decline"))
    assert world.request.outcome == "approved" and world.request.decided_by == "spoc1"


NOT_ALLOWED = ("req", "req2", "mgr", "ig1", "spoc3", "spoc_old")


@pytest.mark.parametrize("who", NOT_ALLOWED)
@pytest.mark.parametrize("action", SPOC_ACTIONS)
def test_only_rota_spocs_may_act(who: str, action: str) -> None:
    """§1.1: only the police nominated officer (the SPOC rota) discloses; the requester, their
    manager, IG, an off-rota police officer and an expired rota entry are all refused."""
    world = submitted(World(directory=DIRECTORY))
    step = world.act(who, action, "A note")
    assert is_refusal(step), step
    assert "Vexmoorland" not in text_of(step.replies)
    assert any(a.action == "request.action_refused" for a in audits(step.effects))
    if action in ("spoc:approve", "spoc:decline", "spoc:ask"):
        assert is_refusal(world.form(who, action))
    assert world.request.state == "paged"


def test_the_requester_never_decides_their_own_request_even_on_the_rota() -> None:
    """§1.1: a rota SPOC who made the request cannot act on it."""
    world = World()
    world.request = world.request.model_copy(update={"requester": "spoc2"})
    world.submit()
    for action in SPOC_ACTIONS:
        assert is_refusal(world.act("spoc2", action, "Approve my own")), action
    assert world.request.outcome is None


def test_details_are_private_and_audited() -> None:
    """§6.1 / §7: opening the details is a separate, audited consultation."""
    world = submitted()
    step = world.act("spoc2", "spoc:details")
    assert not step.changed
    assert "Vexmoorland" not in text_of(step.replies), "a reply to a click may be public"
    assert "Vexmoorland" in text_of(to_officer(step.effects, "spoc2")), "details go by DM"
    assert not sends(step.effects, ToSpocChannel())
    (audit,) = audits(step.effects)
    assert audit.action == "request.details_viewed"
    assert "Vexmoorland" not in repr(audit.details)


# --- questions and withdrawal --------------------------------------------------------------


def test_an_info_question_is_relayed_and_the_answer_relayed_back() -> None:
    world = submitted()
    step = world.act("spoc1", "spoc:ask", "Is the address current?")
    assert world.request.state == "info_requested"
    assert "Is the address current?" in text_of(to_officer(step.effects, "req"))
    assert "address current" not in text_of(to_channel(step.effects))
    assert jobs.job_id(jobs.SPOC_ACK, REF, 1) in cancels(step.effects), "asking acknowledges"

    assert is_refusal(world.act("req2", "answer", "Not me"))
    step = world.act("req", "answer", "Yes, since March")
    assert world.request.state == "acknowledged"
    assert "Yes, since March" in text_of(to_officer(step.effects, "spoc1"))
    assert "since March" not in text_of(to_channel(step.effects))
    assert world.request.info[-1].answer == "Yes, since March"
    assert is_refusal(world.act("req", "answer", "Again"))


def test_a_spoc_may_decide_while_a_question_is_open() -> None:
    world = submitted()
    world.act("spoc1", "spoc:ask", "Anything else?")
    world.act("spoc2", "spoc:approve", "Enough to go on")
    assert world.request.outcome == "approved"


def test_withdrawal_before_a_decision() -> None:
    world = submitted()
    assert is_refusal(world.act("req2", "withdraw"))
    step = world.act("req", "withdraw")
    assert world.request.state == "withdrawn"
    assert jobs.job_id(jobs.RESPONSE_BREACH, REF) in cancels(step.effects)
    assert not cards_of(to_channel(step.effects), f"spoc:{REF}")[0].actions
    refused = world.act("spoc1", "spoc:approve", "Too late")
    assert is_refusal(refused) and "withdrawn" in text_of(refused.replies)
    assert not world.timer(jobs.SPOC_ACK, page=1).effects


def test_withdrawal_after_a_decision_is_refused() -> None:
    world = approved()
    step = world.act("req", "withdraw")
    assert is_refusal(step) and "already approved" in text_of(step.replies)
    assert world.request.state == "retro_due"


# --- the written form (§3 T1/T4) -----------------------------------------------------------


def test_retro_reminders_are_scheduled_before_the_deadline() -> None:
    world = approved()
    due = FRIDAY_10PM + 72 * HOUR
    assert not schedules(world.steps[-1].effects, jobs.RETRO_REMINDER), "not twice"
    reminders = schedules(world.steps[0].effects, jobs.RETRO_REMINDER)
    assert [r.due_at for r in reminders] == [due - 24 * HOUR, due - 2 * HOUR]
    assert [r.job_id for r in reminders] == [
        jobs.job_id(jobs.RETRO_REMINDER, REF, 0),
        jobs.job_id(jobs.RETRO_REMINDER, REF, 1),
    ]
    (overdue,) = schedules(world.steps[0].effects, jobs.RETRO_OVERDUE)
    assert overdue.due_at == due

    world.at(due - 24 * HOUR)
    step = world.timer(jobs.RETRO_REMINDER, n=0)
    (card,) = [m for m in to_officer(step.effects, "req") if isinstance(m, Card)]
    assert [(a.action_id, a.value) for a in card.actions] == [("retro:open", REF)]


def test_working_day_deadline_from_friday_night() -> None:
    """§3 T4: 1 working day from Friday 22:00 is Monday close of business."""
    world = approved(World().with_timers(retrospective_due="1 working day"))
    assert world.request.retro_due_at is not None
    local = world.request.retro_due_at.astimezone(world.ctx.calendar.zone)
    assert (local.strftime("%a"), local.hour) == ("Mon", 17)


def test_overdue_nudges_requester_and_manager_then_ig() -> None:
    """§12.7: nudges to the requester and their manager while the form is overdue; IG after
    ``ig_after_nudges`` nudges."""
    world = approved()
    world.at(FRIDAY_10PM + 72 * HOUR)
    step = world.timer(jobs.RETRO_OVERDUE)
    assert world.request.state == "retro_overdue" and world.request.nudges_sent == 1
    assert to_officer(step.effects, "req") and to_officer(step.effects, "mgr")
    assert not to_officer(step.effects, "ig1")
    (nudge,) = schedules(step.effects, jobs.OVERDUE_NUDGE)
    assert nudge.payload["n"] == 2 and nudge.due_at == world.now + 24 * HOUR
    assert not world.timer(jobs.RETRO_OVERDUE).effects, "overdue only once"

    world.advance(24 * HOUR)
    step = world.timer(jobs.OVERDUE_NUDGE, n=2)
    assert to_officer(step.effects, "mgr") and not to_officer(step.effects, "ig1")
    assert not world.timer(jobs.OVERDUE_NUDGE, n=2).effects, "a repeated job is a no-op"

    world.advance(24 * HOUR)
    step = world.timer(jobs.OVERDUE_NUDGE, n=3)
    assert to_officer(step.effects, "ig1") and to_officer(step.effects, "ig2")
    assert schedules(step.effects, jobs.OVERDUE_NUDGE)[0].payload["n"] == 4
    manager_card = next(m for m in to_officer(step.effects, "mgr") if isinstance(m, Card))
    assert "Robin Vale" in text_of([manager_card]) and not manager_card.actions


def test_retro_form_is_for_the_requester_only_and_prefilled() -> None:
    world = approved()
    assert is_refusal(world.retro_form("req2"))
    assert is_refusal(world.retro_form("spoc1"))
    form = only_form(world.retro_form())
    assert form.form_id == "retro:submit" and form.ref == REF
    values = {f.key: f.value for f in form.fields}
    assert values["subject.last_name"] == "Vexmoorland"
    assert "Robin Vale" in str(values.get("requested_by"))


def test_an_invalid_retro_form_is_shown_again_with_the_problems() -> None:
    world = approved()
    step = world.submit_retro({})
    form = only_form(step)
    assert not step.changed and world.request.state == "retro_due"
    errors = {f.key: f.error for f in form.fields if f.error}
    assert errors["reason"] == "This is required."
    assert all(f.hint == "" or not f.hint.startswith("Problem") for f in form.fields)


def test_a_submitted_form_closes_the_request_and_stops_every_reminder() -> None:
    world = approved()
    world.at(FRIDAY_10PM + 72 * HOUR)
    world.timer(jobs.RETRO_OVERDUE)
    world.advance(24 * HOUR)
    world.timer(jobs.OVERDUE_NUDGE, n=2)
    form = only_form(world.retro_form())
    step = world.submit_retro(filled(form))
    assert world.request.state == "closed" and world.request.retro_submitted_at == world.now
    assert world.request.retro is not None
    assert {
        jobs.job_id(jobs.RETRO_REMINDER, REF, 0),
        jobs.job_id(jobs.RETRO_REMINDER, REF, 1),
        jobs.job_id(jobs.RETRO_OVERDUE, REF),
        jobs.job_id(jobs.OVERDUE_NUDGE, REF, 3),
    } <= cancels(step.effects)
    channel = text_of(to_channel(step.effects))
    assert REF in channel
    assert not any(v in channel for v in CANARY_VALUES)
    for kind, payload in (
        (jobs.RETRO_REMINDER, {"n": 1}),
        (jobs.RETRO_OVERDUE, {}),
        (jobs.OVERDUE_NUDGE, {"n": 3}),
        (jobs.SPOC_ACK, {"page": 1}),
        (jobs.RESPONSE_BREACH, {}),
    ):
        late = world.timer(kind, **payload)
        assert not late.changed and not late.effects, kind
    assert is_refusal(world.submit_retro(filled(form)))


# --- personal data, digest, diagram --------------------------------------------------------


def test_no_personal_data_in_the_channel_notifications_or_audit() -> None:
    """§6.2 / §7 (S4 §9.4, §15.2): the channel card is redacted, notifications are generic,
    audit details hold ids, states and keys only."""
    world = submitted()
    world.timer(jobs.SPOC_ACK, page=1)
    world.act("spoc1", "spoc:details")
    world.act("spoc1", "spoc:ask", "Is Vexmoorland at 4 Brackwater Yard?")
    world.act("req", "answer", "Yes, Ottoline is there")
    world.act("spoc2", "spoc:approve", "Told them about the crossbow caution")
    world.at(FRIDAY_10PM + 72 * HOUR)
    world.timer(jobs.RETRO_OVERDUE)
    world.submit_retro(filled(only_form(world.retro_form())))
    effects = world.effects()
    channel = text_of(to_channel(effects))
    notifications = " ".join(
        [s.message.notification for s in sends(effects)] + [m.notification for m in world.replies()]
    )
    audit = repr([a.details for a in audits(effects)])
    for value in CANARY_VALUES:
        assert value not in channel, value
        assert value not in notifications, value
        assert value not in audit, value


def test_digest_counts_open_due_and_overdue_for_every_ig_officer() -> None:
    world = approved()
    other = World().request.model_copy(update={"ref": "NHT/08/2026", "state": "retro_overdue"})
    effects = world.flow.digest([world.request, other], world.ctx)
    cards = {s.to: s.message for s in sends(effects)}
    assert set(cards) == {s.to for s in sends(effects)} and len(cards) == 2
    text = text_of(cards.values())
    assert "NHT/07/2026" in text and "NHT/08/2026" in text
    assert "Written forms overdue: 1" in text
    assert not any(v in text for v in CANARY_VALUES)
    assert not any(isinstance(s.to, ToSpocChannel) for s in sends(effects))


def test_diagram_is_mermaid_and_names_every_state() -> None:
    diagram = RequestFlow().diagram()
    assert diagram.startswith("stateDiagram-v2")
    for state in STATES:
        assert state in diagram


# --- properties ----------------------------------------------------------------------------

MOVES = st.one_of(
    st.tuples(
        st.just("act"),
        st.sampled_from(["spoc1", "spoc2", "spoc3", "req", "req2", "mgr"]),
        st.sampled_from([*SPOC_ACTIONS, "withdraw", "answer"]),
        st.sampled_from(["", "A note"]),
    ),
    st.tuples(
        st.just("timer"),
        st.sampled_from(sorted(jobs.REQUEST_KINDS)),
        st.integers(min_value=0, max_value=6),
        st.just(""),
    ),
    st.tuples(st.just("retro"), st.sampled_from(["req", "req2"]), st.booleans(), st.just("")),
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=48), st.just(0), st.just("")),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(MOVES, max_size=25))
def test_random_sequences_never_crash_or_leave_an_illegal_state(moves: list[tuple]) -> None:  # type: ignore[type-arg]
    world = submitted()
    form = filled(only_form(approved().retro_form()))
    first_decision: tuple[str | None, str | None] = (None, None)
    for kind, a, b, note in moves:
        if kind == "act":
            world.act(a, b, note)
        elif kind == "timer":
            world.timer(a, page=b, n=b)
        elif kind == "retro":
            world.submit_retro(form if b else {}, who=a)
        else:
            world.advance(timedelta(hours=a))
        request = world.request
        assert request.state in STATES
        if first_decision[0] is None and request.outcome:
            first_decision = (request.outcome, request.decided_by)
        if first_decision[0] is not None:
            assert (request.outcome, request.decided_by) == first_decision, "decided twice"
        if request.state == "closed":
            assert request.outcome and request.retro_submitted_at is not None
        if request.state == "withdrawn":
            assert request.outcome is None
        if request.state in ("retro_due", "retro_overdue"):
            assert request.outcome and request.retro_due_at is not None
        assert request.decided_by in (None, "spoc1", "spoc2")
        assert len(request.paged) <= 2 * world.timers.spoc_rota_rounds


# --- right first time (issue 16) --------------------------------------------------------------


def _status(messages: list[Message]) -> str:
    return next(m.status for m in messages if isinstance(m, Card))


def test_reminders_and_nudges_are_numbered_as_the_person_receives_them() -> None:
    """Issue 16: the first overdue nudge said "Reminder 1" after two reminders."""
    world = approved()
    due = FRIDAY_10PM + 72 * HOUR
    world.at(due - 24 * HOUR)
    first = world.timer(jobs.RETRO_REMINDER, n=0)
    world.at(due - 2 * HOUR)
    second = world.timer(jobs.RETRO_REMINDER, n=1)
    world.at(due + HOUR)
    overdue = world.timer(jobs.RETRO_OVERDUE)
    world.advance(24 * HOUR)
    again = world.timer(jobs.OVERDUE_NUDGE, n=2)
    statuses = [_status(to_officer(s.effects, "req")) for s in (first, second, overdue, again)]
    assert [s.split(".")[0] for s in statuses] == [
        "Reminder 1",
        "Reminder 2",
        "Reminder 3",
        "Reminder 4",
    ]
    card = next(m for m in to_officer(second.effects, "req") if isinstance(m, Card))
    assert ("Due", "Mon 23 Nov 22:00 (in 2 hours)") in [(f.label, f.value) for f in card.fields]
    late = next(m for m in to_officer(overdue.effects, "mgr") if isinstance(m, Card))
    assert ("Overdue by", "1 hour") in [(f.label, f.value) for f in late.fields]


def test_a_reminder_that_was_never_scheduled_is_not_counted() -> None:
    """Decided 23 hours before the deadline: the 24-hour reminder never went out, so the
    2-hour one is the first."""
    world = submitted()
    world.at(FRIDAY_10PM + 49 * HOUR)
    world.act("spoc1", "spoc:approve", "Disclosed")
    world.at(FRIDAY_10PM + 70 * HOUR)
    step = world.timer(jobs.RETRO_REMINDER, n=1)
    assert _status(to_officer(step.effects, "req")).startswith("Reminder 1.")
    world.at(FRIDAY_10PM + 72 * HOUR)
    assert _status(to_officer(world.timer(jobs.RETRO_OVERDUE).effects, "req")) == "Reminder 2"


def test_the_manager_is_told_when_the_overdue_form_arrives() -> None:
    """Issue 16: the manager was nudged about the overdue form but never told it arrived."""
    world = approved()
    world.at(FRIDAY_10PM + 72 * HOUR)
    world.timer(jobs.RETRO_OVERDUE)
    step = world.submit_retro(filled(only_form(world.retro_form())))
    [told] = to_officer(step.effects, "mgr")
    assert isinstance(told, Text) and REF in told.text and "Robin Vale" in told.text
    assert not to_officer(step.effects, "ig1"), "IG was never nudged about it"
    assert not any(v in text_of([told]) for v in CANARY_VALUES)
    on_time = approved()
    step = on_time.submit_retro(filled(only_form(on_time.retro_form())))
    assert not to_officer(step.effects, "mgr"), "nobody was chasing a form that was on time"


def test_ig_is_told_too_once_it_was_nudged() -> None:
    world = approved()
    world.at(FRIDAY_10PM + 72 * HOUR)
    world.timer(jobs.RETRO_OVERDUE)
    for n in (2, 3):
        world.advance(24 * HOUR)
        world.timer(jobs.OVERDUE_NUDGE, n=n)
    step = world.submit_retro(filled(only_form(world.retro_form())))
    assert to_officer(step.effects, "mgr") and to_officer(step.effects, "ig1")


def test_the_same_question_sent_twice_is_asked_once() -> None:
    """Issue 16: the Ask form stayed live and sent the question twice."""
    world = submitted()
    world.act("spoc1", "spoc:ask", "Is he known to carry a knife?")
    again = world.act("spoc1", "spoc:ask", "Is he known to carry a knife?")
    assert not again.changed and not sends(again.effects)
    assert "already sent" in text_of(again.replies)
    assert len(world.request.info) == 1


def test_an_empty_question_comes_back_as_the_form_with_its_error() -> None:
    world = submitted()
    form = only_form(world.act("spoc1", "spoc:ask", " "))
    assert form.context == "ask" and form.fields[0].error.startswith("Write the question")


def test_a_refusal_names_the_state_in_plain_words() -> None:
    world = approved()
    step = world.act("spoc2", "spoc:ack")
    assert "already approved" in text_of(step.replies)
    world.at(FRIDAY_10PM + 72 * HOUR)
    world.timer(jobs.RETRO_OVERDUE)
    why = text_of(world.act("req", "withdraw").replies)
    assert "retro" not in why and "_" not in why.split("request")[-1]


def test_details_name_a_local_lawful_basis_by_its_label() -> None:
    """The policy travels with the lifecycle context: a lawful basis configured locally shows
    its label on the SPOC's details card, not its raw key."""
    from dataclasses import replace

    from flows.effects import Send
    from flows.messages import ToOfficer
    from flows.policy import Choice, Policy

    local = Policy(lawful_bases=(Choice(key="local_act_s9", label="Local Safeguarding Act s9"),))
    world = submitted()
    world.request = world.request.model_copy(
        update={"answers": {**world.request.answers, "lawful_basis": ["local_act_s9"]}}
    )
    ctx = replace(world.ctx, policy=local)
    step = world.flow.act(world.request, world.officer("spoc2"), "spoc:details", ctx)
    (card,) = [
        e.message for e in step.effects if isinstance(e, Send) and e.to == ToOfficer("spoc2")
    ]
    shown = repr(card)
    assert "Local Safeguarding Act s9" in shown
    assert "local_act_s9" not in shown
