"""Corrections (pure): versions, the disclosure register, label-only notices."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.directory import load_directory
from flows.corrections import CorrectionRefused, amend, as_of, disclosure_register
from flows.effects import Send
from flows.messages import Card, ToOfficer
from flows.request import InfoExchange, Request

ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = load_directory(ROOT / "directory.example.yaml")
NOW = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)


def _request(**extra: object) -> Request:
    base: dict[str, object] = {
        "ref": "DPT/1/2026",
        "state": "closed",
        "requester": "amara.okafor",
        "org": "DPT",
        "on_behalf_of": "DPT",
        "created_at": NOW,
        "response_due_at": NOW,
        "answers": {"subject.last_name": "Zqxjvonkle"},
        "outcome": "approved",
        "decided_by": "ds.kellow",
        "info": [InfoExchange(question="q", asked_by="di.marsh", asked_at=NOW)],
    }
    return Request.model_validate({**base, **extra})


def test_the_register_is_everyone_who_received_the_data_once() -> None:
    request = _request()
    register = disclosure_register(request, ["ds.kellow", "tom.reyes", "ds.kellow"])
    assert register == ("amara.okafor", "ds.kellow", "tom.reyes", "di.marsh")


def test_a_form_correction_keeps_the_earlier_form_and_tells_by_label() -> None:
    request = _request(retro={"distinguishing_marks": "Scar on the left hand"}, form="mh1")
    spoc = DIRECTORY.officer("ds.kellow")
    with pytest.raises(CorrectionRefused, match="There is no field called nope"):
        amend(request, spoc, {"nope": "x"}, "why", NOW, [], part="form")
    corrected = "Scar on the right hand"
    done = amend(
        request, spoc, {"distinguishing_marks": corrected}, "wrong hand", NOW, [], part="form"
    )
    assert done.request.retro == {"distinguishing_marks": corrected}
    assert as_of(done.request, 1)[1] == {"distinguishing_marks": "Scar on the left hand"}
    assert done.version.part == "form" and done.version.changed == ["distinguishing_marks"]
    sends = [e for e in done.effects if isinstance(e, Send)]
    assert [e.to.officer_id for e in sends if isinstance(e.to, ToOfficer)] == [
        "amara.okafor",
        "di.marsh",
    ]
    for send in sends:
        assert isinstance(send.message, Card)
        shown = repr(send.message)
        assert "Distinguishing marks or unique features" in shown
        assert "hand" not in shown


def test_nothing_changed_is_refused() -> None:
    request = _request()
    with pytest.raises(CorrectionRefused, match=r"^set: Those values are already recorded"):
        amend(
            request,
            DIRECTORY.officer("amara.okafor"),
            {"subject.last_name": "Zqxjvonkle"},
            "why",
            NOW,
            [],
        )
