"""Microsoft Teams as a plugin (``adapters.plugin``)."""

from __future__ import annotations

from adapters.plugin import Installed, PlatformPlugin, Wiring
from adapters.teams.settings import TeamsSettings


def _install(wiring: Wiring, settings: TeamsSettings) -> Installed:
    from adapters import teams

    sender = teams.install(wiring.app, wiring.handler, settings, wiring.service, wiring.store)
    return Installed(sender, settings.spoc_channel)


PLATFORM = PlatformPlugin(name="teams", settings=TeamsSettings, install=_install)
