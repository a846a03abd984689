"""A toy platform, added from this folder alone (issue 10): settings, an inbound endpoint, a
sender, and people known on it through the directory's ``identities``. No production file names
it; the test hands it to ``build_app`` beside the real platforms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from adapters.base import Address, Handle, Handler
from adapters.plugin import Installed, PlatformPlugin, Wiring
from flows.inbound import Inbound, InboundKind
from flows.messages import Card, Form, Message, Question, Text

NAME = "toy"
PATH = "/toy/events"


class ToySettings(BaseModel):
    """Its ``app.yaml`` section (under ``platforms.toy``)."""

    enabled: bool = True
    channel: str = "toy-spoc"


@dataclass
class ToySender:
    """Proactive delivery on the toy platform: it keeps what it was given."""

    platform: str = NAME
    sent: list[tuple[Address, Message]] = field(default_factory=list)
    updates: list[tuple[Handle, Message]] = field(default_factory=list)

    async def send(self, address: Address, message: Message) -> Handle:
        self.sent.append((address, message))
        return {"platform": NAME, "to": address.id, "n": len(self.sent)}

    async def update(self, handle: Handle, message: Message) -> None:
        self.updates.append((handle, message))

    def inbox(self, user: str) -> list[Message]:
        return [m for a, m in self.sent if a.kind == "user" and a.id == user]

    def channel(self) -> list[Message]:
        return [m for a, m in self.sent if a.kind == "channel"]


def to_json(message: Message) -> dict[str, Any]:
    """A reply as the toy platform shows it."""
    if isinstance(message, Question):
        return {"type": "question", "field": message.field, "text": message.prompt}
    if isinstance(message, Form):
        return {"type": "form", "id": message.form_id, "ref": message.ref, "ctx": message.context}
    if isinstance(message, Card):
        return {"type": "card", "title": message.title}
    assert isinstance(message, Text)
    return {"type": "text", "text": message.text}


def inbound(body: dict[str, Any]) -> Inbound:
    """A toy event: ``{user, tenant, id, text | action + value | form + ref + context}``."""
    kind: InboundKind = "form" if "form" in body else "action" if "action" in body else "text"
    return Inbound(
        platform=NAME,
        user_id=str(body["user"]),
        tenant=str(body.get("tenant", "")),
        conversation=f"dm:{body['user']}",
        kind=kind,
        text=str(body.get("text", "")),
        action=str(body.get("action", "")),
        value=str(body.get("value", "")),
        form=dict(body.get("form", {})),
        form_ref=str(body.get("ref", "")),
        form_context=str(body.get("context", "")),
        event_id=str(body["id"]),
    )


def endpoint(handler: Handler) -> Any:
    async def receive(request: web.Request) -> web.Response:
        replies = await handler.handle(inbound(await request.json()))
        return web.json_response([to_json(m) for m in replies])

    return receive


SENDER = web.AppKey("toy_sender", ToySender)


def install(wiring: Wiring, settings: ToySettings) -> Installed:
    sender = ToySender()
    wiring.app[SENDER] = sender
    wiring.app.router.add_post(PATH, endpoint(wiring.handler))
    return Installed(sender, settings.channel)


PLATFORM = PlatformPlugin(name=NAME, settings=ToySettings, install=install)
