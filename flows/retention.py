"""Retention: how long each kind of record keeps its personal data, counted from closure, and
what destroying it leaves behind (pure rules; ``bot.retention`` runs them).

The only concrete period in the seeds is six years for the record of a disclosure (S4 App4
§3.2); the others say "no longer than necessary" (S1, S3), so their defaults are the deployment's
choice and documented as such. A request's personal data is destroyed as one (it is sealed under
one data key), so a request is kept for the longest period that applies to what it holds.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from flows.durations import parse_duration
from flows.effects import Audit
from flows.request import Request

_CALENDAR = re.compile(r"^\s*(\d+)\s*(years?|y|months?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """A retention period: calendar years and months, or a wall-clock span (``90d``)."""

    months: int = 0
    wall: timedelta = timedelta(0)

    def after(self, moment: datetime) -> datetime:
        """The end of the period that starts at ``moment`` (29 February + 1 year: 28 Feb)."""
        if not self.months:
            return moment + self.wall
        total = moment.month - 1 + self.months
        year, month = moment.year + total // 12, total % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day) + self.wall

    def before(self, moment: datetime) -> datetime:
        """The start of the period that ends at ``moment`` (the inverse of ``after``, to a
        day's precision at the end of a month)."""
        if not self.months:
            return moment - self.wall
        total = moment.month - 1 - self.months
        year, month = moment.year + total // 12, total % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day) - self.wall

    def __str__(self) -> str:
        if self.months and self.months % 12 == 0:
            years = self.months // 12
            return f"{years} year{'' if years == 1 else 's'}"
        if self.months:
            return f"{self.months} month{'' if self.months == 1 else 's'}"
        days = self.wall / timedelta(days=1)
        if days == int(days) and days:
            return f"{int(days)} day{'' if days == 1 else 's'}"
        return str(parse_duration(f"{self.wall.total_seconds()}s"))


def parse_period(value: Any) -> Period:
    """``6 years``, ``18 months``, ``90d``, ``12h`` (wall-clock spans for tests)."""
    if isinstance(value, Period):
        return value
    if not isinstance(value, str):
        raise ValueError("write a period such as '6 years', '12 months' or '90d'")
    match = _CALENDAR.match(value)
    if match:
        n = int(match.group(1))
        return Period(months=n * 12 if match.group(2).lower().startswith("y") else n)
    wall = parse_duration(value).wall
    if wall is None:
        raise ValueError("a retention period is calendar time: '6 years', '12 months' or '90d'")
    return Period(wall=wall)


PeriodSetting = Annotated[Period, BeforeValidator(parse_period), PlainSerializer(str)]


class Retention(BaseModel):
    """``retention:`` in app.yaml: periods per kind of record, from the request's closure."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decided: PeriodSetting = Field(
        default=Period(months=72),
        description="a decided request: the record of a disclosure or refusal (S4 App4 §3.2)",
    )
    forms: PeriodSetting = Field(
        default=Period(months=72),
        description="a request with its written (retrospective) form: the form records the "
        "disclosure (S4 App4 §3.2)",
    )
    undecided: PeriodSetting = Field(
        default=Period(months=12),
        description="a request withdrawn or closed without a decision: nothing was disclosed; "
        "the seeds say only 'no longer than necessary' (S1, S3)",
    )
    run_at: time = Field(default=time(2, 30), description="local time of the daily run")
    batch: int = Field(default=200, ge=1, description="destructions per run before it resumes")


RULES = {
    "decided": "decided requests",
    "forms": "requests with a written form",
    "undecided": "requests without a decision",
}


@dataclass(frozen=True)
class Due:
    """When a request's personal data is to be destroyed, and under which rule."""

    ref: str
    rule: str
    period: str
    closed_at: datetime
    due_at: datetime
    held: bool

    def describe(self) -> str:
        """E.g. ``decided requests: 6 years from closure``."""
        return f"{RULES[self.rule]}: {self.period} from closure"


def closure(request: Request) -> datetime | None:
    """When the request ended (closed, or withdrawn), or None while it runs."""
    return request.closed_at or request.withdrawn_at


def due(request: Request, periods: Retention) -> Due | None:
    """The retention rule of an ended request that still holds its data; None otherwise."""
    ended = closure(request)
    if ended is None or request.destroyed_at is not None:
        return None
    rules = ["decided" if request.outcome is not None else "undecided"]
    if request.retro is not None or request.retro_submitted_at is not None:
        rules.append("forms")
    ends = {rule: getattr(periods, rule).after(ended) for rule in rules}
    rule = max(rules, key=lambda name: ends[name])
    return Due(
        request.ref,
        rule,
        str(getattr(periods, rule)),
        ended,
        ends[rule],
        request.legal_hold is not None,
    )


def shortest(periods: Retention) -> Period:
    """The shortest period: nothing that ended later than this ago can be due."""
    probe = datetime(2000, 1, 1)
    return min((periods.decided, periods.forms, periods.undecided), key=lambda p: p.after(probe))


def destroyed(request: Request, when: Due, now: datetime) -> tuple[Request, Audit]:
    """The request with its personal data gone (the store shreds its data key in the same
    unit of work) and the audit entry saying so; the audit holds no personal data."""
    new = request.model_copy(
        update={
            "answers": {},
            "decision": None,
            "decision_note": None,
            "info": [],
            "retro": None,
            "versions": [],
            "destroyed_at": now,
            "destroyed_rule": when.describe(),
        }
    )
    details = {
        "rule": when.rule,
        "period": when.period,
        "closed_at": when.closed_at.isoformat(),
        "due_at": when.due_at.isoformat(),
    }
    return new, Audit("retention.destroyed", request.ref, details)


def destruction_notice(request: Request, zone: Any = None) -> str | None:
    """What every view of a destroyed request says instead of its personal data, e.g.
    "The personal data of this request was destroyed on 3 March 2033 under the retention
    rule for decided requests: 6 years from closure." None for a request that still holds it."""
    if request.destroyed_at is None:
        return None
    moment = request.destroyed_at if zone is None else request.destroyed_at.astimezone(zone)
    day = f"{moment.day} {moment.strftime('%B %Y')}"
    rule = request.destroyed_rule or "the retention rule"
    return (
        f"The personal data of this request was destroyed on {day} under the retention rule "
        f"for {rule}."
    )
