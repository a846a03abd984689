"""Metrics an on-call engineer alerts on, after a real night through the real application;
``promtool check metrics`` accepts what ``/metrics`` serves."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.clock import FrozenClock, OffsetClock
from bot.config import parse_settings
from bot.directory import load_directory
from bot.metrics import Metrics, refresh_store_gauges
from store.base import Job, Outgoing, Store, UnitOfWork
from tests.bot.test_cli import ROOT
from tests.decision_values import approval
from tests.night import ANSWERS, SATURDAY_2AM, TIMERS, open_test_store

JSON = dict[str, Any]


@dataclass
class Console:
    """The night as the web console drives it, over HTTP."""

    client: TestClient[web.Request, web.Application]

    async def post(self, path: str, body: JSON) -> JSON:
        origin = str(self.client.make_url("")).rstrip("/")
        response = await self.client.post(path, json=body, headers={"Origin": origin})
        assert response.status == 200, await response.text()
        data: JSON = await response.json()
        return data

    async def send(self, officer: str, **event: Any) -> list[JSON]:
        data = await self.post("/web/api/event", {"officer": officer, **event})
        return [entry["message"] for entry in data["entries"]]

    async def request(self, officer: str) -> str:
        messages = await self.send(officer, kind="text", text="hello")
        while questions := [m for m in messages if m["type"] == "question"]:
            messages = await self.send(officer, kind="text", text=ANSWERS[questions[-1]["field"]])
        found = re.search(r"DPT/\d+/2026", str(messages))
        assert found, messages
        return found.group()

    async def decide(self, officer: str, ref: str) -> None:
        clicked = await self.send(officer, kind="action", action="spoc:approve", value=ref)
        [form] = [m for m in clicked if m["type"] == "form"]
        await self.send(
            officer,
            kind="form",
            action=form["form_id"],
            form=approval("Disclosed: one warning marker"),
            form_ref=form["ref"],
            form_context=form["context"],
        )

    async def advance(self, hours: float) -> None:
        await self.post("/web/api/clock", {"hours": hours})


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    raw = {"directory": str(ROOT / "directory.example.yaml"), "timers": TIMERS}
    settings = parse_settings(raw, {}, tmp_path)
    store = await open_test_store(f"sqlite:///{tmp_path / 'night.db'}")
    app = build_app(
        settings,
        clock=OffsetClock(FrozenClock(SATURDAY_2AM)),
        store=store,
        directory=load_directory(settings.directory),
        run_worker=False,
    )
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Console(client)
    finally:
        await client.close()
        await store.close()


async def _night(console: Console) -> str:
    """A request nobody acknowledges (escalation, rota exhausted, SLA warning and breach),
    then approved, its form overdue; a few bad requests too."""
    ref = await console.request("amara.okafor")
    for hours in (0.2, 0.2, 2):  # each step runs what is due by then (spoc_ack is 10m)
        await console.advance(hours)
    await console.decide("di.marsh", ref)
    await console.advance(73)
    assert (await console.client.get("/nope")).status == 404
    assert (await console.client.post("/web/api/event", data=b"x")).status == 415
    response = await console.client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain")
    return await response.text()


def _value(metrics: str, sample: str) -> float:
    found = re.search(rf"^{re.escape(sample)} (\S+)$", metrics, re.M)
    assert found, f"{sample} not in /metrics"
    return float(found.group(1))


async def test_a_night_shows_in_the_metrics(console: Console) -> None:
    metrics = await _night(console)
    assert _value(metrics, "oohbot_pages_total") == 2  # the rota's two officers, once each
    assert _value(metrics, 'oohbot_escalations_total{outcome="next_officer"}') == 1
    assert _value(metrics, 'oohbot_escalations_total{outcome="rota_exhausted"}') == 1
    assert _value(metrics, "oohbot_sla_warnings_total") == 1
    assert _value(metrics, "oohbot_sla_breaches_total") == 1
    assert _value(metrics, "oohbot_store_ready") == 1, "set in the background, no /readyz"
    assert _value(metrics, 'oohbot_dead_letters{queue="jobs"}') == 0
    assert _value(metrics, 'oohbot_dead_letters{queue="outbox"}') == 0
    assert _value(metrics, "oohbot_outbox_depth") == 0
    event = 'route="/web/api/event",status="2xx"'
    assert _value(metrics, f'oohbot_http_request_duration_seconds_count{{method="POST",{event}}}')
    assert _value(
        metrics,
        'oohbot_http_request_duration_seconds_count{method="GET",route="unmatched",status="4xx"}',
    )


async def test_promtool_accepts_the_metrics_after_a_night(console: Console, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        message = "promtool is not installed (Debian: prometheus)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    metrics = await _night(console)
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=metrics, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == ""


async def test_the_store_gauges_show_lag_queue_and_dead_letters(tmp_path: Path) -> None:
    store: Store = await open_test_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    try:
        now = SATURDAY_2AM.timestamp()
        await store.schedule(Job("doomed", "ig_digest", now - 200))
        await store.schedule(Job("late", "retro_reminder", now - 90, {"ref": "DPT/01/2026"}))
        await store.schedule(Job("later", "retro_reminder", now + 600, {"ref": "DPT/01/2026"}))
        [doomed] = await store.claim(now, 30, 1)  # the soonest: "doomed"
        assert not await store.retry(doomed, now, max_attempts=1)
        sending = Outgoing("sending", "officer:a", {}, now + 30, 0, "lease", queued_at=now - 150)
        behind = Outgoing("behind", "officer:a", {}, now + 30, 0, "lease", queued_at=now - 120)
        await store.commit(UnitOfWork(outbox=[sending]))
        await store.commit(UnitOfWork(outbox=[behind]))
        metrics = Metrics()
        await refresh_store_gauges(metrics, store, now)
        read = metrics.registry.get_sample_value
        assert read("oohbot_store_ready") == 1
        assert read("oohbot_dead_letters", {"queue": "jobs"}) == 1
        assert read("oohbot_dead_letters", {"queue": "outbox"}) == 0
        assert read("oohbot_outbox_depth") == 2
        # "behind" has waited 120 s for "sending", still under its sender's lease
        assert read("oohbot_outbox_oldest_due_seconds") == pytest.approx(120, abs=1)
        assert read("oohbot_jobs_scheduled") == 2
        assert read("oohbot_jobs_waiting") == 1
        assert read("oohbot_job_lag_seconds") == pytest.approx(90, abs=1)
    finally:
        await store.close()


async def test_an_unreachable_store_reads_not_ready(tmp_path: Path) -> None:
    store = await open_test_store(f"sqlite:///{tmp_path / 'gone.db'}")
    await store.close()
    metrics = Metrics()
    metrics.ready.set(1)
    await refresh_store_gauges(metrics, store, SATURDAY_2AM.timestamp())
    assert metrics.registry.get_sample_value("oohbot_store_ready") == 0


def test_audit_entries_are_counted_once_each() -> None:
    metrics = Metrics()
    for action, details in [
        ("request.paged", {"page": 1}),
        ("request.paged", {"page": 2}),
        ("request.escalation_exhausted", {}),
        ("request.response_warning", {}),
        ("request.response_breached", {}),
        ("request.acknowledged", {}),
    ]:
        metrics.observe_audit(action, details)
    read = metrics.registry.get_sample_value
    assert read("oohbot_pages_total") == 2
    assert read("oohbot_escalations_total", {"outcome": "next_officer"}) == 1
    assert read("oohbot_escalations_total", {"outcome": "rota_exhausted"}) == 1
    assert read("oohbot_sla_warnings_total") == 1
    assert read("oohbot_sla_breaches_total") == 1
