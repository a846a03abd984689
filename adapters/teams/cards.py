"""Neutral messages → Adaptive Cards (and the Bot Framework activity that carries them).

Every message becomes one Adaptive Card, so all user text sits in escaped ``TextBlock``s and
the activity's ``summary`` (what a phone notification shows) is ``Message.notification``,
which never carries personal data. The activity has no ``text``.

Stable ids (DESIGN.md): a question's container has ``id`` ``ask:<field>``; a choice button is
an ``Action.Submit`` with data ``{"action": "answer:<field>:<option>", "field", "option"}``; a
multi-choice question is an ``Input.ChoiceSet`` (``id`` ``answer:<field>``) with a Continue
button ``{"action": "answer:<field>", "field"}``; card buttons carry
``{"action": <action_id>, "ref": <value>}``; a form's inputs have ``id`` ``<prefix>:<key>``
(``decision:note``, ``retro:<field>``) and its submit button carries
``{"action": <form_id>, "ref", "context", "prefix", "multi": [keys]}``.

Compact for a phone: each of a card's fields is one line ("**Label:** value", wrapping across
the card), and the buttons of its fields (the review's "Change" per answer) become one compact
``Input.ChoiceSet`` (``id`` ``pick``, each choice's value ``<action_id>|<value>``) with a single
button ``{"action": "pick"}``, which ``inbound`` turns back into that field's own action. A
button whose action asks for confirmation (``Action.confirm``) is an ``Action.ShowCard`` that
opens the question with the real button under it. Errors (on a question, or a form's inputs,
with a summary at the top of the form) are marked "Error:" in the attention colour.

Teams refuses a bot message over about 100 KB, counted in UTF-16, and Microsoft recommends
staying under 80 KB. A card or text over ``CARD_BYTES`` keeps what fits and says what it left
out ("…and N more — open Details", ``adapters.budget``); a single very long value is clipped
to ``FIELD_CHARS`` with a count of the characters not shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from botbuilder.schema import Activity, ActivityTypes, Attachment

from adapters.budget import clip, largest_fitting, more_note
from adapters.teams.escape import escape
from flows.ids import answer_id, ask_id, form_prefix
from flows.messages import Action, Card, CardField, Choice, Form, FormField, Message, Question, Text

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.4"
MAX_ACTIONS_PER_SET = 5
PICK = "pick"
PICK_SEPARATOR = "|"
_STYLES = {"primary": "positive", "danger": "destructive", "default": "default"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MESSAGE_BYTES = 80_000
CARD_BYTES = MESSAGE_BYTES - 4_000
"""The card's share of a message; the rest is the activity around it (ids, summary …)."""
FIELD_CHARS = 6_000

Element = dict[str, Any]


def to_activity(message: Message) -> Activity:
    """The message activity that shows ``message``."""
    attachment = Attachment(content_type=CONTENT_TYPE, content=render(message))
    return Activity(
        type=ActivityTypes.message,
        summary=message.notification,
        attachments=[attachment],
    )


def render(message: Message) -> Element:
    """The Adaptive Card for one neutral message."""
    if isinstance(message, Text):
        return _fitted_text(message.text)
    if isinstance(message, Question):
        return _question(message)
    if isinstance(message, Card):
        return _fitted(message)
    return _form(message)


def size_of(card: Element) -> int:
    """Bytes ``card`` counts against Teams' limit (its JSON in UTF-16)."""
    return len(json.dumps(card, ensure_ascii=False).encode("utf-16-le"))


# --- building blocks ----------------------------------------------------------------------


def _card(body: list[Element], actions: Sequence[Element] = ()) -> Element:
    card: Element = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = list(actions)
    return card


def _text(text: str, **style: Any) -> Element:
    return {"type": "TextBlock", "text": escape(text), "wrap": True, **style}


def _submit(title: str, data: dict[str, Any], style: str = "default") -> Element:
    element: Element = {"type": "Action.Submit", "title": title, "data": data}
    if style != "default":
        element["style"] = style
    return element


def _action_sets(actions: Sequence[Element]) -> list[Element]:
    """Buttons in the body, at most five a row (Teams shows only a few top-level actions)."""
    return [
        {"type": "ActionSet", "actions": list(actions[i : i + MAX_ACTIONS_PER_SET])}
        for i in range(0, len(actions), MAX_ACTIONS_PER_SET)
    ]


def _choices(choices: Iterable[Choice]) -> list[Element]:
    return [{"title": c.label, "value": c.key} for c in choices]


# --- questions ----------------------------------------------------------------------------


def _error(text: str) -> Element:
    return _text(f"Error: {text}", color="Attention", weight="Bolder")


def _question(question: Question) -> Element:
    items = [_text(question.progress, isSubtle=True, size="Small")] if question.progress else []
    items.append(_text(question.prompt))
    if question.error:
        items.append(_error(question.error))
    if question.hint:
        items.append(_text(question.hint, isSubtle=True, size="Small"))
    body: list[Element] = [{"type": "Container", "id": ask_id(question.field), "items": items}]
    if question.multi:
        body += _multi_choice(question)
    else:
        body += _action_sets([_answer_button(question.field, c) for c in question.choices])
    return _card(body)


def _answer_button(field: str, choice: Choice) -> Element:
    data = {"action": answer_id(field, choice.key), "field": field, "option": choice.key}
    return _submit(choice.label, data)


def _multi_choice(question: Question) -> list[Element]:
    choice_set: Element = {
        "type": "Input.ChoiceSet",
        "id": answer_id(question.field),
        "isMultiSelect": True,
        "style": "expanded",
        "choices": _choices(question.choices),
    }
    data = {"action": answer_id(question.field), "field": question.field}
    return [choice_set, *_action_sets([_submit("Continue", data, "positive")])]


