"""Neutral messages → Block Kit. Pure functions; every string from a message is escaped.

Ids follow DESIGN.md ("Stable ids in Slack messages"): prompts are sections ``ask:<field>``,
choice buttons ``answer:<field>:<option>``, multi-choice checkboxes ``pick:<field>`` with a
Continue button ``answer:<field>``, card buttons keep the engine's ``action_id``, forms are
modals whose ``callback_id`` is the form id and whose inputs are ``<prefix>:<key>`` with
``action_id`` ``<key>``.

Slack takes at most 50 blocks in a message and 100 in a Home tab or modal. A card with more
fields keeps what fits and ends them with "…and N more" (``adapters.budget``); its header,
status and buttons always stay. A modal title is at most 24 characters, so a longer form title
becomes "Form <reference>" and is shown in full as the modal's first block.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from adapters.budget import more_note
from adapters.slack.escape import chunks, clip, mrkdwn_clipped
from flows.ids import answer_id, ask_id, form_prefix
from flows.messages import Action, Card, CardField, Choice, Form, FormField, Message, Question, Text

Block = dict[str, Any]
SECTION_LIMIT = 3000
BUTTON_LIMIT = 75
HEADER_LIMIT = 150
MODAL_TITLE_LIMIT = 24
CONFIRM_TITLE_LIMIT = 100
CONFIRM_TEXT_LIMIT = 300
CONFIRM_BUTTON_LIMIT = 30
BUTTONS_PER_BLOCK = 25
CHECKBOXES_PER_ELEMENT = 10
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
RESERVED_PER_MESSAGE = 6
"""Blocks the Home tab keeps for each later message: a divider, header, note, status,
buttons, and one field."""
CONTINUE = "continue"


# --- text objects --------------------------------------------------------------------------


def plain(text: str, limit: int = SECTION_LIMIT) -> dict[str, Any]:
    """A plain_text object: never parsed for mentions or links."""
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def markdown(escaped: str) -> dict[str, Any]:
    """A mrkdwn object for text that is already escaped; ``verbatim`` stops auto-linking."""
    return {"type": "mrkdwn", "text": escaped or " ", "verbatim": True}


def section(text: str, block_id: str = "") -> Block:
    block: Block = {"type": "section", "text": markdown(mrkdwn_clipped(text, SECTION_LIMIT))}
    if block_id:
        block["block_id"] = block_id
    return block


def context(text: str) -> Block:
    return {"type": "context", "elements": [plain(text)]}


def button(
    action_id: str, label: str, value: str, style: str = "default", confirm: str = ""
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": plain(label, BUTTON_LIMIT),
        "value": value,
    }
    if style in {"primary", "danger"}:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm_dialog(label, confirm, style)
    return element


def confirm_dialog(label: str, question: str, style: str = "default") -> dict[str, Any]:
    """Slack's own "Are you sure?" dialog, shown before the click is sent."""
    dialog: dict[str, Any] = {
        "title": plain(f"{label}?", CONFIRM_TITLE_LIMIT),
        "text": plain(question, CONFIRM_TEXT_LIMIT),
        "confirm": plain(f"Yes, {label.lower()}", CONFIRM_BUTTON_LIMIT),
        "deny": plain("No, go back", CONFIRM_BUTTON_LIMIT),
    }
    if style == "danger":
        dialog["style"] = "danger"
    return dialog


def error_block(error: str, block_id: str = "") -> Block:
    """An error said plainly and marked as one (the words, not only a colour)."""
    block: Block = {
        "type": "section",
        "text": markdown(f":warning: *Error:* {mrkdwn_clipped(error, SECTION_LIMIT - 30)}"),
    }
    if block_id:
        block["block_id"] = block_id
    return block


def _option(choice: Choice) -> dict[str, Any]:
    return {"text": plain(choice.label, BUTTON_LIMIT), "value": choice.key}


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [items]


# --- messages -------------------------------------------------------------------------------


def render(message: Message, limit: int = MESSAGE_BLOCKS) -> list[Block]:
    """Blocks for one message in a conversation or channel, at most ``limit`` of them."""
    if isinstance(message, Text):
        return text_blocks(message.text, limit)
    if isinstance(message, Question):
        return question_blocks(message)
    if isinstance(message, Card):
        return card_blocks(message, limit)
    return form_notice_blocks(message)


