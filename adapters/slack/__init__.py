"""Slack: Events API, interactivity and ``/ooh`` on ``POST /slack/events`` (or Socket Mode).

``install`` is what the composition root calls; it returns the ``Sender`` the engine uses for
proactive messages. Requests are verified against the signing secret and their bodies checked
(``payloads``) before Bolt sees them; a failed check logs no part of the request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import aiohttp
from aiohttp import web
from multidict import CIMultiDictProxy
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.base import AddressBook, Handler
from adapters.http_answers import refusal, unexpected
from adapters.slack import payloads
from adapters.slack.app import Listeners, bolt_app
from adapters.slack.sender import SlackSender, log, web_client
from adapters.slack.settings import SlackSettings
from adapters.slack.socket_mode import SocketModeRunner

PATH = "/slack/events"
BOLT = web.AppKey("slack_bolt", AsyncApp)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
MAX_AGE = 5 * 60
"""Seconds a signed request stays valid (Slack's advice against replays)."""

__all__ = ["PATH", "SlackSender", "SocketModeRunner", "install", "socket_mode_runner"]


def install(
    app: web.Application, handler: Handler, settings: SlackSettings, store: AddressBook
) -> SlackSender:
    """Register ``POST /slack/events`` on ``app``; return the Slack ``Sender``.

    When ``settings.app_token`` is set the same Bolt app is also connected over Socket Mode
    while ``app`` runs, so the composition root needs nothing more."""
    sender = SlackSender(web_client(settings.bot_token, settings.api_url), store)
    listeners = Listeners(handler, sender)
    bolt = bolt_app(handler, sender, settings.signing_secret, listeners)
    app[BOLT] = bolt
    app.on_shutdown.append(lambda _: listeners.finish())
    app.router.add_post(PATH, endpoint(bolt, settings.signing_secret))
    app.cleanup_ctx.append(_shared_session(sender.client))
    if settings.app_token:
        app.cleanup_ctx.append(_socket_mode_context(bolt, settings.app_token))
    return sender


def socket_mode_runner(
    handler: Handler, settings: SlackSettings, store: AddressBook
) -> SocketModeRunner:
    """A Socket Mode connection of its own (``await start()`` … ``await close()``), for running
    without the HTTP application."""
    sender = SlackSender(web_client(settings.bot_token, settings.api_url), store)
    return SocketModeRunner(bolt_app(handler, sender, settings.signing_secret), settings.app_token)


def endpoint(
    bolt: AsyncApp, signing_secret: str
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler: verify the signature, read the body, then let Bolt dispatch.

    Every answer is short: 401 unsigned, stale or wrongly signed; 413 over the application's
    body limit; 415 neither JSON nor a form; 400 a signed body that cannot be read; 200 for
    a well-formed request oohbot does not handle (so Slack does not retry it). Bolt answers
    the rest: 200 once the event is stored (handled, or in the inbox), 500 when the store
    cannot take it (so Slack sends it again). Anything unforeseen is logged with an error id
    and answered 500 with that id."""

    async def handle(request: web.Request) -> web.Response:
        try:
            return await _handle(request)
        except web.HTTPException:
            raise
        except Exception as error:
            return unexpected(log, "slack_request_failed", error)

    async def _handle(request: web.Request) -> web.Response:
        raw = await request.read()
        if not _signed(signing_secret, raw, request.headers, time.time()):
            log.warning("slack_signature_rejected", signed="X-Slack-Signature" in request.headers)
            return refusal(401, "invalid request")
        if request.content_type not in {payloads.JSON, payloads.FORM}:
            return refusal(415, "Slack sends JSON or a form")
        try:
            payload = payloads.read(raw, request.content_type)
            if not payload.handled:
                return web.Response(status=200)
            bolt_request = _bolt_request(payload, request)
        except payloads.Unreadable as error:
            log.warning("slack_payload_unreadable", reason=str(error))
            return refusal(400, f"unreadable: {error}")
        if "X-Slack-Retry-Num" in request.headers:
            log.info(
                "slack_retry",
                attempt=request.headers["X-Slack-Retry-Num"],
                reason=request.headers.get("X-Slack-Retry-Reason", ""),
            )
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    return handle


def _shared_session(
    client: AsyncWebClient,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """One HTTP session (and its kept-alive connections) for every Web API call while the
    application runs, instead of a new connection and TLS handshake per message."""

    async def context(_: web.Application) -> AsyncIterator[None]:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        client.session = session
        try:
            yield
        finally:
            client.session = None
            await session.close()

    return context


def _signed(secret: str, raw: bytes, headers: CIMultiDictProxy[str], now: float) -> bool:
    """Slack's request signature: ``v0=`` HMAC-SHA256 of ``v0:<timestamp>:<raw body>`` with
    the signing secret, the timestamp within five minutes. (slack_sdk's ``SignatureVerifier``
    raises on a timestamp that is not a number and on a body that is not UTF-8.)"""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not secret or not _TIMESTAMP.fullmatch(timestamp):
        return False
    if abs(now - int(timestamp)) > MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _bolt_request(payload: payloads.Payload, request: web.Request) -> AsyncBoltRequest:
    """Bolt's request for a checked body. Bolt is handed the parsed body, as Socket Mode hands
    it (``mode``), because it would parse a string body again by rules of its own (any body
    starting with ``{`` as JSON, without a depth limit). Bolt's ``x-slack-bolt-*`` control
    headers are not taken from outside."""
    headers: dict[str, str | Sequence[str]] = {
        name.lower(): list(request.headers.getall(name))
        for name in request.headers
        if not name.lower().startswith("x-slack-bolt-")
    }
    try:
        return AsyncBoltRequest(body=payload.body, headers=headers, mode="socket_mode")
    except Exception as error:  # Bolt builds its context from fields of any type
        raise payloads.Unreadable(f"Bolt cannot read it ({type(error).__name__})") from None


def _socket_mode_context(
    bolt: AsyncApp, app_token: str
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(_: web.Application) -> AsyncIterator[None]:
        runner = SocketModeRunner(bolt, app_token)
        await runner.start()
        yield
        await runner.close()

    return context
