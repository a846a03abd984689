"""A fictional directory, a fixed clock and a driver for the request lifecycle tests.

Every person, number and organisation here is invented (numbers in Ofcom's drama range).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flows.calendar import BusinessCalendar
from flows.directory import Directory, Officer, Organisation, Rota
from flows.effects import Audit, CancelJob, Effect, Schedule, Send
from flows.lifecycle import LifecycleContext, RequestFlow, Step
from flows.messages import Card, Form, FormField, Message, Text, ToOfficer, ToSpocChannel
from flows.policy import Timers
from flows.request import Request
from tests.decision_values import for_action

FRIDAY_10PM = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
REF = "NHT/07/2026"
CANARY = {
    "subject.last_name": "Vexmoorland",
    "subject.first_names": "Ottoline",
    "subject.dob": "1983-06-09",
    "subject.address": "4 Brackwater Yard, Fenhollow",
    "summary": "Said he would bring a crossbow to the ward",
    "consent_reason": "Asking would alert him to the concern",
    "info_other": "Any links to Larkspur Lane",
}
CANARY_VALUES = (
    "Vexmoorland",
    "Ottoline",
    "1983",
    "09/06",
    "Brackwater",
    "crossbow",
    "alert him",
    "Larkspur",
)
ANSWERS: dict[str, Any] = {
    **CANARY,
    "form": "mh1",
    "subject.alias": "",
    "subject.place_of_birth": "Fenhollow",
    "subject.postcode": "FH2 8QT",
    "reason": "risk",
    "grounds": ["health_threat", "public_safety"],
    "info_required": ["weapons", "violence", "other"],
    "consent": "not_sought",
    "lawful_basis": ["cda_s115"],
    "contact_phone": "01632 960777",
}


def _officer(id: str, name: str, post: str, org: str, *roles: Any, **extra: Any) -> Officer:
    return Officer(id=id, name=name, post=post, org=org, roles=roles, **extra)


DIRECTORY = Directory(
    organisations=(
        Organisation(code="POL", name="Northmoor Police"),
        Organisation(code="NHT", name="Northmoor Health Trust", covers=("NCC",)),
        Organisation(code="NCC", name="Northmoor County Council"),
    ),
    officers=(
        _officer(
            "req", "Robin Vale", "On-call manager", "NHT", "requester",
            phone="01632 960555", manager="mgr",
        ),
        _officer("req2", "Sasha Wren", "Duty practitioner", "NHT", "requester", manager="mgr"),
        _officer("mgr", "Morgan Lee", "Service manager", "NHT", "manager"),
        _officer("ig1", "Indra Shah", "Information governance lead", "NHT", "ig"),
        _officer("ig2", "Theo Marr", "Data protection officer", "NCC", "ig"),
        _officer("spoc1", "Alex Penrose", "Detective Inspector", "POL", "spoc",
            phone="01632 960901",
        ),
        _officer("spoc2", "Jo Trewin", "Detective Sergeant", "POL", "spoc", "requester"),
        _officer("spoc3", "Casey Holt", "Duty Inspector", "POL", "spoc"),
        _officer(
            "spoc_old", "Pat Quill", "Retired Inspector", "POL", "spoc",
            valid_until=date(2020, 1, 1),
        ),
    ),
    spoc=Rota(rota=("spoc1", "spoc2", "spoc_old"), fallback="spoc3"),
)  # fmt: skip
TWO_ON_ROTA = DIRECTORY.model_copy(update={"spoc": Rota(rota=("spoc1", "spoc2"), fallback="spoc3")})
CALENDAR = BusinessCalendar(
    ZoneInfo("Europe/London"), time(8, 30), time(17, 0), ("mon", "tue", "wed", "thu", "fri"), "ENG"
)
TIMERS = Timers()


def new_request(**update: Any) -> Request:
    return Request(
        ref=REF,
        requester="req",
        org="NHT",
        on_behalf_of="NCC",
        created_at=FRIDAY_10PM,
        answers=dict(ANSWERS),
        response_due_at=FRIDAY_10PM,
    ).model_copy(update=update)


@dataclass
class World:
    """Drives one request through the flow, keeping every step's effects."""

    directory: Directory = TWO_ON_ROTA
    timers: Timers = TIMERS
    now: datetime = FRIDAY_10PM
    flow: RequestFlow = field(default_factory=RequestFlow)
    request: Request = field(default_factory=new_request)
    steps: list[Step] = field(default_factory=list)

    @property
    def ctx(self) -> LifecycleContext:
        return LifecycleContext(self.now, self.directory, self.timers, CALENDAR)

    def officer(self, officer_id: str) -> Officer:
        found = self.directory.officer(officer_id)
        assert found is not None
        return found

    def _keep(self, step: Step) -> Step:
        self.steps.append(step)
        self.request = step.request
        return step

    def submit(self) -> Step:
        return self._keep(self.flow.submit(self.request, self.ctx))

    def act(self, who: str, action: str, note: str = "") -> Step:
        """An action; approve and decline send the whole decision form with this note."""
        if action in ("spoc:approve", "spoc:decline"):
            return self.decide(who, action, for_action(action, note))
        return self._keep(self.flow.act(self.request, self.officer(who), action, self.ctx, note))

    def decide(self, who: str, action: str, values: Mapping[str, str | list[str]]) -> Step:
        step = self.flow.decide(self.request, self.officer(who), action, values, self.ctx)
        return self._keep(step)

    def form(self, who: str, action: str) -> Step:
        return self._keep(
            self.flow.decision_form(self.request, self.officer(who), action, self.ctx)
        )

    def retro_form(self, who: str = "req") -> Step:
        return self._keep(self.flow.retro_form(self.request, self.officer(who), self.ctx))

    def submit_retro(self, values: Mapping[str, str | list[str]], who: str = "req") -> Step:
        step = self.flow.submit_retro(self.request, self.officer(who), values, self.ctx)
        return self._keep(step)

    def timer(self, kind: str, **payload: Any) -> Step:
        step = self.flow.on_timer(
            self.request, kind, {"ref": self.request.ref, **payload}, self.ctx
        )
        return self._keep(step)

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def at(self, moment: datetime) -> None:
        self.now = moment

    def effects(self) -> list[Effect]:
        return [e for s in self.steps for e in s.effects]

    def replies(self) -> list[Message]:
        return [m for s in self.steps for m in s.replies]

    def with_timers(self, **update: Any) -> World:
        parsed = Timers(**update)  # validates (and parses) only what changes
        changes = {key: getattr(parsed, key) for key in update}
        return replace(self, timers=self.timers.model_copy(update=changes))