def text_blocks(text: str, limit: int = MESSAGE_BLOCKS) -> list[Block]:
    pieces = chunks(text, SECTION_LIMIT)
    if len(pieces) <= limit:
        return [section(piece) for piece in pieces]
    kept = pieces[: max(limit - 1, 0)]
    left_out = sum(len(piece) for piece in pieces[len(kept) :])
    return [*map(section, kept), context(f"… ({left_out} more characters not shown)")]


def question_blocks(question: Question) -> list[Block]:
    blocks = [context(question.progress)] if question.progress else []
    blocks.append(section(question.prompt, ask_id(question.field)))
    if question.error:
        blocks.append(error_block(question.error, f"error:{question.field}"))
    if question.hint:
        blocks.append(context(question.hint))
    if question.choices and question.multi:
        blocks += _checkbox_blocks(question)
    elif question.choices:
        blocks += _button_blocks(question)
    return blocks


def _button_blocks(question: Question) -> list[Block]:
    field = question.field
    batches = _batches(question.choices, BUTTONS_PER_BLOCK)
    return [
        {
            "type": "actions",
            "block_id": f"choices:{field}" + (f":{n}" if n else ""),
            "elements": [button(answer_id(field, c.key), c.label, c.key) for c in batch],
        }
        for n, batch in enumerate(batches)
    ]


def _checkbox_blocks(question: Question) -> list[Block]:
    field = question.field
    batches = _batches(question.choices, CHECKBOXES_PER_ELEMENT)
    elements: list[dict[str, Any]] = [
        {
            "type": "checkboxes",
            "action_id": f"pick:{field}" + (f":{n}" if n else ""),
            "options": [_option(c) for c in batch],
        }
        for n, batch in enumerate(batches)
    ]
    elements.append(button(answer_id(field), "Continue", CONTINUE, "primary"))
    return [{"type": "actions", "block_id": f"choices:{field}", "elements": elements}]


def card_blocks(card: Card, limit: int = MESSAGE_BLOCKS) -> list[Block]:
    """Header, fields, status, buttons; fields beyond ``limit`` blocks end in "…and N more"."""
    head: list[Block] = [
        {"type": "header", "block_id": f"{card.card_id}:title", "text": plain(card.title, 150)}
    ]
    tail: list[Block] = []
    if card.status:
        tail.append(context(card.status))
    if card.actions:
        tail.append(_actions_block(f"{card.card_id}:actions", card.actions))
    return [*head, *_field_blocks(card, limit - len(head) - len(tail)), *tail]


def _field_blocks(card: Card, room: int) -> list[Block]:
    fields = card.fields
    shown = len(fields) if len(fields) <= room else max(room - 1, 0)
    blocks = [_field_block(card.card_id, i, f) for i, f in enumerate(fields[:shown])]
    if shown < len(fields):
        blocks.append(context(more_note(len(fields) - shown, card.actions)))
    return blocks


def _field_block(card_id: str, index: int, field: CardField) -> Block:
    label = mrkdwn_clipped(field.label, 300)
    value = mrkdwn_clipped(field.value, SECTION_LIMIT - len(label) - 4)
    block: Block = {
        "type": "section",
        "block_id": f"{card_id}:field:{index}",
        "text": markdown(f"*{label}*\n{value}" if label else value),
    }
    if field.action is not None:
        block["accessory"] = _button_of(field.action)
    return block


def _button_of(action: Action) -> dict[str, Any]:
    return button(action.action_id, action.label, action.value, action.style, action.confirm)


def _actions_block(block_id: str, actions: Iterable[Action]) -> Block:
    elements = [_button_of(a) for a in actions][:BUTTONS_PER_BLOCK]
    return {"type": "actions", "block_id": block_id, "elements": elements}


def form_notice_blocks(form: Form) -> list[Block]:
    """A form delivered where no modal can open (no trigger id): say where to find it."""
    return [
        {"type": "header", "text": plain(form.title, HEADER_LIMIT)},
        context("Open this form from the button on the message or on the bot's Home tab."),
    ]


# --- views ---------------------------------------------------------------------------------


def modal(form: Form) -> dict[str, Any]:
    """The modal for a form; ``private_metadata`` carries the reference and context. A title
    too long for Slack's 24 characters keeps the reference ("Form DPT/17/2026") and the full
    title opens the modal; errors are summarised at the top and repeated at their inputs."""
    prefix = form_prefix(form.form_id)
    title = modal_title(form)
    blocks: list[Block] = [] if title == form.title else [section(form.title, "form:title")]
    blocks += _error_summary(form)
    for field in form.fields:
        if field.error:
            blocks.append(error_block(f"{field.label}: {field.error}", f"error:{field.key}"))
        blocks.append(_input(prefix, field))
    return {
        "type": "modal",
        "callback_id": form.form_id,
        "title": plain(title, MODAL_TITLE_LIMIT),
        "submit": plain(form.submit_label, MODAL_TITLE_LIMIT),
        "close": plain("Cancel", MODAL_TITLE_LIMIT),
        "private_metadata": json.dumps({"ref": form.ref, "context": form.context}),
        "blocks": blocks[:VIEW_BLOCKS],
    }


