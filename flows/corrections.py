"""Corrections: amending a submitted request or its written form, keeping what it said before,
and telling everyone who received the earlier version (S4 §12.2, S3 §1.5).

An amendment is a new version: the request holds the corrected answers, and ``versions`` keeps,
for each amendment, who made it, when, why, which fields changed and what they said before
(sealed with the rest of the request's personal data). The people who received the earlier
version — the disclosure register — are derived from the request and its audit trail: the
requester, the officers who opened its details, the decider and the officers who asked the
requester questions. Each is told privately which fields changed, by label only: the values
never travel in a message, the recipient opens the details to read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from flows import forms
from flows.directory import Directory, Officer
from flows.effects import Audit, Effect, Send
from flows.errors import OohbotError
from flows.messages import Card, CardField, ToOfficer
from flows.policy import Policy
from flows.request import Request, Version
from flows.validators import InvalidAnswer

Part = Literal["request", "form"]


class CorrectionRefused(OohbotError):
    """The amendment cannot be made; ``field`` names the input at fault (GOV.UK style)."""

    exit_code = 1

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Amended:
    """The corrected request and what the amendment writes: the notices and the audit entry."""

    request: Request
    effects: list[Effect]
    notified: tuple[str, ...]
    version: Version


def disclosure_register(request: Request, viewers: Iterable[str]) -> tuple[str, ...]:
    """Who received the request's personal data, in a stable order: the requester, then the
    officers who opened its details (``viewers``, from the audit trail), the officer who
    decided and those who asked questions."""
    seen: dict[str, None] = {request.requester: None}
    for officer_id in [
        *viewers,
        request.decided_by,
        *(exchange.asked_by for exchange in request.info),
    ]:
        if officer_id:
            seen.setdefault(officer_id, None)
    return tuple(seen)


def may_amend(request: Request, officer: Officer | None) -> bool:
    """The requester, or any SPOC, may correct a submitted request or its form."""
    if officer is None:
        return False
    return officer.id == request.requester or officer.has_role("spoc")


def _spec(request: Request, part: Part, policy: Policy) -> Sequence[forms.FieldSpec]:
    if part == "form":
        return forms.retro_spec(request.form)
    return forms.conversation_fields(policy)


def amend(
    request: Request,
    officer: Officer | None,
    changes: Mapping[str, str],
    reason: str,
    now: datetime,
    viewers: Iterable[str],
    *,
    part: Part = "request",
    policy: Policy | None = None,
    directory: Directory | None = None,
) -> Amended:
    """Apply ``changes`` (field key → typed value) to the request's answers or its written
    form; ``CorrectionRefused`` names the input at fault."""
    by = _allowed(request, officer, reason, changes, part)
    current = dict(request.retro or {}) if part == "form" else dict(request.answers)
    spec = {field.key: field for field in _spec(request, part, policy or Policy())}
    clean = _parsed(changes, spec, part, now)
    changed = [key for key, value in clean.items() if current.get(key) != value]
    if not changed:
        raise CorrectionRefused("set", "Those values are already recorded: nothing changed.")
    version = _version(request, by, now, reason, part, changed, current)
    updated = {**current, **{key: clean[key] for key in changed}}
    new = request.model_copy(
        update={
            "answers" if part == "request" else "retro": updated,
            "versions": [*request.versions, version],
        }
    )
    labels = [spec[key].label for key in changed]
    told = tuple(o for o in disclosure_register(request, viewers) if o != by.id)
    effects: list[Effect] = [
        Send(ToOfficer(officer_id), notice(request.ref, part, labels, by, directory))
        for officer_id in told
    ]
    details = {"version": version.n, "part": part, "fields": changed, "notified": list(told)}
    effects.append(Audit("request.amended", request.ref, details))
    return Amended(new, effects, told, version)


def _allowed(
    request: Request,
    officer: Officer | None,
    reason: str,
    changes: Mapping[str, str],
    part: Part,
) -> Officer:
    """The officer making the amendment, once it may be made at all."""
    if request.destroyed_at is not None:
        raise CorrectionRefused("ref", "This request's personal data was destroyed.")
    if officer is None or not may_amend(request, officer):
        raise CorrectionRefused("by", "Only the requester or a SPOC can correct a request.")
    if not reason.strip():
        raise CorrectionRefused("reason", "Enter why the request is being corrected.")
    if not changes:
        raise CorrectionRefused("set", "Enter at least one field to correct.")
    if part == "form" and request.retro is None:
        raise CorrectionRefused("part", "The written form has not been submitted yet.")
    return officer


def _parsed(
    changes: Mapping[str, str], spec: Mapping[str, forms.FieldSpec], part: Part, now: datetime
) -> dict[str, Any]:
    """Each typed value checked as its question checks it."""
    clean: dict[str, Any] = {}
    for key, raw in changes.items():
        field = spec.get(key)
        if field is None:
            raise CorrectionRefused(key, f"There is no field called {key} on this {part}.")
        try:
            clean[key] = field.parse(raw, now.date())
        except InvalidAnswer as error:
            raise CorrectionRefused(key, f"{field.label}: {error.message}") from None
    return clean


def _version(
    request: Request,
    by: Officer,
    now: datetime,
    reason: str,
    part: Part,
    changed: list[str],
    current: Mapping[str, Any],
) -> Version:
    """The new version: who, when, why, and what the changed fields said before."""
    before = {key: current.get(key) for key in changed}
    return Version(
        n=len(request.versions) + 1,
        by=by.id,
        at=now,
        reason=reason.strip(),
        part=part,
        changed=changed,
        answers=before if part == "request" else {},
        retro=before if part == "form" else None,
    )


def notice(
    ref: str, part: Part, labels: Sequence[str], by: Officer, directory: Directory | None
) -> Card:
    """The private message to someone who received the earlier version: which fields changed
    (labels only) and how to read the correction."""
    what = "written form" if part == "form" else "request"
    return Card(
        card_id=f"amended:{ref}:{'-'.join(labels)}",
        title=f"Request {ref} was corrected",
        fields=(
            CardField("Corrected by", by.name),
            CardField(f"Changed in the {what}", ", ".join(labels)),
            CardField(
                "What to do",
                "You received the earlier version. Open the request's details to read the "
                "correction, and correct any copy you made or passed on.",
            ),
        ),
        notification=f"Request {ref} was corrected",
    )


def version_lines(request: Request, policy: Policy | None = None) -> list[tuple[str, str]]:
    """The versions as the case file lists them: one line per amendment (who, when, why,
    which fields by label), for ``requests show``."""
    lines = []
    for version in request.versions:
        labels = {f.key: f.label for f in _spec(request, version.part, policy or Policy())}
        fields = ", ".join(labels.get(key, key) for key in version.changed)
        where = " in the written form" if version.part == "form" else ""
        lines.append(
            (
                f"Version {version.n + 1}",
                f"{version.at.isoformat(timespec='minutes')} by {version.by}: {fields} "
                f"corrected{where}. Reason: {version.reason}",
            )
        )
    return lines


def as_of(request: Request, n: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The answers and written form as version ``n`` held them (1: as first submitted; the
    latest: as now), by undoing the later amendments: for the case file to show each."""
    answers, retro = dict(request.answers), dict(request.retro or {})
    for version in reversed(request.versions):
        if version.n < n:
            break
        if version.part == "form":
            retro.update(version.retro or {})
        else:
            answers.update(version.answers)
    return answers, (retro if request.retro is not None else None)