# --- cards --------------------------------------------------------------------------------


def _fitted(card: Card) -> Element:
    """The card; if it is over ``CARD_BYTES``, its fields that fit and how many more."""
    whole = _structured(card)
    if size_of(whole) <= CARD_BYTES:
        return whole
    fields = tuple(replace(f, value=clip(f.value, FIELD_CHARS)) for f in card.fields)

    def first(k: int) -> Element:
        return _structured(replace(card, fields=fields[:k]), hidden=len(fields) - k)

    return first(largest_fitting(len(fields), lambda k: size_of(first(k)) <= CARD_BYTES))


def _fitted_text(text: str) -> Element:
    whole = _card([_text(text)])
    if size_of(whole) <= CARD_BYTES:
        return whole
    fits = largest_fitting(
        len(text), lambda n: size_of(_card([_text(clip(text, n))])) <= CARD_BYTES
    )
    return _card([_text(clip(text, fits))])


def _structured(card: Card, hidden: int = 0) -> Element:
    body: list[Element] = [_text(card.title, weight="Bolder", size="Medium")]
    if _pickable(card.fields):
        body += [_line(f) for f in card.fields]
        body += _picker([f for f in card.fields if f.action is not None])
    else:
        for field in card.fields:
            body.append(_line(field))
            body += _action_sets([_button(field.action)]) if field.action is not None else []
    if hidden:
        body.append(_text(more_note(hidden, card.actions), weight="Bolder", spacing="Medium"))
    if card.status:
        body.append(_text(card.status, weight="Bolder", color="Accent", spacing="Medium"))
    # Teams takes at most five card-level actions; any more go in a row of their own.
    body += _action_sets([_button(a) for a in card.actions[MAX_ACTIONS_PER_SET:]])
    return _card(
        [{"type": "Container", "id": card.card_id, "items": body}],
        [_button(a) for a in card.actions[:MAX_ACTIONS_PER_SET]],
    )


def _line(field: CardField) -> Element:
    """Label and value on one line ("**Reference:** DPT/17/2026"), wrapping across the whole
    width: on a phone a FactSet's narrow label column folds long labels onto three lines."""
    return {
        "type": "TextBlock",
        "text": f"**{escape(field.label)}:** {escape(field.value) or '-'}",
        "wrap": True,
        "spacing": "None",
    }


def _pickable(fields: Sequence[CardField]) -> bool:
    """Several field buttons doing the same thing, none needing a confirmation: one list and
    one button instead (17 "Change" buttons made the review card 1,735 px tall)."""
    actions = [f.action for f in fields if f.action is not None]
    return (
        len(actions) > 1
        and len({a.label for a in actions}) == 1
        and not any(a.confirm for a in actions)
    )


def _picker(fields: Sequence[CardField]) -> list[Element]:
    label = fields[0].action.label if fields[0].action else "Choose"
    picker: Element = {
        "type": "Input.ChoiceSet",
        "id": PICK,
        "style": "compact",
        "isRequired": True,
        "errorMessage": "Choose one first.",
        "placeholder": "Choose…",
        "label": f"Choose one to {label.lower()}",
        "choices": [
            {"title": f.label, "value": f"{f.action.action_id}{PICK_SEPARATOR}{f.action.value}"}
            for f in fields
            if f.action is not None
        ],
    }
    return [picker, *_action_sets([_submit(label, {"action": PICK})])]


def _button(action: Action) -> Element:
    data = {"action": action.action_id, "ref": action.value}
    submit = _submit(action.label, data, _STYLES[action.style])
    if not action.confirm:
        return submit
    sure = dict(submit, title=f"Yes, {action.label.lower()}")
    return {
        "type": "Action.ShowCard",
        "title": action.label,
        "card": {
            "type": "AdaptiveCard",
            "body": [_text(action.confirm, weight="Bolder")],
            "actions": [sure],
        },
    }


# --- forms --------------------------------------------------------------------------------


def _form(form: Form) -> Element:
    prefix = form_prefix(form.form_id)
    body: list[Element] = [_text(form.title, weight="Bolder", size="Medium")]
    errors = [f for f in form.fields if f.error]
    if errors:
        listed = "; ".join(f.label for f in errors)
        body.append(_error(f"There is a problem with: {listed}. Correct it and send again."))
    for field in form.fields:
        body += _input(prefix, field)
    data = {
        "action": form.form_id,
        "ref": form.ref,
        "context": form.context,
        "prefix": prefix,
        "multi": [f.key for f in form.fields if f.kind == "multi"],
    }
    return _card(body, [_submit(form.submit_label, data, "positive")])


def _input(prefix: str, field: FormField) -> list[Element]:
    element: Element = {
        "id": f"{prefix}:{field.key}",
        "label": field.label,
        "isRequired": not field.optional,
        "errorMessage": "Please fill this in.",
    }
    element.update(_input_kind(field))
    hint = [_text(field.hint, isSubtle=True, size="Small", spacing="None")] if field.hint else []
    error = [_error(field.error)] if field.error else []
    return [*error, element, *hint]


def _input_kind(field: FormField) -> Element:
    value = ",".join(field.value) if isinstance(field.value, tuple) else field.value
    kind = field.kind
    if kind in {"choice", "multi"}:
        return {
            "type": "Input.ChoiceSet",
            "choices": _choices(field.choices),
            "isMultiSelect": kind == "multi",
            "style": "expanded" if kind == "multi" else "compact",
            "value": value,
        }
    if kind == "date" and (not value or _ISO_DATE.match(value)):
        return {"type": "Input.Date", "value": value}
    element: Element = {"type": "Input.Text", "value": value}
    if kind == "long_text":
        element["isMultiline"] = True
    if kind == "phone":
        element["style"] = "tel"
    return element
