"""A platform as a plugin: what one platform folder exports, and what it is given.

Each platform folder exports one ``PlatformPlugin`` (``PLATFORM`` in its ``platform.py``): its
name, the model of its ``app.yaml`` section, and an ``install`` function that adds its routes
to the application and returns its ``Sender`` (and its SPOC channel, if it has one). The
composition root (``bot/platforms.py`` lists them, ``bot/app.py`` installs them) never names a
platform, so adding one is one folder plus one line in that list.

People are found on a platform by the identity the directory gives them under the platform's
name (``flows.directory.Officer.known_on``); the engine keys conversations and addresses
people by ``(platform, user id, tenant)`` and needs nothing else from the platform.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel

from adapters.base import Handler, Hosting, Sender
from flows.directory import Directory

S = TypeVar("S", bound=BaseModel)


@dataclass(frozen=True)
class Wiring:
    """What the composition root hands every platform it installs."""

    app: web.Application
    handler: Handler
    service: Hosting
    store: Any
    """The store, through the protocols a platform needs (``AddressBook``, console boxes)."""
    directory: Directory
    now: Callable[[], datetime]
    zone: ZoneInfo
    advance: Callable[[timedelta], Awaitable[None]] | None
    """Fast-forwards the clock (test and demonstration set-ups only), else None."""


@dataclass(frozen=True)
class Installed:
    """A platform once installed: how to send on it, and its SPOC channel ("": it has none)."""

    sender: Sender
    channel: str = ""


@dataclass(frozen=True)
class PlatformPlugin(Generic[S]):
    """One platform: its name (``Inbound.platform``, the directory's identity key, the
    ``app.yaml`` section), its settings model and how to install it."""

    name: str
    settings: type[S]
    install: Callable[[Wiring, S], Installed]

    def enabled(self, section: BaseModel) -> bool:
        """Whether this section turns the platform on (an ``enabled`` flag, else on)."""
        return bool(getattr(section, "enabled", True))


__all__ = ["Installed", "PlatformPlugin", "Wiring"]
