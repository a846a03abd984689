"""``oohbot retention run/hold/release`` and ``oohbot subject find`` as real processes, on both
stores. The requests are written as closed seven years ago, so the real clock is past their
retention period."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.request import Request
from store.base import Change, UnitOfWork
from store.blind_index import BlindIndex
from store.crypto import Cipher, generate_key
from store.factory import open_store
from tests.bot.test_cli import ROOT, oohbot

LONG_AGO = datetime.now(UTC) - timedelta(days=7 * 366)
KEY, INDEX_KEY = generate_key(), generate_key()
ENV = {"OOHBOT_ENCRYPTION_KEYS": KEY, "OOHBOT_INDEX_KEY": INDEX_KEY}


def _doc(ref: str, last_name: str) -> dict[str, Any]:
    return Request(
        ref=ref,
        state="closed",
        requester="amara.okafor",
        org="DPT",
        on_behalf_of="DPT",
        created_at=LONG_AGO,
        answers={"subject.last_name": last_name, "subject.dob": "1979-02-14"},
        outcome="approved",
        decision_note="Disclosed two cautions",
        response_due_at=LONG_AGO,
        closed_at=LONG_AGO,
    ).model_dump(mode="json")


async def _seed(url: str) -> None:
    store = open_store(url, Cipher.from_strings([KEY]), BlindIndex.from_string(INDEX_KEY))
    await store.open()
    changes = [
        Change("DPT/1/2019", _doc("DPT/1/2019", "Zqxjvonkle"), 0),
        Change("DPT/2/2019", _doc("DPT/2/2019", "Zqxjvonkle"), 0),
        Change("DPT/3/2019", _doc("DPT/3/2019", "Other"), 0),
    ]
    await store.commit(UnitOfWork(requests=changes))
    await store.close()


@pytest.fixture(params=["sqlite", "redis"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    url = (
        f"sqlite:///{tmp_path}/t.db"
        if request.param == "sqlite"
        else request.getfixturevalue("redis_url")
    )
    asyncio.run(_seed(url))
    path = tmp_path / "app.yaml"
    raw = {"directory": str(ROOT / "directory.example.yaml"), "store": {"url": url}}
    path.write_text(yaml.safe_dump(raw))
    return path


def run(config: Path, *args: str) -> Any:
    result = oohbot(*args, "--config", str(config), env=ENV)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_retention_run_hold_and_subject_find(config: Path) -> None:
    found = json.loads(
        run(
            config,
            "subject",
            "find",
            "--last-name",
            "zqxjvonkle",
            "--dob",
            "1979-02-14",
            "--format",
            "json",
        )
    )
    assert [row["ref"] for row in found] == ["DPT/1/2019", "DPT/2/2019"]

    dry = json.loads(run(config, "retention", "run", "--dry-run", "--format", "json"))
    assert {(r["ref"], r["action"]) for r in dry} == {
        ("DPT/1/2019", "would destroy"),
        ("DPT/2/2019", "would destroy"),
        ("DPT/3/2019", "would destroy"),
    }
    assert "is held" in run(config, "retention", "hold", "DPT/2/2019", "--reason", "complaint")
    done = json.loads(run(config, "retention", "run", "--format", "json"))
    assert {(r["ref"], r["action"]) for r in done} == {
        ("DPT/1/2019", "destroyed"),
        ("DPT/2/2019", "held"),
        ("DPT/3/2019", "destroyed"),
    }
    assert all(r["rule"] == "decided requests: 6 years from closure" for r in done)
    found = json.loads(
        run(
            config,
            "subject",
            "find",
            "--last-name",
            "Zqxjvonkle",
            "--dob",
            "1979-02-14",
            "--format",
            "json",
        )
    )
    assert [row["ref"] for row in found] == ["DPT/2/2019"]  # the destroyed one is unfindable
    again = run(config, "retention", "run", "--dry-run")
    assert "DPT/2/2019" in again and "held" in again and "DPT/1/2019" not in again
    assert "audit chain OK" in run(config, "audit", "verify")
    shown = run(config, "requests", "show", "DPT/1/2019")
    assert "The personal data of this request was destroyed on" in shown
    assert "under the retention rule for decided requests: 6 years from closure" in shown
    assert "Zqxjvonkle" not in shown and "Disclosed two cautions" not in shown
    kept = run(config, "requests", "show", "DPT/2/2019")
    assert "Zqxjvonkle" in kept, "the held request still holds its data"
    audit = run(config, "audit", "export")
    actions = [json.loads(line)["action"] for line in audit.splitlines()]
    assert actions.count("retention.destroyed") == 2 and actions.count("subject.search") == 2
    assert "Zqxjvonkle" not in audit


def test_subject_find_refuses_a_date_in_another_form(config: Path) -> None:
    result = oohbot(
        "subject",
        "find",
        "--last-name",
        "Zqxjvonkle",
        "--dob",
        "14/02/1979",
        "--config",
        str(config),
        env=ENV,
    )
    assert result.returncode == 2
    assert "--dob: date of birth must be a real date written YYYY-MM-DD" in result.stderr


def test_holding_an_unknown_reference_says_so(config: Path) -> None:
    result = oohbot(
        "retention", "hold", "DPT/99/2019", "--reason", "x", "--config", str(config), env=ENV
    )
    assert result.returncode == 1
    assert "no request with reference 'DPT/99/2019'" in result.stderr


def test_correct_a_request_from_the_command_line(config: Path) -> None:
    out = run(
        config,
        "correct",
        "DPT/3/2019",
        "--by",
        "amara.okafor",
        "--reason",
        "Wrong surname taken down",
        "--set",
        "subject.last_name=Vexhorandel",
    )
    assert "DPT/3/2019 corrected (version 2)" in out
    found = json.loads(
        run(
            config,
            "subject",
            "find",
            "--last-name",
            "Vexhorandel",
            "--dob",
            "1979-02-14",
            "--format",
            "json",
        )
    )
    assert [row["ref"] for row in found] == ["DPT/3/2019"]
    refused = oohbot(
        "correct",
        "DPT/3/2019",
        "--by",
        "amara.okafor",
        "--reason",
        "x",
        "--set",
        "subject.dob=31/02/1979",
        "--config",
        str(config),
        env=ENV,
    )
    assert refused.returncode == 1
    assert "subject.dob: Date of birth" in refused.stderr
