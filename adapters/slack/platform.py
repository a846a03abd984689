"""Slack as a plugin (``adapters.plugin``)."""

from __future__ import annotations

from adapters.plugin import Installed, PlatformPlugin, Wiring
from adapters.slack.settings import SlackSettings


def _install(wiring: Wiring, settings: SlackSettings) -> Installed:
    from adapters import slack

    sender = slack.install(wiring.app, wiring.handler, settings, wiring.store)
    return Installed(sender, settings.spoc_channel)


PLATFORM = PlatformPlugin(name="slack", settings=SlackSettings, install=_install)
