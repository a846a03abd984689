"""Which requests each view shows, as filters the store answers from its indexes.

A person's view must cost what that person may see, not what the service holds: a requester's
own open requests, the SPOC queue (requests still waiting for a decision), the overdue forms
of a manager's team or, for information governance, every overdue form.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.directory import Directory, Officer
from flows.states import NOT_ENDED, OPEN, RequestState

OVERDUE = frozenset({RequestState.RETRO_OVERDUE.value})
QUESTION_OPEN = frozenset({RequestState.INFO_REQUESTED.value})


def sees_spoc_channel(officer: Officer) -> bool:
    """Who may read the SPOC channel (where a platform has no channel membership of its own,
    like the web console): the SPOC officers. Everyone else sees only their own conversation
    (need to know)."""
    return officer.has_role("spoc")


@dataclass(frozen=True)
class Query:
    """Requests in one of ``states``, of ``requester`` when given."""

    states: frozenset[str]
    requester: str | None = None


def home(officer: Officer, directory: Directory) -> list[Query]:
    """What ``flows.home.home_view`` shows this officer, and no more."""
    queries: list[Query] = []
    if officer.has_role("requester"):
        queries.append(Query(NOT_ENDED, officer.id))
    if officer.has_role("spoc"):
        queries.append(Query(frozenset(OPEN)))
    if officer.has_role("ig"):
        queries.append(Query(OVERDUE))
    elif officer.has_role("manager") or directory.reports_of(officer.id):
        queries += [Query(OVERDUE, report.id) for report in directory.reports_of(officer.id)]
    return queries


def awaiting_answer(officer_id: str) -> Query:
    """The requester's requests that may hold an unanswered SPOC question."""
    return Query(QUESTION_OPEN, officer_id)


def digest() -> Query:
    """The daily digest counts what is still open or due."""
    return Query(NOT_ENDED)
