from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.durations import Duration, describe, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", Duration(wall=timedelta(seconds=90))),
        ("10m", Duration(wall=timedelta(minutes=10))),
        ("72h", Duration(wall=timedelta(hours=72))),
        ("2d", Duration(wall=timedelta(days=2))),
        ("250ms", Duration(wall=timedelta(milliseconds=250))),
        ("1 working day", Duration(working_days=1)),
        ("3 Working Days", Duration(working_days=3)),
    ],
)
def test_parses_the_documented_forms(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "ten minutes", "72", "1 working", "-5m", "1.5 working days"])
def test_rejects_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="1 working day"):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10_000), st.sampled_from(["s", "m", "h", "d"]))
def test_wall_durations_round_trip_through_their_description(count: int, unit: str) -> None:
    duration = parse_duration(f"{count}{unit}")
    assert duration.wall is not None
    words = describe(duration.wall).split()
    back = {"second": "s", "minute": "m", "hour": "h", "day": "d"}[words[1].rstrip("s")]
    assert parse_duration(f"{words[0]}{back}") == duration


def test_either_clock_whichever_ends_first() -> None:
    both = parse_duration("72h or 1 working day")
    assert both == Duration(wall=timedelta(hours=72), working_days=1)
    assert str(both) == "3 days or 1 working day"
