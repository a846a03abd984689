"""Microsoft Teams wiring: Bot Framework activities at ``POST /api/messages`` ↔ the engine.

``install`` wires a botbuilder ``CloudAdapter`` into the shared aiohttp application and returns
the ``TeamsSender`` the engine delivers through. Authentication is on whenever
``teams.app_id`` is set. Without an app id (Bot Framework Emulator, local tests) the bot starts
only in development and only listening on loopback, and says so in a warning; anything else
raises ``TeamsConfigError`` at start-up.
"""

from __future__ import annotations

from types import SimpleNamespace

from aiohttp import web
from botbuilder.core import serializer_helper
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult
from structlog import get_logger

from adapters.base import AdapterConfigError, AddressBook, Handler, Hosting, NotStored
from adapters.http_answers import refusal, unexpected
from adapters.http_input import read_json
from adapters.network import is_loopback
from adapters.teams import activities
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

    async def messages(request: web.Request) -> web.Response:
        try:
            return await _answer(request, adapter, bot)
        except web.HTTPException:
            raise
        except NotStored:
            return web.json_response({"error": "not stored, send again"}, status=503)
        except Exception as error:
            return unexpected(log, "teams_request_failed", error)

    app.router.add_post(ROUTE, messages)
    return sender


async def _answer(request: web.Request, adapter: CloudAdapter, bot: TeamsBot) -> web.Response:
    """What ``CloudAdapter.process`` does, with every failure a short answer: 415 not JSON,
    413 too large, 400 not an activity oohbot can read (checked before authentication, so that
    botbuilder's token checks only ever see a well-formed activity), 401 not authenticated;
    then the turn: 201, or an invoke's own status."""
    try:
        activity = activities.read(await read_json(request))
    except activities.Unreadable as error:
        log.warning("teams_activity_unreadable", reason=str(error))
        return refusal(400, f"unreadable: {error}")
    auth = await _authenticate(adapter, activity, request.headers.get("Authorization", ""))
    if isinstance(auth, web.Response):
        return auth
    invoke = await adapter.process_activity(auth, activity, bot.on_turn)
    if invoke is None:
        return web.Response(status=201)
    return web.json_response(serializer_helper(invoke.body), status=invoke.status)


async def _authenticate(
    adapter: CloudAdapter, activity: Activity, header: str
) -> AuthenticateRequestResult | web.Response:
    """botbuilder's check of the token (any token it is given, even with authentication off),
    or the answer: 401, or 503 when Microsoft's signing keys cannot be fetched."""
    try:
        result: AuthenticateRequestResult = (
            await adapter.bot_framework_authentication.authenticate_request(activity, header)
        )
        return result
    except PermissionError as error:  # botbuilder's "not authorised" (an OSError too)
        return _rejected(error, header)
    except OSError as error:
        log.error("teams_auth_unavailable", error=type(error).__name__)
        return refusal(503, "cannot check the token now, send again")
    except Exception as error:  # jwt's and botbuilder's errors for what is not a token
        return _rejected(error, header)


def _rejected(error: Exception, header: str) -> web.Response:
    log.warning("teams_auth_rejected", error=type(error).__name__, token=bool(header))
    return refusal(401, "not authorised")


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
