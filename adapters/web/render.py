"""Neutral ``Message`` → the JSON the browser renders.

Everything stays plain text: the page builds its elements with ``textContent`` and never
``innerHTML``, so a ``<script>`` typed by a user arrives as those nine characters. Stable ids
travel as data for the page's ``data-id`` attributes (``ask:<field>``,
``answer:<field>:<option>``, ``<prefix>:<key>`` for form inputs).
"""

from __future__ import annotations

from typing import Any

from flows.ids import form_prefix as form_prefix
from flows.messages import Action, Card, CardField, Choice, Form, FormField, Message, Question, Text

JSON = dict[str, Any]


def to_json(message: Message) -> JSON:
    """One message as a JSON-able mapping with a ``type`` of text, question, card or form."""
    if isinstance(message, Text):
        return {"type": "text", "text": message.text}
    if isinstance(message, Question):
        return _question(message)
    if isinstance(message, Card):
        return _card(message)
    return _form(message)


def _choice(choice: Choice) -> JSON:
    return {"key": choice.key, "label": choice.label}


def _action(action: Action | None) -> JSON | None:
    if action is None:
        return None
    return {
        "action_id": action.action_id,
        "label": action.label,
        "value": action.value,
        "style": action.style,
        "confirm": action.confirm,
    }


def _question(question: Question) -> JSON:
    return {
        "type": "question",
        "field": question.field,
        "prompt": question.prompt,
        "hint": question.hint,
        "progress": question.progress,
        "error": question.error,
        "multi": question.multi,
        "choices": [_choice(c) for c in question.choices],
    }


def _card_field(field: CardField) -> JSON:
    return {"label": field.label, "value": field.value, "action": _action(field.action)}


def _card(card: Card) -> JSON:
    return {
        "type": "card",
        "card_id": card.card_id,
        "title": card.title,
        "status": card.status,
        "fields": [_card_field(f) for f in card.fields],
        "actions": [_action(a) for a in card.actions],
    }


def _form_field(field: FormField) -> JSON:
    value: str | list[str] = list(field.value) if isinstance(field.value, tuple) else field.value
    return {
        "key": field.key,
        "label": field.label,
        "kind": field.kind,
        "choices": [_choice(c) for c in field.choices],
        "value": value,
        "optional": field.optional,
        "hint": field.hint,
        "error": field.error,
    }


def _form(form: Form) -> JSON:
    return {
        "type": "form",
        "form_id": form.form_id,
        "prefix": form_prefix(form.form_id),
        "title": form.title,
        "ref": form.ref,
        "context": form.context,
        "submit_label": form.submit_label,
        "fields": [_form_field(f) for f in form.fields],
    }
