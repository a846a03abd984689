"""Messages and inbound events as JSON-able documents, for the inbox and the outbox.

The store keeps what an event said and what the bot will say (sealed, since both can carry
personal data) between the commit that decided it and the delivery that carries it out; these
are the documents it keeps. ``decode_message(encode_message(m)) == m`` for every message.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from flows.inbound import Inbound
from flows.messages import Card, Form, Message, Question, Text

_KINDS: dict[str, type[Any]] = {"text": Text, "question": Question, "card": Card, "form": Form}
_NAMES = {cls: name for name, cls in _KINDS.items()}
_ADAPTERS: dict[str, TypeAdapter[Any]] = {name: TypeAdapter(cls) for name, cls in _KINDS.items()}
_INBOUND: TypeAdapter[Inbound] = TypeAdapter(Inbound)


def encode_message(message: Message) -> dict[str, Any]:
    """``{"kind": …, **fields}`` (the fields as ``dataclasses.asdict`` gives them, by
    pydantic's serializer, which is several times faster)."""
    name = _NAMES[type(message)]
    fields: dict[str, Any] = _ADAPTERS[name].dump_python(message)
    return {"kind": name, **fields}


def decode_message(document: dict[str, Any]) -> Message:
    """Inverse of ``encode_message``; ``ValueError`` for a document that is not a message."""
    fields = dict(document)
    adapter = _ADAPTERS.get(str(fields.pop("kind", "")))
    if adapter is None:
        raise ValueError("not a message document")
    message: Message = adapter.validate_python(fields)
    return message


def encode_inbound(inbound: Inbound) -> dict[str, Any]:
    """An inbound event as a document (its form values included)."""
    document: dict[str, Any] = _INBOUND.dump_python(inbound, mode="json")
    return document


def decode_inbound(document: dict[str, Any]) -> Inbound:
    """Inverse of ``encode_inbound``."""
    return _INBOUND.validate_python(document)
