"""The console's HTTP surface: the page, its assets, a JSON API and a server-sent event stream.

| route | what |
|---|---|
| ``GET /`` | the page (``/?token=…`` sets the auth cookie when ``web.auth_token`` is set) |
| ``GET /web/app.js``, ``/web/app.css`` | the page's script and style (no CDN) |
| ``GET /web/api/config`` | the identity picker's officers; the clock: on or not, the time it says |
| ``GET /web/api/events?officer=<id>`` | SSE: ``snapshot`` (inbox + channel), ``entry``, ``clock`` |
| ``GET /web/api/home?officer=<id>`` | the status view: ``handler.home("web", id, "")`` |
| ``POST /web/api/event`` | a typed message, click or form → ``Inbound`` → ``handler.handle`` |

A submitted form is updated where it is (shown again with its errors, or closed once sent),
never posted again.
| ``POST /web/api/clock`` | development only: ``{"hours": n}`` → ``advance(timedelta(hours=n))`` |

Bad input gets a short 4xx and changes nothing: 400 malformed (bad JSON, too deep, wrong
fields), 401 no token, 403 not loopback or cross-site (no or another ``Origin``), 404 unknown
officer or path, 405 wrong method, 413 body over ``MAX_BODY`` bytes, 415 not JSON, 429 more
than ``MAX_STREAMS`` live event streams for one officer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from structlog import get_logger

from adapters.base import Handler, Hosting, NotStored, Receipt
from adapters.http_input import read_json
from adapters.web.guard import Guard
from adapters.web.inbound import BadEvent, BrowserEvent, parse_event
from adapters.web.render import JSON, to_json
from adapters.web.sender import CHANNEL_BOX, Entry, Subscription, WebSender
from flows.directory import Directory, Officer
from flows.errors import new_error_id, sorry
from flows.messages import Card, Form, Message, Text
from flows.visibility import sees_spoc_channel

log = get_logger(component="web")
STATIC = Path(__file__).parent / "static"
ASSETS = {"app.js": "application/javascript", "app.css": "text/css"}
KEEPALIVE_SECONDS = 15.0
MAX_HOURS = 24 * 30
MAX_BODY = 256 * 1024
MAX_STREAMS = 5
"""Live event streams (tabs) per officer; each holds a queue of up to 256 events."""
Advance = Callable[[timedelta], Awaitable[None]]
Now = Callable[[], datetime]
NOT_SAVED = (
    "I could not save that just now. Wait a minute, then type status to see whether it was "
    "taken before you send it again."
)
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Console:
    """The web console's routes, bound to the engine, the sender and the directory."""

    def __init__(
        self,
        *,
        handler: Handler,
        sender: WebSender,
        directory: Directory,
        service: Hosting,
        guard: Guard,
        advance: Advance | None,
        now: Now | None = None,
        zone: ZoneInfo | None = None,
    ) -> None:
        self._handler = handler
        self._sender = sender
        self._directory = directory
        self._service = service
        self._guard = guard
        self._advance = advance
        self._now = now
        self._zone = zone or ZoneInfo("Europe/London")
        self._offset = timedelta()
        self._streams: Counter[str] = Counter()

    def register(self, app: web.Application) -> None:
        """Add the routes (the clock route only when a clock callback was given)."""
        guarded = self._guard
        app.router.add_get("/", self.index)
        app.router.add_get("/web/{asset}", guarded(self.asset))
        app.router.add_get("/web/api/config", guarded(self.config))
        app.router.add_get("/web/api/events", guarded(self.events))
        app.router.add_get("/web/api/home", guarded(self.home))
        app.router.add_post("/web/api/event", guarded(self.event))
        if self._advance is not None:
            app.router.add_post("/web/api/clock", guarded(self.clock))
        app.on_shutdown.append(self._close_streams)

    async def index(self, request: web.Request) -> web.StreamResponse:
        self._guard.login(request)
        self._guard.check(request)
        return web.FileResponse(STATIC / "index.html", headers=HEADERS)

    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["asset"]
        if name not in ASSETS:
            raise web.HTTPNotFound()
        body = (STATIC / name).read_bytes()
        return web.Response(body=body, content_type=ASSETS[name], headers=HEADERS)

    async def config(self, _: web.Request) -> web.Response:
        officers = [_officer_json(o) for o in self._directory.officers]
        return _json(
            {
                "officers": officers,
                "clock": self._clock_json(),
                "environment": self._service.environment,
            }
        )

    async def events(self, request: web.Request) -> web.StreamResponse:
        officer = self._officer(request.query.get("officer", ""))
        if self._streams[officer.id] >= MAX_STREAMS:
            raise web.HTTPTooManyRequests(
                text=f"At most {MAX_STREAMS} live views per officer: close another tab."
            )
        self._streams[officer.id] += 1
        subscription = self._sender.subscribe(officer.id, channel=sees_spoc_channel(officer))
        try:
            return await self._stream(request, officer, subscription)
        finally:
            self._sender.unsubscribe(subscription)
            self._streams[officer.id] -= 1
            if not self._streams[officer.id]:
                del self._streams[officer.id]

    async def home(self, request: web.Request) -> web.Response:
        officer = self._officer(request.query.get("officer", ""))
        messages = await self._handler.home("web", officer.id, "")
        return _json({"messages": [to_json(m) for m in messages]})

    async def event(self, request: web.Request) -> web.Response:
        try:
            parsed = parse_event(await _body(request))
        except BadEvent as error:
            return _json({"error": str(error)}, status=400)
        self._officer(parsed.officer)
        try:
            return await self._event(parsed)
        except NotStored:
            # Refused like Slack and Teams are: the page sends it again under the same id, so
            # it is handled once, even if the store took it before the connection dropped.
            return _json({"error": NOT_SAVED}, status=503)

    async def _event(self, parsed: BrowserEvent) -> web.Response:
        if parsed.where == "timeline":
            receipt = await self._handler.receive(parsed.inbound)
            replies = await self._answer(receipt)
            await self._shown(receipt)
            return _json({"messages": [to_json(m) for m in replies]})
        try:
            await self._sender.load(parsed.officer)
        except Exception as error:  # the store is away: refused before anything was taken
            raise NotStored(type(error).__name__) from error
        sent_from = self._sender.find(parsed.officer, parsed.entry) if parsed.entry else None
        receipt = await self._handler.receive(parsed.inbound)
        if sent_from is not None and isinstance(sent_from.message, Form):
            entries = await self._form(receipt, sent_from)
        else:
            self._echo(parsed)
            entries = [self._sender.post(parsed.officer, m) for m in await self._answer(receipt)]
            await self._shown(receipt)
        return _json({"entries": [e.to_json() for e in entries]})

    def _echo(self, parsed: BrowserEvent) -> None:
        """What the person sent, in their chat (pushed live): once, however often the page
        sent it."""
        event_id = parsed.inbound.event_id
        entry_id = f"me-{event_id}" if event_id else ""  # no id: every sending is new
        if parsed.echo and not (entry_id and self._sender.find(parsed.officer, entry_id)):
            self._sender.post(parsed.officer, Text(parsed.echo), "me", entry_id)

    async def clock(self, request: web.Request) -> web.Response:
        hours = (await _body(request)).get("hours")
        if isinstance(hours, bool) or not isinstance(hours, int | float):
            return _json({"error": "hours: a number"}, status=400)
        if self._advance is None or not 0 < hours <= MAX_HOURS:
            return _json({"error": f"hours: more than 0, at most {MAX_HOURS}"}, status=400)
        delta = timedelta(hours=hours)
        await self._advance(delta)
        self._offset += delta
        self._sender.broadcast("clock", self._clock_json())
        return _json(self._clock_json())

    async def _form(self, receipt: Receipt | None, sent_from: Entry) -> list[Entry]:
        """A submitted form stays where it is: shown again with its errors, or closed."""
        replies = await self._answer(receipt)
        assert isinstance(sent_from.message, Form)
        again = next((m for m in replies if _same_form(m, sent_from.message)), None)
        shown = again or _closed(sent_from)
        entries = [self._sender.replace(sent_from, shown)]
        entries += [self._sender.post(sent_from.box, m) for m in replies if m is not again]
        await self._shown(receipt)
        return entries

    async def _answer(self, receipt: Receipt | None) -> list[Message]:
        """A received event through the engine, behind the platform's outermost error
        handler (a short message with an error id)."""
        if receipt is None:
            return []
        try:
            return await self._handler.process(receipt)
        except Exception as error:
            error_id = new_error_id()
            log.error("web_event_failed", error_id=error_id, error=type(error).__name__)
            return [Text(sorry(error_id))]

    async def _shown(self, receipt: Receipt | None) -> None:
        """The replies are in their boxes, pushed to the page: the engine may forget them.
        Should the store not take the boxes now, the next write takes them."""
        try:
            await self._sender.flush()
        except Exception as error:
            log.warning("web_boxes_not_saved", error=type(error).__name__)
        if receipt is not None:
            await self._handler.delivered(receipt)

    async def _stream(
        self, request: web.Request, officer: Officer, subscription: Subscription
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={**HEADERS, "Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
        )
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):
            await self._sender.load(officer.id)
            if sees_spoc_channel(officer):
                await self._sender.load(CHANNEL_BOX)
            await _write(response, "snapshot", self._snapshot(officer))
            while (event := await _next(subscription, response)) is not None:
                await _write(response, *event)
        return response

    def _snapshot(self, officer: Officer) -> JSON:
        member = sees_spoc_channel(officer)
        return {
            "officer": officer.id,
            "inbox": [e.to_json() for e in self._sender.entries(officer.id)],
            "channel": [e.to_json() for e in self._sender.entries(CHANNEL_BOX)] if member else [],
            "channel_member": member,
            "clock": self._clock_json(),
        }

    def _clock_json(self) -> JSON:
        """Whether the clock control is on, how far ahead it is, and the time it makes it
        (what every deadline in the console is measured against)."""
        now = self._now() if self._now is not None else None
        return {
            "enabled": self._advance is not None,
            "offset_seconds": self._offset.total_seconds(),
            "now": now.isoformat() if now else None,
            "timezone": self._zone.key,
        }

    def _officer(self, officer_id: str) -> Officer:
        officer = self._directory.officer(officer_id)
        if officer is None:
            raise web.HTTPNotFound(text="No such officer in the directory.")
        return officer

    async def _close_streams(self, _: web.Application) -> None:
        self._sender.close_all()


