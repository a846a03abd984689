"""Where a person is in the request: "Question 5 of 17".

Only the questions of the request itself count (those on the review summary): the triage
questions before it are not numbered. The total is of the questions that apply given the
answers so far, so it can grow by one when an answer brings in a follow-up question (choosing
"Any other risks" asks what they are).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flows.forms import FieldSpec, FormContext


def numbered(
    spec: Sequence[FieldSpec], answers: Mapping[str, Any], context: FormContext
) -> list[str]:
    """The keys of the request's questions that apply now, in the order asked."""
    return [f.key for f in spec if f.in_summary and f.applies(answers, context)]


def position(
    spec: Sequence[FieldSpec], answers: Mapping[str, Any], context: FormContext, key: str
) -> tuple[int, int] | None:
    """(n, total) for ``key``; None for a question that is not numbered."""
    keys = numbered(spec, answers, context)
    return (keys.index(key) + 1, len(keys)) if key in keys else None


def progress_text(
    spec: Sequence[FieldSpec], answers: Mapping[str, Any], context: FormContext, key: str
) -> str:
    """ "Question 5 of 17", or "" for a question that is not numbered."""
    where = position(spec, answers, context, key)
    return f"Question {where[0]} of {where[1]}" if where else ""
