"""Retention periods and rules (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from flows.request import Request
from flows.retention import Period, Retention, destroyed, due, parse_period, shortest

CLOSED = datetime(2024, 2, 29, 3, 0, tzinfo=UTC)


def _request(**extra: object) -> Request:
    base: dict[str, object] = {
        "ref": "DPT/1/2024",
        "requester": "amara.okafor",
        "org": "DPT",
        "on_behalf_of": "DPT",
        "created_at": CLOSED,
        "response_due_at": CLOSED,
        "answers": {"subject.last_name": "Zqxjvonkle"},
    }
    return Request.model_validate({**base, **extra})


def test_periods_are_calendar_time() -> None:
    assert parse_period("6 years").after(CLOSED) == datetime(2030, 2, 28, 3, 0, tzinfo=UTC)
    assert parse_period("18 months").after(CLOSED) == datetime(2025, 8, 29, 3, 0, tzinfo=UTC)
    assert parse_period("90d").after(CLOSED) == CLOSED + timedelta(days=90)
    assert str(parse_period("6 years")) == "6 years" and str(parse_period("12 months")) == "1 year"
    assert parse_period("6 years").before(datetime(2030, 3, 1, tzinfo=UTC)) == datetime(
        2024, 3, 1, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="retention period is calendar time"):
        parse_period("1 working day")


def test_a_bad_period_in_the_settings_names_the_key() -> None:
    with pytest.raises(ValidationError, match="decided"):
        Retention.model_validate({"decided": "whenever"})


def test_the_rule_is_the_longest_that_applies() -> None:
    periods = Retention(decided=parse_period("6 years"), forms=parse_period("8 years"))
    running = _request()
    assert due(running, periods) is None  # not ended
    withdrawn = _request(state="withdrawn", withdrawn_at=CLOSED)
    found = due(withdrawn, periods)
    assert found is not None and found.rule == "undecided" and found.period == "1 year"
    with_form = _request(state="closed", outcome="approved", closed_at=CLOSED, retro={"a": 1})
    found = due(with_form, periods)
    assert found is not None and found.rule == "forms" and found.period == "8 years"
    assert shortest(periods) == Period(months=12)


def test_destroying_keeps_the_plain_fields_and_audits_no_personal_data() -> None:
    request = _request(state="closed", outcome="approved", closed_at=CLOSED, decision_note="x")
    when = due(request, Retention())
    assert when is not None
    now = CLOSED + timedelta(days=7 * 365)
    new, audit = destroyed(request, when, now)
    assert new.answers == {} and new.decision_note is None and new.destroyed_at == now
    assert new.outcome == "approved" and new.ref == request.ref
    assert "Zqxjvonkle" not in repr(audit.details)


def test_destroying_empties_every_sealed_part_of_the_request() -> None:
    """Whatever the store seals (store.keys.SEALED_KEYS) is personal data: all of it goes."""
    from store.keys import SEALED_KEYS

    request = _request(
        state="closed",
        outcome="approved",
        closed_at=CLOSED,
        decision_note="x",
        decision={"outcome": "approved", "note": "Two cautions"},
        info=[{"question": "q", "asked_by": "s", "asked_at": CLOSED}],
        retro={"a": 1},
    )
    when = due(request, Retention())
    assert when is not None
    new, _ = destroyed(request, when, CLOSED + timedelta(days=9 * 365))
    kept = new.model_dump()
    assert all(not kept[key] for key in SEALED_KEYS), {k: kept[k] for k in SEALED_KEYS}
