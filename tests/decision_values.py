"""What a SPOC fills in on the structured decision form (flows/decision.py), for tests.

``approval(note)`` is every item S4 requires, answered as a careful SPOC would; ``declining``
a decline with a reason from the list. ``slack_state`` and ``teams_data`` put the same values
in the shape each platform sends back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Values = dict[str, str | list[str]]

REASONS_NOT_TOLD = "Telling him now would raise the risk to the night staff"
CONDITIONS = "Use only to keep the ward staff safe tonight; do not pass on without asking us"
OVERRIDE = "Proportionate: a real risk to staff tonight; no other way to learn of weapons"


def approval(note: str = "Disclosed: one caution for a bladed article, 2019") -> Values:
    """Every approve item, the subject not told (with the reason)."""
    return {
        "disclosed": ["weapons"],
        "power": ["cda_s115", "common_law"],
        "public_interest": ["vulnerable", "public_safety"],
        "override": OVERRIDE,
        "article8": "yes",
        "minimum": "yes",
        "facts": "fact",
        "originator": "not_applicable",
        "inform_subject": "no",
        "inform_reason": REASONS_NOT_TOLD,
        "conditions": CONDITIONS,
        "note": note,
    }


def declining(
    note: str = "Threshold for disclosure not met", reason: str = "threshold_not_met"
) -> Values:
    """A decline with its reason from the list."""
    return {"decline_reason": reason, "note": note}


def for_action(action: str, note: str) -> Values:
    """The values a SPOC sends for ``spoc:approve``/``spoc:decline`` with this note."""
    return approval(note) if action == "spoc:approve" else declining(note)


def slack_state(values: Mapping[str, str | list[str]]) -> dict[str, Any]:
    """``view.state.values`` as Slack sends it for the decision modal."""
    state: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, list):
            options = [{"value": v} for v in value]
            element: dict[str, Any] = {"type": "checkboxes", "selected_options": options}
        elif key in _CHOICES:
            element = {"type": "static_select", "selected_option": {"value": value}}
        else:
            element = {"type": "plain_text_input", "value": value}
        state[f"decision:{key}"] = {key: element}
    return state


_CHOICES = {"article8", "minimum", "facts", "originator", "inform_subject", "decline_reason"}


def teams_data(values: Mapping[str, str | list[str]]) -> dict[str, str]:
    """The Adaptive Card inputs (``decision:<item>``) as Teams sends them back."""
    return {f"decision:{k}": ",".join(v) if isinstance(v, list) else v for k, v in values.items()}


async def fill_console(form: Any, values: Mapping[str, str | list[str]]) -> None:
    """Fill the web console's decision form (a Playwright locator) the way a SPOC would:
    tick the boxes, choose from the lists, type the text."""
    for key, value in values.items():
        if isinstance(value, list):
            for option in value:
                await form.locator(f'[data-id="decision:{key}"] input[value="{option}"]').check()
        elif key in _CHOICES:
            await form.locator(f'[data-id="decision:{key}"]').select_option(value)
        else:
            await form.locator(f'[data-id="decision:{key}"]').fill(value)
