"""Per-organisation settings: what the local protocols differ on (protocol-requirements §9).

Written in the directory, on an organisation's entry, under ``settings:``; anything not written
there falls back to the service's own (``app.yaml``). Only the keys written override: an
organisation that sets ``timers: {retrospective_due: 1 working day}`` keeps every other timer of
the service. ``oohbot directory check`` validates them with the key path in the message
(``organisations[2].settings.timers.response_due: …``).

The clocks (``flows.clocks``) read ``office_hours`` and ``timers``, the intake reads ``forms``,
the SPOC's decision form reads ``decision_items`` (e.g. ``required: [note, power]``) and
``inform_subject`` (the answer the form starts with), and the retention run reads
``retention`` (``decided``, ``forms``, ``undecided`` periods) for that organisation's requests.
"""

from __future__ import annotations

from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flows.calendar import known_days, known_region
from flows.decision import DecisionPolicy
from flows.policy import Timers
from flows.retention import PeriodSetting, Retention

FormKind = Literal["mh1", "pdp"]
RetentionRule = Literal["decided", "forms", "undecided"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrgOfficeHours(_Strict):
    """An organisation's office hours and bank-holiday region; unset keys are the service's."""

    start: time | None = None
    end: time | None = None
    days: tuple[str, ...] | None = None
    bank_holidays: str | None = Field(default=None, description="ENG, WLS, SCT, NIR or NONE")

    @field_validator("days")
    @classmethod
    def _known_days(cls, days: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if days is None else known_days(days)

    @field_validator("bank_holidays")
    @classmethod
    def _known_region(cls, region: str | None) -> str | None:
        return None if region is None else known_region(region)


SERVICE_TIMERS = frozenset(
    {
        "conversation_idle",
        "conversation_idle_warning",
        "ig_digest_at",
        "job_lease",
        "job_max_attempts",
        "job_poll",
        "dedupe_ttl",
    }
)
"""Timers of the service itself, not of a request: set in ``app.yaml`` only."""


class OrgSettings(_Strict):
    """One organisation's settings (every key optional)."""

    office_hours: OrgOfficeHours = OrgOfficeHours()
    timers: Timers | None = Field(
        default=None, description="the timers this organisation changes; the rest are the service's"
    )
    forms: tuple[FormKind, ...] = Field(
        default=(), description="the forms its requests may be backed by; empty: all"
    )
    decision_items: dict[str, Any] = Field(
        default_factory=dict,
        description="the decision settings this organisation changes (as policy.decision)",
    )
    inform_subject: bool | None = Field(
        default=None, description="whether the subject is normally told of a disclosure"
    )
    retention: dict[RetentionRule, PeriodSetting] = Field(
        default_factory=dict, description="retention periods by record kind (retention rules)"
    )

    @field_validator("decision_items")
    @classmethod
    def _known_decision_items(cls, items: dict[str, Any]) -> dict[str, Any]:
        DecisionPolicy.model_validate(items)  # the keys and item names of policy.decision
        return items

    def decision_over(self, service: DecisionPolicy) -> DecisionPolicy:
        """The service's decision settings with this organisation's written over them."""
        if not self.decision_items and self.inform_subject is None:
            return service
        merged = {**service.model_dump(), **self.decision_items}
        if self.inform_subject is not None:
            merged["inform_subject_default"] = "yes" if self.inform_subject else "no"
        return DecisionPolicy.model_validate(merged)

    def retention_over(self, service: Retention) -> Retention:
        """The service's retention periods with this organisation's written over them."""
        if not self.retention:
            return service
        return service.model_copy(
            update={str(rule): period for rule, period in self.retention.items()}
        )

    @field_validator("timers")
    @classmethod
    def _request_clocks_only(cls, timers: Timers | None) -> Timers | None:
        wrong = sorted(SERVICE_TIMERS & (timers.model_fields_set if timers else set()))
        if wrong:
            raise ValueError(
                f"{', '.join(wrong)}: a timer of the whole service; set it in app.yaml"
            )
        return timers

    def timers_over(self, service: Timers) -> Timers:
        """The service's timers with only the keys this organisation wrote replaced."""
        if self.timers is None:
            return service
        written = self.timers.model_fields_set
        return service.model_copy(update={k: getattr(self.timers, k) for k in written})
