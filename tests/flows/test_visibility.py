"""The store queries behind each view select exactly what the view shows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.directory import load_directory
from flows import visibility
from flows.home import home_view
from flows.lifecycle import STATES
from flows.request import Request

ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = load_directory(ROOT / "directory.example.yaml")
ZONE = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
PEOPLE = [o.id for o in DIRECTORY.officers]


def request(n: int, state: str, requester: str) -> Request:
    return Request(
        ref=f"DPT/{n:03d}/2026", state=state, requester=requester, org="DPT",
        on_behalf_of="DPT", created_at=NOW, response_due_at=NOW, retro_due_at=NOW,
    )  # fmt: skip


def selected(requests: list[Request], queries: list[visibility.Query]) -> list[Request]:
    return [
        r
        for r in requests
        if any(r.state in q.states and q.requester in (None, r.requester) for q in queries)
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(STATES), st.sampled_from(PEOPLE)), max_size=30))
def test_every_view_is_the_same_from_its_queries(rows: list[tuple[str, str]]) -> None:
    everything = [request(n, state, who) for n, (state, who) in enumerate(rows)]
    for officer in DIRECTORY.officers:
        queries = visibility.home(officer, DIRECTORY)
        assert home_view(officer, selected(everything, queries), DIRECTORY, ZONE) == home_view(
            officer, everything, DIRECTORY, ZONE
        ), officer.id


def test_ended_requests_are_never_asked_for() -> None:
    for officer in DIRECTORY.officers:
        for query in visibility.home(officer, DIRECTORY):
            assert not query.states & {"closed", "withdrawn"}
