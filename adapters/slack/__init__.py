"""Slack: Events API, interactivity and ``/ooh`` on ``POST /slack/events`` (or Socket Mode).

``install`` is what the composition root calls; it returns the ``Sender`` the engine uses for
proactive messages. Requests are verified against the signing secret before Bolt sees them,
and a failed check logs no part of the request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.base import AddressBook, Handler
from adapters.slack.app import bolt_app
from adapters.slack.sender import SlackSender, log, web_client
from adapters.slack.settings import SlackSettings
from adapters.slack.socket_mode import SocketModeRunner

PATH = "/slack/events"
BOLT = web.AppKey("slack_bolt", AsyncApp)

__all__ = ["PATH", "SlackSender", "SocketModeRunner", "install", "socket_mode_runner"]


def install(
    app: web.Application, handler: Handler, settings: SlackSettings, store: AddressBook
) -> SlackSender:
    """Register ``POST /slack/events`` on ``app``; return the Slack ``Sender``.

    When ``settings.app_token`` is set the same Bolt app is also connected over Socket Mode
    while ``app`` runs, so the composition root needs nothing more."""
    sender = SlackSender(web_client(settings.bot_token, settings.api_url), store)
    bolt = bolt_app(handler, sender, settings.signing_secret)
    app[BOLT] = bolt
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
    """The aiohttp handler: verify the signature, then let Bolt dispatch."""
    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    async def handle(request: web.Request) -> web.Response:
        raw = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if verifier is None or not verifier.is_valid(raw, timestamp, signature):
            log.warning("slack_signature_rejected", signed=bool(signature))
            return web.json_response({"error": "invalid request"}, status=401)
        if "X-Slack-Retry-Num" in request.headers:
            log.info(
                "slack_retry",
                attempt=request.headers["X-Slack-Retry-Num"],
                reason=request.headers.get("X-Slack-Retry-Reason", ""),
            )
        bolt_request = AsyncBoltRequest(
            body=raw.decode("utf-8"),
            query=request.query_string,
            headers={k.lower(): list(request.headers.getall(k)) for k in request.headers},
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


def _socket_mode_context(
    bolt: AsyncApp, app_token: str
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(_: web.Application) -> AsyncIterator[None]:
        runner = SocketModeRunner(bolt, app_token)
        await runner.start()
        yield
        await runner.close()

    return context
