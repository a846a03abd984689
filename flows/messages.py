"""The neutral message model every adapter renders.

Every string here is plain text. Adapters escape all of it for their platform (Slack mrkdwn,
Adaptive Card markdown, HTML); flows never emit markup. ``notification`` is the text a phone
shows in a push notification or a platform's top-level ``text``: it must never carry personal
data, so flows fill it with something generic ("oohbot has a question for you").

Stable ids (see DESIGN.md's interface contract):

- a ``Question`` is rendered with ``block_id``/element id ``ask:<field>``; each choice button has
  ``action_id`` ``answer:<field>:<option>`` and value ``<option>``.
- a ``Card``'s ``Action.action_id`` is used verbatim (``spoc:approve``, ``retro:open`` …) with
  ``Action.value`` (usually the request reference).
- a ``Form`` has ``form_id`` (``spoc:decision`` or ``retro:submit``); each ``FormField`` renders
  as an input with ``block_id`` ``<form prefix>:<key>`` — ``decision:note`` for the decision
  note, ``retro:<field>`` for the retrospective form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GENERIC_NOTIFICATION = "oohbot has a message for you"


@dataclass(frozen=True)
class Choice:
    """One option of a question or form field: ``key`` is stable, ``label`` is shown."""

    key: str
    label: str


@dataclass(frozen=True)
class Text:
    """A plain message."""

    text: str
    notification: str = GENERIC_NOTIFICATION


@dataclass(frozen=True)
class Question:
    """A prompt for one conversation field, answerable by typing or by choice buttons.
    ``progress`` says where the person is ("Question 5 of 17"); ``error`` says what was wrong
    with their last answer to it (shown as an error, tied to the question)."""

    field: str
    prompt: str
    choices: tuple[Choice, ...] = ()
    multi: bool = False
    hint: str = ""
    notification: str = "oohbot has a question for you"
    progress: str = ""
    error: str = ""


@dataclass(frozen=True)
class Action:
    """A button. ``action_id`` is a stable contract id, ``value`` travels back with the click.
    ``confirm`` (for what cannot be undone) is a question each platform asks before the click
    is sent: a Slack confirm dialog, a Teams card that opens under the button, an inline
    question in the web console."""

    action_id: str
    label: str
    value: str
    style: Literal["default", "primary", "danger"] = "default"
    confirm: str = ""


@dataclass(frozen=True)
class CardField:
    """A labelled value on a card, optionally with its own button (e.g. an edit control)."""

    label: str
    value: str
    action: Action | None = None


@dataclass(frozen=True)
class Card:
    """A structured message. Posting a card whose ``card_id`` was posted before updates every
    copy already delivered (the engine keeps the platform handles)."""

    card_id: str
    title: str
    fields: tuple[CardField, ...] = ()
    actions: tuple[Action, ...] = ()
    status: str = ""
    notification: str = GENERIC_NOTIFICATION


FieldKind = Literal["text", "long_text", "date", "choice", "multi", "phone", "postcode"]


@dataclass(frozen=True)
class FormField:
    """One input of a form; ``value`` pre-fills it (a tuple for multi-choice). ``error`` is
    what was wrong with the value submitted (shown beside the input and in a summary)."""

    key: str
    label: str
    kind: FieldKind = "text"
    choices: tuple[Choice, ...] = ()
    value: str | tuple[str, ...] = ""
    optional: bool = False
    hint: str = ""
    error: str = ""


@dataclass(frozen=True)
class Form:
    """A form (Slack modal, Adaptive Card with inputs, HTML form).

    ``form_id`` is ``spoc:decision`` or ``retro:submit``; ``ref`` is the request reference and
    travels back with the submission (Slack ``private_metadata``, Teams/web hidden data).
    ``context`` carries extra non-personal state that must come back too (e.g. the decision).
    """

    form_id: str
    title: str
    ref: str
    fields: tuple[FormField, ...]
    submit_label: str = "Submit"
    context: str = ""
    notification: str = GENERIC_NOTIFICATION


Message = Text | Question | Card | Form


@dataclass(frozen=True)
class ToConversation:
    """Reply in the conversation the inbound event came from."""


@dataclass(frozen=True)
class ToOfficer:
    """A private message to a directory officer, on whichever platform the directory gives."""

    officer_id: str


@dataclass(frozen=True)
class ToSpocChannel:
    """A post in every configured SPOC channel (Slack, Teams, web console)."""


Recipient = ToConversation | ToOfficer | ToSpocChannel


@dataclass(frozen=True)
class Outgoing:
    """A message bound for a recipient."""

    to: Recipient
    message: Message


def card_status_only(card: Card, status: str) -> Card:
    """The same card with no buttons (its fields' too) and a new status line (used after a
    decision, or when a draft's summary is sent or discarded)."""
    return Card(
        card_id=card.card_id,
        title=card.title,
        fields=tuple(CardField(f.label, f.value) for f in card.fields),
        actions=(),
        status=status,
        notification=card.notification,
    )


__all__ = [
    "GENERIC_NOTIFICATION",
    "Action",
    "Card",
    "CardField",
    "Choice",
    "FieldKind",
    "Form",
    "FormField",
    "Message",
    "Outgoing",
    "Question",
    "Recipient",
    "Text",
    "ToConversation",
    "ToOfficer",
    "ToSpocChannel",
    "card_status_only",
]
