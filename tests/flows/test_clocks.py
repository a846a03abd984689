"""The clocks of a request (flows/clocks.py): the form's clock from the request, the response
clocks (urgent, routine, working days) and each organisation's own clocks and office hours."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from flows import clocks, jobs
from flows.directory import Organisation
from flows.messages import Card, Form
from flows.org_settings import OrgOfficeHours, OrgSettings
from flows.policy import Timers
from tests.bot.test_night import _filled
from tests.flows.lifecycle_world import (
    ANSWERS,
    CALENDAR,
    FRIDAY_10PM,
    REF,
    TWO_ON_ROTA,
    World,
    audits,
    cancels,
    new_request,
    schedules,
    to_channel,
    to_officer,
)

HOUR = timedelta(hours=1)
DUE = FRIDAY_10PM + 72 * HOUR


def _unanswered() -> World:
    world = World()
    world.submit()
    return world


def test_the_form_clock_starts_at_submission_with_its_reminders() -> None:
    """S4 App4 §1.5(c): the form backs up the request, due 72 h after it was made."""
    world = _unanswered()
    assert world.request.retro_due_at == DUE
    effects = world.steps[0].effects
    assert [s.due_at for s in schedules(effects, jobs.RETRO_REMINDER)] == [
        DUE - 24 * HOUR,
        DUE - 2 * HOUR,
    ]
    assert [s.due_at for s in schedules(effects, jobs.RETRO_OVERDUE)] == [DUE]


def test_a_request_nobody_answers_still_falls_due_with_reminders_and_nudges() -> None:
    world = _unanswered()
    world.at(DUE - 24 * HOUR)
    reminder = world.timer(jobs.RETRO_REMINDER, n=0)
    assert any(isinstance(m, Card) for m in to_officer(reminder.effects, "req"))

    world.at(DUE)
    overdue = world.timer(jobs.RETRO_OVERDUE)
    assert world.request.state == "paged", "still waiting for a SPOC"
    assert world.request.nudges_sent == 1
    assert to_officer(overdue.effects, "req") and to_officer(overdue.effects, "mgr")
    assert "request.retro_overdue" in [a.action for a in audits(overdue.effects)]
    (again,) = schedules(overdue.effects, jobs.OVERDUE_NUDGE)
    assert again.due_at == DUE + 24 * HOUR

    world.at(DUE + 24 * HOUR)
    nudge = world.timer(jobs.OVERDUE_NUDGE, n=2)
    assert world.request.nudges_sent == 2 and to_officer(nudge.effects, "mgr")
    assert world.timer(jobs.RETRO_OVERDUE).effects == [], "a repeated job is a no-op"


def test_a_late_decision_keeps_the_running_clock_and_schedules_nothing_twice() -> None:
    world = _unanswered()
    world.at(DUE)
    world.timer(jobs.RETRO_OVERDUE)
    step = world.act("spoc1", "spoc:approve", "Disclosed a caution")
    assert world.request.state == "retro_overdue"
    assert not schedules(step.effects, jobs.RETRO_REMINDER)
    assert not schedules(step.effects, jobs.RETRO_OVERDUE)
    assert world.request.retro_due_at == DUE


def test_a_withdrawn_request_still_owes_the_form_by_default() -> None:
    world = _unanswered()
    step = world.act("req", "withdraw")
    assert world.request.state == "withdrawn"
    assert jobs.job_id(jobs.RETRO_OVERDUE, REF) not in cancels(step.effects)
    assert "still due" in repr(step.replies)
    world.at(DUE)
    assert to_officer(world.timer(jobs.RETRO_OVERDUE).effects, "req")


def test_a_withdrawn_request_owes_nothing_when_the_local_policy_says_so() -> None:
    world = World().with_timers(retrospective_after_withdraw=False)
    world.submit()
    step = world.act("req", "withdraw")
    assert jobs.job_id(jobs.RETRO_OVERDUE, REF) in cancels(step.effects)
    world.at(DUE)
    assert world.timer(jobs.RETRO_OVERDUE).effects == []


def test_the_form_sent_before_any_decision_stops_the_clock_and_the_decision_closes() -> None:
    world = _unanswered()
    (form,) = world.retro_form().replies
    assert isinstance(form, Form)
    step = world.submit_retro(_filled(form))
    assert world.request.retro_submitted_at is not None and world.request.state == "paged"
    assert jobs.job_id(jobs.RETRO_OVERDUE, REF) in cancels(step.effects)
    world.act("spoc1", "spoc:approve", "Disclosed a caution")
    assert world.request.state == "closed"


# --- response clocks (S4 App4 §2.4; Warwickshire S1-CD §2.3.3.3) ---------------------------


def test_a_routine_request_gets_the_48_hour_clock() -> None:
    world = World(request=new_request(answers={**ANSWERS, "urgent_in_hours": "no"}))
    step = world.submit()
    assert world.request.response_due_at == FRIDAY_10PM + 48 * HOUR
    card = next(m for m in to_channel(step.effects) if isinstance(m, Card))
    assert ("Priority", "Routine") in [(f.label, f.value) for f in card.fields]
    urgent = _unanswered()
    assert urgent.request.response_due_at == FRIDAY_10PM + 2 * HOUR


def test_a_working_day_response_clock() -> None:
    """Warwickshire: 'within ten working days'. Friday 22:00 + 10 working days is the close of
    office hours on Friday a fortnight on."""
    world = World().with_timers(response_due_routine="10 working days")
    world = replace(world, request=new_request(answers={**ANSWERS, "urgent_in_hours": "no"}))
    world.submit()
    assert world.request.response_due_at == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    assert schedules(world.steps[0].effects, jobs.RESPONSE_BREACH)[0].due_at == datetime(
        2026, 12, 4, 17, 0, tzinfo=UTC
    )


def test_the_timers_accept_working_days_for_the_response() -> None:
    assert (
        str(Timers.model_validate({"response_due": "1 working day"}).response_due)
        == "1 working day"
    )


# --- per organisation (§9) ------------------------------------------------------------------

LATE_OFFICE = OrgSettings(
    office_hours=OrgOfficeHours(start=time(9, 0), end=time(23, 0), days=("mon", "fri")),
    timers=Timers.model_validate({"retrospective_due": "1 working day"}),
)


def _with_org_settings(settings: OrgSettings) -> World:
    orgs = tuple(
        o.model_copy(update={"settings": settings}) if o.code == "NHT" else o
        for o in TWO_ON_ROTA.organisations
    )
    return World(directory=TWO_ON_ROTA.model_copy(update={"organisations": orgs}))


def test_an_organisation_has_its_own_form_clock() -> None:
    world = _with_org_settings(LATE_OFFICE)
    world.submit()
    # Friday 22:00 is in its office hours (until 23:00), so its one working day is Monday's
    assert world.request.retro_due_at == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    assert world.request.response_due_at == FRIDAY_10PM + 2 * HOUR, "the rest: the service's"


def test_office_hours_and_the_bank_holiday_region_are_per_organisation() -> None:
    settings = OrgSettings(office_hours=OrgOfficeHours(end=time(23, 0), bank_holidays="SCT"))
    org = Organisation(code="X", name="X", settings=settings)
    directory = TWO_ON_ROTA.model_copy(update={"organisations": (org,)})
    assert clocks.in_office_hours(directory, CALENDAR, "X", FRIDAY_10PM)
    assert not clocks.in_office_hours(directory, CALENDAR, "NHT", FRIDAY_10PM)
    st_andrews = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)  # a Scottish bank holiday only
    assert not clocks.in_office_hours(directory, CALENDAR, "X", st_andrews)
    assert clocks.in_office_hours(directory, CALENDAR, "NHT", st_andrews)


def test_the_requesters_view_shows_an_overdue_form_on_an_undecided_request() -> None:
    from flows.home import home_view

    world = _unanswered()
    world.at(DUE + HOUR)
    world.timer(jobs.RETRO_OVERDUE)
    officer = world.officer("req")
    shown = repr(home_view(officer, [world.request], world.directory, CALENDAR.zone, world.now))
    assert "Form overdue by 1 hour" in shown


def test_an_organisation_sets_its_required_decision_items_and_whether_the_subject_is_told() -> None:
    settings = OrgSettings(decision_items={"required": ["note"]}, inform_subject=True)
    world = _with_org_settings(settings)
    world.submit()
    form = world.form("spoc1", "spoc:approve").replies[-1]
    assert isinstance(form, Form)
    told = [f for f in form.fields if f.key == "inform_subject"]
    assert told and told[0].value == "yes", "the form starts with the organisation's norm"
    step = world.decide("spoc1", "spoc:approve", {"note": "One caution, 2019"})
    assert world.request.outcome == "approved", step.replies

    strict = World()
    strict.submit()
    strict.decide("spoc1", "spoc:approve", {"note": "One caution, 2019"})
    assert strict.request.outcome is None, "the service's default asks for every S4 item"


def test_an_organisation_with_an_unknown_decision_item_is_refused() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown decision items"):
        OrgSettings(decision_items={"required": ["horoscope"]})
