"""Retention through the real engine and worker (both stores): the daily job destroys a
request's personal data once its period is over, in its own unit of work, and audits it."""

from __future__ import annotations

import re
from datetime import timedelta

from flows import jobs
from flows.messages import Card
from flows.request import Request
from store.audit import verify
from tests.night import CANARY_VALUES, Night, only, texts

REF = re.compile(r"DPT/\d{2,}/2026")


async def _withdrawn(night: Night) -> str:
    found = REF.search(texts(await night.request("amara.okafor")))
    assert found
    ref = found.group(0)
    status = only(await night.say("amara.okafor", "status"), Card)
    (entry,) = [f for f in status.fields if f.label == ref]
    assert entry.action is not None
    await night.click("amara.okafor", entry.action.action_id, entry.action.value)
    return ref


async def _request(night: Night, ref: str) -> Request:
    stored = await night.engine.store.get_request(ref)
    assert stored is not None
    return Request.model_validate(stored.data)


async def test_the_daily_job_destroys_a_withdrawn_request_after_its_period(night: Night) -> None:
    ref = await _withdrawn(night)
    await night.engine.schedule_retention()
    job = await night.engine.store.get_job(jobs.job_id(jobs.RETENTION, "daily"))
    assert job is not None

    await night.advance(timedelta(days=300))  # the job ran daily-ish; nothing due yet
    kept = await _request(night, ref)
    assert kept.destroyed_at is None and kept.answers["subject.last_name"] == CANARY_VALUES[0]

    await night.advance(timedelta(days=70))  # past the 12 months for undecided requests
    gone = await _request(night, ref)
    assert gone.destroyed_at is not None and gone.answers == {}
    assert gone.destroyed_rule == "requests without a decision: 1 year from closure"
    assert gone.state == "withdrawn" and gone.requester == "amara.okafor"

    entries = await night.engine.store.audit_entries(ref)
    destroyed = [e for e in entries if e.action == "retention.destroyed"]
    assert len(destroyed) == 1 and destroyed[0].details["rule"] == "undecided"
    assert verify(await night.engine.store.audit_entries()).ok
    assert await night.engine.store.get_job(jobs.job_id(jobs.RETENTION, "daily")) is not None

    await night.click("di.marsh", "spoc:details", ref)
    shown = texts(night.sender.inbox("di.marsh")[-1:])
    assert f"Details of request {ref}" in shown
    assert "The personal data of this request was destroyed on 26 November 2027" in shown
    assert not any(value in shown for value in CANARY_VALUES)
