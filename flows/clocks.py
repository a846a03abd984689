"""The clocks of one request, per protocol and per organisation.

- **Response** (S4 App4 §2.4; protocol-requirements §3 T2, T3, T8): an urgent request is
  answered within ``timers.response_due`` (2 hours), a routine one within
  ``timers.response_due_routine`` (48 hours; Warwickshire: ``10 working days``). A request is
  routine when the requester said, in office hours, that it could wait (``urgent_in_hours`` is
  ``no``, taken only where ``policy.routine_in_hours`` lets it through).
- **Written form** (S4 App4 §1.5(c), T1): due ``timers.retrospective_due`` after the request was
  *made*, decided or not. Its reminders and overdue nudges are scheduled when the request is
  submitted, with deterministic job ids, so a decision never schedules them twice. A withdrawn
  request still owes the form unless ``timers.retrospective_after_withdraw`` is off; a declined
  one unless ``timers.retrospective_after_decline`` is off.
- **Whose clocks**: the requester's organisation's (``settings:`` on its directory entry,
  ``flows.org_settings``), falling back to the service's. Working days use that organisation's
  office days and bank-holiday region (``flows.calendar``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from flows.calendar import WEEKDAYS, BusinessCalendar
from flows.context import LifecycleContext
from flows.directory import Directory
from flows.durations import Duration
from flows.org_settings import OrgSettings
from flows.policy import Timers
from flows.request import Request
from flows.states import FORM_DUE, OPEN, RequestState


def settings_of(directory: Directory, org: str) -> OrgSettings:
    """The organisation's own settings (empty when it has none or is unknown)."""
    found = directory.organisation(org)
    return found.settings if found is not None else OrgSettings()


def calendar_for(service: BusinessCalendar, settings: OrgSettings) -> BusinessCalendar:
    """The service's calendar with the organisation's office hours and bank holidays."""
    hours = settings.office_hours
    days = hours.days or tuple(WEEKDAYS[i] for i in sorted(service.days))
    return _calendar(
        service.zone,
        hours.start or service.start,
        hours.end or service.end,
        days,
        hours.bank_holidays or service.region,
    )


@lru_cache(maxsize=64)
def _calendar(
    zone: ZoneInfo, start: time, end: time, days: tuple[str, ...], region: str
) -> BusinessCalendar:
    # cached: a calendar loads its bank holidays once, not on every message
    return BusinessCalendar(zone, start, end, days, region)


def for_org(ctx: LifecycleContext, org: str) -> LifecycleContext:
    """``ctx`` with the organisation's timers and calendar in place of the service's."""
    settings = settings_of(ctx.directory, org)
    policy = ctx.policy.model_copy(update={"decision": settings.decision_over(ctx.policy.decision)})
    return replace(
        ctx,
        timers=settings.timers_over(ctx.timers),
        calendar=calendar_for(ctx.calendar, settings),
        policy=policy,
    )


def in_office_hours(
    directory: Directory, service: BusinessCalendar, org: str, at: datetime
) -> bool:
    """Whether it is office hours for ``org`` at ``at``."""
    return calendar_for(service, settings_of(directory, org)).in_office_hours(at)


def is_routine(answers: dict[str, Any]) -> bool:
    """A request the requester said could wait (in office hours): the routine clock."""
    return answers.get("urgent_in_hours") == "no"


def response_clock(answers: dict[str, Any], timers: Timers) -> Duration:
    return timers.response_due_routine if is_routine(answers) else timers.response_due


def response_due(request: Request, timers: Timers, calendar: BusinessCalendar) -> datetime:
    """When the SPOC's answer is due: 2 hours (urgent) or the routine clock, from the request."""
    return calendar.deadline(request.created_at, response_clock(request.answers, timers))


def retro_due(request: Request, timers: Timers, calendar: BusinessCalendar) -> datetime:
    """When the written form is due: counted from the request, not from any decision."""
    return calendar.deadline(request.created_at, timers.retrospective_due)


def form_owed(request: Request, timers: Timers) -> bool:
    """Whether the written form is still owed for this request (decided or not)."""
    if request.retro_submitted_at is not None:
        return False
    if request.state in (*OPEN, *FORM_DUE):
        return True
    if request.state == RequestState.WITHDRAWN:
        return timers.retrospective_after_withdraw
    return False


def form_overdue(request: Request) -> bool:
    """The written form is overdue: nudges have gone out and it has not arrived (decided or
    not: an undecided request keeps its state while its form is overdue)."""
    return (
        request.retro_submitted_at is None
        and request.nudges_sent > 0
        and request.state != RequestState.CLOSED
    )
