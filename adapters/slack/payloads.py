"""Slack request bodies, checked before Bolt or a listener reads them.

Slack sends three kinds of body to the one URL: Events API callbacks as JSON, interactions as
a form with a JSON ``payload``, and slash commands as a form. ``read`` parses a (signed) body
with the size and depth limits of ``adapters.http_input`` and says what to do with it:

- ``Payload(handled=True)``: something oohbot handles, with every field its listeners and
  Bolt read present and of the type Slack sends: hand it to Bolt;
- ``Payload(handled=False)``: well formed, but nothing oohbot handles (an event or interaction
  it does not subscribe to, a message that is no person's DM, the SSL check): acknowledge it,
  so that Slack does not deliver it again;
- ``Unreadable``: answer 400. Its message names the field (never its value).

The shapes below are what the listeners in ``adapters.slack.app`` and ``inbound`` read, and
what Bolt reads to route a request (``type``, ``event.type``, ``command``, the first action's
``action_id``, ``view.callback_id``, and ``team``/``user``/``channel``/``authorizations``/
``response_urls`` for its context). Anything else in a payload is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.http_input import BadJson, parse_json
from adapters.slack.inbound import TYPED_SUBTYPES
from flows.errors import InvalidInput

COMMAND = "/ooh"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
Body = dict[str, Any]
Id = Annotated[str, Field(min_length=1)]


class Unreadable(InvalidInput):
    """A signed body oohbot cannot read; the message says why in a few words."""


@dataclass(frozen=True)
class Payload:
    """A readable body: ``handled`` says whether oohbot acts on it or only acknowledges it."""

    body: Body
    handled: bool


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Id(_Shape):
    id: str | None = None


class _Bolt(_Shape):
    """What Bolt reads from any body to build its context."""

    enterprise: str | _Id | None = None
    team: str | _Id | None = None
    user: str | _Id | None = None
    channel: str | _Id | None = None
    event: dict[str, Any] | None = None
    authorizations: list[dict[str, Any]] | None = None
    response_url: str | None = None
    response_urls: list[dict[str, Any]] | None = None


# --- Events API ------------------------------------------------------------------------------


class _UrlVerification(_Bolt):
    type: Literal["url_verification"]
    challenge: str


class _Event(_Shape):
    type: Id


class _Authorization(_Shape):
    team_id: str | None = None
    enterprise_id: str | None = None
    user_id: str | None = None


class _Callback(_Bolt):
    type: Literal["event_callback"]
    event_id: Id
    team_id: str
    event: dict[str, Any]
    authorizations: list[_Authorization] | None = None  # type: ignore[assignment]


class _Message(_Event):
    user: str | None = None
    channel: str | None = None
    channel_type: str | None = None
    subtype: str | None = None
    bot_id: str | None = None
    text: str | None = None
    team: str | None = None


class _PersonDm(_Message):
    user: Id
    channel: Id


class _Mention(_Event):
    user: Id
    channel: Id
    text: str | None = None
    team: str | None = None


class _HomeOpened(_Event):
    user: Id
    tab: str | None = None


EVENTS: dict[str, type[_Event]] = {
    "message": _Message,
    "app_mention": _Mention,
    "app_home_opened": _HomeOpened,
}


# --- interactivity -----------------------------------------------------------------------


class _User(_Id):
    id: Id
    team_id: str | None = None


class _Option(_Shape):
    value: str


class _Element(_Shape):
    type: Id
    value: str | None = None
    selected_options: list[_Option] | None = None
    selected_option: _Option | None = None
    selected_date: str | None = None


class _State(_Shape):
    values: dict[str, dict[str, _Element]] | None = None


class _Interaction(_Bolt):
    user: _User
    trigger_id: Id


class _Action(_Shape):
    type: Id
    action_id: Id
    value: str | None = None
    action_ts: str | None = None


class _Container(_Shape):
    channel_id: str | None = None


class _BlockActions(_Interaction):
    type: Literal["block_actions"]
    actions: Annotated[list[_Action], Field(min_length=1)]
    channel: _Id | None = None
    container: _Container | None = None
    state: _State | None = None


class _Title(_Shape):
    text: str | None = None


class _View(_Shape):
    id: str | None = None
    callback_id: Id
    private_metadata: str | None = None
    title: _Title | None = None
    state: _State | None = None


class _ResponseUrl(_Shape):
    response_url: str | None = None


class _ViewSubmission(_Interaction):
    type: Literal["view_submission"]
    view: _View
    response_urls: list[_ResponseUrl] | None = None  # type: ignore[assignment]


INTERACTIONS: dict[str, type[_Interaction]] = {
    "block_actions": _BlockActions,
    "view_submission": _ViewSubmission,
}


class _Command(_Bolt):
    command: Id
    user_id: Id
    team_id: Id
    channel_id: Id
    trigger_id: Id
    text: str | None = None


# --- reading -------------------------------------------------------------------------------


def read(raw: bytes, content_type: str) -> Payload:
    """What a signed body of ``content_type`` (JSON or a form) asks for; ``Unreadable`` if it
    cannot be read."""
    if content_type == JSON:
        return _callback(_object(raw, "the body"))
    try:
        form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise Unreadable("the form is not UTF-8") from None
    if "payload" in form:
        return _interaction(_object(form["payload"], "the payload"))
    if "command" in form:
        return _command(form)
    if "ssl_check" in form:
        return Payload(dict(form), handled=False)
    raise Unreadable("a form with no payload and no command")


def _object(raw: bytes | str, what: str) -> Body:
    try:
        body = parse_json(raw)
    except BadJson as error:
        raise Unreadable(f"{what} is {error}") from None
    if not isinstance(body, dict):
        raise Unreadable(f"{what} is not a JSON object")
    return body


def _callback(body: Body) -> Payload:
    kind = _type(body)
    if kind == "url_verification":
        return _checked(_UrlVerification, body)
    if kind != "event_callback":
        return Payload(body, handled=False)
    _check(_Callback, body)
    event: Body = body["event"]
    model = EVENTS.get(_type(event, "event.type"))
    if model is None:
        return Payload(body, handled=False)
    _check(model, event, "event.")
    if model is _Message:
        if not is_typed_dm(event):
            return Payload(body, handled=False)
        _check(_PersonDm, event, "event.")
    if model is _HomeOpened and event.get("tab") != "home":
        return Payload(body, handled=False)  # the Messages or About tab
    return Payload(body, handled=True)


def is_typed_dm(event: Body) -> bool:
    """A message a person typed in a DM with the bot (not a bot's, an edit or a deletion)."""
    return (
        event.get("channel_type") == "im"
        and not event.get("bot_id")
        and (event.get("subtype") or "") in TYPED_SUBTYPES
    )


def _interaction(body: Body) -> Payload:
    model = INTERACTIONS.get(_type(body))
    if model is None:
        return Payload(body, handled=False)
    _check(model, body)
    if model is _ViewSubmission:
        metadata = body["view"].get("private_metadata") or ""
        if metadata:
            _object(metadata, "view.private_metadata")
    return Payload(body, handled=True)


def _command(form: dict[str, str]) -> Payload:
    if form["command"] and form["command"] != COMMAND:
        return Payload(dict(form), handled=False)
    return _checked(_Command, dict(form))


def _type(body: Body, where: str = "type") -> str:
    kind = body.get("type")
    if not isinstance(kind, str) or not kind:
        raise Unreadable(f"{where}: a string is needed")
    return kind


def _checked(model: type[_Shape], body: Body) -> Payload:
    _check(model, body)
    return Payload(body, handled=True)


def _check(model: type[_Shape], data: Body, prefix: str = "") -> None:
    try:
        model.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False, include_context=False)[0]
        where = prefix + ".".join(str(part) for part in first["loc"])
        raise Unreadable(f"{where}: {first['msg'].lower()}") from None
