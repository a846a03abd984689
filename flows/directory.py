"""The nominated-officer directory: organisations, officers, the SPOC rota. Pure data + rules.

Callers are matched on stable platform ids only (Slack user + team, Teams AAD object id +
tenant, or the officer id in the web console): never on a display name or a loose e-mail.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from flows.escalation_policy import FALLBACK, ON_DUTY, EscalationPolicy
from flows.org_settings import OrgSettings
from flows.schedule import BACKUP, Schedule
from flows.schedule import problems as schedule_problems

Role = Literal["requester", "spoc", "ig", "manager"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlackIdentity(_Strict):
    user: str
    team: str


class TeamsIdentity(_Strict):
    aad_object_id: str
    tenant_id: str


class PlatformIdentity(_Strict):
    """How a person is known on one platform: a stable user id, and the workspace or tenant
    it is unique in (empty where the platform has none)."""

    user: str
    tenant: str = ""


class Organisation(_Strict):
    """A signatory (or partner). ``covers``: organisations it acts for out of hours.
    ``prefix``: the reference prefix (protocol App 10), defaulting to the code."""

    code: str
    name: str
    covers: tuple[str, ...] = ()
    prefix: str | None = None
    signatory: bool = True
    settings: OrgSettings = Field(
        default_factory=OrgSettings,
        description="its own office hours, clocks, forms…; unset keys are the service's",
    )

    @property
    def reference_prefix(self) -> str:
        return self.prefix or self.code


class Officer(_Strict):
    id: str
    name: str
    post: str
    org: str
    phone: str = ""
    manager: str | None = None
    roles: tuple[Role, ...] = ("requester",)
    valid_until: date | None = None
    identities: dict[str, PlatformIdentity] = Field(
        default_factory=dict,
        description="how the officer is known on platforms added as plugins, by platform name",
    )
    slack: SlackIdentity | None = None
    teams: TeamsIdentity | None = None
    totp_secret: str | None = None

    @property
    def known_on(self) -> dict[str, PlatformIdentity]:
        """Every platform identity, by platform: Slack and Teams from the directory format's
        own keys (``slack: {user, team}``, ``teams: {aad_object_id, tenant_id}``), any other
        platform from ``identities: {<platform>: {user, tenant}}``."""
        found: dict[str, PlatformIdentity] = {}
        if self.slack:
            found["slack"] = PlatformIdentity(user=self.slack.user, tenant=self.slack.team)
        if self.teams:
            teams = self.teams
            found["teams"] = PlatformIdentity(user=teams.aad_object_id, tenant=teams.tenant_id)
        return {**found, **self.identities}

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def is_valid_on(self, day: date) -> bool:
        return self.valid_until is None or day <= self.valid_until


class Rota(_Strict):
    rota: tuple[str, ...] = ()
    fallback: str | None = Field(default=None, description="who is alerted when nobody answers")
    schedule: Schedule | None = Field(default=None, description="shifts: who is on duty when")
    escalation: EscalationPolicy | None = Field(
        default=None, description="levels paged in turn, repeated until someone acknowledges"
    )


Identity = tuple[str, str, str]
"""(platform, user id, tenant): how a person is known on one platform."""


def identities(officer: Officer) -> list[Identity]:
    """Every stable platform identity of an officer (web: the officer id itself)."""
    found: list[Identity] = [("web", officer.id, "")]
    found += [(p, i.user, i.tenant) for p, i in officer.known_on.items()]
    return found


class Directory(_Strict):
    """Lookups by id, identity, manager and role are maps built once when the directory is
    loaded, so a message costs the same at 17 officers as at 2,000."""

    organisations: tuple[Organisation, ...] = ()
    officers: tuple[Officer, ...] = ()
    spoc: Rota = Rota()
    _by_id: dict[str, Officer] = PrivateAttr(default_factory=dict)
    _by_identity: dict[Identity, Officer] = PrivateAttr(default_factory=dict)
    _orgs: dict[str, Organisation] = PrivateAttr(default_factory=dict)
    _reports: dict[str, tuple[Officer, ...]] = PrivateAttr(default_factory=dict)
    _roles: dict[str, tuple[Officer, ...]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        # Reversed: the first of duplicate ids wins, as a scan would find it.
        self._by_id = {o.id: o for o in reversed(self.officers)}
        self._by_identity = {i: o for o in reversed(self.officers) for i in identities(o)}
        self._orgs = {o.code: o for o in reversed(self.organisations)}
        reports: dict[str, list[Officer]] = {}
        roles: dict[str, list[Officer]] = {}
        for officer in self.officers:
            if officer.manager:
                reports.setdefault(officer.manager, []).append(officer)
            for role in officer.roles:
                roles.setdefault(role, []).append(officer)
        self._reports = {k: tuple(v) for k, v in reports.items()}
        self._roles = {k: tuple(v) for k, v in roles.items()}

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy whose lookups are rebuilt from its own (possibly updated) officers."""
        copied = super().model_copy(update=update, deep=deep)
        copied.model_post_init(None)
        return copied

    def officer(self, officer_id: str) -> Officer | None:
        return self._by_id.get(officer_id)

    def organisation(self, code: str) -> Organisation | None:
        return self._orgs.get(code)

    def by_platform(self, platform: str, user_id: str, tenant: str) -> Officer | None:
        """The officer behind a stable platform identity, or None."""
        if platform == "web":
            return self._by_id.get(user_id)
        return self._by_identity.get((platform, user_id, tenant))

    def acts_for(self, officer: Officer) -> tuple[str, ...]:
        """Organisations the officer may request for: their own plus those it covers."""
        own = self.organisation(officer.org)
        return (officer.org, *(own.covers if own else ()))

    def with_role(self, role: Role) -> tuple[Officer, ...]:
        return self._roles.get(role, ())

    def reports_of(self, manager_id: str) -> tuple[Officer, ...]:
        return self._reports.get(manager_id, ())


