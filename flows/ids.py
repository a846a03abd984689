"""Every stable id a platform carries back to us, written once (DESIGN.md: Interface contract).

Action ids travel on buttons (Slack ``action_id``, Teams ``Action.Submit`` data, the web
console's ``data-id``); form ids name a form (Slack ``callback_id``); each form's inputs are
``<prefix>:<field>``; a conversation prompt is ``ask:<field>`` and its choice buttons
``answer:<field>:<option>``. The members are strings, so they compare and serialise as the
literals they replace.
"""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    """What a button asks for."""

    SPOC_ACK = "spoc:ack"
    SPOC_DETAILS = "spoc:details"
    SPOC_APPROVE = "spoc:approve"
    SPOC_DECLINE = "spoc:decline"
    SPOC_ASK = "spoc:ask"
    SPOC_REASSIGN = "spoc:reassign"
    RETRO_OPEN = "retro:open"
    RECORD_OPEN = "record:open"
    TIMELINE = "timeline"
    WITHDRAW = "withdraw"
    ANSWER = "answer"


class FormId(StrEnum):
    """A form a person fills in and submits."""

    DECISION = "spoc:decision"
    RETRO = "retro:submit"
    REASSIGN = "spoc:reassign_to"


A = ActionId
SPOC_ACTIONS = (A.SPOC_ACK, A.SPOC_DETAILS, A.SPOC_APPROVE, A.SPOC_DECLINE, A.SPOC_ASK)
"""The SPOC card's buttons, in the order they are shown."""
DECISIONS: dict[str, str] = {
    A.SPOC_APPROVE: "approve",
    A.SPOC_DECLINE: "decline",
    A.SPOC_ASK: "ask",
}
"""The decision buttons and the context of the form each opens."""
REQUESTER_ACTIONS = (A.WITHDRAW, A.ANSWER)
DETAIL_ACTIONS = frozenset({A.SPOC_DETAILS, A.RECORD_OPEN})
"""Buttons that show personal data (privately, and audited)."""
FORM_PREFIXES: dict[str, str] = {
    FormId.DECISION: "decision",
    FormId.RETRO: "retro",
    FormId.REASSIGN: "reassign",
}
"""The prefix of each form's input ids: ``decision:note``, ``retro:<field>``."""
ASK = "ask"
ANSWER = "answer"


def ask_id(field: str) -> str:
    """The id of the prompt that asks ``field``: ``ask:<field>``."""
    return f"{ASK}:{field}"


def answer_id(field: str, option: str | None = None) -> str:
    """The id of the button that answers ``field`` with ``option`` (``answer:<field>:<option>``),
    or of a multi-choice question's input and Continue button (``answer:<field>``)."""
    return f"{ANSWER}:{field}" if option is None else f"{ANSWER}:{field}:{option}"


def form_prefix(form_id: str) -> str:
    """The prefix of a form's input ids: ``spoc:decision`` → ``decision``, ``retro:submit`` →
    ``retro``, any other form its id's first part."""
    return FORM_PREFIXES.get(form_id, form_id.split(":", 1)[0])


def input_id(form_id: str, field: str) -> str:
    """The id of ``field``'s input on form ``form_id``: ``decision:note``, ``retro:<field>``."""
    return f"{form_prefix(form_id)}:{field}"


__all__ = [
    "ANSWER",
    "ASK",
    "DECISIONS",
    "DETAIL_ACTIONS",
    "FORM_PREFIXES",
    "REQUESTER_ACTIONS",
    "SPOC_ACTIONS",
    "ActionId",
    "FormId",
    "answer_id",
    "ask_id",
    "form_prefix",
    "input_id",
]
