"""The size-budget helpers the renderers share."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.budget import clip, largest_fitting, more_note
from flows.messages import Action


@given(st.integers(min_value=0, max_value=500), st.integers(min_value=0, max_value=600))
def test_largest_fitting_finds_the_edge(count: int, edge: int) -> None:
    assert largest_fitting(count, lambda k: k <= edge) == min(count, edge)


def test_clip_counts_what_it_leaves_out() -> None:
    assert clip("abcdef", 10) == "abcdef"
    assert clip("abcdef", 2) == "ab… (4 more characters not shown)"


def test_the_note_points_to_details_only_when_there_is_a_button() -> None:
    assert more_note(3) == "…and 3 more, not shown: too many for one message"
    details = Action("spoc:details", "Details", "DPT/01/2026")
    assert more_note(3, [details]) == "…and 3 more — open Details"