def find_problems(directory: Directory, today: date) -> list[str]:
    """Every problem in the directory, each naming its path (empty list: all good)."""
    return [
        *_duplicate_problems(directory),
        *_reference_problems(directory),
        *_cover_cycle_problems(directory),
        *_rota_problems(directory),
        *_validity_problems(directory, today),
        *_totp_problems(directory),
    ]


def serving_problems(directory: Directory) -> list[str]:
    """The problems oohbot refuses to serve with (``find_problems`` without expiry dates:
    an officer whose validity ends only stops being able to act, which time alone brings)."""
    return [
        *_duplicate_problems(directory),
        *_reference_problems(directory),
        *_cover_cycle_problems(directory),
        *_rota_problems(directory),
        *_totp_problems(directory),
    ]


def _duplicates(values: list[tuple[str, str]]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for path, value in values:
        if value in seen:
            problems.append(f"{path}: duplicate {value!r} (also at {seen[value]})")
        else:
            seen[value] = path
    return problems


def _duplicate_problems(directory: Directory) -> list[str]:
    orgs = [(f"organisations[{i}].code", o.code) for i, o in enumerate(directory.organisations)]
    ids = [(f"officers[{i}].id", o.id) for i, o in enumerate(directory.officers)]
    by_platform: dict[str, list[tuple[str, str]]] = {}
    for i, officer in enumerate(directory.officers):
        for platform, identity in officer.known_on.items():
            path = f"officers[{i}].{platform}"
            by_platform.setdefault(platform, []).append(
                (path, f"{identity.tenant}/{identity.user}")
            )
    same_identity = [p for pairs in by_platform.values() for p in _duplicates(pairs)]
    return [*_duplicates(orgs), *_duplicates(ids), *same_identity]


def _reference_problems(directory: Directory) -> list[str]:
    codes = {o.code for o in directory.organisations}
    ids = {o.id for o in directory.officers}
    problems = []
    for i, org in enumerate(directory.organisations):
        problems += [
            f"organisations[{i}].covers: unknown organisation {c!r}"
            for c in org.covers
            if c not in codes
        ]
    for i, officer in enumerate(directory.officers):
        if officer.org not in codes:
            problems.append(f"officers[{i}].org: unknown organisation {officer.org!r}")
        if officer.manager and officer.manager not in ids:
            problems.append(f"officers[{i}].manager: unknown officer {officer.manager!r}")
    for i, member in enumerate(directory.spoc.rota):
        if member not in ids:
            problems.append(f"spoc.rota[{i}]: unknown officer {member!r}")
    if directory.spoc.fallback and directory.spoc.fallback not in ids:
        problems.append(f"spoc.fallback: unknown officer {directory.spoc.fallback!r}")
    return problems


def _cover_cycle_problems(directory: Directory) -> list[str]:
    covers = {o.code: set(o.covers) for o in directory.organisations}
    problems = []
    for i, org in enumerate(directory.organisations):
        if _reaches(covers, org.code, org.code):
            problems.append(
                f"organisations[{i}].covers: {org.code!r} covers itself through a cycle"
            )
    return problems


def _reaches(covers: dict[str, set[str]], start: str, target: str) -> bool:
    frontier, seen = list(covers.get(start, ())), set()
    while frontier:
        code = frontier.pop()
        if code == target:
            return True
        if code not in seen:
            seen.add(code)
            frontier.extend(covers.get(code, ()))
    return False


def _rota_problems(directory: Directory) -> list[str]:
    if not directory.spoc.rota:
        return ["spoc.rota: the SPOC rota is empty: list the officers to page, in order"]
    problems = []
    for i, member in enumerate(directory.spoc.rota):
        officer = directory.officer(member)
        if officer and not officer.has_role("spoc"):
            problems.append(f"spoc.rota[{i}]: {member!r} does not have the 'spoc' role")
    ids = [o.id for o in directory.officers]
    if directory.spoc.schedule is not None:
        problems += schedule_problems(directory.spoc.schedule, ids, directory.spoc.rota)
    return [*problems, *_escalation_problems(directory)]


def _escalation_problems(directory: Directory) -> list[str]:
    policy = directory.spoc.escalation
    if policy is None:
        return []
    schedule = directory.spoc.schedule
    layers = set(schedule.layers()) if schedule else set()
    problems = []
    for i, level in enumerate(policy.levels):
        who, path = level.who, f"spoc.escalation.levels[{i}].who"
        if who == FALLBACK and not directory.spoc.fallback:
            problems.append(f"{path}: 'fallback' needs spoc.fallback to name an officer")
        elif who in (ON_DUTY, BACKUP, FALLBACK) or who in layers:
            continue
        elif directory.officer(who) is None:
            problems.append(
                f"{path}: {who!r} is neither on_duty, backup, fallback, a schedule layer nor "
                "an officer id"
            )
        elif who not in directory.spoc.rota:
            problems.append(f"{path}: {who!r} is not on spoc.rota, so could not acknowledge")
    return problems


def _validity_problems(directory: Directory, today: date) -> list[str]:
    problems = []
    for i, officer in enumerate(directory.officers):
        if not officer.is_valid_on(today):
            problems.append(f"officers[{i}] ({officer.id}): expired on {officer.valid_until}")
    return problems


def _totp_problems(directory: Directory) -> list[str]:
    return [
        f"officers[{i}].totp_secret: not a usable one-time-code secret (it needs 32 base32 "
        "characters, e.g. from pyotp.random_base32())"
        for i, officer in enumerate(directory.officers)
        if officer.totp_secret is not None and not _usable_totp_secret(officer.totp_secret)
    ]


def _usable_totp_secret(secret: str) -> bool:
    import pyotp  # local: only directories with TOTP secrets need it

    try:
        pyotp.TOTP(secret).at(0)
    except Exception:  # pyotp raises ValueError or binascii.Error for bad secrets
        return False
    return True
