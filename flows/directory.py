"""The nominated-officer directory: organisations, officers, the SPOC rota. Pure data + rules.

Callers are matched on stable platform ids only (Slack user + team, Teams AAD object id +
tenant, or the officer id in the web console): never on a display name or a loose e-mail.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["requester", "spoc", "ig", "manager"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlackIdentity(_Strict):
    user: str
    team: str


class TeamsIdentity(_Strict):
    aad_object_id: str
    tenant_id: str


class Organisation(_Strict):
    """A signatory (or partner). ``covers``: organisations it acts for out of hours.
    ``prefix``: the reference prefix (protocol App 10), defaulting to the code."""

    code: str
    name: str
    covers: tuple[str, ...] = ()
    prefix: str | None = None
    signatory: bool = True

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
    slack: SlackIdentity | None = None
    teams: TeamsIdentity | None = None
    totp_secret: str | None = None

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def is_valid_on(self, day: date) -> bool:
        return self.valid_until is None or day <= self.valid_until


class Rota(_Strict):
    rota: tuple[str, ...] = ()
    fallback: str | None = Field(default=None, description="who is alerted when nobody answers")


class Directory(_Strict):
    organisations: tuple[Organisation, ...] = ()
    officers: tuple[Officer, ...] = ()
    spoc: Rota = Rota()

    def officer(self, officer_id: str) -> Officer | None:
        return next((o for o in self.officers if o.id == officer_id), None)

    def organisation(self, code: str) -> Organisation | None:
        return next((o for o in self.organisations if o.code == code), None)

    def by_platform(self, platform: str, user_id: str, tenant: str) -> Officer | None:
        """The officer behind a stable platform identity, or None."""
        for officer in self.officers:
            if platform == "web" and officer.id == user_id:
                return officer
            if platform == "slack" and officer.slack == SlackIdentity(user=user_id, team=tenant):
                return officer
            teams = TeamsIdentity(aad_object_id=user_id, tenant_id=tenant)
            if platform == "teams" and officer.teams == teams:
                return officer
        return None

    def acts_for(self, officer: Officer) -> tuple[str, ...]:
        """Organisations the officer may request for: their own plus those it covers."""
        own = self.organisation(officer.org)
        return (officer.org, *(own.covers if own else ()))

    def with_role(self, role: Role) -> tuple[Officer, ...]:
        return tuple(o for o in self.officers if role in o.roles)

    def reports_of(self, manager_id: str) -> tuple[Officer, ...]:
        return tuple(o for o in self.officers if o.manager == manager_id)
