"""The on-call schedule, the escalation policy and hand-over to a colleague (pure flows)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flows import jobs
from flows.directory import Directory, Rota, find_problems
from flows.escalation_policy import EscalationPolicy, Level
from flows.messages import Form, Text
from flows.oncall import duty_levels, oncall_card
from flows.schedule import Cover, Rotation, Schedule, next_change, on_duty
from tests.flows.lifecycle_world import (
    DIRECTORY,
    World,
    audits,
    cancels,
    schedules,
    to_officer,
)

LONDON = ZoneInfo("Europe/London")
MINUTE = timedelta(minutes=1)
# Day shift 08:00-20:00 (spoc1), night 20:00-08:00 (spoc2); the backup layer the other way.
SCHEDULE = Schedule(
    rotations=(
        Rotation(layer="primary", officers=("spoc1", "spoc2"), start=date(2026, 11, 2)),
        Rotation(layer="backup", officers=("spoc2", "spoc1"), start=date(2026, 11, 2)),
    ),
    overrides=(
        # spoc3 covers the night of Fri 27 Nov for spoc2.
        Cover(
            officer="spoc3",
            start=datetime(2026, 11, 27, 20, 0),
            end=datetime(2026, 11, 28, 8, 0),
        ),
    ),
)
ROTA = Rota(rota=("spoc1", "spoc2", "spoc3"), fallback="spoc3", schedule=SCHEDULE)
SCHEDULED = DIRECTORY.model_copy(update={"spoc": ROTA})
POLICY = EscalationPolicy(
    levels=(
        Level(who="on_duty", wait=timedelta(minutes=10)),
        Level(who="backup", wait=timedelta(minutes=10)),
        Level(who="spoc3", wait=timedelta(minutes=15)),
        Level(who="fallback", wait=timedelta(minutes=5)),
    ),
    repeat_every=timedelta(minutes=30),
)
WITH_POLICY = DIRECTORY.model_copy(update={"spoc": ROTA.model_copy(update={"escalation": POLICY})})


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LONDON)


def test_the_shift_changes_at_the_handover_time() -> None:
    assert on_duty(SCHEDULE, local(24, 7, 50), LONDON) == {"primary": "spoc2", "backup": "spoc1"}
    assert on_duty(SCHEDULE, local(24, 8, 10), LONDON) == {"primary": "spoc1", "backup": "spoc2"}
    assert next_change(SCHEDULE, local(24, 7, 50), LONDON) == local(24, 8)


def test_an_override_wins_over_the_rotation_for_its_stretch_only() -> None:
    assert on_duty(SCHEDULE, local(27, 23), LONDON)["primary"] == "spoc3"
    assert on_duty(SCHEDULE, local(26, 23), LONDON)["primary"] == "spoc2"
    assert on_duty(SCHEDULE, local(28, 8, 10), LONDON)["primary"] == "spoc1"


def test_handover_stays_at_8am_local_across_the_clock_change() -> None:
    """25 Oct 2026: clocks go back. The 08:00 hand-over is 08:00 on the wall both sides."""
    spring = Schedule(rotations=(Rotation(officers=("spoc1", "spoc2"), start=date(2026, 10, 1)),))
    after = datetime(2026, 10, 26, 8, 0, tzinfo=LONDON)
    assert next_change(spring, after - MINUTE * 10, LONDON) == after


def _paged_at(now: datetime, directory: Directory = SCHEDULED) -> list[str]:
    world = World(directory=directory, now=now.astimezone(UTC))
    world.submit()
    return world.request.paged


def test_a_request_at_0750_pages_the_night_officer_and_at_0810_the_day_officer() -> None:
    assert _paged_at(local(24, 7, 50)) == ["spoc2"]
    assert _paged_at(local(24, 8, 10)) == ["spoc1"]
    assert _paged_at(local(27, 23)) == ["spoc3"]  # the override


def test_without_a_schedule_the_rota_pages_as_before() -> None:
    plain = DIRECTORY.model_copy(update={"spoc": Rota(rota=("spoc1", "spoc2"))})
    assert _paged_at(local(24, 7, 50), plain) == ["spoc1"]
    assert _paged_at(local(24, 8, 10), plain) == ["spoc1"]


def test_schedule_problems_name_their_path() -> None:
    bad = Schedule(rotations=(Rotation(officers=("spoc1", "nobody", "req")),))
    directory = DIRECTORY.model_copy(update={"spoc": Rota(rota=("spoc1", "spoc2"), schedule=bad)})
    problems = find_problems(directory, date(2026, 11, 1))
    assert "spoc.schedule.rotations[0].officers[1]: unknown officer 'nobody'" in problems
    assert any(p.startswith("spoc.schedule.rotations[0].officers[2]") for p in problems)


def test_oncall_lists_each_level_and_its_officer() -> None:
    levels = duty_levels(WITH_POLICY, local(24, 7, 50), LONDON, timedelta(minutes=10))
    assert [(d.number, d.officer) for d in levels] == [
        (1, "spoc2"),
        (2, "spoc1"),
        (3, "spoc3"),
        (4, "spoc3"),
    ]
    card = oncall_card(WITH_POLICY, local(24, 7, 50), LONDON, timedelta(minutes=10))
    assert card.fields[0].value == "Jo Trewin, Detective Sergeant"
    assert card.status == "Next shift change Tue 24 Nov 08:00."


# --- the escalation policy: it never goes quiet --------------------------------------------


def _run_due_jobs(world: World, until: datetime) -> None:
    """Fire every scheduled ack job in time order until ``until`` (a tiny scheduler)."""
    pending = {s.job_id: s for s in schedules(world.steps[-1].effects)}
    while True:
        due = sorted(
            (s for s in pending.values() if s.kind == jobs.SPOC_ACK and s.due_at <= until),
            key=lambda s: s.due_at,
        )
        if not due:
            return
        job = due[0]
        del pending[job.job_id]
        world.now = job.due_at
        step = world.flow.on_timer(world.request, job.kind, job.payload, world.ctx)
        world.steps.append(step)
        world.request = step.request
        pending.update({s.job_id: s for s in schedules(step.effects)})


def test_nobody_answering_for_24_hours_repeats_the_levels_and_keeps_the_requester_told() -> None:
    start = local(24, 7, 50).astimezone(UTC)
    world = World(directory=WITH_POLICY, now=start)
    world.submit()
    _run_due_jobs(world, start + timedelta(hours=24))
    paged = world.request.paged
    # One round: 10 + 10 + 15 + 30 (repeat_every after the last level) = 65 minutes.
    assert len(paged) >= 24 * 60 // 65 * 4
    assert world.request.state == "paged"
    # The day shift started at 08:00: from the second round the day officer is level 1.
    assert paged[:4] == ["spoc2", "spoc2", "spoc3", "spoc3"]
    assert paged[4:8] == ["spoc1", "spoc2", "spoc3", "spoc3"]
    # Still paging in the last hour of the 24.
    last = [a for s in world.steps[-6:] for a in audits(s.effects) if a.action == "request.paged"]
    assert last, "the policy went quiet"
    updates = [
        m
        for s in world.steps
        for m in to_officer(s.effects, "req")
        if isinstance(m, Text) and "picked up" in m.text
    ]
    assert len(updates) == len(paged) - 1
    assert all("Jo Trewin" not in u.text and "Alex" not in u.text for u in updates)
    assert "level 3 of 4" in updates[1].text


def test_the_first_acknowledgement_stops_the_policy_everywhere() -> None:
    start = local(24, 7, 50).astimezone(UTC)
    world = World(directory=WITH_POLICY, now=start)
    world.submit()
    _run_due_jobs(world, start + timedelta(hours=5))
    pending = schedules(world.steps[-1].effects, jobs.SPOC_ACK)[-1]
    step = world.act("spoc1", "spoc:ack")
    assert pending.job_id in cancels(step.effects)
    world.now = pending.due_at
    late = world.flow.on_timer(world.request, jobs.SPOC_ACK, pending.payload, world.ctx)
    assert not late.changed and not late.effects


# --- hand-over to a named colleague --------------------------------------------------------


def test_reassign_pages_the_named_colleague_and_acknowledging_takes_ownership() -> None:
    world = World(directory=SCHEDULED, now=local(24, 8, 10).astimezone(UTC))
    world.submit()
    form = world.flow.reassign_form(world.request, world.officer("spoc1"), world.ctx)
    (shown,) = form.replies
    assert isinstance(shown, Form) and shown.form_id == "spoc:reassign_to"
    assert [c.key for c in shown.fields[0].choices] == ["spoc2", "spoc3"]
    step = world.flow.reassign(world.request, world.officer("spoc1"), "spoc3", world.ctx)
    world.steps.append(step)
    world.request = step.request
    assert world.request.paged[-1] == "spoc3" and world.request.state == "paged"
    handed = [m for m in to_officer(step.effects, "spoc3") if isinstance(m, Text)]
    assert any("handed" in m.text for m in handed)
    assert [a.details["to"] for a in audits(step.effects) if a.action == "request.reassigned"] == [
        "spoc3"
    ]
    world.act("spoc3", "spoc:ack")
    assert world.request.acknowledged_by == "spoc3"


def test_reassign_refuses_someone_not_on_the_rota() -> None:
    world = World(directory=SCHEDULED, now=local(24, 8, 10).astimezone(UTC))
    world.submit()
    before = world.request
    step = world.flow.reassign(world.request, world.officer("spoc1"), "req2", world.ctx)
    assert not step.changed and step.request == before
    (again,) = step.replies
    assert isinstance(again, Form) and "SPOC rota" in again.fields[0].error
    refused = world.flow.reassign(world.request, world.officer("req"), "spoc2", world.ctx)
    assert not refused.changed and "cannot" in refused.replies[0].text  # type: ignore[union-attr]


def test_escalation_problems_name_their_path() -> None:
    policy = EscalationPolicy(
        levels=(Level(who="on_duty"), Level(who="mgr"), Level(who="night"), Level(who="fallback"))
    )
    directory = DIRECTORY.model_copy(
        update={"spoc": Rota(rota=("spoc1", "spoc2"), escalation=policy)}
    )
    problems = find_problems(directory, date(2026, 11, 1))
    assert "spoc.escalation.levels[1].who: 'mgr' is not on spoc.rota, so could not acknowledge" in (
        problems
    )
    assert any(p.startswith("spoc.escalation.levels[2].who: 'night' is neither") for p in problems)
    assert "spoc.escalation.levels[3].who: 'fallback' needs spoc.fallback to name an officer" in (
        problems
    )
