"""The web console as a plugin (``adapters.plugin``)."""

from __future__ import annotations

from adapters.plugin import Installed, PlatformPlugin, Wiring
from adapters.web.settings import WebSettings

CHANNEL = "spoc"
"""The console's one SPOC channel (its members: ``flows.visibility.sees_spoc_channel``)."""


def _install(wiring: Wiring, settings: WebSettings) -> Installed:
    from adapters import web

    sender = web.install(
        wiring.app,
        wiring.handler,
        settings=settings,
        service=wiring.service,
        directory=wiring.directory,
        advance=wiring.advance if settings.clock_control else None,
        now=wiring.now,
        zone=wiring.zone,
        boxes=wiring.store,
    )
    return Installed(sender, CHANNEL)


PLATFORM = PlatformPlugin(name="web", settings=WebSettings, install=_install)