def sends(effects: Iterable[Effect], to: Any = None) -> list[Send]:
    return [e for e in effects if isinstance(e, Send) and (to is None or e.to == to)]


def to_officer(effects: Iterable[Effect], officer_id: str) -> list[Message]:
    return [s.message for s in sends(effects, ToOfficer(officer_id))]


def to_channel(effects: Iterable[Effect]) -> list[Message]:
    return [s.message for s in sends(effects, ToSpocChannel())]


def schedules(effects: Iterable[Effect], kind: str | None = None) -> list[Schedule]:
    return [e for e in effects if isinstance(e, Schedule) and (kind is None or e.kind == kind)]


def cancels(effects: Iterable[Effect]) -> set[str]:
    return {e.job_id for e in effects if isinstance(e, CancelJob)}


def audits(effects: Iterable[Effect]) -> list[Audit]:
    return [e for e in effects if isinstance(e, Audit)]


def text_of(messages: Iterable[Message]) -> str:
    return "\n".join(repr(m) for m in messages)


def cards_of(messages: Iterable[Message], card_id: str) -> list[Card]:
    return [m for m in messages if isinstance(m, Card) and m.card_id == card_id]


def only_form(step: Step) -> Form:
    forms = [m for m in step.replies if isinstance(m, Form)]
    assert len(forms) == 1, step.replies
    return forms[0]


def is_refusal(step: Step) -> bool:
    return (
        not step.changed
        and not sends(step.effects)
        and not schedules(step.effects)
        and all(isinstance(m, Text) for m in step.replies)
    )


def filled(form: Form) -> dict[str, str | list[str]]:
    """The pre-filled values, with something sensible in every empty required field."""
    return {f.key: _value_for(f) for f in form.fields}


def _value_for(spec: FormField) -> str | list[str]:
    if spec.value:
        return list(spec.value) if isinstance(spec.value, tuple) else spec.value
    if spec.optional:
        return [] if spec.kind == "multi" else ""
    samples: dict[str, str | list[str]] = {"date": "09/06/1983", "phone": "01632 960777"}
    if spec.kind in samples:
        return samples[spec.kind]
    if spec.kind == "postcode":
        return "FH2 8QT"
    if spec.kind == "choice":
        return spec.choices[0].key
    if spec.kind == "multi":
        return [spec.choices[0].key]
    return "Recorded for the written form"
