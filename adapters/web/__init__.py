"""The web console: the whole night in a browser, for development and demonstrations.

``install`` adds ``GET /`` (see ``routes``) to the shared aiohttp application and returns the
``WebSender`` the engine delivers through. The adapter only translates: browser JSON →
``Inbound``, neutral messages → JSON the page renders with ``textContent``. Who may do or see
what is decided by the engine. The console listens on loopback only, unless ``web.auth_token``
is set (``guard``); inboxes live in memory, bounded (``sender``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from adapters.base import Handler, Hosting
from adapters.web.guard import Guard, WebConsoleRefused, check_listen
from adapters.web.routes import Console
from adapters.web.sender import ConsoleBoxes, WebSender
from adapters.web.settings import WebSettings
from flows.directory import Directory

__all__ = ["WebConsoleRefused", "WebSender", "install"]


def install(
    app: web.Application,
    handler: Handler,
    *,
    settings: WebSettings,
    service: Hosting,
    directory: Directory,
    advance: Callable[[timedelta], Awaitable[None]] | None,
    now: Callable[[], datetime] | None = None,
    zone: ZoneInfo | None = None,
    boxes: ConsoleBoxes | None = None,
) -> WebSender:
    """Serve the console at ``GET /``; return its sender. ``advance`` (development only)
    fast-forwards the clock and runs due jobs; ``None`` or ``web.clock_control: false`` hides
    the control. ``now`` and ``zone`` are the service's clock and time zone: the clock control
    shows the simulated time. ``boxes`` keeps the inboxes (the store); without it they live
    in memory only. Raises ``WebConsoleRefused`` for a non-loopback listen address
    without ``web.auth_token``."""
    check_listen(settings, service)
    sender = WebSender(boxes=boxes)
    console = Console(
        handler=handler,
        sender=sender,
        directory=directory,
        service=service,
        guard=Guard(settings.auth_token),
        advance=advance if settings.clock_control else None,
        now=now,
        zone=zone,
    )
    console.register(app)
    return sender
