"""The operator commands on a store that has lived through a night."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import yaml

from bot.app import build_core
from bot.clock import FrozenClock
from bot.config import parse_settings
from bot.directory import load_directory
from flows.messages import Form
from store.crypto import generate_key
from tests.bot.test_cli import ROOT, oohbot
from tests.decision_values import approval
from tests.night import (
    CANARY_VALUES,
    SATURDAY_2AM,
    TIMERS,
    Night,
    RecordingSender,
    only,
    open_test_store,
    texts,
)


async def _overdue_night(db: Path, key: str) -> str:
    settings = parse_settings(
        {"directory": str(ROOT / "directory.example.yaml"), "timers": TIMERS}, {}, db.parent
    )
    store = await open_test_store(f"sqlite:///{db}", key)
    try:
        clock = FrozenClock(SATURDAY_2AM)
        core = build_core(
            settings, clock=clock, store=store, directory=load_directory(settings.directory)
        )
        sender = RecordingSender()
        core.engine.add_sender(sender, "spoc")
        night = Night(engine=core.engine, worker=core.worker, clock=clock, sender=sender)
        ref = texts(await night.request("amara.okafor")).split("Request ")[1].split(" ")[0]
        form = only(await night.click("di.marsh", "spoc:approve", ref), Form)
        await night.submit("di.marsh", form, approval("Disclosed"))
        await night.advance(timedelta(hours=73))
        return ref
    finally:
        await store.close()


async def test_list_export_and_verify_after_a_night(tmp_path: Path) -> None:
    db, key = tmp_path / "night.db", generate_key()
    ref = await _overdue_night(db, key)
    config = tmp_path / "app.yaml"
    config.write_text(
        yaml.safe_dump(
            {"directory": str(ROOT / "directory.example.yaml"), "store": {"url": f"sqlite:///{db}"}}
        )
    )
    env = {"OOHBOT_ENCRYPTION_KEYS": key}

    listing = oohbot(
        "requests", "list", "--overdue", "--format", "json", "--config", str(config), env=env
    )
    assert listing.returncode == 0, listing.stderr
    (row,) = json.loads(listing.stdout)
    assert (
        row["ref"] == ref and row["state"] == "retro_overdue" and row["requester"] == "amara.okafor"
    )
    table = oohbot("requests", "list", "--config", str(config), env=env).stdout
    assert ref in table and "STATE" in table

    export = oohbot("audit", "export", "--ref", ref, "--config", str(config), env=env)
    actions = [json.loads(line)["action"] for line in export.stdout.splitlines()]
    assert "request.submitted" in actions and "request.approved" in actions
    assert not any(value in export.stdout for value in CANARY_VALUES)
    csv = oohbot("audit", "export", "--format", "csv", "--config", str(config), env=env).stdout
    assert csv.splitlines()[0].startswith("seq,")

    verified = oohbot("audit", "verify", "--config", str(config), env=env)
    assert verified.returncode == 0
    head = verified.stdout.split("head ")[1].split()[0]
    with sqlite3.connect(db) as raw:
        audit = next(n for (n,) in raw.execute("select name from sqlite_master") if "audit" in n)
        last = raw.execute(f"select max(seq) from {audit}").fetchone()[0]
        raw.execute(f"delete from {audit} where seq = ?", (last,))
    assert oohbot("audit", "verify", "--config", str(config), env=env).returncode == 0
    truncated = oohbot("audit", "verify", "--head", head, "--config", str(config), env=env)
    assert truncated.returncode == 1 and "saved head" in truncated.stderr
    with sqlite3.connect(db) as raw:
        table_name = next(
            n for (n,) in raw.execute("select name from sqlite_master") if "audit" in n
        )
        raw.execute(
            f"update {table_name} set action = 'request.declined' where action = 'request.approved'"
        )
    broken = oohbot("audit", "verify", "--config", str(config), env=env)
    assert broken.returncode == 1 and "BROKEN at entry" in broken.stderr
