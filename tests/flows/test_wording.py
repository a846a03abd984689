"""Plain words for states, timeline events and clocks, and the status views built with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows import wording
from flows.home import home_view, timeline_card
from flows.lifecycle import STATES
from flows.messages import Card
from tests.flows.lifecycle_world import (
    CALENDAR,
    FRIDAY_10PM,
    REF,
    TWO_ON_ROTA,
    new_request,
)

HOUR = timedelta(hours=1)
ZONE = CALENDAR.zone


def test_every_state_has_a_plain_name() -> None:
    """Issue 16: the Status pane showed ``paged`` and ``retro due``."""
    for state in STATES:
        name = wording.state_name(state)
        assert state not in name.lower() or state in ("approved", "declined", "withdrawn", "closed")
        assert "_" not in name and name[0].isupper()
    assert wording.state_name("retro_due", "approved") == "Approved: written form due"


def test_every_lifecycle_audit_action_has_a_timeline_phrase() -> None:
    import re
    from pathlib import Path

    source = (Path(__file__).parents[2] / "flows" / "lifecycle.py").read_text()
    actions = set(re.findall(r'Audit\(\s*"(request\.[a-z_]+)"', source))
    actions |= {"request.approved", "request.declined", "request.timeline_viewed"}
    assert actions <= set(wording.EVENTS), actions - set(wording.EVENTS)


def test_consequences_are_not_credited_to_whoever_caused_them() -> None:
    """Issue 16: the timeline credited the paging to the requester."""
    assert wording.event_line("request.paged", "Amara Okafor") == "SPOC paged"
    assert wording.event_line("request.submitted", "Amara Okafor") == "Request sent by Amara Okafor"
    assert wording.event_line("request.retro_due", "system") == "Written form due"
    assert wording.event_line("request.something_new", "X") == "Something new by X"


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(days=2, hours=4, minutes=10), "2 days 4 hours"),
        (timedelta(days=2, minutes=5), "2 days"),
        (timedelta(hours=1, minutes=20), "1 hour 20 minutes"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(seconds=30), "less than a minute"),
    ],
)
def test_durations_in_words(delta: timedelta, words: str) -> None:
    assert wording.duration(delta) == words


@given(st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=400)))
def test_time_left_never_claims_more_than_is_left(delta: timedelta) -> None:
    now = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    ahead, behind = wording.time_left(now + delta, now), wording.time_left(now - delta, now)
    assert ahead.startswith("in ") and behind.startswith("overdue by ")
    units = {"day": 86400, "hour": 3600, "minute": 60}
    parts = ahead.removeprefix("in ").split()
    said = sum(int(n) * units[u.rstrip("s")] for n, u in zip(parts[::2], parts[1::2], strict=True))
    assert 0 <= delta.total_seconds() - said < 86400


def _fields(card: object) -> dict[str, str]:
    assert isinstance(card, Card)
    return {f.label: f.value for f in card.fields}


def test_the_requester_sees_time_left_and_a_withdraw_that_asks_first() -> None:
    now = FRIDAY_10PM + 10 * timedelta(minutes=1)
    waiting = new_request(state="paged", response_due_at=FRIDAY_10PM + 2 * HOUR)
    [mine, *_] = home_view(TWO_ON_ROTA.officer("req"), [waiting], TWO_ON_ROTA, ZONE, now)
    line = _fields(mine)[REF]
    assert line.startswith("Waiting for a SPOC to pick it up. Response due in 1 hour 50 minutes")
    assert isinstance(mine, Card)
    action = mine.fields[0].action
    assert action is not None and action.action_id == "withdraw"
    assert REF in action.confirm and "cannot be undone" in action.confirm


def test_a_form_due_says_how_long_is_left() -> None:
    due = FRIDAY_10PM + 72 * HOUR
    request = new_request(state="retro_due", outcome="approved", retro_due_at=due)
    now = due - timedelta(days=2, hours=4)
    [mine, *_] = home_view(TWO_ON_ROTA.officer("req"), [request], TWO_ON_ROTA, ZONE, now)
    assert _fields(mine)[REF] == (
        "Approved: written form due. Form due in 2 days 4 hours (Mon 23 Nov 22:00)."
    )
    [*_, team] = home_view(
        TWO_ON_ROTA.officer("mgr"),
        [request.model_copy(update={"state": "retro_overdue"})],
        TWO_ON_ROTA,
        ZONE,
        due + 3 * HOUR,
    )
    assert _fields(team)[REF].startswith("Written form overdue by 3 hours (was due Mon 23 Nov")


def test_without_the_time_the_views_give_the_deadline_only() -> None:
    request = new_request(state="paged", response_due_at=FRIDAY_10PM + 2 * HOUR)
    [mine, *_] = home_view(TWO_ON_ROTA.officer("req"), [request], TWO_ON_ROTA, ZONE)
    assert _fields(mine)[REF].endswith("Response due Sat 21 Nov 00:00.")


def test_the_timeline_reads_as_plain_events() -> None:
    rows = [
        (FRIDAY_10PM, "req", "request.submitted"),
        (FRIDAY_10PM, "req", "request.paged"),
        (FRIDAY_10PM + HOUR, "system", "request.retro_due"),
    ]
    card = timeline_card(REF, rows, TWO_ON_ROTA, ZONE)
    assert [f.value for f in card.fields] == [
        "Request sent by Robin Vale (On-call manager)",
        "SPOC paged",
        "Written form due",
    ]


def test_at_the_deadline_it_is_due_now_and_after_it_overdue() -> None:
    now = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    assert wording.time_left(now, now) == "due now"
    assert wording.time_left(now - timedelta(minutes=5), now) == "overdue by 5 minutes"
    assert wording.due_phrase("Form", now, None, ZONE, late=True) == "Form was due Sat 21 Nov 02:00"