def _same_form(message: Message, form: Form) -> bool:
    return isinstance(message, Form) and message.form_id == form.form_id and message.ref == form.ref


def _closed(entry: Entry) -> Card:
    """What a sent form becomes: its title and that it was sent, with nothing left to press
    (the Ask form stayed live and sent the question twice)."""
    assert isinstance(entry.message, Form)
    return Card(
        card_id=f"sent:{entry.id}", title=entry.message.title, status="Sent. This form is closed."
    )


def _officer_json(officer: Officer) -> JSON:
    return {
        "id": officer.id,
        "name": officer.name,
        "post": officer.post,
        "org": officer.org,
        "roles": list(officer.roles),
        "valid_until": officer.valid_until.isoformat() if officer.valid_until else None,
    }


async def _next(
    subscription: Subscription, response: web.StreamResponse
) -> tuple[str, JSON] | None:
    """The next event, writing an SSE comment every so often so dead connections surface."""
    while True:
        try:
            return await asyncio.wait_for(subscription.queue.get(), KEEPALIVE_SECONDS)
        except TimeoutError:
            await response.write(b": keepalive\n\n")


async def _write(response: web.StreamResponse, name: str, data: JSON) -> None:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    await response.write(f"event: {name}\ndata: {payload}\n\n".encode())


async def _body(request: web.Request) -> dict[str, Any]:
    body = await read_json(request, max_bytes=MAX_BODY)
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="Send a JSON object.")
    return body


def _json(data: JSON, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers=HEADERS)