def modal_title(form: Form) -> str:
    """The form's title if it fits Slack's 24 characters, else one that keeps the reference
    ("Written form for DPT/17/2026" → "Form DPT/17/2026")."""
    candidates = [form.title]
    if form.ref:
        candidates += [f"Form {form.ref}", form.ref]
    fitting = [c for c in candidates if len(c) <= MODAL_TITLE_LIMIT]
    return fitting[0] if fitting else clip(form.title, MODAL_TITLE_LIMIT)


def _error_summary(form: Form) -> list[Block]:
    errors = [f for f in form.fields if f.error]
    if not errors:
        return []
    listed = "\n".join(f"• {mrkdwn_clipped(f.label, 200)}" for f in errors)
    problem = f":warning: *There is a problem* with:\n{listed}"
    return [{"type": "section", "block_id": "errors", "text": markdown(problem)}]


def result_modal(title: str, texts: Sequence[str]) -> dict[str, Any]:
    """A modal that only shows messages (the answer to a submission), with a Close button."""
    return {
        "type": "modal",
        "callback_id": "result",
        "title": plain(title, MODAL_TITLE_LIMIT),
        "close": plain("Close", MODAL_TITLE_LIMIT),
        "blocks": _within(VIEW_BLOCKS, [b for t in texts for b in text_blocks(t)]),
    }


def _within(limit: int, blocks: list[Block]) -> list[Block]:
    if len(blocks) <= limit:
        return blocks
    kept = blocks[: limit - 1]
    return [*kept, context(f"… ({len(blocks) - len(kept)} more parts not shown)")]


def home(messages: Sequence[Message]) -> dict[str, Any]:
    """The App Home tab: each message rendered, separated by dividers, in 100 blocks; each
    message leaves room for the ones after it (a divider and a few blocks each)."""
    blocks: list[Block] = []
    for n, message in enumerate(messages):
        if blocks:
            blocks.append({"type": "divider"})
        reserve = (len(messages) - n - 1) * RESERVED_PER_MESSAGE
        blocks += render(message, min(MESSAGE_BLOCKS, VIEW_BLOCKS - len(blocks) - reserve))
    if not blocks:
        blocks = text_blocks("Nothing to show.")
    return {"type": "home", "blocks": _within(VIEW_BLOCKS, blocks)}


def _input(prefix: str, field: FormField) -> Block:
    block: Block = {
        "type": "input",
        "block_id": f"{prefix}:{field.key}",
        "label": plain(field.label, 2000),
        "element": _element(field),
        "optional": field.optional,
    }
    if field.hint:
        block["hint"] = plain(field.hint, 2000)
    return block


def _element(field: FormField) -> dict[str, Any]:
    if field.kind == "choice" and field.choices:
        return _select(field)
    if field.kind == "multi" and field.choices:
        return _multi(field)
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": field.key,
        "multiline": field.kind == "long_text",
    }
    if isinstance(field.value, str) and field.value:
        element["initial_value"] = field.value
    return element


def _select(field: FormField) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": field.key,
        "options": [_option(c) for c in field.choices][:100],
    }
    chosen = [_option(c) for c in field.choices if c.key == field.value]
    if chosen:
        element["initial_option"] = chosen[0]
    return element


def _multi(field: FormField) -> dict[str, Any]:
    kind = "checkboxes" if len(field.choices) <= CHECKBOXES_PER_ELEMENT else "multi_static_select"
    element: dict[str, Any] = {
        "type": kind,
        "action_id": field.key,
        "options": [_option(c) for c in field.choices][:100],
    }
    values = field.value if isinstance(field.value, tuple) else (field.value,)
    chosen = [_option(c) for c in field.choices if c.key in values]
    if chosen:
        element["initial_options"] = chosen
    return element


__all__ = [
    "CONTINUE",
    "Block",
    "form_prefix",
    "home",
    "markdown",
    "modal",
    "plain",
    "render",
    "result_modal",
    "section",
]
