"""Who may make an out-of-hours request: the caller's verification against the directory.

Only nominated officers of a signatory (or of an organisation that covers one out of hours) may
request (S4 App4 §1.1, §1.5(a)); the police "will verify the caller" (§1.5(b)). Callers are
matched on stable platform ids only (``Directory.by_platform``), never on names or e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from flows.directory import Directory, Officer
from flows.policy import Policy

RefusalCode = Literal["not_in_directory", "not_requester", "expired", "org_not_covered"]


@dataclass(frozen=True)
class Verified:
    """A nominated officer, and the organisations they may request for (own first)."""

    officer: Officer
    acts_for: tuple[str, ...]


@dataclass(frozen=True)
class Refused:
    """Why the caller may not use the service, with a kind message for them."""

    code: RefusalCode
    message: str


_REASONS: dict[RefusalCode, str] = {
    "not_in_directory": "I cannot find you in the nominated-officer directory for this service.",
    "not_requester": (
        "You are in the directory, but not as a nominated officer who can make out-of-hours "
        "requests."
    ),
    "expired": "Your authorisation to make out-of-hours requests has expired.",
    "org_not_covered": (
        "Your organisation is not a signatory to the information-sharing protocol, and is not "
        "covered by one out of hours."
    ),
}


def refusal(code: RefusalCode, policy: Policy) -> Refused:
    """The refusal for ``code``: what is wrong, who to contact, and the emergency route."""
    message = (
        f"Sorry, I cannot take a request from you. {_REASONS[code]} {policy.refusal_contact} "
        f"If someone is in immediate danger: {policy.emergency_advice}"
    )
    return Refused(code, message)


def _covered(directory: Directory, code: str) -> bool:
    """A signatory itself, or covered out of hours by a signatory."""
    org = directory.organisation(code)
    if org is None:
        return False
    return org.signatory or any(o.signatory and code in o.covers for o in directory.organisations)


def verify_caller(
    directory: Directory,
    platform: str,
    user_id: str,
    tenant: str,
    today: date,
    policy: Policy | None = None,
) -> Verified | Refused:
    """Check the caller against the directory (identity, role, validity, organisation)."""
    policy = policy or Policy()
    officer = directory.by_platform(platform, user_id, tenant)
    if officer is None:
        return refusal("not_in_directory", policy)
    if not officer.has_role("requester"):
        return refusal("not_requester", policy)
    if not officer.is_valid_on(today):
        return refusal("expired", policy)
    if not _covered(directory, officer.org):
        return refusal("org_not_covered", policy)
    acts_for = tuple(c for c in directory.acts_for(officer) if directory.organisation(c))
    return Verified(officer, acts_for)


def check_code(secret: str, code: str, now: datetime) -> bool:
    """Whether ``code`` is the officer's current one-time code (one step of clock drift allowed)."""
    import pyotp  # local: only officers with a TOTP secret are asked for a code

    try:
        return bool(pyotp.TOTP(secret).verify(code.strip(), for_time=now, valid_window=1))
    except (ValueError, TypeError):
        return False
