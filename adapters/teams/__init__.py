"""Microsoft Teams: Bot Framework activities at ``POST /api/messages`` ↔ the engine.

``install`` wires a botbuilder ``CloudAdapter`` into the shared aiohttp application and returns
the ``TeamsSender`` the engine delivers through. Authentication is on whenever
``teams.app_id`` is set. Without an app id (Bot Framework Emulator, local tests) the bot starts
only in development and only listening on loopback, and says so in a warning; anything else
raises ``TeamsConfigError`` at start-up.
"""

from __future__ import annotations

from types import SimpleNamespace

from aiohttp import web
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from structlog import get_logger

from adapters.base import AdapterConfigError, AddressBook, Handler, Hosting, NotStored
from adapters.network import is_loopback
from adapters.teams.bot import TeamsBot
from adapters.teams.references import References
from adapters.teams.retry import Backoff
from adapters.teams.sender import TeamsSender
from adapters.teams.settings import TeamsSettings

log = get_logger(component="teams")
ROUTE = "/api/messages"

__all__ = ["ROUTE", "TeamsConfigError", "TeamsSender", "install"]


class TeamsConfigError(AdapterConfigError):
    """Teams cannot start safely with this configuration."""


def install(
    app: web.Application,
    handler: Handler,
    settings: TeamsSettings,
    service: Hosting,
    store: AddressBook,
    *,
    backoff: Backoff | None = None,
) -> TeamsSender:
    """Register ``POST /api/messages``; return the proactive sender for the engine."""
    check_auth(settings, service)
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(_auth_config(settings)))
    references = References(store)
    sender = TeamsSender(adapter, references, app_id=settings.app_id, backoff=backoff)
    bot = TeamsBot(handler, references, sender)

    async def messages(request: web.Request) -> web.StreamResponse:
        if "application/json" not in request.headers.get("Content-Type", ""):
            raise web.HTTPUnsupportedMediaType()
        try:
            response: web.StreamResponse | None = await adapter.process(request, bot)
        except NotStored:
            return web.json_response({"error": "not stored, send again"}, status=503)
        return response or web.Response(status=201)

    app.router.add_post(ROUTE, messages)
    return sender


def check_auth(settings: TeamsSettings, service: Hosting) -> None:
    """Refuse to run unauthenticated anywhere but a developer's own machine."""
    if settings.app_id:
        return
    if service.environment == "production":
        raise TeamsConfigError(
            "teams.app_id is empty in production: Bot Framework authentication would be off. "
            "Set teams.app_id and teams.app_password (TEAMS_APP_ID / TEAMS_APP_PASSWORD)."
        )
    if not is_loopback(service.listen.host):
        raise TeamsConfigError(
            f"teams.app_id is empty and service.listen.host is {service.listen.host!r}: "
            "unauthenticated Teams is only allowed on 127.0.0.1 / ::1 / localhost. "
            "Set teams.app_id or listen on loopback."
        )
    log.warning(
        "teams_auth_disabled",
        message="TEAMS AUTHENTICATION IS OFF: teams.app_id is empty. Anyone who can reach "
        f"{ROUTE} on this machine can act as any user. Development only.",
    )


def _auth_config(settings: TeamsSettings) -> SimpleNamespace:
    """The attribute bag botbuilder's configuration classes read."""
    return SimpleNamespace(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.app_password,
        APP_TYPE="SingleTenant" if settings.tenant_id and settings.app_id else "MultiTenant",
        APP_TENANTID=settings.tenant_id,
    )
