"""Directory rules: stable-id matching and the problems ``oohbot directory check`` reports."""

from __future__ import annotations

from datetime import date

from flows.directory import Directory, find_problems

TODAY = date(2026, 11, 21)


def _directory(**overrides: object) -> Directory:
    raw: dict[str, object] = {
        "organisations": [
            {"code": "AAT", "name": "Avon Alpha Trust", "covers": ["AAC"]},
            {"code": "AAC", "name": "Avon Alpha Council"},
            {"code": "POL", "name": "Test Police"},
        ],
        "officers": [
            {
                "id": "req",
                "name": "Rhea Quill",
                "post": "On-call manager",
                "org": "AAT",
                "manager": "mgr",
                "roles": ["requester"],
                "slack": {"user": "U1", "team": "T1"},
                "teams": {"aad_object_id": "aad-1", "tenant_id": "ten-1"},
            },
            {
                "id": "mgr",
                "name": "Mo Gard",
                "post": "Service manager",
                "org": "AAT",
                "roles": ["manager"],
            },
            {"id": "spoc1", "name": "Sy Pock", "post": "DI", "org": "POL", "roles": ["spoc"]},
        ],
        "spoc": {"rota": ["spoc1"]},
    }
    raw.update(overrides)
    return Directory.model_validate(raw)


def test_a_clean_directory_has_no_problems() -> None:
    assert find_problems(_directory(), TODAY) == []


def test_matches_only_on_stable_platform_ids() -> None:
    """protocol-requirements §1.1: only nominated officers; DESIGN: never by display name."""
    directory = _directory()
    assert directory.by_platform("slack", "U1", "T1").id == "req"  # type: ignore[union-attr]
    assert directory.by_platform("slack", "U1", "T-other") is None
    assert directory.by_platform("teams", "aad-1", "ten-1").id == "req"  # type: ignore[union-attr]
    assert directory.by_platform("teams", "aad-1", "ten-2") is None
    assert directory.by_platform("slack", "Rhea Quill", "T1") is None
    assert directory.by_platform("web", "req", "").id == "req"  # type: ignore[union-attr]


def test_cover_relationships_extend_who_an_officer_acts_for() -> None:
    """protocol-requirements §10.2: an organisation covered out of hours by another."""
    directory = _directory()
    assert directory.acts_for(directory.officer("req")) == ("AAT", "AAC")  # type: ignore[arg-type]


def test_reports_every_problem_with_its_path() -> None:
    base = _directory()
    officers = [o.model_dump() for o in base.officers]
    officers.append(dict(officers[0], id="req", slack={"user": "U1", "team": "T1"}, teams=None))
    officers.append(
        {
            "id": "old",
            "name": "Old Timer",
            "post": "x",
            "org": "NOPE",
            "manager": "ghost",
            "roles": ["requester"],
            "valid_until": "2020-01-01",
        }
    )
    orgs = [o.model_dump() for o in base.organisations]
    orgs[1]["covers"] = ["AAT"]
    broken = _directory(officers=officers, organisations=orgs, spoc={"rota": ["mgr", "nobody"]})
    problems = "\n".join(find_problems(broken, TODAY))
    assert "officers[3].id: duplicate 'req'" in problems
    assert "officers[3].slack: duplicate" in problems
    assert "officers[4].org: unknown organisation 'NOPE'" in problems
    assert "officers[4].manager: unknown officer 'ghost'" in problems
    assert "covers itself through a cycle" in problems
    assert "spoc.rota[0]: 'mgr' does not have the 'spoc' role" in problems
    assert "spoc.rota[1]: unknown officer 'nobody'" in problems
    assert "expired on 2020-01-01" in problems


def test_an_empty_rota_is_a_problem() -> None:
    problems = find_problems(_directory(spoc={"rota": []}), TODAY)
    assert problems == ["spoc.rota: the SPOC rota is empty: list the officers to page, in order"]


def test_unusable_one_time_code_secrets_are_reported() -> None:
    base = _directory()
    officers = [o.model_dump() for o in base.officers]
    officers[0]["totp_secret"] = "JBSWY3DPEHPK3PXP"  # 80 bits: pyotp refuses it
    officers[1]["totp_secret"] = "XTJ74R7US6IZYMV2KBEUHNIDK5GO5PDB"
    problems = find_problems(_directory(officers=officers), TODAY)
    assert len(problems) == 1 and problems[0].startswith("officers[0].totp_secret: not a usable")
