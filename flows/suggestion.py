"""'Did you mean …?': a near miss for an option is offered back, never taken silently.

``validators`` raises ``InvalidAnswer`` with a ``suggestion`` when a typed answer is close to
one option ("Tidemuth"). The conversation keeps it on the session (``Session.suggestion``:
``{"field": key, "value": value}``) and asks this yes/no question for the same field. ``yes``
(typed, or the Yes button ``answer:<field>:yes``) takes the suggestion as the answer; ``no``
shows every option again; anything else is read as a fresh answer. The suggestion lasts one
reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from flows.forms import FieldSpec
from flows.messages import Choice, Question

YES = frozenset({"yes", "y", "yeah", "yep", "yes please", "correct", "that's right", "right"})
NO = frozenset({"no", "n", "nope", "no thanks", "wrong"})
Verdict = Literal["yes", "no", ""]


def offer(spec_field: FieldSpec, value: Any) -> tuple[dict[str, Any], Question]:
    """What to keep on the session, and the question that asks whether ``value`` was meant."""
    shown = spec_field.display(value)
    question = Question(
        field=spec_field.key,
        prompt=f"Did you mean {shown}?",
        choices=(Choice("yes", "Yes"), Choice("no", "No, show me the options")),
        hint="Type yes or no, or type your answer again.",
    )
    return {"field": spec_field.key, "value": value}, question


def verdict(pending: Mapping[str, Any], key: str, raw: str | list[str]) -> Verdict:
    """How this reply answers a pending suggestion for ``key`` ("" when there is none, or the
    reply is a new answer rather than a yes or a no)."""
    if pending.get("field") != key or not isinstance(raw, str):
        return ""
    word = " ".join(raw.strip().lower().rstrip(".!").split())
    if word in YES:
        return "yes"
    if word in NO:
        return "no"
    return ""
