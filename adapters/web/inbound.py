"""A browser's JSON request → ``flows.inbound.Inbound`` (web: user id = officer id, no tenant).

The page posts ``{officer, id, where, kind, text | action+value | form+form_ref+form_context,
label, entry}``. ``id`` (optional) is the page's id of the event: sent again after a dropped
connection, the event is handled once. ``where`` is the part of the page the event came from:
``chat``, ``channel`` (a click on a channel card: ``in_channel``), ``status`` or ``timeline``.
``label`` is what the officer clicked, echoed in their own chat so a reloaded page reads like
the conversation it was. ``entry`` is the id of the inbox entry a submitted form came from, so
that the form is updated where it is (its errors, or closed once sent) instead of posted again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from flows.errors import InvalidInput
from flows.inbound import Inbound, InboundKind

Where = Literal["chat", "channel", "status", "timeline"]
MAX_TEXT = 4000
MAX_FIELDS = 100
MAX_ID = 64
ID = re.compile(r"[A-Za-z0-9-]+")


class BadEvent(InvalidInput):
    """The request is not a well-formed console event."""


@dataclass(frozen=True)
class BrowserEvent:
    """One console event: who, from which part of the page, what to echo, and the Inbound."""

    officer: str
    where: Where
    echo: str
    inbound: Inbound
    entry: str = ""


def parse_event(body: Any) -> BrowserEvent:
    """Validate the posted JSON; raise ``BadEvent`` saying what is wrong."""
    if not isinstance(body, Mapping):
        raise BadEvent("send a JSON object")
    officer = _text(body, "officer", required=True)
    where = _choice(body, "where", get_args(Where), "chat")
    kind = cast(InboundKind, _choice(body, "kind", get_args(InboundKind), ""))
    inbound = Inbound(
        platform="web",
        user_id=officer,
        tenant="",
        conversation=f"web:{'channel' if where == 'channel' else officer}",
        kind=kind,
        text=_text(body, "text"),
        action=_text(body, "action", required=kind != "text"),
        value=_text(body, "value"),
        form=_form(body.get("form", {})) if kind == "form" else {},
        form_ref=_text(body, "form_ref"),
        form_context=_text(body, "form_context"),
        in_channel=where == "channel",
        event_id=_event_id(body),
    )
    entry = _text(body, "entry") if kind == "form" else ""
    return BrowserEvent(officer, cast(Where, where), _echo(inbound, body), inbound, entry)


def _event_id(body: Mapping[str, Any]) -> str:
    """The page's id for this event (sent again after a dropped connection, handled once)."""
    value = body.get("id", "")
    if not isinstance(value, str) or len(value) > MAX_ID or not ID.fullmatch(value or "x"):
        raise BadEvent(f"id: up to {MAX_ID} letters, digits and dashes")
    return value


def _echo(inbound: Inbound, body: Mapping[str, Any]) -> str:
    if inbound.kind == "text":
        return inbound.text
    return _text(body, "label") or inbound.action


def _text(body: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise BadEvent(f"{key}: a string of at most {MAX_TEXT} characters")
    if required and not value.strip():
        raise BadEvent(f"{key}: required")
    return value


def _choice(body: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = body.get(key, default)
    if value not in allowed:
        raise BadEvent(f"{key}: one of {', '.join(allowed)}")
    return str(value)


def _form(raw: Any) -> dict[str, str | list[str]]:
    if not isinstance(raw, Mapping) or len(raw) > MAX_FIELDS:
        raise BadEvent(f"form: an object of at most {MAX_FIELDS} fields")
    return {str(key): _form_value(key, value) for key, value in raw.items()}


def _form_value(key: Any, value: Any) -> str | list[str]:
    if isinstance(value, str) and len(value) <= MAX_TEXT:
        return value
    if isinstance(value, list) and all(isinstance(v, str) and len(v) <= MAX_TEXT for v in value):
        return [str(v) for v in value]
    raise BadEvent(f"form.{key}: a string or a list of strings")
