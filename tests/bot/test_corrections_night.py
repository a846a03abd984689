"""Corrections through the real engine, worker and store (both backends): an amendment reaches
everyone who saw the earlier version, privately and by field label only, and the request keeps
both versions for the case file."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot import corrections
from flows.corrections import CorrectionRefused, as_of, version_lines
from flows.messages import Card, Form
from flows.request import Request
from store.audit import verify
from tests.night import CANARY, Night, only, texts

REF = re.compile(r"DPT/\d{2,}/2026")
NEW_NAME = "Vexhorandel"


async def _approved_after_details(night: Night) -> str:
    found = REF.search(texts(await night.request("amara.okafor")))
    assert found
    ref = found.group(0)
    await night.click("ds.kellow", "spoc:details", ref)  # ds.kellow reads the data
    form = only(await night.click("ds.kellow", "spoc:approve", ref), Form)
    await night.submit("ds.kellow", form, {"note": "Disclosed two cautions"})
    return ref


def _corrected(night: Night, officer: str, ref: str) -> list[Card]:
    return [
        m
        for m in night.sender.inbox(officer)
        if isinstance(m, Card) and m.title == f"Request {ref} was corrected"
    ]


async def test_an_amendment_reaches_everyone_who_saw_the_earlier_version(night: Night) -> None:
    ref = await _approved_after_details(night)
    engine = night.engine
    amended = await corrections.amend(
        engine.store,
        engine.directory,
        ref,
        "amara.okafor",
        {"subject.last_name": NEW_NAME, "subject.dob": "15/02/1979"},
        "Misheard the surname and the date of birth on the phone",
        night.clock.now(),
    )
    assert amended.notified == ("ds.kellow",)
    await night.advance(timedelta(seconds=1))

    (notice,) = _corrected(night, "ds.kellow", ref)
    shown = texts([notice])
    assert "Last name" in shown and "Date of birth" in shown
    assert NEW_NAME not in shown and CANARY["subject.last_name"] not in shown
    assert not _corrected(night, "di.marsh", ref), "paged, but never shown the details"
    assert not _corrected(night, "amara.okafor", ref), "the amender knows already"
    assert NEW_NAME not in night.sender.all_text().replace(repr(notice), "")

    stored = await engine.store.get_request(ref)
    assert stored is not None
    request = Request.model_validate(stored.data)
    assert request.answers["subject.last_name"] == NEW_NAME
    assert request.answers["subject.dob"] == "1979-02-15"
    (version,) = request.versions
    assert version.by == "amara.okafor" and version.reason.startswith("Misheard")
    assert version.answers == {
        "subject.last_name": CANARY["subject.last_name"],
        "subject.dob": "1979-02-14",
    }
    lines = version_lines(request)
    assert len(lines) == 1 and lines[0][0] == "Version 2"
    assert "by amara.okafor: Last name, Date of birth corrected. Reason: Misheard" in lines[0][1]
    first, _ = as_of(request, 1)
    assert first["subject.last_name"] == CANARY["subject.last_name"]
    assert as_of(request, 2)[0]["subject.last_name"] == NEW_NAME

    audit = [e for e in await engine.store.audit_entries(ref) if e.action == "request.amended"]
    assert [e.details["notified"] for e in audit] == [["ds.kellow"]]
    assert NEW_NAME not in repr([e.details for e in await engine.store.audit_entries()])
    assert verify(await engine.store.audit_entries()).ok

    # a second correction by the SPOC tells the requester (who saw the earlier version)
    await corrections.amend(
        engine.store,
        engine.directory,
        ref,
        "ds.kellow",
        {"subject.postcode": "TD1 4QY"},
        "Postcode checked against the records",
        night.clock.now(),
    )
    await night.advance(timedelta(seconds=1))
    assert _corrected(night, "amara.okafor", ref)


async def test_only_the_requester_or_a_spoc_may_correct_and_a_bad_value_is_named(
    night: Night,
) -> None:
    ref = await _approved_after_details(night)
    engine, now = night.engine, night.clock.now()
    with pytest.raises(CorrectionRefused, match=r"^by: Only the requester or a SPOC"):
        await corrections.amend(
            engine.store, engine.directory, ref, "gwen.hollis", {"summary": "x"}, "why", now
        )
    with pytest.raises(CorrectionRefused, match=r"^subject\.dob: Date of birth"):
        await corrections.amend(
            engine.store,
            engine.directory,
            ref,
            "amara.okafor",
            {"subject.dob": "31/02/1979"},
            "why",
            now,
        )
    with pytest.raises(CorrectionRefused, match=r"^reason: "):
        await corrections.amend(
            engine.store, engine.directory, ref, "amara.okafor", {"summary": "x"}, " ", now
        )
