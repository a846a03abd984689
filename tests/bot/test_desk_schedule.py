"""The SPOC desk's schedule through the real engine, worker and store (SQLite and Redis):
who is paged at a shift change, the escalation policy over 24 hours, hand-over, reassign,
``oncall``, and reloading the directory into running replicas without a restart."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.app import build_core
from bot.clock import FrozenClock
from bot.config import Settings, parse_settings
from bot.directory import DirectoryError, load_directory
from bot.ical import export_ics
from bot.reload import Reloader
from flows.messages import Card, Form, Text
from flows.schedule import on_duty
from store.base import Store
from tests.night import TIMERS, Night, RecordingSender, open_test_store

ROOT = Path(__file__).resolve().parents[2]
LONDON = ZoneInfo("Europe/London")
HOUR = timedelta(hours=1)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def scheduled_example(folder: Path, *, rota: str = "[di.marsh, ds.kellow, duty.inspector]") -> Path:
    """directory.example.yaml with its example schedule and policy uncommented, as its
    comment says (the named second level added to the rota)."""
    lines, live = [], False
    for line in (ROOT / "directory.example.yaml").read_text().splitlines():
        if line.startswith("  # schedule:"):
            live = True
        lines.append("  " + line[4:] if live and line.startswith("  # ") else line)
    text = "\n".join(lines).replace("rota: [di.marsh, ds.kellow]", f"rota: {rota}")
    path = folder / "directory.yaml"
    path.write_text(text)
    return path


def _settings(folder: Path, directory: Path, store_url: str) -> Settings:
    raw = {
        "directory": str(directory),
        "timers": TIMERS,
        "store": {"url": store_url},
        "service": {"timezone": "Europe/London"},
    }
    return parse_settings(raw, {}, folder)


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'desk.db'}"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await open_test_store(store_url)
    yield opened
    await opened.close()


def _night(settings: Settings, store: Store, at: datetime) -> Night:
    clock = FrozenClock(at)
    directory = load_directory(settings.directory, settings.service.zone, at)
    core = build_core(settings, clock=clock, store=store, directory=directory)
    sender = RecordingSender()
    core.engine.add_sender(sender, "spoc")
    return Night(engine=core.engine, worker=core.worker, clock=clock, sender=sender)


def _pages(night: Night, officer: str) -> int:
    return sum(
        isinstance(m, Text) and "waiting for a SPOC" in m.text for m in night.sender.inbox(officer)
    )


@pytest.mark.parametrize(
    ("at", "paged"),
    [
        (local(29, 7, 50), "ds.kellow"),  # the night officer, before the 08:00 hand-over
        (local(29, 8, 10), "di.marsh"),  # the day officer, after it
        (local(27, 23, 0), "di.marsh"),  # Friday night: the override wins
    ],
)
async def test_a_request_pages_whoever_is_on_duty_then(
    tmp_path: Path, store: Store, store_url: str, at: datetime, paged: str
) -> None:
    settings = _settings(tmp_path, scheduled_example(tmp_path), store_url)
    night = _night(settings, store, at)
    await night.request("amara.okafor")
    assert _pages(night, paged) == 1
    others = {"di.marsh", "ds.kellow"} - {paged}
    assert all(_pages(night, o) == 0 for o in others)


async def test_nobody_answering_for_24_hours_then_one_acknowledgement_stops_it(
    tmp_path: Path, store: Store, store_url: str
) -> None:
    settings = _settings(tmp_path, scheduled_example(tmp_path), store_url)
    night = _night(settings, store, local(28, 2, 0))
    await night.request("amara.okafor")
    for _ in range(24 * 12):
        await night.advance(timedelta(minutes=5))
    # One round: 10 + 10 + 15 + 30 minutes; 24 hours hold 22 whole rounds of 4 levels.
    paged = [e for e in await store.audit_entries() if e.action == "request.paged"]
    assert len(paged) >= 22 * 4
    late = [e for e in paged if datetime.fromisoformat(e.at) > local(29, 1, 0)]
    assert late, "the policy went quiet in the last hour"
    updates = [
        m
        for m in night.sender.inbox("amara.okafor")
        if isinstance(m, Text) and "Nobody at the police SPOC desk" in m.text
    ]
    assert len(updates) == len(paged) - 1
    assert not any("Marsh" in u.text or "Kellow" in u.text for u in updates)
    assert _pages(night, "duty.inspector") >= 22
    ref = paged[0].ref
    await night.click("ds.kellow", "spoc:ack", ref)
    before = len(night.sender.sent)
    await night.advance(3 * HOUR)
    after = [e for e in await store.audit_entries() if e.action == "request.paged"]
    assert len(after) == len(paged)
    assert not any(
        isinstance(d.message, Text) and "waiting for a SPOC" in d.message.text
        for d in night.sender.sent[before:]
    )


async def test_reassign_pages_the_named_colleague_and_refuses_someone_off_the_rota(
    tmp_path: Path, store: Store, store_url: str
) -> None:
    settings = _settings(tmp_path, scheduled_example(tmp_path), store_url)
    night = _night(settings, store, local(29, 8, 10))
    await night.request("amara.okafor")
    ref = next(e for e in await store.audit_entries() if e.action == "request.paged").ref
    (form,) = await night.click("di.marsh", "spoc:reassign", ref)
    assert isinstance(form, Form)
    assert [c.key for c in form.fields[0].choices] == ["ds.kellow", "duty.inspector"]
    (refused,) = await night.submit("di.marsh", form, {"officer": "tom.reyes"})
    assert isinstance(refused, Form) and "SPOC rota" in refused.fields[0].error
    assert _pages(night, "tom.reyes") == 0
    outsider = await night.click("amara.okafor", "spoc:reassign", ref)
    assert "cannot" in outsider[0].text  # type: ignore[union-attr]
    await night.submit("di.marsh", form, {"officer": "duty.inspector"})
    assert any(
        isinstance(m, Text) and "handed" in m.text for m in night.sender.inbox("duty.inspector")
    )
    await night.click("duty.inspector", "spoc:ack", ref)
    stored = await store.get_request(ref)
    assert stored is not None and stored.data["acknowledged_by"] == "duty.inspector"
    actions = [e.action for e in await store.audit_entries(ref)]
    assert "request.reassigned" in actions and "request.reassign_refused" in actions


async def test_oncall_and_the_home_view_show_who_is_on_duty_level_by_level(
    tmp_path: Path, store: Store, store_url: str
) -> None:
    settings = _settings(tmp_path, scheduled_example(tmp_path), store_url)
    night = _night(settings, store, local(29, 7, 50))
    (card,) = await night.say("di.marsh", "oncall")
    assert isinstance(card, Card) and card.card_id == "oncall"
    assert [f.value for f in card.fields] == [
        "Sam Kellow, Detective Sergeant, Force Intelligence Centre",
        "Dana Marsh, Detective Inspector, Force Intelligence Centre",
        "Priya Nandakumar, Duty Inspector, control room",
        "Priya Nandakumar, Duty Inspector, control room",
    ]
    home = await night.engine.home("web", "ds.kellow", "")
    assert any(isinstance(c, Card) and c.card_id == "oncall" for c in home)


async def test_the_incoming_officer_gets_a_private_handover_summary(
    tmp_path: Path, store: Store, store_url: str
) -> None:
    settings = _settings(tmp_path, scheduled_example(tmp_path), store_url)
    night = _night(settings, store, local(29, 7, 30))
    await night.engine.schedule_handover()
    await night.request("amara.okafor")
    await night.click("ds.kellow", "spoc:ack", "DPT/01/2026")
    await night.advance(timedelta(minutes=31))
    (summary,) = [
        m
        for m in night.sender.inbox("di.marsh")
        if isinstance(m, Card) and m.card_id.startswith("handover:")
    ]
    assert [f.label for f in summary.fields] == ["DPT/01/2026"]
    assert summary.fields[0].value.startswith("Picked up")
    assert "Zqxjvonkle" not in repr(summary)
    assert "until Sun 29 Nov 20:00" in summary.status
    handover = await store.get_job("handover:desk:" + str(int(local(29, 20).timestamp())))
    assert handover is not None, "the next hand-over is scheduled"


# --- iCalendar ----------------------------------------------------------------------------


def test_an_exported_calendar_reimported_gives_the_same_answer_every_hour_of_a_month(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path, scheduled_example(tmp_path), "sqlite:///unused.db")
    start = local(1, 0)
    directory = load_directory(settings.directory, LONDON, start)
    schedule = directory.spoc.schedule
    assert schedule is not None
    (tmp_path / "desk-rota.ics").write_bytes(export_ics(schedule, start, local(30, 23), LONDON))
    raw = yaml.safe_load(settings.directory.read_text())
    raw["spoc"]["schedule"] = {"calendar": "desk-rota.ics"}
    (tmp_path / "imported.yaml").write_text(yaml.safe_dump(raw))
    imported = load_directory(tmp_path / "imported.yaml", LONDON, start).spoc.schedule
    assert imported is not None and imported.shifts and not imported.rotations
    hours = [start + n * HOUR for n in range(30 * 24 - 1)]
    assert [on_duty(imported, h, LONDON) for h in hours] == [
        on_duty(schedule, h, LONDON) for h in hours
    ]
    assert on_duty(imported, local(27, 23), LONDON)["primary"] == "di.marsh"


def test_oncall_command_answers_at_a_time_and_exports_ics(tmp_path: Path) -> None:
    settings_file = tmp_path / "app.yaml"
    settings_file.write_text(
        yaml.safe_dump(
            {
                "directory": str(scheduled_example(tmp_path)),
                "store": {"url": f"sqlite:///{tmp_path}/t.db"},
                "service": {"timezone": "Europe/London"},
            }
        )
    )
    night = _oohbot("oncall", "--at", "2026-11-29T07:50", "--format", "json", config=settings_file)
    assert night.returncode == 0, night.stderr
    assert '"primary": "ds.kellow"' in night.stdout
    day = _oohbot("oncall", "--at", "2026-11-29T08:10", config=settings_file)
    assert "1. the officer on duty: Dana Marsh" in day.stdout
    assert "Next shift change: 2026-11-29T20:00+00:00" in day.stdout
    ics = tmp_path / "out.ics"
    exported = _oohbot("oncall", "--export-ics", str(ics), "--days", "7", config=settings_file)
    assert exported.returncode == 0, exported.stderr
    assert b"X-OOHBOT-OFFICER:di.marsh" in ics.read_bytes()


def _oohbot(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args, "--config", str(config)],
        cwd=ROOT,
        env={**os.environ, "OOHBOT_ENCRYPTION_KEYS": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- reload without a restart ---------------------------------------------------------------


async def test_reload_keeps_the_old_directory_on_error_and_swaps_a_good_one_into_replicas(
    tmp_path: Path, store: Store, store_url: str
) -> None:
    directory_file = tmp_path / "directory.yaml"
    directory_file.write_text((ROOT / "directory.example.yaml").read_text())
    settings = _settings(tmp_path, directory_file, store_url)
    config = tmp_path / "app.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "directory": str(directory_file),
                "store": {"url": store_url},
                "service": {"data_dir": str(tmp_path / "data")},
            }
        )
    )
    replicas = [_night(settings, store, local(28, 2)) for _ in range(2)]
    reloaders = [
        Reloader(settings, r.engine.directory, store, r.engine.schedule_handover) for r in replicas
    ]
    good = directory_file.read_text()
    directory_file.write_text(good.replace("rota: [di.marsh, ds.kellow]", "rota: [di.nobody]"))
    broken = _oohbot("directory", "reload", config=config)
    assert broken.returncode != 0
    assert "spoc.rota[0]: unknown officer 'di.nobody'" in broken.stderr
    assert [await r.check() for r in reloaders] == [False, False]
    assert all(r.engine.directory.spoc.rota == ("di.marsh", "ds.kellow") for r in replicas)
    directory_file.write_text(good.replace("rota: [di.marsh, ds.kellow]", "rota: [ds.kellow]"))
    reloaded = _oohbot("directory", "reload", config=config)
    assert reloaded.returncode == 0, reloaded.stderr
    assert [await r.check() for r in reloaders] == [True, True]
    for replica in replicas:
        assert replica.engine.directory.spoc.rota == ("ds.kellow",)
    await replicas[1].request("amara.okafor")
    assert _pages(replicas[1], "ds.kellow") == 1 and _pages(replicas[1], "di.marsh") == 0


DESK_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Westshire FIC//Desk rota//EN
BEGIN:VEVENT
UID:days@example.invalid
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/London:20261102T080000
DTEND;TZID=Europe/London:20261102T200000
RRULE:FREQ=DAILY
SUMMARY:Dana Marsh
CATEGORIES:primary
END:VEVENT
BEGIN:VEVENT
UID:nights@example.invalid
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/London:20261102T200000
DTEND;TZID=Europe/London:20261103T080000
RRULE:FREQ=DAILY
SUMMARY:ds.kellow
END:VEVENT
BEGIN:VEVENT
UID:cover@example.invalid
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/London:20261127T200000
DTEND;TZID=Europe/London:20261128T080000
SUMMARY:Duty cover
X-OOHBOT-OFFICER:duty.inspector
CATEGORIES:override
END:VEVENT
END:VCALENDAR
"""


def test_a_desk_calendar_with_recurring_shifts_and_a_cover_is_imported(tmp_path: Path) -> None:
    """A rota as a desk keeps it: daily recurring day and night events named by officer
    name or id, and a one-off cover marked as an override."""
    path = scheduled_example(tmp_path)
    raw = yaml.safe_load(path.read_text())
    raw["spoc"]["schedule"] = {"calendar": "desk.ics"}
    path.write_text(yaml.safe_dump(raw))
    (tmp_path / "desk.ics").write_text(DESK_ICS)
    schedule = load_directory(path, LONDON, local(20, 12)).spoc.schedule
    assert schedule is not None
    assert on_duty(schedule, local(29, 7, 50), LONDON) == {"primary": "ds.kellow"}
    assert on_duty(schedule, local(29, 8, 10), LONDON) == {"primary": "di.marsh"}
    assert on_duty(schedule, local(27, 23), LONDON) == {"primary": "duty.inspector"}

    (tmp_path / "desk.ics").write_text(DESK_ICS.replace("SUMMARY:ds.kellow", "SUMMARY:Nobody"))
    with pytest.raises(DirectoryError, match="'Nobody' starting 2026-1"):
        load_directory(path, LONDON, local(20, 12))
