"""Caller verification against the directory, and one-time codes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyotp
import pytest

from flows.directory import Directory, Officer, Organisation, SlackIdentity, TeamsIdentity
from flows.policy import Policy
from flows.verification import Refused, Verified, check_code, verify_caller

TODAY = date(2026, 11, 21)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # an example secret, not anyone's


def make_directory() -> Directory:
    """A small FICTIONAL directory: every organisation and person here is invented."""
    organisations = (
        Organisation(code="NPT", name="Northmoor Partnership Trust", covers=("NCC",)),
        Organisation(code="NCC", name="Northmoor County Council"),
        Organisation(code="VOL", name="Lantern Voluntary Group", signatory=False),
        Organisation(code="SAT", name="Saltings Advice Trust", signatory=False),
        Organisation(code="HUB", name="Harbour Hub", covers=("SAT",)),
        Organisation(code="POL", name="Fenland Police"),
    )
    officers = (
        Officer(
            id="req.one",
            name="Wren Example",
            post="On-call manager",
            org="NPT",
            slack=SlackIdentity(user="U0WREN", team="T0NORTH"),
            teams=TeamsIdentity(aad_object_id="aad-wren", tenant_id="tenant-north"),
        ),
        Officer(id="req.code", name="Kit Sample", post="Duty lead", org="NPT", totp_secret=SECRET),
        Officer(id="req.council", name="Ash Placeholder", post="Team leader", org="NCC"),
        Officer(id="mgr", name="Rowan Dummy", post="Manager", org="NPT", roles=("manager",)),
        Officer(
            id="req.old", name="Sage Fiction", post="Ex on-call", org="NPT",
            valid_until=TODAY - timedelta(days=1),
        ),
        Officer(id="req.vol", name="Bay Invented", post="Coordinator", org="VOL"),
        Officer(id="req.sat", name="Lark Madeup", post="Adviser", org="SAT"),
        Officer(id="req.lost", name="Fen Notreal", post="Manager", org="GONE"),
        Officer(id="spoc", name="Moss Pretend", post="DI", org="POL", roles=("spoc",)),
    )  # fmt: skip
    return Directory(organisations=organisations, officers=officers)


def _verify(user: str, platform: str = "web", tenant: str = "") -> Verified | Refused:
    return verify_caller(make_directory(), platform, user, tenant, TODAY, Policy())


def test_a_nominated_officer_is_verified_with_the_organisations_they_act_for() -> None:
    """protocol-requirements §1.1/§10.2: an organisation may act for those it covers."""
    result = _verify("req.one")
    assert isinstance(result, Verified)
    assert result.officer.id == "req.one" and result.acts_for == ("NPT", "NCC")


def test_matching_uses_stable_platform_ids_with_the_tenant() -> None:
    """DESIGN Identity: Slack user + team, Teams AAD object id + tenant; never names."""
    assert isinstance(_verify("U0WREN", "slack", "T0NORTH"), Verified)
    assert isinstance(_verify("aad-wren", "teams", "tenant-north"), Verified)
    assert isinstance(_verify("U0WREN", "slack", "T0OTHER"), Refused)
    assert isinstance(_verify("Wren Example", "slack", "T0NORTH"), Refused)


@pytest.mark.parametrize(
    ("user", "code"),
    [
        ("stranger", "not_in_directory"),
        ("mgr", "not_requester"),
        ("spoc", "not_requester"),
        ("req.old", "expired"),
        ("req.vol", "org_not_covered"),
        ("req.lost", "org_not_covered"),
    ],
)
def test_everyone_else_is_refused_kindly_with_who_to_contact(user: str, code: str) -> None:
    """protocol-requirements §1.1: "requests made by any other person … will be declined"
    (S4 App4 §1.1); §10.1: the refusal still shows the emergency route."""
    result = _verify(user)
    assert isinstance(result, Refused) and result.code == code
    assert Policy().refusal_contact in result.message
    assert "999" in result.message


def test_a_non_signatory_covered_by_a_signatory_may_request() -> None:
    """protocol-requirements §1.1: out-of-hours cover by another organisation."""
    assert isinstance(_verify("req.sat"), Verified)


def test_one_time_codes_allow_one_step_of_drift_only() -> None:
    now = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    totp = pyotp.TOTP(SECRET)
    assert check_code(SECRET, totp.at(now), now)
    assert check_code(SECRET, totp.at(now - timedelta(seconds=30)), now)
    assert not check_code(SECRET, totp.at(now - timedelta(seconds=90)), now)
    assert not check_code(SECRET, "abc", now)
    assert not check_code("not base32!", "123456", now)
