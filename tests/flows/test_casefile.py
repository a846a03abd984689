"""The case file (flows/casefile.py): who may open it, what it says, and its plain-words
timeline (protocol-requirements §6.1: the record is read back by the people it is owed to)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flows import casefile
from flows.effects import Audit, Send
from flows.messages import Card, Text, ToOfficer
from flows.states import STATES
from tests.flows.lifecycle_world import CALENDAR, DIRECTORY, FRIDAY_10PM, REF, World, new_request
from tests.flows.test_lifecycle import approved


@pytest.mark.parametrize(
    ("officer", "allowed"),
    [
        ("req", True),  # the requester
        ("spoc1", True),  # on the rota
        ("spoc2", True),
        ("ig1", True),  # information governance
        ("ig2", True),
        ("spoc3", False),  # a SPOC, but not on the rota (the fallback)
        ("spoc_old", False),  # on the rota, but no longer valid
        ("mgr", False),  # the requester's manager
        ("req2", False),  # another requester
    ],
)
def test_who_may_open_the_case_file(officer: str, allowed: bool) -> None:
    request = new_request()
    today = FRIDAY_10PM.date()
    assert casefile.may_open(DIRECTORY.officer(officer), request, DIRECTORY, today) is allowed


def test_the_case_file_holds_the_answers_the_decision_and_a_plain_timeline() -> None:
    world = approved()
    request = world.request
    audit = [  # in chain order; the approval was not audited (an older record): times give it
        (FRIDAY_10PM, "req", "request.submitted"),
        (FRIDAY_10PM, "system", "request.paged"),
        (FRIDAY_10PM + timedelta(minutes=1), "spoc1", "request.details_viewed"),
    ]
    record = casefile.build(request, DIRECTORY, world.ctx.policy, CALENDAR.zone, audit)
    text = casefile.as_text(record, CALENDAR.zone)
    assert "Vexmoorland" in text, "every answer"
    assert "Lawful power relied on: Crime and Disorder Act 1998 s115" in text
    assert "Note for the requester: Two cautions, bladed article" in text
    assert "Written form: Not received. Due Mon 23 Nov 2026 22:00" in text
    assert [m.what for m in record.timeline] == [
        "Request sent by Robin Vale, On-call manager",
        "SPOC paged",
        "Details read by Alex Penrose, Detective Inspector",
        "Picked up by Alex Penrose, Detective Inspector",
        "Approved by Alex Penrose, Detective Inspector",
    ]
    codes = [s for s in STATES if "_" in s]
    assert not any(code in text for code in codes) and "request." not in text, "plain words"


def test_an_old_record_shows_its_note() -> None:
    request = new_request(state="closed", outcome="declined", decided_by="spoc2",
                          decided_at=FRIDAY_10PM, decision_note="Threshold not met")  # fmt: skip
    record = casefile.build(request, DIRECTORY, World().ctx.policy, CALENDAR.zone)
    decided = {e.label: e.value for e in record.sections[2].entries}
    assert decided["Decision"] == "Declined" and decided["Note"] == "Threshold not met"


def test_opening_is_private_and_audited_and_a_refusal_is_kind() -> None:
    world = approved()
    replies, effects = casefile.open_record(
        world.request, DIRECTORY.officer("spoc2"), [], world.ctx, in_channel=True
    )
    assert [type(r) for r in replies] == [Text], "in a channel: only a pointer to the DM"
    [send, audit] = effects
    assert isinstance(send, Send) and send.to == ToOfficer("spoc2")
    assert isinstance(send.message, Card) and send.message.card_id == f"record:{REF}"
    assert audit == Audit("request.record_opened", REF, {"by": "spoc2"})

    replies, effects = casefile.open_record(
        world.request, DIRECTORY.officer("mgr"), [], world.ctx, in_channel=False
    )
    assert replies == [Text(casefile.NOT_ALLOWED)]
    assert effects == [Audit("request.record_refused", REF, {"by": "mgr"})]


def test_a_destroyed_request_says_when_and_under_which_rule_and_nothing_else() -> None:
    from flows.retention import Retention, destroyed, due

    request = approved().request.model_copy(
        update={"state": "closed", "closed_at": FRIDAY_10PM + timedelta(days=1)}
    )
    when = due(request, Retention())
    assert when is not None
    gone, _ = destroyed(request, when, FRIDAY_10PM + timedelta(days=7 * 365))
    record = casefile.build(gone, DIRECTORY, approved().ctx.policy, CALENDAR.zone)
    text = casefile.as_text(record, CALENDAR.zone)
    assert "destroyed on" in text and "under the retention rule" in text
    assert "Vexmoorland" not in text and "The decision" not in text


def test_the_case_file_lists_each_correction() -> None:
    from flows.request import Version

    world = approved()
    version = Version(
        n=1,
        by="req",
        at=FRIDAY_10PM + timedelta(hours=1),
        reason="Wrong date of birth typed",
        changed=["subject.dob"],
        answers={"subject.dob": "1980-01-01"},
    )
    request = world.request.model_copy(update={"versions": [version]})
    text = casefile.as_text(
        casefile.build(request, DIRECTORY, world.ctx.policy, CALENDAR.zone), CALENDAR.zone
    )
    assert "Corrections" in text and "Wrong date of birth typed" in text
    assert "Date of birth corrected" in text
