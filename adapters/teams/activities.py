"""Bot Framework activities, checked before botbuilder or the bot reads them.

``read`` takes the parsed JSON of ``POST /api/messages`` and returns botbuilder's
``Activity``, or raises ``Unreadable`` (answer 400) naming the field, never its value. It
checks what every activity from the Bot Framework carries (a type, the service URL to answer
on, the channel, who sent it, to whom and in which conversation) and the types of the fields
``adapters.teams.inbound`` and ``references`` read. Then botbuilder's own deserialisation must
accept it (a timestamp that is no date, an entity that is no object). Nothing else in an
activity is looked at; a ``value`` may be anything (``inbound`` reads it defensively).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from botbuilder.schema import Activity, ActivityTypes
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flows.errors import InvalidInput

Id = Annotated[str, Field(min_length=1)]


class Unreadable(InvalidInput):
    """Not an activity oohbot can read; the message says why in a few words."""


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Account(_Shape):
    id: Id
    name: str | None = None
    aadObjectId: str | None = None


class _Conversation(_Shape):
    id: Id
    conversationType: str | None = None
    tenantId: str | None = None
    isGroup: bool | None = None


class _Ref(_Shape):
    id: str | None = None


class _ChannelData(_Shape):
    tenant: _Ref | None = None
    channel: _Ref | None = None


class _Activity(_Shape):
    type: Id
    id: str | None = None
    serviceUrl: Id
    channelId: Id
    from_: _Account = Field(alias="from")
    recipient: _Account
    conversation: _Conversation
    channelData: _ChannelData | None = None
    timestamp: str | None = None
    locale: str | None = None
    name: str | None = None


class _Message(_Activity):
    id: Id
    text: str | None = None
    entities: list[dict[str, Any]] | None = None


def read(body: Any) -> Activity:
    """The activity ``body`` describes; ``Unreadable`` if oohbot cannot read it."""
    if not isinstance(body, dict):
        raise Unreadable("the body is not a JSON object")
    model = _Message if body.get("type") == ActivityTypes.message else _Activity
    try:
        model.model_validate(body)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False, include_context=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise Unreadable(f"{where}: {first['msg'].lower()}") from None
    if not _is_http(body["serviceUrl"]):
        raise Unreadable("serviceUrl: an http(s) address is needed")
    try:
        activity: Activity = Activity().deserialize(body)
    except Exception:  # msrest's DeserializationError, and what it lets through from parsers
        raise Unreadable("not a Bot Framework activity") from None
    return activity


def _is_http(address: str) -> bool:
    try:
        url = urlsplit(address)
        return url.scheme in {"http", "https"} and bool(url.hostname)
    except ValueError:  # an unbalanced [ or a port that is not a number
        return False
