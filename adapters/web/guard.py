"""Who may reach the web console at all (not what they may do: that is the engine's).

The identity picker lets anyone be anyone, so the console only listens on loopback unless
``web.auth_token`` is set; with a token every console request must carry it (``Authorization:
Bearer <token>``, or the cookie set by opening ``/?token=<token>`` once). Without a token the
``Host`` header must name a loopback address too, which defeats DNS rebinding; writes must be
JSON and carry an ``Origin`` naming the console's own host, which defeats cross-site posts
(browsers always send ``Origin`` on a POST; scripts must add it). The cookie is ``Secure``
when the page was served over HTTPS: directly, or behind a proxy that says so with
``X-Forwarded-Proto: https``.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from yarl import URL

from adapters.base import AdapterConfigError, Hosting
from adapters.network import is_loopback
from adapters.web.settings import WebSettings

COOKIE = "oohbot_web"
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebConsoleRefused(AdapterConfigError):
    """The web console cannot start safely with this configuration (the CLI prints it and
    exits 2, like any other configuration error)."""


def check_listen(settings: WebSettings, service: Hosting) -> None:
    """Refuse a non-loopback listen address unless a token protects the console."""
    if settings.auth_token or is_loopback(service.listen.host):
        return
    raise WebConsoleRefused(
        f"web.enabled is true and service.listen.host is {service.listen.host!r}: the web "
        "console lets anyone pick any identity, so it only listens on 127.0.0.1 / ::1 / "
        "localhost. Listen on loopback, set web.auth_token (OOHBOT_WEB_TOKEN), or set "
        "web.enabled: false."
    )


class Guard:
    """Wraps each console route with the checks above."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, route: Route) -> Route:
        async def guarded(request: web.Request) -> web.StreamResponse:
            self.check(request)
            return await route(request)

        return guarded

    def check(self, request: web.Request) -> None:
        """Raise an HTTP error unless this request may reach the console."""
        host = _host_of(request)
        if self._token:
            if not self._authenticated(request):
                raise web.HTTPUnauthorized(
                    text="The web console needs its token: open /?token=<web.auth_token>.",
                    headers={"WWW-Authenticate": 'Bearer realm="oohbot web console"'},
                )
        elif not is_loopback(host):
            raise web.HTTPForbidden(text="The web console answers on loopback addresses only.")
        if request.method == "POST":
            _same_origin_json(request)

    def login(self, request: web.Request) -> None:
        """``/?token=…``: set the cookie and drop the token from the address bar."""
        offered = request.query.get("token", "")
        if not self._token or not offered or not _equal(offered, self._token):
            return
        redirect = web.HTTPFound("/")
        redirect.set_cookie(
            COOKIE,
            self._token,
            httponly=True,
            samesite="Strict",
            path="/",
            secure=_over_https(request),
        )
        raise redirect

    def _authenticated(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        bearer = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        cookie = request.cookies.get(COOKIE, "")
        return any(_equal(offered, self._token) for offered in (bearer, cookie) if offered)


def _equal(offered: str, token: str) -> bool:
    return hmac.compare_digest(offered.encode(), token.encode())


def _host_of(request: web.Request) -> str:
    try:
        return request.url.host or ""
    except ValueError:  # a Host header yarl cannot parse
        raise web.HTTPBadRequest(text="Bad Host header.") from None


def _over_https(request: web.Request) -> bool:
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


def _same_origin_json(request: web.Request) -> None:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="Send JSON.")
    origin = request.headers.get("Origin")
    if not origin:
        raise web.HTTPForbidden(text="Send the Origin header (browsers do).")
    # Compare host[:port] only: a TLS-terminating proxy changes the scheme, not the host.
    try:
        authority = URL(origin).raw_authority.lower()
    except ValueError:
        authority = ""
    if authority != request.host.lower():
        raise web.HTTPForbidden(text="Cross-site requests are refused.")
